import NVMeDriver
import NVMeSpec

/// `dmaFault`: DMA faults in a case with no deliberately wild pointer and no register write, or a lone wild-pointer
/// command that faulted yet completed with success.
enum DMAFaultOracle {
    static func judge(_ o: CaseOutcome) -> [Finding] {
        guard let f = o.faults, f.count > 0 else { return [] }
        let message = f.lastMessage.map { ": \($0)" } ?? ""
        let wild = o.commands.filter { $0.expect.wildPointers }
        if wild.isEmpty && !o.resolvedCase.actions.contains(where: isRegisterAction) {
            let last = o.commands.last
            return [Finding(oracle: .dmaFault, caseIndex: o.caseIndex, qid: last?.qid, opcode: last?.opcode,
                            expected: "no DMA fault from well-formed data pointers",
                            got: "\(f.count) fault(s)" + message)]
        } else if wild.count == 1, let w = wild.first, w.done, w.status?.isSuccess == true {
            return [Finding(oracle: .dmaFault, caseIndex: o.caseIndex, qid: w.qid, opcode: w.opcode,
                            expected: "an error status (e.g. 00/04 Data Transfer Error) for a command whose DMA faulted",
                            got: "Successful Completion with \(f.count) fault(s)" + message)]
        }
        return []
    }

    static func isRegisterAction(_ a: Action) -> Bool {
        switch a {
        case .writeRegister, .writeRegisterPointer: return true
        default: return false
        }
    }
}
