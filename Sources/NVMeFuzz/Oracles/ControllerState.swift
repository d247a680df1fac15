import NVMeDriver
import NVMeSpec

/// `deviceAlive` (registers read all ones: the device is gone) and `controllerFatal` (CSTS.CFS = 1), from CSTS at the
/// end of the case. A fatal status is attributed to the case's last command.
enum ControllerStateOracle {
    static func judge(_ o: CaseOutcome) -> [Finding] {
        if o.csts.isAllOnes {
            return [Finding(oracle: .deviceAlive, caseIndex: o.caseIndex, expected: "registers readable",
                            got: "CSTS reads FFFFFFFFh: the device is gone")]
        } else if o.csts.cfs {
            return [Finding(oracle: .controllerFatal, caseIndex: o.caseIndex, qid: o.commands.last?.qid,
                            opcode: o.commands.last?.opcode, expected: "CSTS.CFS = 0", got: "CSTS = \(hex(o.csts.rawValue))")]
        }
        return []
    }
}
