import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec
import Testing

/// SMART Critical Warning injected through QMP (`qom-set` of controller A's `smart_critical_warning`), observed by our
/// driver as a SMART / Health asynchronous event and in the SMART / Health log (NVMe Base 2.0c §5.2, §5.16.1.3;
/// docs/smart-critical-warning.md).
@Suite("SMART critical warning from QMP on QEMU (vfio, noiommu, uio)", .serialized, .enabled(if: driverBackends, driverNotHere))
struct CriticalWarningDeviceTests {
    static let qmp = "/usr/local/bin/nvmekit-qmp"

    /// `qom-set /machine/peripheral/nvme0 smart_critical_warning VALUE`; the QMP reply text.
    func setWarning(_ value: UInt8) throws -> String {
        let cmd = #"{"execute":"qom-set","arguments":{"path":"/machine/peripheral/nvme0","property":"smart_critical_warning","value":"#
            + "\(value)}}"
        let r = try GuestEnvironment.run(Self.qmp, [cmd])
        #expect(r.status == 0, "nvmekit-qmp exited \(r.status): \(r.output)")
        #expect(r.output.contains("\"return\""), "qom-set refused: \(r.output)")
        return r.output
    }

    @Test("each settable bit raises its SMART / Health event (info 02h spare, 01h temperature, 00h reliability) and shows in the log",
          arguments: [(UInt8(0x01), UInt8(0x02)), (0x02, 0x01), (0x04, 0x00), (0x08, 0x00), (0x10, 0x00)])
    func bitRaisesEvent(bit: UInt8, info: UInt8) throws {
        let c = try openGuestController()
        defer { c.close(); _ = try? setWarning(0) }
        try c.enableSMARTCriticalWarningEvents()
        _ = try setWarning(0)
        _ = c.waitForAsyncEvents(until: .after(.milliseconds(200)))   // nothing expected; drains anything stale
        _ = try setWarning(bit)
        let events = c.waitForAsyncEvents(until: .after(.seconds(10)))
        let e = try #require(events.first, "no asynchronous event within 10 s of qom-set \(bit)")
        print("qom-set \(bit): \(e) DW0 0x\(String(e.dw0, radix: 16))")
        #expect(e.type == 1 && e.info == info && e.logPage == 0x02, "\(e)")
        if let log = SMARTHealthLog(bytes: e.log) { #expect(log.criticalWarning & bit == bit, "log read for the event") }
        let log = try c.smartHealthLog()
        #expect(log.criticalWarning & bit == bit, "SMART / Health Critical Warning 0x\(String(log.criticalWarning, radix: 16))")
    }

    @Test("with Asynchronous Event Configuration clear, QEMU puts the warning in the log and posts no event")
    func gatedByAEC() throws {
        let c = try openGuestController()
        defer { c.close(); _ = try? setWarning(0) }
        try c.enableSMARTCriticalWarningEvents(0)
        _ = try setWarning(0)
        _ = try setWarning(0x04)
        #expect(c.waitForAsyncEvents(until: .after(.seconds(1))).isEmpty)
        #expect(try c.smartHealthLog().reliabilityDegraded)
    }

    @Test("a bit QEMU cannot set (PMR unreliable without a PMR) is refused by qom-set")
    func unsupportedBitRefused() throws {
        let cmd = #"{"execute":"qom-set","arguments":{"path":"/machine/peripheral/nvme0","property":"smart_critical_warning","value":32}}"#
        let r = try GuestEnvironment.run(Self.qmp, [cmd])
        #expect(r.output.contains("\"error\""), "\(r.output)")
    }
}
