@testable import NVMePlatform
import Testing

/// PCI PM 1.2 §3.2.3–3.2.4 decoding and PowerState writes on config spaces held in memory.
@Suite("PCI Power Management capability (PCI PM 1.2)")
struct PCIPowerManagementTests {
    /// A 256-byte type 0 header with only a PM capability at 0x40 carrying `pmc` and `pmcsr`.
    static func space(pmc: UInt16, pmcsr: UInt16) -> ByteConfigSpace {
        var b = [UInt8](repeating: 0, count: 256)
        b[0x06] = 0x10; b[0x34] = 0x40
        b[0x40] = 0x01; b[0x41] = 0
        b[0x42] = UInt8(pmc & 0xFF); b[0x43] = UInt8(pmc >> 8)
        b[0x44] = UInt8(pmcsr & 0xFF); b[0x45] = UInt8(pmcsr >> 8)
        b[0x10] = 0x04; b[0x11] = 0x40; b[0x12] = 0x00; b[0x13] = 0xFE
        b[0x04] = 0x06
        return ByteConfigSpace(b)
    }

    @Test("QEMU 7.2's captured PMC/PMCSR: version 3 (PM 1.2), no D1/D2, no PME, NoSoftReset set, D0")
    func qemuCapture() throws {
        let blob = try #require(fixture("qemu/controller-a/pci-config.bin"), "Fixtures/qemu/controller-a/pci-config.bin")
        let pm = try #require(PCICapabilityList(config: blob).powerManagement)
        #expect(pm.offset == 0x60)
        #expect(pm.version == 3 && !pm.d1Support && !pm.d2Support && pm.pmeSupport == 0 && !pm.dsi)
        #expect(pm.state == .d0 && pm.noSoftReset && !pm.pmeEnable && !pm.pmeStatus)
        #expect(pm.summary.contains("NoSoftReset+") && pm.summary.contains("v3 = PM 1.2"))
    }

    @Test("every PMC and PMCSR field at its bit position")
    func fieldPositions() {
        // PMC: version 2, PME Clock, DSI, Aux_Current 5, D1, D2, PME from D0 and D3cold.
        let pm = PowerManagementCapability(offset: 0x40, pmc: 0b10001_1_1_101_1_0_1_010, pmcsr: 0b1_10_0101_1_0000_1_0_10)
        #expect(pm.version == 2 && pm.pmeClock && !pm.immediateReadinessOnReturnToD0 && pm.dsi && pm.auxCurrent == 5)
        #expect(pm.d1Support && pm.d2Support && pm.pmeSupport == 0b10001)
        #expect(pm.state == .d2 && pm.noSoftReset && pm.pmeEnable && pm.dataSelect == 5 && pm.dataScale == 2 && pm.pmeStatus)
        #expect(pm.summary.contains("PME from D0/D3cold"))
    }

    @Test("setPowerState writes only PowerState: PME_Status (RW1C) is written 0, PME_En kept")
    func setPowerStateKeepsOtherBits() throws {
        let cfg = Self.space(pmc: 0x0003, pmcsr: 0x8108)   // PME_Status, PME_En, NoSoftReset, D0
        let d3 = try cfg.setPowerState(.d3hot)
        #expect(try cfg.read16(at: 0x44) == 0x0108 | 3)
        #expect(d3.state == .d3hot)
        let d0 = try cfg.setPowerState(.d0)
        #expect(d0.state == .d0 && d0.pmcsr == 0x0108)
    }

    @Test("D1/D2 without D1_Support/D2_Support, and a function without PM, throw instead of writing")
    func unsupportedStatesThrow() throws {
        let cfg = Self.space(pmc: 0x0003, pmcsr: 0)
        #expect(throws: PlatformError.self) { try cfg.setPowerState(.d1) }
        #expect(throws: PlatformError.self) { try cfg.setPowerState(.d2) }
        #expect(try cfg.read16(at: 0x44) == 0)
        let none = ByteConfigSpace([UInt8](repeating: 0, count: 256))
        #expect(try none.powerManagement() == nil)
        #expect(throws: PlatformError.self) { try none.setPowerState(.d3hot) }
        #expect(PCIPowerState(name: "D3hot") == .d3hot && PCIPowerState(name: "d4") == nil)
    }

    @Test("restoreContext writes back exactly the fields the function lost")
    func restoreContext() throws {
        let cfg = Self.space(pmc: 0x0003, pmcsr: 0)
        let saved = try cfg.captureContext()
        try cfg.write16(0, at: 0x04); try cfg.write32(0x4, at: 0x10)
        #expect(try cfg.captureContext().differences(from: saved) == ["COMMAND", "BAR0"])
        #expect(try cfg.restoreContext(saved) == ["COMMAND", "BAR0"])
        #expect(try cfg.captureContext() == saved)
        #expect(try cfg.restoreContext(saved).isEmpty)
    }
}
