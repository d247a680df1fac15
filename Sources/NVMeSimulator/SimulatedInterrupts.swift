import CNVMeShim
import Glibc
import NVMePlatform
import Synchronization
import SystemPackage

/// MSI-X for the simulated function: one real eventfd per vector, signalled by the controller exactly where a
/// device would send the message. A masked vector remembers the message (Pending Bit) and delivers it on unmask,
/// as the MSI-X PBA does.
public final class SimulatedInterrupts: InterruptSource, @unchecked Sendable {
    struct Vector { var fd: Int32 = -1; var masked = false; var pending = false; var count: UInt64 = 0 }
    struct State { var vectors: [Vector]; var enabled = 0 }

    public let kind: InterruptKind = .msix
    public let supportedVectors: Int
    private let state: Mutex<State>

    public init(vectors: Int) {
        supportedVectors = vectors
        state = Mutex(State(vectors: Array(repeating: Vector(), count: vectors)))
    }

    deinit { try? disable() }

    public var enabledVectors: Int { state.withLock { $0.enabled } }

    public func enable(vectors count: Int) throws {
        guard count >= 0, count <= supportedVectors else {
            throw PlatformError.unsupported(
                "cannot arm \(count) MSI-X vectors: the simulated function has \(supportedVectors) "
                + "(raise SimulatorConfiguration.interruptVectors)")
        }
        try state.withLock { s in
            for i in 0..<count where s.vectors[i].fd < 0 {
                let fd = nvmekit_eventfd_create(1)
                if fd < 0 { throw PlatformError.system(what: "eventfd for MSI-X vector \(i)", errno: Errno(rawValue: -fd)) }
                s.vectors[i] = Vector(fd: fd)
            }
            for i in count..<s.vectors.count where s.vectors[i].fd >= 0 {
                _ = Glibc.close(s.vectors[i].fd); s.vectors[i] = Vector()
            }
            s.enabled = count
        }
    }

    public func disable() throws {
        state.withLock { s in
            for i in s.vectors.indices where s.vectors[i].fd >= 0 { _ = Glibc.close(s.vectors[i].fd); s.vectors[i] = Vector() }
            s.enabled = 0
        }
    }

    public func wait(vector: Int, timeout: Duration) throws -> UInt64 {
        let fd = state.withLock { s in vector >= 0 && vector < s.enabled ? s.vectors[vector].fd : -1 }
        guard fd >= 0 else {
            throw PlatformError.unsupported("MSI-X vector \(vector) is not armed: call interrupts.enable(vectors:) first")
        }
        let (sec, atto) = timeout.components
        let ns = max(0, sec) &* 1_000_000_000 &+ max(0, atto) / 1_000_000_000
        let r = nvmekit_poll_readable(fd, ns)
        if r < 0 { throw PlatformError.system(what: "poll on MSI-X vector \(vector) eventfd", errno: Errno(rawValue: -r)) }
        if r == 0 { return 0 }
        var value: UInt64 = 0
        let rr = nvmekit_eventfd_read(fd, &value)
        if rr == -Errno.resourceTemporarilyUnavailable.rawValue { return 0 }
        if rr < 0 { throw PlatformError.system(what: "read of MSI-X vector \(vector) eventfd", errno: Errno(rawValue: -rr)) }
        return value
    }

    public func count(vector: Int) -> UInt64 {
        state.withLock { s in vector >= 0 && vector < s.vectors.count ? s.vectors[vector].count : 0 }
    }

    public func setMasked(_ masked: Bool, vector: Int) throws {
        guard vector >= 0, vector < supportedVectors else {
            throw PlatformError.unsupported("MSI-X vector \(vector) does not exist (the function has \(supportedVectors))")
        }
        let fire: Int32 = state.withLock { s in
            s.vectors[vector].masked = masked
            if !masked && s.vectors[vector].pending && s.vectors[vector].fd >= 0 {
                s.vectors[vector].pending = false
                s.vectors[vector].count += 1
                return s.vectors[vector].fd
            }
            return -1
        }
        if fire >= 0 { _ = nvmekit_eventfd_signal(fire) }
    }

    /// Whether the vector's Pending Bit is set (a message arrived while it was masked).
    public func isPending(vector: Int) -> Bool {
        state.withLock { s in vector >= 0 && vector < s.vectors.count && s.vectors[vector].pending }
    }

    /// Sends the MSI-X message of `vector` (the controller calls this after posting completions). A vector that is
    /// not armed drops the message, as a function with MSI-X disabled does.
    func signal(vector: Int) {
        let fd: Int32 = state.withLock { s in
            guard vector >= 0, vector < s.enabled, s.vectors[vector].fd >= 0 else { return -1 }
            if s.vectors[vector].masked { s.vectors[vector].pending = true; return -1 }
            s.vectors[vector].count += 1
            return s.vectors[vector].fd
        }
        if fd >= 0 { _ = nvmekit_eventfd_signal(fd) }
    }
}
