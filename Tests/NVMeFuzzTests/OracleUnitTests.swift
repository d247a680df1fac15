import NVMeDriver
import NVMeSpec
import Testing
@testable import NVMeFuzz

/// Each oracle judged on its own: a crafted outcome that must produce its finding, and a near miss that must not.
/// (OracleTests trips the same oracles through whole runs on a misbehaving simulator.)
@Suite("Fuzz oracles judge crafted outcomes")
struct OracleUnitTests {
    let read = plainRead(index: 7)
    let context = OracleContext(deadline: .milliseconds(50))

    func command(cid: UInt16 = 0x8001, qid: UInt16 = 1, opcode: UInt8 = IOOpcode.read.rawValue,
                 expect: NVMeFuzz.Expectation = NVMeFuzz.Expectation(), rang: Bool = true, status: CompletionStatus? = .success) -> ExecutedCommand {
        ExecutedCommand(qid: qid, cid: cid, opcode: opcode, expect: expect, rang: rang, postedIndex: 0, guards: [],
                        done: status != nil, status: status)
    }

    func completion(_ p: ExecutedCommand?, sqid: UInt16 = 1, sqhd: UInt16 = 1, cid: UInt16 = 0x8001,
                    status: CompletionStatus = .success, lingering: Bool = false) -> ObservedCompletion {
        let cqe = CQE(sqhd: sqhd, sqid: sqid, cid: cid, phase: true, status: status)
        let match: ObservedCompletion.Match = p.map { .command($0) } ?? (lingering ? .lingering : .unknown)
        return ObservedCompletion(qid: 1, sqDepth: 64, cqe: cqe, match: match)
    }

    func outcome(_ commands: [ExecutedCommand] = [], _ configure: (inout CaseOutcome) -> Void = { _ in }) -> CaseOutcome {
        var o = CaseOutcome(resolvedCase: read)
        o.commands = commands
        configure(&o)
        return o
    }

    @Test("completionEntry: wrong SQID, SQHD past the depth, an unknown CID and an unrung command are findings")
    func completionEntry() {
        let p = command()
        #expect(CompletionEntryOracle.judge(completion(p), caseIndex: 7).isEmpty)
        #expect(CompletionEntryOracle.judge(completion(nil, lingering: true), caseIndex: 7).isEmpty)
        let sqid = CompletionEntryOracle.judge(completion(p, sqid: 2), caseIndex: 7)
        #expect(sqid.map(\.oracle) == [.completionEntry] && sqid.first?.expected == "CQE.SQID 1" && sqid.first?.caseIndex == 7)
        #expect(CompletionEntryOracle.judge(completion(p, sqhd: 64), caseIndex: 7).first?.got == "SQHD 64")
        #expect(CompletionEntryOracle.judge(completion(p, sqhd: 63), caseIndex: 7).isEmpty)
        #expect(CompletionEntryOracle.judge(completion(nil, cid: 0x1234), caseIndex: 7).first?.expected == "CQE.CID of an outstanding command")
        let unrung = CompletionEntryOracle.judge(completion(command(rang: false)), caseIndex: 7)
        #expect(unrung.count == 1 && unrung.first?.opcode == IOOpcode.read.rawValue)
    }

    @Test("status: success where the spec requires failure, and a reserved SCT, are findings; an error is not")
    func status() {
        let mustFail = command(expect: NVMeFuzz.Expectation(mustFail: "reserved opcode"))
        let success = StatusOracle.judge(completion(mustFail), caseIndex: 7)
        #expect(success.map(\.oracle) == [.status] && success.first?.expected == "reserved opcode")
        let invalid = CompletionStatus(sct: 0, sc: 1)
        #expect(StatusOracle.judge(completion(mustFail, status: invalid), caseIndex: 7).isEmpty)
        #expect(StatusOracle.judge(completion(command()), caseIndex: 7).isEmpty)
        let reserved = StatusOracle.judge(completion(command(), status: CompletionStatus(sct: 5, sc: 1)), caseIndex: 7)
        #expect(reserved.map(\.oracle) == [.status] && reserved.first?.expected == "a defined Status Code Type")
        #expect(StatusOracle.judge(completion(nil, status: CompletionStatus(sct: 5, sc: 1)), caseIndex: 7).isEmpty,
                "an entry that answers no command is the completion-entry oracle's")
    }

    @Test("phase vs deadline: the command's own entry at the head with the wrong phase is a phase finding, anything else a hang")
    func phaseAndDeadline() {
        let p = command(status: nil)
        let wrongPhase = UnansweredCommand(command: p, cqHead: 3, expectedPhase: true,
                                           entryAtHead: CQE(sqhd: 1, sqid: 1, cid: p.cid, phase: false, status: .success))
        #expect(PhaseOracle.judge(wrongPhase, caseIndex: 7).map(\.oracle) == [.phase])
        #expect(DeadlineOracle.judge(wrongPhase, caseIndex: 7, context).isEmpty)
        var stale = wrongPhase
        stale.entryAtHead = CQE(sqhd: 1, sqid: 1, cid: 0x9999, phase: false, status: .success)
        #expect(PhaseOracle.judge(stale, caseIndex: 7).isEmpty)
        stale.csts = 0x1
        let hang = DeadlineOracle.judge(stale, caseIndex: 7, context)
        #expect(hang.map(\.oracle) == [.deadline] && hang.first?.expected == "completion within 0.05 seconds")
        #expect(hang.first?.got.hasSuffix("head 3, CSTS 0x1)") == true)
        let all = Oracles.judge(outcome([p]) { $0.unanswered = [wrongPhase, stale] }, context)
        #expect(all.map(\.oracle) == [.phase, .deadline])
    }

    @Test("controller state: all ones is deviceAlive, CFS is controllerFatal, RDY alone is nothing")
    func controllerState() {
        func judge(_ csts: UInt32) -> [OracleKind] {
            ControllerStateOracle.judge(outcome([command()]) { $0.csts = ControllerStatus(rawValue: csts) }).map(\.oracle)
        }
        #expect(judge(0xFFFF_FFFF) == [.deviceAlive])
        #expect(judge(0x3) == [.controllerFatal])
        #expect(judge(0x1).isEmpty)
        let fatal = ControllerStateOracle.judge(outcome([command(opcode: 0x02)]) { $0.csts = ControllerStatus(rawValue: 3) })
        #expect(fatal.first?.opcode == 0x02, "a fatal status is attributed to the case's last command")
    }

    @Test("host memory canary: a damaged canary page or guard window of a completed command is a finding")
    func hostMemoryCanary() {
        #expect(HostMemoryCanaryOracle.judge(outcome([command()])).isEmpty)
        let page = HostMemoryCanaryOracle.judge(outcome([command()]) {
            $0.canaryDamage = [CanaryDamage(page: 0, offset: 0x10, value: 0, bytes: [0])]
        })
        #expect(page.map(\.oracle) == [.hostMemoryCanary] && page.first?.expected == "canary page at arena offset 0x0 untouched")
        var p = command()
        p.damagedGuard = GuardDamage(dataOffset: 0x2000, value: 0, guardOffset: 0x2000, guardCount: 256)
        #expect(HostMemoryCanaryOracle.judge(outcome([p])).map(\.oracle) == [.hostMemoryCanary])
        p.done = false
        #expect(HostMemoryCanaryOracle.judge(outcome([p])).isEmpty, "guards are judged only once the command completed")
    }

    @Test("DMA fault: faults from well-formed pointers, or a faulting wild command that succeeded, are findings")
    func dmaFault() {
        let faults = FaultObservation(count: 2, lastMessage: "DMAR fault")
        #expect(DMAFaultOracle.judge(outcome([command()])).isEmpty, "no fault monitor")
        #expect(DMAFaultOracle.judge(outcome([command()]) { $0.faults = FaultObservation(count: 0) }).isEmpty)
        let plain = DMAFaultOracle.judge(outcome([command()]) { $0.faults = faults })
        #expect(plain.map(\.oracle) == [.dmaFault] && plain.first?.got == "2 fault(s): DMAR fault")
        let wild = NVMeFuzz.Expectation(wildPointers: true)
        #expect(DMAFaultOracle.judge(outcome([command(expect: wild, status: CompletionStatus(sct: 0, sc: 4))]) { $0.faults = faults }).isEmpty)
        #expect(DMAFaultOracle.judge(outcome([command(expect: wild)]) { $0.faults = faults }).first?.got
                == "Successful Completion with 2 fault(s): DMAR fault")
        let register = DMAFaultOracle.judge(outcome([command()]) {
            $0.faults = faults
            $0.resolvedCase.actions.append(.writeRegister(offset: 0x14, value: 0))
        })
        #expect(register.isEmpty, "a register write may point the controller anywhere")
    }

    @Test("identify: the same identity bytes pass; changed bytes or no answer are findings")
    func identify() {
        let baseline = (0..<4096).map { UInt8(truncatingIfNeeded: $0) }
        #expect(IdentifyOracle.judge(baseline: baseline, now: baseline, caseIndex: 7) == nil)
        var beyond = baseline; beyond[100] ^= 0xFF
        #expect(IdentifyOracle.judge(baseline: baseline, now: beyond, caseIndex: 7) == nil, "only bytes 0-71 are identity")
        var changed = baseline; changed[4] ^= 0xFF
        #expect(IdentifyOracle.judge(baseline: baseline, now: changed, caseIndex: 7)?.got == "identity bytes 0-71 changed")
        #expect(IdentifyOracle.judge(baseline: baseline, now: nil, caseIndex: 7)?.got == "Identify Controller did not complete successfully")
    }

    @Test("LBA canary: the pattern read back passes; one changed byte is a finding naming it")
    func lbaCanary() {
        let env = FuzzEnvironment()
        let good = (0..<4096).map(LBACanaryOracle.pattern)
        #expect(LBACanaryOracle.judge(readBack: good, environment: env, caseIndex: 7) == nil)
        var bad = good; bad[513] = 0
        let f = LBACanaryOracle.judge(readBack: bad, environment: env, caseIndex: 7)
        #expect(f?.oracle == .lbaCanary && f?.got.hasPrefix("byte 513 = 0x00 (expected ") == true)
    }

    @Test("a case's findings come in reap order, each completion's entry checks before its status checks")
    func order() {
        let mustFail = command(expect: NVMeFuzz.Expectation(mustFail: "reserved opcode"))
        let o = outcome([mustFail]) {
            $0.completions = [completion(mustFail, sqid: 2), completion(nil, cid: 0x1234)]
            $0.csts = ControllerStatus(rawValue: 3)
        }
        #expect(Oracles.judge(o, context).map(\.oracle) == [.completionEntry, .status, .completionEntry, .controllerFatal])
    }
}
