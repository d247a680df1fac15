import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing
@testable import NVMeFuzz

/// Each oracle must be able to trip: the simulator misbehaves on purpose, the runner must name the oracle, recover,
/// write a repro, and that repro must reproduce the finding on a fresh controller with the same fault.
@Suite("Fuzz oracles trip on simulator fault injection")
struct OracleTests {
    /// Runs `c` against a fresh simulator with `fault` armed after initialisation; returns the runner and findings.
    func trip(_ fault: FaultRule?, _ c: FuzzCase, directory: String? = nil) throws -> (FuzzRunner, SimulatedController, [Finding]) {
        let (sim, target) = try simulatorTarget()
        var o = fuzzOptions(cases: 1)
        o.outputDirectory = directory
        let runner = try FuzzRunner(target: target, options: o)
        if let fault { sim.inject(fault) }
        let found = runner.runCase(c)
        return (runner, sim, found)
    }

    /// The repro of `oracle` from `runner`, written to disk, loaded back and replayed on a fresh simulator with
    /// the same fault: it must reproduce.
    func expectWorkingRepro(_ runner: FuzzRunner, _ oracle: OracleKind, fault: FaultRule?, directory: String) throws {
        let repro = try #require(runner.repros.first { $0.oracle == oracle })
        let path = try #require(runner.summary.reproFiles.first { $0.hasSuffix(repro.fileName) })
        let loaded = try Repro.load(path: path)
        #expect(loaded == repro)
        #expect(loaded.posted.first?.sqe.count == 128, "exact SQE bytes are in the repro")

        let (sim2, target2) = try simulatorTarget()
        let replayer = try FuzzRunner(target: target2, options: fuzzOptions(cases: 1))
        if let fault { sim2.inject(fault) }
        let result = replayer.replay(loaded)
        #expect(result.reproduced, "replay findings: \(result.findings.map(\.oracle))")
    }

    func tempDirectory() -> String {
        let d = NSTemporaryDirectory() + "/nvmekit-fuzz-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test("a dropped completion trips the deadline oracle, counts a hang, recovers and leaves a working repro")
    func hang() throws {
        let dir = tempDirectory(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let fault = FaultRule.io(.read, times: 1, .dropCompletion)
        let (runner, _, found) = try trip(fault, plainRead(), directory: dir)
        #expect(found.map(\.oracle) == [.deadline])
        #expect(runner.summary.hangs == 1)
        #expect(runner.summary.recovered == 1)
        #expect(runner.runCase(plainRead(index: 2)).isEmpty, "the controller works again after recovery")
        try expectWorkingRepro(runner, .deadline, fault: fault, directory: dir)
    }

    @Test("a CQE with the wrong phase tag trips the phase oracle, not the deadline oracle (Base §4.6 Phase Tag)")
    func wrongPhase() throws {
        let dir = tempDirectory(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let fault = FaultRule.io(.read, times: 1, .wrongPhase)
        let (runner, _, found) = try trip(fault, plainRead(), directory: dir)
        #expect(found.map(\.oracle) == [.phase])
        #expect(runner.summary.recovered == 1)
        try expectWorkingRepro(runner, .phase, fault: fault, directory: dir)
    }

    @Test("a CQE with a CID nobody submitted trips the completion-entry oracle (Base §4.6 CID)")
    func wrongCID() throws {
        let dir = tempDirectory(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let fault = FaultRule.io(.read, times: 1, .wrongCID(nil))
        let (runner, _, found) = try trip(fault, plainRead(), directory: dir)
        #expect(found.contains { $0.oracle == .completionEntry && $0.got.contains("matches nothing outstanding") })
        #expect(runner.summary.recovered == 1)
        try expectWorkingRepro(runner, .completionEntry, fault: fault, directory: dir)
    }

    @Test("CSTS.CFS trips the controller-fatal oracle and a controller reset recovers (Base §3.1.4.6)")
    func controllerFatal() throws {
        let dir = tempDirectory(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let fault = FaultRule.io(.read, times: 1, .controllerFatal)
        let (runner, sim, found) = try trip(fault, plainRead(), directory: dir)
        #expect(found.contains { $0.oracle == .controllerFatal })
        #expect(runner.summary.recovered == 1)
        #expect(!sim.bar0.csts.cfs)
        try expectWorkingRepro(runner, .controllerFatal, fault: fault, directory: dir)
    }

    @Test("a write past the command's buffer trips the host-memory canary oracle")
    func clobberedCanary() throws {
        let dir = tempDirectory(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let fault = FaultRule.io(.read, times: 1, .clobberHostMemory(length: 16, byte: 0xEE))
        let (runner, _, found) = try trip(fault, plainRead(), directory: dir)
        #expect(found.map(\.oracle) == [.hostMemoryCanary])
        #expect(found.first?.got.contains("0xEE") == true)
        try expectWorkingRepro(runner, .hostMemoryCanary, fault: fault, directory: dir)
    }

    @Test("success for a reserved opcode trips the status oracle (Base §5 Invalid Command Opcode)")
    func statusForReservedOpcode() throws {
        let dir = tempDirectory(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let fault = FaultRule(queue: .admin, opcode: 0x03, times: 1, action: .status(.success))
        let sqe = SubmissionQueueEntry(opcode: 0x03)
        let s = Submission(qid: 0, sqe: sqe, expect: Expectation(mustFail: StatusRules.mustFail(sqe, admin: true, environment: FuzzEnvironment())))
        let c = FuzzCase(index: 7, generator: .opcodes, label: "admin opcode 0x03", actions: [.submit(s)])
        let (runner, _, found) = try trip(fault, c, directory: dir)
        #expect(found.map(\.oracle) == [.status])
        try expectWorkingRepro(runner, .status, fault: fault, directory: dir)
        // Without the fault the simulator answers Invalid Command Opcode: nothing to report.
        let (_, _, clean) = try trip(nil, c)
        #expect(clean.isEmpty)
    }

    @Test("a controller that disappears trips the device-alive oracle; recovery escalates past the controller reset")
    func deviceGone() throws {
        let (runner, _, found) = try trip(FaultRule.io(.read, times: 1, .disappear), plainRead())
        #expect(found.contains { $0.oracle == .deviceAlive })
        #expect(runner.summary.recovered == 1)
        // A controller reset cannot reach a device that reads all ones: the first level that helps is a function reset.
        #expect(runner.summary.resets["controller"] == 1)
        #expect(runner.summary.resets["flr"] == 1)
        #expect(runner.runCase(plainRead(index: 2)).isEmpty)
    }

    @Test("a DMA fault from well-formed pointers trips the DMA-fault oracle")
    func dmaFault() throws {
        var sqe = SubmissionQueueEntry(opcode: IOOpcode.read.rawValue, nsid: 1)
        sqe.cdw12 = 0
        // Declared well-formed, yet pointing at nothing: what a device DMAing to the wrong address looks like.
        let s = Submission(qid: 1, sqe: sqe, prp1: .unmapped(offset: 0), expect: Expectation(wildPointers: false))
        let c = FuzzCase(index: 3, generator: .prp, label: "read to an unmapped page declared well-formed", actions: [.submit(s)])
        let (_, _, found) = try trip(nil, c)
        #expect(found.map(\.oracle) == [.dmaFault])
        // The same command declared wild is expected to fault, and the simulator fails it: no finding.
        var wild = c
        wild.actions = [.submit(Submission(qid: 1, sqe: sqe, prp1: .unmapped(offset: 0), expect: Expectation(wildPointers: true)))]
        let (_, _, none) = try trip(nil, wild)
        #expect(none.isEmpty)
    }

    @Test("Identify failing trips the identify oracle, and recovery brings it back")
    func identifyFails() throws {
        let (sim, target) = try simulatorTarget()
        let runner = try FuzzRunner(target: target, options: fuzzOptions(cases: 1))
        sim.inject(FaultRule(queue: .admin, opcode: AdminOpcode.identify.rawValue, times: 1,
                             action: .status(CompletionStatus(sct: 0, sc: 6))))
        let found = runner.periodicChecks(caseIndex: 0, force: true)
        #expect(found.map(\.oracle) == [.identify])
        #expect(runner.summary.recovered == 1)
        #expect(runner.periodicChecks(caseIndex: 1, force: true).isEmpty)
    }

    @Test("a write the runner never saw, landing on the canary LBAs, trips the LBA canary oracle")
    func lbaCanary() throws {
        let (_, target) = try simulatorTarget()
        let runner = try FuzzRunner(target: target, options: fuzzOptions(cases: 1))
        let env = runner.environment
        // A second queue pair in the data area, and a write to the canary blocks posted straight into its ring:
        // the runner tracks neither, exactly like a controller writing the wrong LBA.
        var write = SubmissionQueueEntry(opcode: IOOpcode.write.rawValue, nsid: 1)
        write.cdw10 = UInt32(env.firstCanaryBlock); write.cdw12 = 0; write.cid = 1
        write.prp1 = runner.resolve(.data(offset: 3 * 4096))
        var cq = SubmissionQueueEntry(opcode: AdminOpcode.createIOCompletionQueue.rawValue)
        cq.cdw10 = 2 | 3 << 16; cq.cdw11 = 1
        var sq = SubmissionQueueEntry(opcode: AdminOpcode.createIOSubmissionQueue.rawValue)
        sq.cdw10 = 2 | 3 << 16; sq.cdw11 = 1 | 2 << 16
        let c = FuzzCase(index: 9, generator: .doorbells, label: "hidden write", actions: [
            .fill(area: .data, offset: 0, count: 4 * 4096, byte: 0),
            .writeBytes(area: .data, offset: 4096, bytes: write.bytes),
            .submit(Submission(qid: 0, sqe: cq, prp1: .data(offset: 0))),
            .submit(Submission(qid: 0, sqe: sq, prp1: .data(offset: 4096))),
            .ringSubmissionTail(qid: 2, value: .raw(1)),
        ])
        #expect(runner.runCase(c).isEmpty)
        let found = runner.periodicChecks(caseIndex: 9, force: true)
        #expect(found.map(\.oracle) == [.lbaCanary])
    }
}

@Suite("Minimiser on the simulator")
struct MinimizerSimulatorTests {
    @Test("minimising a hang keeps the one read that hangs and drops the writes around it")
    func minimiseHang() throws {
        let (sim, target) = try simulatorTarget()
        var o = fuzzOptions(cases: 1)
        o.historyLength = 6
        let runner = try FuzzRunner(target: target, options: o)
        for i in 0..<5 as Range<UInt64> { _ = runner.runCase(plainRead(index: 100 + i, opcode: .write)) }
        // Every read hangs on this controller; the failing case is a write followed by a read.
        let rule = FaultRule.io(.read, times: nil, .dropCompletion)
        sim.inject(rule)
        var failing = plainRead(index: 200, opcode: .write)
        failing.actions += plainRead().actions
        let found = runner.runCase(failing)
        #expect(found.contains { $0.oracle == .deadline })
        let repro = try #require(runner.repros.first)
        #expect(repro.history.count == 5)

        let (sim2, target2) = try simulatorTarget()
        let replayer = try FuzzRunner(target: target2, options: fuzzOptions(cases: 1))
        sim2.inject(rule)
        let result = Minimizer.minimize(repro, using: replayer)
        #expect(result.repro.history.isEmpty)
        #expect(result.repro.failingCase.actions.count == 1)
        #expect(result.repro.failingCase.submissions.first?.opcode == IOOpcode.read.rawValue)
        #expect(replayer.replay(result.repro).reproduced)
    }
}
