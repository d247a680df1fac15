import Foundation

/// Counters of a running workload, sampled by the coordinating thread.
public struct ProgressSnapshot: Sendable, Hashable {
    public var elapsedNanoseconds: UInt64
    /// Length of the longest time-limited worker, nil when only IO counts limit the run.
    public var expectedNanoseconds: UInt64?
    public var completed: UInt64
    public var bytes: UInt64
    /// Worst per-worker p99 latency over the last second.
    public var p99Nanoseconds: UInt64
    public var mismatches: UInt64
    public var errors: UInt64
    public init(elapsedNanoseconds: UInt64, expectedNanoseconds: UInt64?, completed: UInt64, bytes: UInt64,
                p99Nanoseconds: UInt64, mismatches: UInt64, errors: UInt64) {
        self.elapsedNanoseconds = elapsedNanoseconds; self.expectedNanoseconds = expectedNanoseconds
        self.completed = completed; self.bytes = bytes; self.p99Nanoseconds = p99Nanoseconds
        self.mismatches = mismatches; self.errors = errors
    }
}

/// Formats progress: on a terminal one line rewritten in place (`\r`, cleared to the end), elsewhere (CI, pipes)
/// one plain line per report.
public struct ProgressLine: Sendable {
    public var live: Bool
    var previous: ProgressSnapshot?

    /// `live` defaults to whether standard error is a terminal and `CI` is not set.
    public init(live: Bool? = nil) {
        self.live = live ?? (isatty(2) == 1 && ProcessInfo.processInfo.environment["CI"] == nil)
    }

    /// The text for `s`: IOPS and MB/s over the last interval, p99, errors, mismatches, time left.
    public mutating func render(_ s: ProgressSnapshot) -> String {
        let prev = previous ?? ProgressSnapshot(elapsedNanoseconds: 0, expectedNanoseconds: nil, completed: 0, bytes: 0,
                                                p99Nanoseconds: 0, mismatches: 0, errors: 0)
        previous = s
        let dt = Double(s.elapsedNanoseconds &- prev.elapsedNanoseconds) / 1e9
        let iops = dt > 0 ? Double(s.completed &- prev.completed) / dt : 0
        let mbs = dt > 0 ? Double(s.bytes &- prev.bytes) / dt / 1e6 : 0
        var text = String(format: "%6.1fs  %9.0f IOPS  %8.1f MB/s  p99 %@  errors %llu  mismatches %llu",
                          Double(s.elapsedNanoseconds) / 1e9, iops, mbs, formatNs(s.p99Nanoseconds) as NSString,
                          s.errors, s.mismatches)
        if let e = s.expectedNanoseconds {
            let left = e > s.elapsedNanoseconds ? Double(e - s.elapsedNanoseconds) / 1e9 : 0
            text += String(format: "  %.0fs left", left)
        }
        return live ? "\r" + text + "\u{1B}[K" : text + "\n"
    }

    /// Writes `render(s)` to standard error.
    public mutating func report(_ s: ProgressSnapshot) {
        let t = render(s)
        FileHandle.standardError.write(Data(t.utf8))
    }

    /// Ends a live line (a newline), nothing for plain lines.
    public func finish() {
        if live && previous != nil { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
