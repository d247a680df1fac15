import NVMeDriver
import NVMeSpec

/// `phase`: the controller wrote the missing completion, but with the wrong phase tag.
enum PhaseOracle {
    /// Whether the entry at the completion queue head is the command's, written with the wrong phase tag.
    static func explains(_ u: UnansweredCommand) -> Bool {
        let slot = u.entryAtHead, p = u.command
        return slot.cid == p.cid && slot.sqid == p.qid && slot.p != u.expectedPhase
    }

    static func judge(_ u: UnansweredCommand, caseIndex: UInt64) -> [Finding] {
        guard explains(u) else { return [] }
        let p = u.command, slot = u.entryAtHead
        return [Finding(oracle: .phase, caseIndex: caseIndex, qid: p.qid, opcode: p.opcode,
                        expected: "CQE phase tag \(u.expectedPhase ? 1 : 0) at CQ\(p.qid) slot \(u.cqHead)",
                        got: "CQE for CID \(hex(p.cid)) written with phase \(slot.p ? 1 : 0): \(hexBytes(slot.bytes))")]
    }
}

/// `deadline`: a command that must complete did not complete within `FuzzOptions.deadline` (a hang), unless the
/// phase oracle explains it.
enum DeadlineOracle {
    static func judge(_ u: UnansweredCommand, caseIndex: UInt64, _ context: OracleContext) -> [Finding] {
        guard !PhaseOracle.explains(u) else { return [] }
        let p = u.command
        return [Finding(oracle: .deadline, caseIndex: caseIndex, qid: p.qid, opcode: p.opcode,
                        expected: "completion within \(context.deadline)",
                        got: "no completion for CID \(hex(p.cid)) (CQ\(p.qid) head \(u.cqHead), CSTS \(u.csts.map { hex($0) } ?? "not read"))")]
    }
}
