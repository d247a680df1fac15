import NVMeDriver
import NVMeSpec

/// `completionEntry`: CQE.SQID is the queue's, CQE.SQHD is inside the queue, CQE.CID names an outstanding command
/// whose tail doorbell was rung past it (or one an earlier case left lingering).
enum CompletionEntryOracle {
    static func judge(_ c: ObservedCompletion, caseIndex: UInt64) -> [Finding] {
        var out: [Finding] = []
        let qid = c.qid, cqe = c.cqe, st = cqe.status
        if cqe.sqid != qid {
            out.append(Finding(oracle: .completionEntry, caseIndex: caseIndex, qid: qid, expected: "CQE.SQID \(qid)",
                               got: "SQID \(cqe.sqid) in \(hexBytes(cqe.bytes))"))
        }
        if Int(cqe.sqhd) >= c.sqDepth {
            out.append(Finding(oracle: .completionEntry, caseIndex: caseIndex, qid: qid,
                               expected: "CQE.SQHD below the queue depth \(c.sqDepth)", got: "SQHD \(cqe.sqhd)"))
        }
        switch c.match {
        case .command(let p):
            if !p.rang {
                out.append(Finding(oracle: .completionEntry, caseIndex: caseIndex, qid: qid, opcode: p.opcode,
                                   expected: "no completion for a command whose tail doorbell was never rung past it",
                                   got: "completed with \(st)"))
            }
        case .lingering:
            break   // A late completion of an AER or a command from an earlier case.
        case .unknown:
            out.append(Finding(oracle: .completionEntry, caseIndex: caseIndex, qid: qid,
                               expected: "CQE.CID of an outstanding command",
                               got: "CID \(hex(cqe.cid)) (status \(st)) matches nothing outstanding: \(hexBytes(cqe.bytes))"))
        }
        return out
    }
}
