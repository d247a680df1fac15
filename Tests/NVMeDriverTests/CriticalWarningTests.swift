import Foundation
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing
@testable import NVMeDriver

/// SMART Critical Warning set from outside the controller (QEMU's `smart_critical_warning`), seen as a SMART / Health
/// asynchronous event and in the SMART / Health log (NVMe Base 2.0c §5.2, §5.16.1.3).
@Suite("SMART critical warning on the simulator: event per newly set bit, log page, AEC gating")
struct CriticalWarningSimulatorTests {
    @Test("each bit raises its SMART / Health event and shows in the log's Critical Warning",
          arguments: [(UInt8(0x01), UInt8(0x02)), (0x02, 0x01), (0x04, 0x00), (0x08, 0x00), (0x10, 0x00)])
    func bitRaisesEvent(bit: UInt8, info: UInt8) throws {
        let (sim, c) = try simController()
        defer { c.close() }
        try c.enableSMARTCriticalWarningEvents()
        try sim.setCriticalWarning(bit)
        let e = try #require(c.waitForAsyncEvents(until: .after(.seconds(5))).first)
        #expect(e.type == 1 && e.info == info && e.logPage == 0x02, "\(e)")
        #expect(SMARTHealthLog(bytes: e.log)?.criticalWarning == bit, "the log read for the event")
        #expect(try c.smartHealthLog().criticalWarning == bit)
    }

    @Test("with Asynchronous Event Configuration clear, the warning is in the log but no event is posted")
    func gatedByAEC() throws {
        let (sim, c) = try simController()
        defer { c.close() }
        try c.enableSMARTCriticalWarningEvents(0)
        try sim.setCriticalWarning(0x04)
        #expect(c.waitForAsyncEvents(until: .after(.milliseconds(300))).isEmpty)
        #expect(try c.smartHealthLog().reliabilityDegraded)
        // Only bits that turn on raise events: re-enabling and setting the same bits again posts nothing.
        try c.enableSMARTCriticalWarningEvents()
        try sim.setCriticalWarning(0x04)
        #expect(c.waitForAsyncEvents(until: .after(.milliseconds(300))).isEmpty)
        try sim.setCriticalWarning(0x0C)
        let e = try #require(c.waitForAsyncEvents(until: .after(.seconds(5))).first)
        #expect(e.type == 1 && e.info == 0)
        #expect(try c.smartHealthLog().criticalWarning == 0x0C)
    }

    @Test("bits the controller cannot set are refused and change nothing")
    func unsupportedBits() throws {
        let (sim, c) = try simController()
        defer { c.close() }
        #expect(throws: PlatformError.self) { try sim.setCriticalWarning(0x20) }
        #expect(sim.injectedCriticalWarning == 0)
        #expect(try c.smartHealthLog().criticalWarning == 0)
    }
}
