import NVMeDriver
import NVMeSpec
import Testing
@testable import NVMeFuzz

/// The run's promise behind every repro: the same seed gives the same cases, findings and summary.
@Suite("Fuzz runs are reproducible")
struct RunDeterminismTests {
    /// A run's summary without its wall-time fields, and its findings.
    func run(seed: UInt64, cases: Int) throws -> (FuzzSummary, [Finding]) {
        let (_, target) = try simulatorTarget()
        let runner = try FuzzRunner(target: target, options: fuzzOptions(cases: cases, seed: seed))
        var s = runner.run()
        s.seconds = 0; s.casesPerSecond = 0; s.secondsPerGenerator = [:]
        return (s, runner.findings)
    }

    @Test("two runs of one seed give the same counts (cases, findings per oracle, hangs, recoveries, resets, statuses) and findings")
    func sameSeedSameSummary() throws {
        let (a, fa) = try run(seed: 2026, cases: 400)
        let (b, fb) = try run(seed: 2026, cases: 400)
        #expect(a.cases == 400)
        #expect(a.statuses.count > 5 && a.plannedResets > 0, "the run exercised statuses and re-initialisations")
        #expect(a == b)
        #expect(fa == fb)
        let (other, _) = try run(seed: 2027, cases: 400)
        #expect(other.perOpcode != a.perOpcode || other.statuses != a.statuses, "another seed runs other cases")
    }
}
