import NVMePlatform
import NVMeSpec

/// The resets the driver performs, with IO in flight or not.
public enum ResetKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Controller Reset: CC.EN 1 → 0 (wait CSTS.RDY = 0) → re-initialise.
    case controller
    /// NVM Subsystem Reset: write "NVMe" (4E564D65h) to NSSR; only when CAP.NSSRS = 1.
    case subsystem
    /// PCIe Function Level Reset through the backend.
    case flr
    /// Secondary bus (hot) reset through the backend.
    case hotReset = "hot-reset"
    /// Power cycle through the backend (simulator, VM harness).
    case powerCycle = "power-cycle"
    /// Normal shutdown notification (CC.SHN = 01b, wait CSTS.SHST = 10b), then re-initialise.
    case shutdown
    /// Abrupt shutdown notification (CC.SHN = 10b), then re-initialise.
    case abruptShutdown = "abrupt-shutdown"
}

extension Controller {
    /// Resets the controller with IO in flight: every outstanding command (IO, admin and AERs) completes locally with
    /// `.abortedByReset` once the controller can no longer touch its memory, then the init sequence runs again and
    /// re-creates the same queues on the same memory (their objects stay valid). Call from the thread that owns the
    /// IO queues, or after their threads stopped. Returns the number of commands completed locally.
    @discardableResult
    public func reset(_ kind: ResetKind) throws -> Int {
        let queues = ([adminQueue].compactMap { $0 }) + ioQueues
        for qp in queues { qp.state = .unavailable }
        if !isPresent { return failEverything(.deviceRemoved) }

        switch kind {
        case .controller:
            try disable()
        case .subsystem:
            guard cap.nssrs else {
                for qp in queues { qp.state = .ready }
                throw ControllerError.unsupported("NVM Subsystem Reset is not supported by this controller (CAP.NSSRS = 0)")
            }
            registers.write32(0x4E56_4D65, at: ControllerRegister.nssr.rawValue)
            try waitReady(false)
            try disable()
        case .flr, .hotReset, .powerCycle:
            let fk: FunctionResetKind = kind == .flr ? .flr : kind == .hotReset ? .hotReset : .powerCycle
            guard device.supportedResets.contains(fk) else {
                for qp in queues { qp.state = .ready }
                throw ControllerError.unsupported("the \(device.backend) backend cannot perform \(kind.rawValue); it supports: \(device.supportedResets.map(\.rawValue).sorted().joined(separator: ", "))")
            }
            try device.reset(fk)
            try disable()
        case .shutdown, .abruptShutdown:
            try shutdown(abrupt: kind == .abruptShutdown)
            try disable()
        }
        // The controller is disabled: it no longer fetches commands or writes completions. Completions it posted
        // before stopping are real; take them, then every buffer of a still-outstanding command can be released.
        for qp in queues { qp.reapPending() }
        let n = failEverything(.abortedByReset)
        try recover()
        return n
    }

    /// Shutdown notification: CC.SHN = 01b (normal) or 10b (abrupt), wait for CSTS.SHST = 10b within CAP.TO.
    public func shutdown(abrupt: Bool) throws {
        var cc = registers.cc
        cc.shn = abrupt ? 2 : 1
        registers.setCC(cc)
        let deadline = Deadline.after(max(cap.timeout, .milliseconds(500)))
        while true {
            let csts = registers.csts
            if csts.isAllOnes { throw ControllerError.deviceRemoved }
            if csts.shst == 2 { return }
            if deadline.hasPassed { throw ControllerError.shutdownTimeout(csts: csts.rawValue) }
            Thread_yield()
        }
    }

    /// Completes every outstanding command of every queue locally; returns how many.
    @discardableResult
    public func failEverything(_ origin: CompletionOrigin) -> Int {
        var n = 0
        let queues = ([adminQueue].compactMap { $0 }) + ioQueues
        for qp in queues {
            n += qp.failAll(origin)
            if origin == .deviceRemoved { qp.state = .removed }
        }
        asyncEvents.resetOutstanding()
        return n
    }

    /// Runs the init sequence again after a reset: the same admin and IO queue objects are re-created on their memory.
    public func recover() throws {
        for qp in ioQueues { qp.resetRings() }
        adminQueue?.state = .ready
        try initialize(sequence)
    }
}
