import NVMePlatform
import NVMeSpec

extension ControllerState {
    /// Sets the injected SMART Critical Warning bits and raises a SMART / Health asynchronous event for each bit that
    /// turns on and that Asynchronous Event Configuration (Feature 0Bh, bits 7:0) enables — as QEMU 7.2's
    /// `smart_critical_warning` property does. Event information (NVMe Base 2.0c §5.2, SMART / Health Status): 02h
    /// Spare Below Threshold for bit 0, 01h Temperature Threshold for bit 1, 00h NVM subsystem Reliability for bits
    /// 2–5; log page 02h.
    mutating func setInjectedCriticalWarning(_ value: UInt8) {
        let old = injectedCriticalWarning
        injectedCriticalWarning = value
        let aec = UInt8(truncatingIfNeeded: features[0x0B] ?? 0)
        for bit in 0..<6 {
            let b = UInt8(1) << UInt8(bit)
            guard value & ~old & b != 0, aec & b != 0 else { continue }
            let info: UInt8 = bit == 0 ? 0x02 : bit == 1 ? 0x01 : 0x00
            enqueueEvent(AsyncEvent(type: AsyncEventType.smartHealth, info: info, logPage: LogPageID.smartHealth))
        }
    }
}

extension SimulatedController {
    /// SMART Critical Warning bits the simulated controller supports setting: spare (0), temperature (1), reliability
    /// (2), read-only (3), volatile memory backup (4) — QEMU 7.2's set without a PMR.
    public static let settableCriticalWarnings: UInt8 = 0x1F

    /// Sets the SMART / Health log's Critical Warning as a fault would (QEMU: `qom-set` of `smart_critical_warning`):
    /// each newly set bit that Asynchronous Event Configuration enables raises a SMART / Health event. Throws for
    /// bits outside `settableCriticalWarnings`, changing nothing.
    public func setCriticalWarning(_ value: UInt8) throws {
        guard value & ~Self.settableCriticalWarnings == 0 else {
            throw PlatformError.unsupported("critical warning bits 0x\(String(value & ~Self.settableCriticalWarnings, radix: 16)) cannot be set: use bits within 0x1F (spare, temperature, reliability, read-only, volatile memory backup)")
        }
        withState { $0.setInjectedCriticalWarning(value) }
    }

    /// The injected Critical Warning bits.
    public var injectedCriticalWarning: UInt8 { withState { $0.injectedCriticalWarning } }
}
