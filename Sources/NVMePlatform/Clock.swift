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
    /// `d` from now. A negative duration is a deadline already passed; one too long for a `UInt64` of nanoseconds
    /// (`.seconds(Int64.max)`) is the farthest deadline, `Deadline.never`, instead of wrapping into the past.
    public static func after(_ d: Duration) -> Deadline {
        let (s, atto) = d.components
        let now = MonotonicClock.nanoseconds()
        guard s >= 0 else { return Deadline(nanoseconds: now) }
        let (whole, o1) = UInt64(s).multipliedReportingOverflow(by: 1_000_000_000)
        let (ns, o2) = whole.addingReportingOverflow(UInt64(max(0, atto)) / 1_000_000_000)
        let (at, o3) = now.addingReportingOverflow(ns)
        return o1 || o2 || o3 ? .never : Deadline(nanoseconds: at)
    }
    /// A deadline that does not pass.
    public static let never = Deadline(nanoseconds: .max)
    public var hasPassed: Bool { MonotonicClock.nanoseconds() >= nanoseconds }
    /// Time left, zero when passed; at most `Int64.max` nanoseconds (≈292 years) for a farther deadline.
    public var remaining: Duration {
        let now = MonotonicClock.nanoseconds()
        return now >= nanoseconds ? .zero : .nanoseconds(Int64(clamping: nanoseconds - now))
    }
    public static func < (a: Deadline, b: Deadline) -> Bool { a.nanoseconds < b.nanoseconds }
}
