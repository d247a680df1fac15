import CNVMeShim
import Synchronization
import SystemPackage

/// One interrupt seen by a listener: `count` device signals coalesced into one eventfd read.
public struct InterruptEvent: Sendable, Hashable {
    public var vector: Int
    /// Signals coalesced into this event (an eventfd counts, it does not queue).
    public var count: UInt64
    /// `MonotonicClock.nanoseconds()` when the listener consumed it.
    public var timestamp: UInt64
    public init(vector: Int, count: UInt64, timestamp: UInt64) {
        self.vector = vector; self.count = count; self.timestamp = timestamp
    }
}

/// An `InterruptSource` with one eventfd per vector — the common part of every backend.
///
/// Whoever signals the device's interrupts writes the vector's eventfd: VFIO hands `fileDescriptors` to
/// `VFIO_DEVICE_SET_IRQS` (through `Hooks.arm`), UIO's listener forwards its INTx count, and the simulator calls
/// `trigger(vector:)`. Listeners either block (`wait(vector:timeout:)`, `wait(vector:until:)`) or iterate
/// `events(vector:)`. Both consume events from the same eventfd: each signal reaches exactly one listener, and the
/// per-vector counter (`count(vector:)`) sees all of them.
///
/// Masking: `setMasked` calls `Hooks.mask` (a real backend sets Vector Control in the MSI-X table) and also masks in
/// software for `trigger`: a trigger on a masked vector sets its pending bit (`isPending`), and unmasking delivers
/// one event, as the MSI-X PBA does (PCIe 6.0 §6.1.4.5).
///
/// The eventfds live as long as the source, so `disable()` racing a waiter never hands it a recycled descriptor.
public final class EventInterruptSource: InterruptSource, @unchecked Sendable {
    /// Backend actions around the eventfds. All default to doing nothing (the simulator needs none).
    public struct Hooks: Sendable {
        /// Called by `enable(vectors:)` with one eventfd per vector, vector 0 first (VFIO: `VFIO_DEVICE_SET_IRQS`).
        public var arm: @Sendable (_ eventFDs: [Int32]) throws -> Void
        /// Called by `disable()` (VFIO: `VFIO_DEVICE_SET_IRQS` with count 0).
        public var disarm: @Sendable () throws -> Void
        /// Called by `setMasked` (VFIO/UIO: MSI-X table Vector Control bit, or INTx mask).
        public var mask: @Sendable (_ vector: Int, _ masked: Bool) throws -> Void
        /// Called after a listener consumed events of `vector` (VFIO INTx: unmask the automasked line).
        public var acknowledge: @Sendable (_ vector: Int) -> Void
        public init(arm: @escaping @Sendable ([Int32]) throws -> Void = { _ in },
                    disarm: @escaping @Sendable () throws -> Void = {},
                    mask: @escaping @Sendable (Int, Bool) throws -> Void = { _, _ in },
                    acknowledge: @escaping @Sendable (Int) -> Void = { _ in }) {
            self.arm = arm; self.disarm = disarm; self.mask = mask; self.acknowledge = acknowledge
        }
    }

    private struct Vector {
        var fd: Int32
        /// Signals consumed from the eventfd since the vector was armed.
        var total: UInt64 = 0
        /// Consumed by `count(vector:)` but not yet handed to a waiter.
        var undelivered: UInt64 = 0
        var masked = false
        /// Software pending bit: `trigger` while masked.
        var pending = false
    }

    private struct State {
        var vectors: [Vector] = []
        var enabled = 0
        var streams: [ObjectIdentifier: StreamHandle] = [:]
    }

    public let kind: InterruptKind
    public let supportedVectors: Int
    private let hooks: Hooks
    private let state = Mutex(State())

    /// A negative `supportedVectors` counts as 0.
    public init(kind: InterruptKind, supportedVectors: Int, hooks: Hooks = Hooks()) {
        self.kind = kind
        self.supportedVectors = max(0, supportedVectors)
        self.hooks = hooks
    }

    deinit {
        let (fds, streams) = state.withLock { s in (s.vectors.map(\.fd), Array(s.streams.values)) }
        for h in streams { h.stop() }
        for fd in fds { _ = try? FileDescriptor(rawValue: fd).close() }
    }

    public var enabledVectors: Int { state.withLock { $0.enabled } }

    /// The eventfd of each armed vector, vector 0 first.
    public var fileDescriptors: [Int32] { state.withLock { s in s.vectors.prefix(s.enabled).map(\.fd) } }

    public func enable(vectors count: Int) throws {
        guard count >= 1, count <= supportedVectors else {
            throw PlatformError.vectorOutOfRange(vector: count - 1, supported: supportedVectors)
        }
        let fds: [Int32] = try state.withLock { s in
            while s.vectors.count < count {
                let fd = nvmekit_eventfd_create(1)
                guard fd >= 0 else { throw PlatformError.system(what: "eventfd for interrupt vector \(s.vectors.count)", errno: Errno(rawValue: -fd)) }
                s.vectors.append(Vector(fd: fd))
            }
            for i in 0..<count {
                var stale: UInt64 = 0
                _ = nvmekit_eventfd_read(s.vectors[i].fd, &stale)   // drop signals from an earlier arming
                s.vectors[i].total = 0; s.vectors[i].undelivered = 0; s.vectors[i].pending = false
            }
            return s.vectors.prefix(count).map(\.fd)
        }
        try hooks.arm(fds)
        state.withLock { $0.enabled = count }
    }

    /// Disarms every vector and ends every `events(vector:)` sequence.
    public func disable() throws {
        let streams = state.withLock { s in
            s.enabled = 0
            defer { s.streams.removeAll() }
            return Array(s.streams.values)
        }
        for h in streams { h.stop() }
        try hooks.disarm()
    }

    private func fd(of vector: Int) throws -> Int32 {
        try state.withLock { s in
            guard vector >= 0, vector < s.enabled else {
                throw PlatformError.vectorNotArmed(vector: vector, armed: s.enabled)
            }
            return s.vectors[vector].fd
        }
    }

    /// Reads the eventfd without blocking and books what it held. Returns the signals read.
    private func drain(_ vector: Int, fd: Int32) -> UInt64 {
        var value: UInt64 = 0
        guard nvmekit_eventfd_read(fd, &value) == 0 else { return 0 }
        state.withLock { s in if vector < s.vectors.count { s.vectors[vector].total &+= value } }
        if value > 0 { hooks.acknowledge(vector) }
        return value
    }

    public func wait(vector: Int, timeout: Duration) throws -> UInt64 {
        try wait(vector: vector, until: .after(timeout))
    }

    /// Waits until `vector` fires or `deadline` passes; returns the signals consumed (0 when the deadline passed).
    public func wait(vector: Int, until deadline: Deadline) throws -> UInt64 {
        let fd = try fd(of: vector)
        let early = state.withLock { s in
            defer { s.vectors[vector].undelivered = 0 }
            return s.vectors[vector].undelivered
        }
        if early > 0 { return early }
        while true {
            let left = deadline.nanoseconds &- MonotonicClock.nanoseconds()
            let remaining: Int64 = deadline.hasPassed ? 0 : Int64(min(left, UInt64(Int64.max)))
            let r = nvmekit_poll_readable(fd, remaining)
            if r < 0 { throw PlatformError.system(what: "poll on interrupt vector \(vector)", errno: Errno(rawValue: -r)) }
            if r == 0 { return 0 }
            let n = drain(vector, fd: fd)
            if n > 0 { return n }
            if deadline.hasPassed { return 0 }   // another listener took it
        }
    }

    public func count(vector: Int) -> UInt64 {
        guard let fd = try? fd(of: vector) else { return 0 }
        let n = drain(vector, fd: fd)
        return state.withLock { s in
            s.vectors[vector].undelivered &+= n
            return s.vectors[vector].total
        }
    }

    /// Counters of all armed vectors, vector 0 first.
    public var counts: [UInt64] { (0..<enabledVectors).map { count(vector: $0) } }

    public func setMasked(_ masked: Bool, vector: Int) throws {
        _ = try fd(of: vector)
        try hooks.mask(vector, masked)
        let deliver: Int32? = state.withLock { s in
            s.vectors[vector].masked = masked
            if !masked && s.vectors[vector].pending {
                s.vectors[vector].pending = false
                return s.vectors[vector].fd
            }
            return nil
        }
        if let fd = deliver { _ = nvmekit_eventfd_signal(fd) }
    }

    public func isMasked(vector: Int) -> Bool {
        state.withLock { s in vector >= 0 && vector < s.vectors.count && s.vectors[vector].masked }
    }

    /// The software pending bit: set by `trigger` on a masked vector, cleared when unmasking delivers it.
    public func isPending(vector: Int) -> Bool {
        state.withLock { s in vector >= 0 && vector < s.vectors.count && s.vectors[vector].pending }
    }

    /// Signals `vector` as a device would: the simulator's interrupt line, or a UIO INTx forwarder.
    /// Returns false (and does nothing) when the vector is not armed; a masked vector only becomes pending.
    @discardableResult
    public func trigger(vector: Int) -> Bool {
        let fd: Int32? = state.withLock { s in
            guard vector >= 0, vector < s.enabled else { return nil }
            if s.vectors[vector].masked { s.vectors[vector].pending = true; return -1 }
            return s.vectors[vector].fd
        }
        guard let fd else { return false }
        if fd >= 0 { _ = nvmekit_eventfd_signal(fd) }
        return true
    }

    /// Events on `vector` as an async sequence. A dedicated thread polls the eventfd, so awaiting never blocks
    /// Swift's cooperative pool. The sequence ends when the consumer stops iterating or the source is disabled.
    public func events(vector: Int) throws -> AsyncStream<InterruptEvent> {
        let fd = try fd(of: vector)
        let ownFD: Int32
        do { ownFD = try FileDescriptor(rawValue: fd).duplicate().rawValue } catch let e as Errno {
            throw PlatformError.system(what: "dup of interrupt vector \(vector) eventfd", errno: e)
        }
        let stopFD = nvmekit_eventfd_create(1)
        guard stopFD >= 0 else {
            _ = try? FileDescriptor(rawValue: ownFD).close()
            throw PlatformError.system(what: "eventfd to stop an interrupt stream", errno: Errno(rawValue: -stopFD))
        }
        let handle = StreamHandle(stopFD: stopFD)
        let key = ObjectIdentifier(handle)
        let (stream, continuation) = AsyncStream<InterruptEvent>.makeStream(bufferingPolicy: .unbounded)
        continuation.onTermination = { [weak self] _ in
            handle.stop()
            _ = self?.state.withLock { $0.streams.removeValue(forKey: key) }
        }
        state.withLock { $0.streams[key] = handle }
        PlatformThread.detach { [weak self] in
            defer {
                continuation.finish()
                _ = try? FileDescriptor(rawValue: ownFD).close()
            }
            while true {
                let r = nvmekit_poll_readable_or_stop(ownFD, handle.stopFD, -1)
                if r != 1 { return }
                guard let self else { return }
                let n = self.drain(vector, fd: ownFD)
                if n > 0 {
                    continuation.yield(InterruptEvent(vector: vector, count: n, timestamp: MonotonicClock.nanoseconds()))
                }
            }
        }
        return stream
    }
}

/// Owns the stop eventfd of one `events(vector:)` thread; closed when both the thread and the source let go.
final class StreamHandle: @unchecked Sendable {
    let stopFD: Int32
    init(stopFD: Int32) { self.stopFD = stopFD }
    func stop() { _ = nvmekit_eventfd_signal(stopFD) }
    deinit { _ = try? FileDescriptor(rawValue: stopFD).close() }
}

extension InterruptSource {
    /// Waits until `vector` fires or `deadline` passes; returns the signals consumed (0 when the deadline passed).
    public func wait(vector: Int, until deadline: Deadline) throws -> UInt64 {
        try wait(vector: vector, timeout: deadline.remaining)
    }
}
