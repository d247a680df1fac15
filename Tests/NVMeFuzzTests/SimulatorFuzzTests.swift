import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing
@testable import NVMeFuzz

/// A simulated controller wired as a fuzz target, its bus faults feeding the DMA oracle.
func simulatorTarget(_ configure: (inout SimulatorConfiguration) -> Void = { _ in }) throws -> (SimulatedController, FuzzTarget) {
    var config = SimulatorConfiguration()
    config.executionMode = .inline
    configure(&config)
    let sim = try SimulatedController(configuration: config)
    let target = FuzzTarget(device: sim, faults: CountingFaultMonitor { Int(sim.statistics.dmaFaults) }, name: "sim")
    return (sim, target)
}

func fuzzOptions(cases: Int, seed: UInt64 = 1, generators: [GeneratorKind] = GeneratorKind.allCases) -> FuzzOptions {
    var o = FuzzOptions()
    o.seed = seed
    o.cases = cases
    o.generators = generators
    o.deadline = .milliseconds(50)
    o.identifyEvery = 50
    o.lbaCanaryEvery = 50
    return o
}

/// A well-formed 8-block read into the data area, built as the generators build cases.
func plainRead(index: UInt64 = 1_000_000, opcode: IOOpcode = .read) -> FuzzCase {
    var sqe = SubmissionQueueEntry(opcode: opcode.rawValue, nsid: 1)
    sqe.cdw10 = 100
    sqe.cdw12 = 7
    let s = Submission(qid: 1, sqe: sqe, prp1: .data(offset: 4096), expect: Expectation())
    return FuzzCase(index: index, generator: .fields, label: "plain \(opcode)", actions: [.submit(s)])
}

@Suite("Fuzz runner on the simulator")
struct SimulatorFuzzTests {
    @Test("a command told to write its data over a queue ring is not blamed on the completion entries it clobbers")
    func dataAimedAtTheQueuesIsNotACompletionEntryFinding() throws {
        // Found by the 1,000,000-case run: Get Log Page with PRP1 = 0x1_0000_0000 (a dword mutation) wrote the Error
        // Information log over the admin CQ, whose ring sits there; the next CQE read back as garbage.
        let (_, target) = try simulatorTarget()
        let runner = try FuzzRunner(target: target, options: fuzzOptions(cases: 1))
        let cq = try #require(runner.controller.adminQueue).cq.memory.busAddress(at: 0)
        var sqe = SubmissionQueueEntry(opcode: AdminOpcode.getLogPage.rawValue, nsid: 0xFFFF_FFFF)
        sqe.cdw10 = 0x00FF_0001   // Error Information, 256 dwords: four entries, the whole 1 KiB ring
        let s = Submission(qid: 0, sqe: sqe, prp1: .absolute(cq), expect: Expectation(wildPointers: true))
        let c = FuzzCase(index: 7, generator: .fields, label: "get log page over the admin CQ", actions: [.submit(s)])
        let resetsBefore = runner.summary.plannedResets
        let found = runner.runCase(c)
        #expect(!found.contains { $0.oracle == .completionEntry || $0.oracle == .phase }, "\(found)")
        #expect(runner.summary.plannedResets == resetsBefore + 1, "the clobbered queues are set up again")
        // And the controller works afterwards.
        #expect(runner.runCase(plainRead()).isEmpty)
    }

    @Test("a mixed run of every generator finishes with the toolkit alive and every hang recovered")
    func mixedRunSurvives() throws {
        let (_, target) = try simulatorTarget()
        let runner = try FuzzRunner(target: target, options: fuzzOptions(cases: 1500, seed: 12345))
        let s = runner.run()
        if ProcessInfo.processInfo.environment["NVMEKIT_FUZZ_DEBUG"] != nil {
            print(s.report)
            for f in runner.findings.prefix(10) { print("FINDING \(f)") }
            for r in runner.repros.prefix(3) { print(r.json()) }
        }
        #expect(s.cases == 1500)
        #expect(s.toolkitCrashes == 0)
        #expect(s.unrecovered == 0)
        #expect(s.hangs <= s.recovered)
        #expect(s.statuses.count > 5)
        #expect(s.perGenerator.count == GeneratorKind.allCases.count)
        // A compliant simulator gives no finding for the command-level families.
        let detail = runner.findings.prefix(5).map { "\($0.oracle) case \($0.caseIndex): \($0.expected) / \($0.got)" }
        #expect(s.findings == 0, "\(detail)")
    }

    @Test("a plain read trips no oracle")
    func cleanCase() throws {
        let (_, target) = try simulatorTarget()
        let runner = try FuzzRunner(target: target, options: fuzzOptions(cases: 1))
        #expect(runner.runCase(plainRead()).isEmpty)
    }
}
