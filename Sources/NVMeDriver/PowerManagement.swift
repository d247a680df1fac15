import NVMePlatform
import NVMeSpec

/// What one D0 → D3hot → D0 cycle through PMCSR did to the function and the controller.
public struct PowerCycleReport: Sendable {
    /// The PM capability before the cycle, in D3hot, and back in D0.
    public var before: PowerManagementCapability
    public var inD3hot: PowerManagementCapability
    public var after: PowerManagementCapability
    /// COMMAND, BARs … before D3hot, and as the function held them right after returning to D0 (before any restore).
    public var contextBefore: PCIConfigContext
    public var contextAfterD0: PCIConfigContext
    /// Fields written back from `contextBefore` (empty when the function kept its configuration context).
    public var restored: [String]
    /// CC and CSTS read right after the return to D0 (before any re-initialisation).
    public var ccAfterD0: ControllerConfiguration
    public var cstsAfterD0: ControllerStatus
    /// True when the controller came back reset (CC.EN = 0) and the init sequence ran again.
    public var reinitialized: Bool
    /// Commands that were outstanding and completed locally with `.abortedByReset` because of the reset.
    public var commandsAborted: Int

    /// PCI PM 1.2 §5.4.1: with NoSoftReset = 1 the function keeps its context; with 0 it returns to D0uninitialized.
    public var expectedSoftReset: Bool { !before.noSoftReset }
}

extension Controller {
    /// Moves the function D0 → D3hot → D0 through PMCSR (PCI PM 1.2 §3.2.4), with the transition delays of §5.6.1,
    /// and leaves the controller usable again:
    /// - the configuration context (COMMAND, BARs, MSI-X Message Control) captured before is written back where the
    ///   function lost it;
    /// - when the controller came back reset (CC.EN = 0: NoSoftReset = 0, or a device that resets anyway), every
    ///   outstanding command completes locally with `.abortedByReset` and the init sequence runs again, re-creating
    ///   the same admin and IO queue objects (as `reset(_:)` does).
    /// BAR0 is not touched while the function is in D3hot. Call it with no IO in flight on other threads.
    public func cyclePowerState() throws -> PowerCycleReport {
        guard let config = device.config else {
            throw ControllerError.unsupported("the \(device.backend) backend has no PCI configuration space")
        }
        guard let before = try config.powerManagement() else {
            throw ControllerError.unsupported("the function has no PCI Power Management capability")
        }
        if before.state != .d0 { try config.setPowerState(.d0) }
        let contextBefore = try config.captureContext()
        let queues = ([adminQueue].compactMap { $0 }) + ioQueues
        for qp in queues { qp.state = .unavailable }
        let inD3hot: PowerManagementCapability
        let after: PowerManagementCapability
        do {
            inD3hot = try config.setPowerState(.d3hot)
            after = try config.setPowerState(.d0)
        } catch {
            for qp in queues { qp.state = .ready }
            throw error
        }
        let contextAfterD0 = try config.captureContext()
        let restored = try config.restoreContext(contextBefore)
        let cc = registers.cc, csts = registers.csts
        if csts.isAllOnes { _ = failEverything(.deviceRemoved); throw ControllerError.deviceRemoved }
        var aborted = 0
        let reset = !cc.en
        if reset {
            // The controller lost its state: nothing outstanding will complete. Make sure it is disabled and idle
            // (a reset controller reads CC.EN = 0, CSTS.RDY = 0), then initialise it again.
            try disable()
            for qp in queues { qp.reapPending() }
            aborted = failEverything(.abortedByReset)
            try recover()
        } else {
            for qp in queues { qp.state = .ready }
        }
        return PowerCycleReport(before: before, inD3hot: inD3hot, after: after, contextBefore: contextBefore,
                                contextAfterD0: contextAfterD0, restored: restored, ccAfterD0: cc, cstsAfterD0: csts,
                                reinitialized: reset, commandsAborted: aborted)
    }
}
