import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NVMeConformance
import NVMeDriver
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing

/// Runs the conformance suite on a simulated controller, as `nvmekit conformance --target sim` does.
func simulatorRunner(deadline: Duration = .seconds(60),
                     configure: @escaping @Sendable (inout SimulatorConfiguration) -> Void = { _ in }) -> ConformanceRunner {
    ConformanceRunner(deadline: deadline) { setup in
        var config = SimulatorConfiguration()
        configure(&config)
        var options = ControllerOptions()
        options.interrupts = .msix
        options.defaultTimeout = .seconds(5)
        return try Controller.open(try SimulatedController(configuration: config), options: options,
                                   sequence: setup == .standard ? .standard : .adminOnly)
    }
}

@Suite struct ConformanceSuiteTests {
    @Test func theSimulatorConformsToEveryTest() throws {
        let results = simulatorRunner().run(ConformanceSuite.all)
        let failures = results.filter { if case .fail = $0.outcome { true } else { false } }.map(ConformanceReport.line)
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(results.count == ConformanceSuite.all.count)
        // The simulator has a namespace, MSI-X and the optional NVM commands, so most tests apply to it.
        let applied = results.filter { $0.outcome == .pass }.count
        #expect(applied * 10 >= results.count * 8, "only \(applied) of \(results.count) tests applied")
    }

    @Test func everyTestHasAUniqueIDAndACitation() {
        let tests = ConformanceSuite.all
        #expect(Set(tests.map(\.id)).count == tests.count)
        for t in tests {
            #expect(t.id.hasPrefix(t.area.rawValue + "."), "\(t.id)")
            #expect(t.citation.contains("§") || t.citation.contains("Figure"), "\(t.id) cites no section: \(t.citation)")
        }
    }

    @Test func theJUnitReportHasOneTestcasePerTestAndParses() throws {
        let tests = try ConformanceSuite.select("registers|identify\\.01")
        let results = simulatorRunner().run(tests)
        // One injected failure and one not-applicable result, so every element kind appears.
        var mixed = results
        mixed[0].outcome = .fail(expected: "CAP.MQES ≥ 1h & <x>", observed: "\"0\"")
        mixed[1].outcome = .notApplicable("needs X: CAP.Y = 0")
        let xml = ConformanceReport.junit(mixed, target: "sim")
        let doc = try XMLDocument(xmlString: xml)
        let cases = try doc.nodes(forXPath: "//testcase")
        #expect(cases.count == tests.count)
        let names = cases.compactMap { ($0 as? XMLElement)?.attribute(forName: "name")?.stringValue }
        #expect(names == results.map(\.test.id))
        let failure = try doc.nodes(forXPath: "//testcase/failure")
        #expect(failure.count == 1)
        #expect((failure.first as? XMLElement)?.attribute(forName: "message")?.stringValue == "expected CAP.MQES ≥ 1h & <x>; observed \"0\"")
        #expect(try doc.nodes(forXPath: "//testcase/skipped").count == 1)
        let out = try doc.nodes(forXPath: "//testcase[1]/system-out").first?.stringValue ?? ""
        #expect(out.contains("Identify") || out.contains("last commands"), "\(out)")
        let root = doc.rootElement()
        #expect(root?.attribute(forName: "tests")?.stringValue == "\(tests.count)")
        #expect(root?.attribute(forName: "failures")?.stringValue == "1")
    }

    @Test func aThrowingBodyFailsOnlyItsTest() {
        let tests = [
            ConformanceTest(id: "registers.x-throws", title: "throws", citation: "§0", area: .registers) { _ in
                throw ConformanceError("boom")
            },
            ConformanceTest(id: "registers.x-passes", title: "passes", citation: "§0", area: .registers) { _ in .pass },
        ]
        let results = simulatorRunner().run(tests)
        #expect(results.map(\.outcome.kind) == ["fail", "pass"])
        if case .fail(_, let observed) = results[0].outcome { #expect(observed.contains("boom")) }
    }

    @Test func aHungTestFailsAtItsDeadlineAndTheRunGoesOn() {
        let release = DispatchSemaphore(value: 0)
        let tests = [
            ConformanceTest(id: "registers.x-hangs", title: "hangs", citation: "§0", area: .registers) { _ in
                release.wait()
                return .pass
            },
            ConformanceTest(id: "registers.x-after", title: "after", citation: "§0", area: .registers) { _ in .pass },
        ]
        var runner = simulatorRunner(deadline: .milliseconds(300))
        runner.grace = .milliseconds(10)
        let results = runner.run(tests)
        release.signal()
        #expect(results.map(\.outcome.kind) == ["fail", "pass"])
    }

    @Test func aMissingCapabilityIsNotApplicableWithItsField() throws {
        let tests = try ConformanceSuite.select("queues.007")
        let results = simulatorRunner { $0.cap.cqr = false }.run(tests)
        #expect(results.first?.outcome == .notApplicable("needs contiguous queues required: CAP.CQR = 0"))
    }

    @Test func theDeviationComparisonSeesBothDirections() {
        let list = [ConformanceDeviation(id: "a", spec: "s", observed: "o"), ConformanceDeviation(id: "b", spec: "s", observed: "o")]
        let d = ConformanceDeviations.compare(failed: ["a", "c"], deviations: list, ran: ["a", "b", "c"])
        #expect(d.unexpected == ["c"])
        #expect(d.fixed == ["b"])
    }

    @Test func theQEMUDeviationListNamesRealTests() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/conformance/qemu-7.2-deviations.json")
        let list = try ConformanceDeviations.decode(try Data(contentsOf: url))
        let ids = Set(ConformanceSuite.all.map(\.id))
        for d in list {
            #expect(ids.contains(d.id), "\(d.id) is not a conformance test")
            #expect(!d.spec.isEmpty && !d.observed.isEmpty, "\(d.id)")
        }
    }
}
