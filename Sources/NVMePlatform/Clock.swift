import CNVMeShim

/// Monotonic time in nanoseconds and the cycle counter. The guest's clocksource traps on every read, so hot loops
/// read the TSC and convert with a ratio calibrated once per process.
public enum MonotonicClock {
    @inline(__always) public static func nanoseconds() -> UInt64 { nvmekit_monotonic_ns() }
    @inline(__always) public static func cycles() -> UInt64 { nvmekit_rdtsc() }
}

/// A point in time after which a wait gives up.
public struct Deadline: Sendable, Hashable, Comparable {
    public let nanoseconds: UInt64
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }
    public static func after(_ d: Duration) -> Deadline {
        let (s, atto) = d.components
        let ns = s < 0 ? 0 : UInt64(s) &* 1_000_000_000 &+ UInt64(max(0, atto)) / 1_000_000_000
        return Deadline(nanoseconds: MonotonicClock.nanoseconds() &+ ns)
    }
    public var hasPassed: Bool { MonotonicClock.nanoseconds() >= nanoseconds }
    /// Time left, zero when passed.
    public var remaining: Duration {
        let now = MonotonicClock.nanoseconds()
        return now >= nanoseconds ? .zero : .nanoseconds(Int64(nanoseconds - now))
    }
    public static func < (a: Deadline, b: Deadline) -> Bool { a.nanoseconds < b.nanoseconds }
}
