import CNVMeShim
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SystemPackage

/// Owns one file descriptor: closed exactly once, by `close()` or when the owner goes away, on every path — an
/// open that fails half-way just drops its owners. Users borrow the number under the owner's lock, so a `close()`
/// racing a use never hands the use a number the process has since given to another file.
final class OwnedDescriptor: @unchecked Sendable {
    /// What the descriptor is, for messages (`VFIO group 12`).
    let name: String
    private let state: Mutex<Int32>

    /// Takes ownership of `fd` (>= 0).
    init(_ fd: Int32, name: String) {
        self.name = name
        state = Mutex(fd)
    }

    /// Takes ownership of the result of a shim call returning an fd or -errno; throws `PlatformError.system`.
    static func check(_ result: Int32, _ what: @autoclosure () -> String, name: String) throws -> OwnedDescriptor {
        guard result >= 0 else { throw PlatformError.system(what: what(), errno: Errno(rawValue: -result)) }
        return OwnedDescriptor(result, name: name)
    }

    deinit { close() }

    var isOpen: Bool { state.withLock { $0 >= 0 } }

    /// The number without the lock, for a thread that is joined before `close()` (a blocking poll must not hold it).
    var unsafeRawValue: Int32 { state.withLock { $0 } }

    /// Runs `body` with the descriptor held open; nil when it was closed.
    func withDescriptor<R: Sendable>(_ body: (Int32) throws -> R) throws -> R? {
        try state.withLock { fd -> R? in fd < 0 ? nil : try body(fd) }
    }

    /// Like `withDescriptor`, for shim calls returning 0 or -errno: a closed descriptor is EBADF.
    func call(_ body: (Int32) -> Int32) -> Int32 {
        state.withLock { fd in fd < 0 ? -Errno.badFileDescriptor.rawValue : body(fd) }
    }

    /// Closes the descriptor (idempotent).
    func close() {
        state.withLock { fd in
            if fd >= 0 { _ = nvmekit_close(fd) }
            fd = -1
        }
    }
}

/// An OS thread that can be joined: whoever owns a descriptor the thread uses stops it and joins it before
/// closing the descriptor.
final class JoinableThread: @unchecked Sendable {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
    private let tid: Mutex<pthread_t?>

    /// Starts `body` on a new thread; nil when the system refuses a thread.
    init?(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { ctx in
            Unmanaged<Box>.fromOpaque(ctx!).takeRetainedValue().body()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            return nil
        }
        tid = Mutex(t)
    }

    /// Waits for the thread to return (idempotent; never from the thread itself).
    func join() {
        guard let t = tid.withLock({ t -> pthread_t? in defer { t = nil }; return t }) else { return }
        _ = pthread_join(t, nil)
    }

    deinit {
        if let t = tid.withLock({ $0 }) { pthread_detach(t) }
    }
}

extension ConfigSpace {
    /// Clears COMMAND.busMaster so the function can no longer DMA (PCI 3.0 §6.2.2: a function with Bus Master
    /// Enable clear issues no memory requests). Returns the COMMAND value before the change.
    @discardableResult
    public func disableBusMaster() throws -> PCICommand {
        let before = try command
        if before.contains(.busMaster) { try setCommand(before.subtracting(.busMaster)) }
        return before
    }
}

extension NVMeDevice {
    /// What a device's `close()` does where no IOMMU stops DMA: CC.EN = 0 and a wait for CSTS.RDY = 0 (bounded by
    /// CAP.TO) unless already disabled, then PCI COMMAND.BME = 0. In this order: a controller left enabled behind a
    /// cleared BME still owns queues whose DMA failed (on QEMU 7.2 the next open of the function then saw a stray
    /// INTx), while a disabled one has dropped them. `Controller.close()` has disabled it already; a device closed
    /// by hand has not.
    func disableControllerAndBusMaster() {
        let bar = bar0
        let cap = bar.cap
        if cap.rawValue != .max {
            var cc = bar.cc
            if cc.en {
                cc.en = false
                bar.setCC(cc)
            }
            let deadline = Deadline.after(max(cap.timeout, .milliseconds(500)))
            while bar.csts.rdy && !bar.csts.isAllOnes && !deadline.hasPassed { sched_yield() }
        }
        _ = try? config?.disableBusMaster()
    }
}
