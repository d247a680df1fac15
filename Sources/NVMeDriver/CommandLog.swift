import NVMePlatform
import NVMeSpec

/// Cycle counter with a nanosecond ratio calibrated once per process: in the guest every clock read traps into
/// QEMU, the TSC does not.
public enum TickClock {
    @inlinable @inline(__always) public static func now() -> UInt64 { MonotonicClock.cycles() }

    /// Nanoseconds per tick, measured once over ≈2 ms against CLOCK_MONOTONIC.
    public static let nanosecondsPerTick: Double = {
        let n0 = MonotonicClock.nanoseconds(), c0 = MonotonicClock.cycles()
        var n1 = n0, c1 = c0
        while n1 &- n0 < 2_000_000 { n1 = MonotonicClock.nanoseconds(); c1 = MonotonicClock.cycles() }
        let dc = c1 &- c0
        return dc == 0 ? 1 : Double(n1 &- n0) / Double(dc)
    }()

    public static func nanoseconds(ticks: UInt64) -> UInt64 { UInt64(Double(ticks) * nanosecondsPerTick) }
    /// Ticks in `d` (for deadlines compared against `now()` without reading a trapping clock).
    public static func ticks(_ d: Duration) -> UInt64 {
        let (s, atto) = d.components
        let ns = Double(max(0, s)) * 1e9 + Double(max(0, atto)) / 1e9
        return UInt64(min(ns / nanosecondsPerTick, Double(UInt64.max / 2)))
    }
    /// Wall-clock-free timestamp of `ticks` in nanoseconds on the monotonic clock's scale.
    public static func monotonicNanoseconds(ticks: UInt64) -> UInt64 {
        let (n, c) = anchor
        return ticks >= c ? n &+ nanoseconds(ticks: ticks &- c) : n &- nanoseconds(ticks: c &- ticks)
    }
    static let anchor: (UInt64, UInt64) = (MonotonicClock.nanoseconds(), MonotonicClock.cycles())
}

/// The last N SQE/CQE pairs of a queue with timestamps and latency; fixed capacity, preallocated, so recording is
/// allocation-free. Owned by the queue's thread: read it there, or after the thread stopped.
public struct CommandLog: Sendable {
    public struct Entry: Sendable, Hashable {
        public var qid: UInt16
        public var sqe: SQE
        public var cqe: CQE
        public var origin: CompletionOrigin
        /// TSC ticks at submission and completion.
        public var submitTicks: UInt64
        public var completeTicks: UInt64
        public var latencyNanoseconds: UInt64 { TickClock.nanoseconds(ticks: completeTicks &- submitTicks) }
        public var submitNanoseconds: UInt64 { TickClock.monotonicNanoseconds(ticks: submitTicks) }
        public var completeNanoseconds: UInt64 { TickClock.monotonicNanoseconds(ticks: completeTicks) }

        @inlinable
        public init(qid: UInt16, sqe: SQE, cqe: CQE, origin: CompletionOrigin, submitTicks: UInt64, completeTicks: UInt64) {
            self.qid = qid; self.sqe = sqe; self.cqe = cqe; self.origin = origin
            self.submitTicks = submitTicks; self.completeTicks = completeTicks
        }
    }

    public let capacity: Int
    @usableFromInline var storage: [Entry]
    @usableFromInline var next = 0
    /// Entries ever recorded (the log keeps the last `capacity`).
    public private(set) var recorded = 0

    /// The most entries a log keeps (≈120 MB preallocated); a larger `capacity` keeps this many.
    public static let maximumCapacity = 1 << 20

    /// A log keeping the last `capacity` entries: 0 (or less) records nothing, more than `maximumCapacity` keeps
    /// `maximumCapacity` (the storage is allocated here, so an unbounded capacity would abort the process).
    public init(capacity: Int) {
        self.capacity = min(max(0, capacity), Self.maximumCapacity)
        storage = []
        storage.reserveCapacity(self.capacity)
    }

    public var isEnabled: Bool { capacity > 0 }

    @inlinable
    public mutating func record(_ entry: Entry) {
        guard capacity > 0 else { return }
        if storage.count < capacity { storage.append(entry) } else { storage[next] = entry }
        next = next &+ 1 == capacity ? 0 : next &+ 1
        recordedIncrement()
    }
    @usableFromInline mutating func recordedIncrement() { recorded &+= 1 }

    /// Oldest first.
    public var entries: [Entry] {
        storage.count < capacity ? storage : Array(storage[next...] + storage[..<next])
    }

    public mutating func clear() { storage.removeAll(keepingCapacity: true); next = 0 }

    /// Several logs merged by submission time.
    public static func merged(_ logs: [CommandLog]) -> [Entry] {
        logs.flatMap(\.entries).sorted { $0.submitTicks < $1.submitTicks }
    }

    /// One line per command: `qid cid opcode status latency`.
    public static func render(_ entries: [Entry], limit: Int = .max) -> String {
        var out = "  qid   cid  opc  nsid      cdw10     status                                    latency\n"
        for e in entries.suffix(max(0, limit)) {   // a negative limit shows none instead of trapping
            let st = e.origin == .device ? e.cqe.status.description : "\(e.cqe.status.description) [\(e.origin.rawValue)]"
            out += pad(String(e.qid), 5) + pad(String(e.sqe.cid), 6) + "  " + hexByte(e.sqe.opc) + "h"
                + "  " + hex32(e.sqe.nsid) + "  " + hex32(e.sqe.cdw10) + "  " + st.padding(40)
                + pad(formatLatency(e.latencyNanoseconds), 11) + "\n"
        }
        return out
    }

    public func render(limit: Int = .max) -> String { Self.render(entries, limit: limit) }

    /// JSON array of entries (SQE as 16 dwords, CQE as 4 dwords, decoded CID/opcode/status, times in ns).
    public static func json(_ entries: [Entry]) -> String {
        var out = "[\n"
        for (i, e) in entries.enumerated() {
            let sqeDwords = (0..<16).map { "\(e.sqe[dword: $0])" }.joined(separator: ",")
            let cqeDwords = [e.cqe.dw0, e.cqe.dw1, e.cqe.dw2, e.cqe.dw3].map { "\($0)" }.joined(separator: ",")
            out += "  {\"qid\":\(e.qid),\"cid\":\(e.sqe.cid),\"opcode\":\(e.sqe.opc),\"nsid\":\(e.sqe.nsid),"
            out += "\"origin\":\"\(e.origin.rawValue)\",\"status\":\"\(hexByte(e.cqe.status.sct))/\(hexByte(e.cqe.status.sc))\","
            out += "\"statusName\":\"\(e.cqe.status.name)\",\"submitNs\":\(e.submitNanoseconds),"
            out += "\"completeNs\":\(e.completeNanoseconds),\"latencyNs\":\(e.latencyNanoseconds),"
            out += "\"sqe\":[\(sqeDwords)],\"cqe\":[\(cqeDwords)]}"
            out += i == entries.count - 1 ? "\n" : ",\n"
        }
        return out + "]\n"
    }

    public func json() -> String { Self.json(entries) }
}

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
func hexByte(_ v: UInt8) -> String { let h = String(v, radix: 16, uppercase: true); return h.count == 1 ? "0" + h : h }
func hex32(_ v: UInt32) -> String {
    let h = String(v, radix: 16, uppercase: true); return String(repeating: "0", count: 8 - h.count) + h
}
func formatLatency(_ ns: UInt64) -> String {
    if ns < 10_000 { return "\(ns) ns" }
    if ns < 10_000_000 { return "\(ns / 1000) us" }
    return "\(ns / 1_000_000) ms"
}
extension String {
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
