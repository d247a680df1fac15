#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// Recovery: the reset levels the runner escalates through, and the planned re-initialisation after cases that
/// change queue or register state on purpose.
extension FuzzRunner {
    var resetLevels: [ResetKind] {
        var levels: [ResetKind] = [.controller]
        let s = target.device.supportedResets
        if s.contains(.flr) { levels.append(.flr) }
        if s.contains(.hotReset) { levels.append(.hotReset) }
        if s.contains(.powerCycle) { levels.append(.powerCycle) }
        return levels
    }

    /// Controller reset and re-initialisation (planned: after cases that change queue or register state).
    func reinitialize() -> Bool { reset(.controller) }

    func reset(_ kind: ResetKind) -> Bool {
        summary.resets[kind.rawValue, default: 0] += 1
        do {
            if kind != .controller && !controller.isPresent {
                // The driver does not touch a device that reads all ones; a function reset or power cycle may
                // bring it back, then the controller is initialised again.
                let fk: FunctionResetKind = kind == .flr ? .flr : kind == .hotReset ? .hotReset : .powerCycle
                try target.device.reset(fk)
                guard controller.isPresent else { return false }
                try controller.reset(.controller)
            } else {
                try controller.reset(kind)
            }
        } catch {
            return false
        }
        guard controller.isPresent, controller.adminQueue != nil, !controller.ioQueues.isEmpty else { return false }
        lingering.removeAll()
        arena.fill(0, offset: listStart, count: environment.listPages * pageSize)
        return identifyController() != nil
    }

    /// Escalates controller reset → FLR → hot reset → power cycle until Identify answers again.
    func recover(caseIndex: UInt64) -> Bool {
        for level in resetLevels where reset(level) {
            summary.recovered += 1
            history.removeAll()
            lbaCanaryStale = lbaCanaryStale || level != .controller
            return true
        }
        summary.unrecovered += 1
        return false
    }
}
