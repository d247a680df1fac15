import NVMePlatform
import NVMeSpec

extension Controller {
    /// Asynchronous Event Configuration (Feature 0Bh, NVMe Base 2.0c §5.27.1.5) bits 7:0 — SMART / Health Critical
    /// Warnings: sets them to `criticalWarnings` (each bit enables events for the same bit of Critical Warning), keeping
    /// the notice bits above. Returns the previous bits 7:0.
    @discardableResult
    public func enableSMARTCriticalWarningEvents(_ criticalWarnings: UInt8 = 0xFF) throws -> UInt8 {
        let current = try getFeatures(fid: 0x0B).dw0
        try setFeatures(fid: 0x0B, cdw11: (current & ~0xFF) | UInt32(criticalWarnings))
        return UInt8(truncatingIfNeeded: current)
    }

    /// The SMART / Health Information log (02h), controller-wide. `rae` = false (the default) also re-enables the
    /// SMART / Health asynchronous events it reports (NVMe Base 2.0c §5.16, Retain Asynchronous Event).
    public func smartHealthLog(rae: Bool = false) throws -> SMARTHealthLog {
        let bytes = try getLogPage(lid: 0x02, length: SMARTHealthLog.size, rae: rae)
        guard let log = SMARTHealthLog(bytes: bytes) else {
            throw ControllerError.unsupported("the SMART / Health log came back with \(bytes.count) bytes, not 512")
        }
        return log
    }
}
