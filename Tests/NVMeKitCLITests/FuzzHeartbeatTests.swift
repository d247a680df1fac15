import Foundation
import NVMeFuzz
import NVMeSimulator
import Testing
@testable import NVMeKitCLI

/// The `--heartbeat` lines are what tools/vm fuzz rebuilds a run from when QEMU dies: they must name every case
/// before it runs, carry counters that add up to the final summary, and bring every repro across intact.
@Suite("nvmekit fuzz --heartbeat")
struct FuzzHeartbeatTests {
    func run(cases: Int, avoid: [String] = [], firstCase: UInt64 = 0) throws -> (lines: [String], summary: FuzzSummary) {
        var config = SimulatorConfiguration()
        config.executionMode = .inline
        let sim = try SimulatedController(configuration: config)
        // Flush never completes: deadline findings, so repros travel in the stream.
        sim.inject(.io(.flush, .dropCompletion))
        var o = FuzzOptions()
        o.seed = 2026; o.cases = cases; o.firstCase = firstCase; o.avoidLabels = avoid
        o.deadline = .milliseconds(20)
        let runner = try FuzzRunner(target: FuzzTarget(device: sim, faults: nil, name: "sim"), options: o)
        var lines: [String] = []
        let beat = Heartbeat(runner: runner, sink: { lines.append($0) })
        beat.attach()
        let s = runner.run()
        beat.finish(s)
        sim.close()
        return (lines, s)
    }

    func counters(_ line: String) throws -> [String: Int] {
        let json = try #require(line.split(separator: " ", maxSplits: 3).dropFirst(3).first.map(String.init)
            .flatMap { $0.split(separator: "}", maxSplits: 1).first.map { String($0) + "}" } })
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Int])
    }

    @Test("a CASE line precedes every case that runs, in order, and its counters are the run's state before it")
    func caseLinesNameEveryCase() throws {
        let (lines, s) = try run(cases: 300, firstCase: 40)
        let caseLines = lines.filter { $0.hasPrefix("FUZZ CASE ") }
        #expect(caseLines.count == s.cases)
        let indices = caseLines.compactMap { UInt64($0.split(separator: " ")[2]) }
        #expect(indices == Array(40..<340))
        let firstCounters = try counters(caseLines[0])
        #expect(firstCounters["cases"] == 0)
        let lastCounters = try counters(caseLines.last!)
        #expect(lastCounters["cases"] == s.cases - 1, "the last line is written before the last case ran")
        #expect((lastCounters["findings"] ?? -1) <= s.findings)
        let summaryLine = try #require(lines.last)
        #expect(summaryLine.hasPrefix("FUZZ SUMMARY "))
        let decoded = try JSONDecoder().decode(FuzzSummary.self, from: Data(summaryLine.dropFirst("FUZZ SUMMARY ".count).utf8))
        #expect(decoded.cases == s.cases && decoded.findings == s.findings && decoded.hangs == s.hangs)
        #expect(lines.contains { $0.hasPrefix("FUZZ CHECKPOINT ") }, "a checkpoint every 250 cases")
    }

    @Test("every repro the run wrote arrives as a REPRO line that decodes to the same repro")
    func reproLinesCarryRepros() throws {
        let (lines, s) = try run(cases: 400)
        #expect(s.findings > 0, "the dropped Get Features completions must produce findings")
        let repros = lines.filter { $0.hasPrefix("FUZZ REPRO ") }
        #expect(repros.count > 0)
        for line in repros {
            let parts = line.split(separator: " ")
            let data = try #require(Data(base64Encoded: String(parts[3])))
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("hb-\(UUID().uuidString).json").path
            #expect(FileManager.default.createFile(atPath: path, contents: data))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let r = try Repro.load(path: path)
            #expect(r.fileName == String(parts[2]))
        }
    }

    @Test("avoided labels never run and are counted, so cases + avoided is what was asked for")
    func avoidedCasesAreCounted() throws {
        let label = "SGL segment chain looping on itself"
        let (lines, s) = try run(cases: 2000, avoid: [label])
        #expect(s.avoided > 0, "seed 2026 generates the endless chain within 2000 cases")
        #expect(s.cases + s.avoided == 2000)
        #expect(!lines.contains { $0.hasPrefix("FUZZ CASE ") && $0.contains(label) })
    }
}
