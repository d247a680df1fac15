import NVMeDriver
import NVMeSpec

/// `status`: no success where the spec requires failure (the generator's `mustFail` rule), and no reserved Status
/// Code Type.
enum StatusOracle {
    static func judge(_ c: ObservedCompletion, caseIndex: UInt64) -> [Finding] {
        guard case .command(let p) = c.match else { return [] }
        var out: [Finding] = []
        let st = c.cqe.status
        if let rule = p.expect.mustFail, st.isSuccess {
            out.append(Finding(oracle: .status, caseIndex: caseIndex, qid: c.qid, opcode: p.opcode, expected: rule, got: "\(st)"))
        }
        if (4...6).contains(st.sct) {
            out.append(Finding(oracle: .status, caseIndex: caseIndex, qid: c.qid, opcode: p.opcode,
                               expected: "a defined Status Code Type", got: "reserved SCT \(st.sct) in \(st)"))
        }
        return out
    }
}
