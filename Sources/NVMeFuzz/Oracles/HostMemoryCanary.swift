import NVMeDriver
import NVMeSpec

/// `hostMemoryCanary`: the fixed canary pages around the data and list areas, then the guard windows around every
/// well-formed buffer of a completed command, are untouched.
enum HostMemoryCanaryOracle {
    static func judge(_ o: CaseOutcome) -> [Finding] {
        var out: [Finding] = []
        let last = o.commands.last
        for d in o.canaryDamage {
            out.append(Finding(oracle: .hostMemoryCanary, caseIndex: o.caseIndex, qid: last?.qid, opcode: last?.opcode,
                               expected: "canary page at arena offset \(hex(d.page)) untouched",
                               got: "byte \(hex(d.offset)) = \(hex(d.value)); \(hexBytes(d.bytes))"))
        }
        for p in o.commands where p.done {
            guard let g = p.damagedGuard else { continue }
            out.append(Finding(oracle: .hostMemoryCanary, caseIndex: o.caseIndex, qid: p.qid, opcode: p.opcode,
                               expected: "host memory outside the command's buffer untouched",
                               got: "byte at data offset \(hex(g.dataOffset)) = \(hex(g.value)) (guard \(hex(g.guardOffset))+\(g.guardCount))"))
        }
        return out
    }
}
