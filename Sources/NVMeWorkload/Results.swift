import Foundation
import Histogram
import NVMeDriver
import NVMeSpec

/// Latency percentiles (nanoseconds) read from an HDR histogram.
public struct LatencySummary: Sendable, Hashable, Codable {
    public var count: UInt64
    public var min: UInt64
    public var mean: Double
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64

    public init(_ h: Histogram<UInt64>) {
        count = h.totalCount
        if count == 0 { min = 0; mean = 0; p50 = 0; p90 = 0; p99 = 0; p999 = 0; max = 0; return }
        min = h.min; mean = h.mean; max = h.max
        p50 = h.valueAtPercentile(50); p90 = h.valueAtPercentile(90)
        p99 = h.valueAtPercentile(99); p999 = h.valueAtPercentile(99.9)
    }
}

/// One bar of the latency distribution: IOs whose latency fell in `[fromNs, toNs)`.
public struct LatencyBucket: Sendable, Hashable, Codable {
    public var fromNs: UInt64
    public var toNs: UInt64
    public var count: UInt64
}

/// Little's law for a closed-loop load: IOPS × mean latency = mean number of IOs in flight.
public struct LittlesLaw: Sendable, Hashable, Codable {
    public var iops: Double
    public var meanLatencySeconds: Double
    /// IOPS × mean latency.
    public var predictedQueueDepth: Double
    /// Time-weighted mean of the outstanding IOs, sampled by the worker.
    public var measuredQueueDepth: Double
    /// |predicted − measured| / measured.
    public var relativeError: Double
    public func isConsistent(tolerance: Double) -> Bool { relativeError <= tolerance }

    public init(iops: Double, meanLatencySeconds: Double, measuredQueueDepth: Double) {
        self.iops = iops; self.meanLatencySeconds = meanLatencySeconds; self.measuredQueueDepth = measuredQueueDepth
        predictedQueueDepth = iops * meanLatencySeconds
        relativeError = measuredQueueDepth > 0 ? abs(predictedQueueDepth - measuredQueueDepth) / measuredQueueDepth
            : (predictedQueueDepth == 0 ? 0 : .infinity)
    }
}

/// A command whose completion carried an error status, or completed locally.
public struct FailedCommand: Sendable, Hashable, Codable {
    public var opcode: UInt8
    public var slba: UInt64
    public var blocks: Int
    public var status: String
    public var origin: String
    public var sqe: [UInt32]
    public var cqe: [UInt32]
}

/// A command-log entry in a stable, encodable form.
public struct LoggedCommand: Sendable, Hashable, Codable {
    public var qid: UInt16
    public var cid: UInt16
    public var opcode: UInt8
    public var status: String
    public var origin: String
    public var latencyNs: UInt64
    public var sqe: [UInt32]
    public var cqe: [UInt32]
    public init(_ e: CommandLog.Entry) {
        qid = e.qid; cid = e.sqe.cid; opcode = e.sqe.opc; status = e.cqe.status.description; origin = e.origin.rawValue
        latencyNs = e.latencyNanoseconds
        sqe = (0..<16).map { e.sqe[dword: $0] }; cqe = [e.cqe.dw0, e.cqe.dw1, e.cqe.dw2, e.cqe.dw3]
    }
}

extension SQE { var dwords: [UInt32] { (0..<16).map { self[dword: $0] } } }
extension CQE { var dwords: [UInt32] { [dw0, dw1, dw2, dw3] } }

/// What one worker (or the aggregate of several) did.
public struct WorkerResult: Sendable {
    public var name: String
    public var controller: String
    public var nsid: UInt32
    public var qid: UInt16
    public var queueDepth: Int
    public var elapsedNanoseconds: UInt64
    /// Completed commands (device completions, successful or not).
    public var ios: UInt64
    public var perOperation: [WorkloadOperation: UInt64]
    public var bytesRead: UInt64
    public var bytesWritten: UInt64
    /// Completions with an error status (first ones kept in `failures`).
    public var errors: UInt64
    /// Failed commands: error statuses, timeouts and reset aborts (`origin` tells them apart), the first 16.
    public var failures: [FailedCommand]
    /// Commands completed by the driver because of a controller reset.
    public var abortedByReset: UInt64
    public var resets: Int
    /// Commands whose deadline passed (the worker's `timeout`): completed locally by the driver, counted neither in
    /// `ios` nor in `errors` nor in `abortedByReset`. Each was quarantined — its buffer and LBAs held — until
    /// the controller answered it late (`lateCompletions`), a reset released it (`releasedByReset`), or the run
    /// ended with it unanswered (`quarantinedAtEnd`).
    public var timeouts: UInt64 = 0
    /// Timed-out commands the controller answered afterwards.
    public var lateCompletions: UInt64 = 0
    /// Timed-out commands still unanswered when a reset re-created the queue.
    public var releasedByReset: UInt64 = 0
    /// Timed-out commands still unanswered when the worker ended.
    public var quarantinedAtEnd: Int = 0
    /// Why the worker ended before its limits, if it did (nil: it ran to its limits or was asked to stop).
    public var stopReason: String?
    /// IOs completed and blocks verified after the last reset (0 without a reset).
    public var iosAfterReset: UInt64 = 0
    public var verifiedBlocksAfterReset: UInt64 = 0
    /// Blocks read back and checked against the integrity map.
    public var verifiedBlocks: UInt64
    /// Data mismatches (first ones kept; `mismatchCount` counts all).
    public var mismatches: [IntegrityMismatch]
    public var mismatchCount: UInt64
    /// Completed IOs in each second of the run (the last entry may cover a partial second).
    public var iopsSeries: [UInt64]
    public var latency: Histogram<UInt64>
    /// Time-weighted mean number of outstanding commands.
    public var meanQueueDepth: Double
    public var commandLog: [LoggedCommand]
    /// MMIO doorbell writes (SQ tail + CQ head) the worker's queue issued.
    public var doorbellWrites: UInt64
    /// Of those, SQ tail doorbells (the rest are CQ head doorbells).
    public var sqDoorbellWrites: UInt64 = 0

    public init(name: String, controller: String = "", nsid: UInt32 = 0, qid: UInt16 = 0, queueDepth: Int = 0) {
        self.name = name; self.controller = controller; self.nsid = nsid; self.qid = qid; self.queueDepth = queueDepth
        elapsedNanoseconds = 0; ios = 0; perOperation = [:]; bytesRead = 0; bytesWritten = 0; errors = 0; failures = []
        abortedByReset = 0; resets = 0; verifiedBlocks = 0; mismatches = []; mismatchCount = 0; iopsSeries = []
        latency = WorkerResult.makeHistogram(); meanQueueDepth = 0; commandLog = []; doorbellWrites = 0
    }

    /// Latency histogram from 1 ns to 100 s, 3 significant digits.
    public static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 100_000_000_000, numberOfSignificantValueDigits: .three)
    }

    public var seconds: Double { Double(elapsedNanoseconds) / 1e9 }
    public var iops: Double { seconds > 0 ? Double(ios) / seconds : 0 }
    public var megabytesPerSecond: Double { seconds > 0 ? Double(bytesRead + bytesWritten) / seconds / 1e6 : 0 }
    public var latencySummary: LatencySummary { LatencySummary(latency) }
    public var littlesLaw: LittlesLaw {
        LittlesLaw(iops: iops, meanLatencySeconds: latency.totalCount == 0 ? 0 : latency.mean / 1e9,
                   measuredQueueDepth: meanQueueDepth)
    }
    public var doorbellWritesPerIO: Double { ios == 0 ? 0 : Double(doorbellWrites) / Double(ios) }

    /// Latency distribution on logarithmic buckets (×2 from 1 µs), the empty ones left out.
    public var latencyBuckets: [LatencyBucket] {
        guard latency.totalCount > 0 else { return [] }
        var out: [LatencyBucket] = []
        var lo: UInt64 = 0, hi: UInt64 = 1000
        let top = latency.max
        while lo <= top {
            let c = latency.count(within: lo...(hi - 1))
            if c > 0 { out.append(LatencyBucket(fromNs: lo, toNs: hi, count: c)) }
            lo = hi; hi *= 2
        }
        return out
    }

    /// The sum of several workers running at the same time: counts add, histograms merge, series add per second,
    /// queue depths add; elapsed is the longest.
    public static func aggregate(_ parts: [WorkerResult], name: String = "all") -> WorkerResult {
        var r = WorkerResult(name: name, controller: Set(parts.map(\.controller)).sorted().joined(separator: " "),
                             queueDepth: parts.reduce(0) { $0 + $1.queueDepth })
        for p in parts {
            r.elapsedNanoseconds = max(r.elapsedNanoseconds, p.elapsedNanoseconds)
            r.ios += p.ios
            for (k, v) in p.perOperation { r.perOperation[k, default: 0] += v }
            r.bytesRead += p.bytesRead; r.bytesWritten += p.bytesWritten
            r.errors += p.errors; r.failures += p.failures.prefix(max(0, 16 - r.failures.count))
            r.abortedByReset += p.abortedByReset; r.resets = max(r.resets, p.resets)
            r.timeouts += p.timeouts; r.lateCompletions += p.lateCompletions; r.releasedByReset += p.releasedByReset
            r.quarantinedAtEnd += p.quarantinedAtEnd
            if r.stopReason == nil, let why = p.stopReason { r.stopReason = "\(p.name): \(why)" }
            r.iosAfterReset += p.iosAfterReset; r.verifiedBlocksAfterReset += p.verifiedBlocksAfterReset
            r.verifiedBlocks += p.verifiedBlocks
            r.mismatchCount += p.mismatchCount; r.mismatches += p.mismatches.prefix(max(0, 16 - r.mismatches.count))
            if r.iopsSeries.count < p.iopsSeries.count {
                r.iopsSeries += [UInt64](repeating: 0, count: p.iopsSeries.count - r.iopsSeries.count)
            }
            for (i, v) in p.iopsSeries.enumerated() { r.iopsSeries[i] += v }
            r.latency.add(p.latency)
            r.meanQueueDepth += p.meanQueueDepth
            r.doorbellWrites += p.doorbellWrites
            r.sqDoorbellWrites += p.sqDoorbellWrites
        }
        return r
    }
}

/// The result of a workload: every worker and their aggregate.
public struct WorkloadResult: Sendable {
    public var workers: [WorkerResult]
    public var total: WorkerResult
    public var configuration: [String: String]
    public init(workers: [WorkerResult], configuration: [String: String] = [:]) {
        self.workers = workers; self.total = .aggregate(workers); self.configuration = configuration
    }
    public var mismatchCount: UInt64 { total.mismatchCount }
    public var firstMismatch: IntegrityMismatch? { workers.lazy.compactMap(\.mismatches.first).first }
}

// MARK: JSON

extension WorkerResult: Encodable {
    enum CodingKeys: String, CodingKey {
        case name, controller, nsid, qid, queueDepth, elapsedNs, ios, iops, mbPerSecond, perOperation, bytesRead,
             bytesWritten, errors, failures, abortedByReset, resets, verifiedBlocks, mismatchCount, mismatches,
             timeouts, lateCompletions, releasedByReset, quarantinedAtEnd, stopReason, iosAfterReset,
             verifiedBlocksAfterReset,
             iopsSeries, latencyNs, latencyBuckets, meanQueueDepth, littlesLaw, doorbellWrites, doorbellWritesPerIO,
             sqDoorbellWrites,
             commandLog
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name); try c.encode(controller, forKey: .controller)
        try c.encode(nsid, forKey: .nsid); try c.encode(qid, forKey: .qid); try c.encode(queueDepth, forKey: .queueDepth)
        try c.encode(elapsedNanoseconds, forKey: .elapsedNs); try c.encode(ios, forKey: .ios)
        try c.encode(iops.rounded(), forKey: .iops); try c.encode((megabytesPerSecond * 100).rounded() / 100, forKey: .mbPerSecond)
        try c.encode(Dictionary(uniqueKeysWithValues: perOperation.map { ($0.key.rawValue, $0.value) }), forKey: .perOperation)
        try c.encode(bytesRead, forKey: .bytesRead); try c.encode(bytesWritten, forKey: .bytesWritten)
        try c.encode(errors, forKey: .errors); try c.encode(failures, forKey: .failures)
        try c.encode(abortedByReset, forKey: .abortedByReset); try c.encode(resets, forKey: .resets)
        try c.encode(timeouts, forKey: .timeouts); try c.encode(lateCompletions, forKey: .lateCompletions)
        try c.encode(releasedByReset, forKey: .releasedByReset); try c.encode(quarantinedAtEnd, forKey: .quarantinedAtEnd)
        try c.encodeIfPresent(stopReason, forKey: .stopReason)
        try c.encode(iosAfterReset, forKey: .iosAfterReset); try c.encode(verifiedBlocksAfterReset, forKey: .verifiedBlocksAfterReset)
        try c.encode(verifiedBlocks, forKey: .verifiedBlocks); try c.encode(mismatchCount, forKey: .mismatchCount)
        try c.encode(mismatches, forKey: .mismatches)
        try c.encode(iopsSeries, forKey: .iopsSeries); try c.encode(latencySummary, forKey: .latencyNs)
        try c.encode(latencyBuckets, forKey: .latencyBuckets)
        try c.encode((meanQueueDepth * 1000).rounded() / 1000, forKey: .meanQueueDepth)
        try c.encode(littlesLaw, forKey: .littlesLaw)
        try c.encode(doorbellWrites, forKey: .doorbellWrites); try c.encode(doorbellWritesPerIO, forKey: .doorbellWritesPerIO)
        try c.encode(sqDoorbellWrites, forKey: .sqDoorbellWrites)
        if !commandLog.isEmpty { try c.encode(commandLog, forKey: .commandLog) }
    }
}

extension IntegrityMismatch: Encodable {
    enum CodingKeys: String, CodingKey {
        case nsid, lba, blockIndexInCommand, expected, alternative, kind, firstDifferingByte, firstBytes, sqe, cqe, description
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(nsid, forKey: .nsid); try c.encode(lba, forKey: .lba)
        try c.encode(blockIndexInCommand, forKey: .blockIndexInCommand)
        try c.encode(expected.description, forKey: .expected)
        try c.encodeIfPresent(alternative?.description, forKey: .alternative)
        try c.encode(kindDescription, forKey: .kind)
        try c.encodeIfPresent(firstDifferingByte, forKey: .firstDifferingByte)
        try c.encode(firstBytes.map { String(format: "%02x", $0) }.joined(), forKey: .firstBytes)
        try c.encodeIfPresent(sqe, forKey: .sqe); try c.encodeIfPresent(cqe, forKey: .cqe)
        try c.encode(description, forKey: .description)
    }
}

extension WorkloadResult: Encodable {
    enum CodingKeys: String, CodingKey { case configuration, total, workers }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(configuration, forKey: .configuration)
        try c.encode(total, forKey: .total)
        try c.encode(workers, forKey: .workers)
    }

    /// Pretty-printed JSON with sorted keys.
    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let d = try? e.encode(self), let s = String(data: d, encoding: .utf8) else { return "{}" }
        return s
    }

    /// A few human lines: per worker and total IOPS, MB/s, latency percentiles, errors, mismatches.
    public func summary() -> String {
        var lines: [String] = []
        func line(_ r: WorkerResult) -> String {
            let l = r.latencySummary
            return "\(r.name): \(r.ios) IOs in \(String(format: "%.2f", r.seconds)) s, \(Int(r.iops.rounded())) IOPS, "
                + "\(String(format: "%.1f", r.megabytesPerSecond)) MB/s, latency p50 \(formatNs(l.p50)) p99 \(formatNs(l.p99)) "
                + "max \(formatNs(l.max)), QD \(String(format: "%.1f", r.meanQueueDepth)), errors \(r.errors), "
                + "verified \(r.verifiedBlocks) blocks, mismatches \(r.mismatchCount)"
                + (r.timeouts > 0 ? ", timeouts \(r.timeouts) (\(r.lateCompletions) answered late, \(r.releasedByReset) released by a reset, \(r.quarantinedAtEnd) unanswered)" : "")
                + (r.resets > 0 ? ", resets \(r.resets) (\(r.abortedByReset) aborted; \(r.iosAfterReset) IOs, \(r.verifiedBlocksAfterReset) blocks verified after the last)" : "")
        }
        for w in workers { lines.append(line(w)) }
        if workers.count > 1 { lines.append(line(total)) }
        for w in workers { if let why = w.stopReason { lines.append("\(w.name) \(why)") } }
        if let m = firstMismatch { lines.append("FIRST MISMATCH: \(m)") }
        func describe(_ f: FailedCommand) -> String {
            "opcode \(String(format: "%02x", f.opcode))h LBA \(f.slba)+\(f.blocks): \(f.status) [\(f.origin)]"
        }
        // Error statuses and a removed device; reset aborts are expected, timeouts have their own line.
        if let f = total.failures.first(where: { $0.origin != CompletionOrigin.timedOut.rawValue
                                                 && $0.origin != CompletionOrigin.abortedByReset.rawValue }) {
            lines.append("FIRST ERROR: \(describe(f))")
        }
        if let f = total.failures.first(where: { $0.origin == CompletionOrigin.timedOut.rawValue }) {
            lines.append("FIRST TIMEOUT: \(describe(f))")
        }
        return lines.joined(separator: "\n")
    }
}

func formatNs(_ ns: UInt64) -> String {
    if ns < 10_000 { return "\(ns) ns" }
    if ns < 10_000_000 { return String(format: "%.1f us", Double(ns) / 1e3) }
    return String(format: "%.1f ms", Double(ns) / 1e6)
}
