import Foundation
import NVMeWorkload
import Testing

@Suite("Results, Little's law, JSON, progress line and HTML report")
struct ResultsTests {
    static func sample(name: String, latencies: [UInt64], series: [UInt64], qd: Double, seconds: Double) -> WorkerResult {
        var r = WorkerResult(name: name, controller: "sim0", nsid: 1, qid: 1, queueDepth: Int(qd))
        for l in latencies { _ = r.latency.record(l) }
        r.ios = UInt64(latencies.count)
        r.iopsSeries = series
        r.meanQueueDepth = qd
        r.elapsedNanoseconds = UInt64(seconds * 1e9)
        r.bytesRead = r.ios * 4096
        r.perOperation = [.read: r.ios]
        return r
    }

    @Test func littlesLawComparesIOPSTimesLatencyWithTheMeasuredQueueDepth() {
        // 1000 IOs in 1 s of 2 ms each: 1000 IOPS x 2 ms = 2 outstanding on average.
        let r = Self.sample(name: "w", latencies: Array(repeating: 2_000_000, count: 1000), series: [1000], qd: 2.0, seconds: 1)
        let law = r.littlesLaw
        #expect(abs(law.predictedQueueDepth - 2.0) < 0.01)
        #expect(law.isConsistent(tolerance: 0.01))
        var wrong = r
        wrong.meanQueueDepth = 4
        #expect(!wrong.littlesLaw.isConsistent(tolerance: 0.2), "a queue depth twice the prediction is inconsistent")
    }

    @Test func aggregationMergesHistogramsAndAddsSeriesPerSecond() {
        let a = Self.sample(name: "a", latencies: [1000, 2000, 3000], series: [2, 1], qd: 1, seconds: 2)
        let b = Self.sample(name: "b", latencies: [10_000], series: [1, 0, 0], qd: 0.5, seconds: 3)
        let t = WorkerResult.aggregate([a, b])
        #expect(t.ios == 4)
        #expect(t.latency.totalCount == 4)
        #expect(t.iopsSeries == [3, 1, 0])
        #expect(t.elapsedNanoseconds == b.elapsedNanoseconds)
        #expect(t.meanQueueDepth == 1.5)
        #expect(t.latency.max >= 10_000 && t.latency.min <= 1000)
    }

    @Test func jsonCarriesPercentilesSeriesAndLittlesLaw() throws {
        let r = WorkloadResult(workers: [Self.sample(name: "w0", latencies: (1...100).map { UInt64($0) * 1000 },
                                                     series: [60, 40], qd: 1, seconds: 2)])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.json().utf8)) as? [String: Any])
        let total = try #require(obj["total"] as? [String: Any])
        let lat = try #require(total["latencyNs"] as? [String: Any])
        let p50 = try #require(lat["p50"] as? Int)
        #expect(abs(p50 - 50_000) <= 100)
        #expect(total["iopsSeries"] as? [Int] == [60, 40])
        #expect((total["littlesLaw"] as? [String: Any])?["measuredQueueDepth"] as? Double == 1)
        #expect((obj["workers"] as? [Any])?.count == 1)
    }

    @Test func progressIsOneRewrittenLineOnATerminalAndPlainLinesElsewhere() {
        let s1 = ProgressSnapshot(elapsedNanoseconds: 1_000_000_000, expectedNanoseconds: 10_000_000_000, completed: 5000,
                                  bytes: 5000 * 4096, p99Nanoseconds: 250_000, mismatches: 0, errors: 0)
        var live = ProgressLine(live: true)
        let t = live.render(s1)
        #expect(t.hasPrefix("\r") && !t.contains("\n"))
        #expect(t.contains("5000 IOPS") && t.contains("9s left") && t.contains("250.0 us"))
        var plain = ProgressLine(live: false)
        let p = plain.render(s1)
        #expect(p.hasSuffix("\n") && !p.contains("\r"))
        var s2 = s1
        s2.elapsedNanoseconds = 2_000_000_000; s2.completed = 8000
        #expect(plain.render(s2).contains("3000 IOPS"), "IOPS over the last interval, not since the start")
    }

    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: chromium != nil, "needs headless Chromium (apt-get install chromium; tools/lib/common.sh installs it)"))
    func theHTMLReportRendersItsValuesInHeadlessChromium() throws {
        let a = Self.sample(name: "w0", latencies: (1...2000).map { UInt64($0) * 500 }, series: [700, 800, 500], qd: 4, seconds: 3)
        var b = Self.sample(name: "w1", latencies: (1...1000).map { UInt64($0) * 3000 }, series: [300, 400, 300], qd: 8, seconds: 3)
        b.mismatchCount = 1
        b.timeouts = 2; b.lateCompletions = 1; b.abortedByReset = 3
        b.stopReason = "stopped: held by timeouts"
        b.mismatches = [IntegrityMismatch(nsid: 1, lba: 4242, blockIndexInCommand: 0, expected: .written(generation: 3),
                                          kind: .staleGeneration(expected: 3, found: 2), firstBytes: [])]
        let result = WorkloadResult(workers: [a, b])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nvmekit-report-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("report.html")
        try HTMLReport.render(result).write(to: file, atomically: true, encoding: .utf8)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.chromium!)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                       "--user-data-dir=\(dir.path)/profile", "--dump-dom", file.absoluteString]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let dom = String(decoding: data, as: UTF8.self)
        #expect(dom.contains("data-rendered=\"yes\""), "the report's script ran")

        // Values read back from the rendered DOM, compared with the result the report was made from.
        func metric(_ worker: String, _ name: String) -> String? {
            guard let row = dom.range(of: "data-worker=\"\(worker)\"><td") else { return nil }
            let rest = dom[row.lowerBound...]
            guard let cell = rest.range(of: "data-metric=\"\(name)\">") else { return nil }
            return String(rest[cell.upperBound...].prefix { $0 != "<" })
        }
        #expect(metric("all", "iops") == String(Int(result.total.iops.rounded())))
        #expect(metric("w0", "ios") == "2000")
        #expect(metric("w1", "mismatches") == "1")
        #expect(metric("all", "ios") == "3000")
        // Timeouts apart from errors and reset aborts.
        #expect(metric("w1", "timeouts") == "2" && metric("all", "timeouts") == "2" && metric("w0", "timeouts") == "0")
        #expect(metric("w1", "late") == "1" && metric("w1", "aborted") == "3" && metric("w1", "errors") == "0")
        #expect(dom.contains("data-stopped=\"w1\""))
        let points = dom.components(separatedBy: "class=\"iops-point\"").count - 1
        #expect(points == 6, "one point per second per worker")
        #expect(dom.contains("data-worker=\"w0\" data-second=\"1\" data-iops=\"800\""))
        let bars = dom.components(separatedBy: "class=\"latency-bar\"").count - 1
        #expect(bars == result.total.latencyBuckets.count && bars > 0)
        let counted = dom.components(separatedBy: "data-count=\"").dropFirst().compactMap { UInt64($0.prefix { $0 != "\"" }) }
        #expect(counted.reduce(0, +) == result.total.latency.totalCount, "the bars hold every IO")
        #expect(dom.contains("data-lba=\"4242\""))
    }
}
