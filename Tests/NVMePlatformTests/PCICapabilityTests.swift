import Testing
@testable import NVMePlatform

let constructedAvailable = fixture("config-space/constructed-nvme.bin") != nil

@Suite("PCI config space: header and capability walk (PCI 3.0 §6.7, PCIe 6.0 §7.5–7.9)")
struct PCICapabilityTests {
    @Test(.enabled(if: constructedAvailable, "Fixtures/config-space/constructed-nvme.bin not found from the test's source path"))
    func constructedNVMeHeaderDecodes() throws {
        let blob = try #require(fixture("config-space/constructed-nvme.bin"))
        let h = PCIConfigHeader(blob)
        #expect(h.vendorID == 0x1B36 && h.deviceID == 0x0010)
        #expect(h.classCode == 0x010802 && h.isNVMe)
        #expect(h.subsystemVendorID == 0x1AF4 && h.subsystemID == 0x1100)
        #expect(h.hasCapabilityList && h.capabilitiesPointer == 0x40)
        #expect(h.bars[0] & 0x6 == 0x4, "BAR0 is 64-bit memory")
        #expect(h.interruptPin == 1)
    }

    @Test(.enabled(if: constructedAvailable, "Fixtures/config-space/constructed-nvme.bin not found from the test's source path"))
    func walkFindsEveryCapabilityInOrder() throws {
        let caps = PCICapabilityList(config: try #require(fixture("config-space/constructed-nvme.bin")))
        #expect(caps.problems.isEmpty)
        #expect(caps.standard.map(\.offset) == [0x40, 0x60, 0x80])
        #expect(caps.standard.map(\.name) == ["MSI-X", "Power Management", "PCI Express"])
        #expect(caps.extended.map(\.offset) == [0x100, 0x148])
        #expect(caps.extended.map(\.name) == ["Advanced Error Reporting", "SR-IOV"])
        #expect(caps.msi == nil)
    }

    @Test(.enabled(if: constructedAvailable, "Fixtures/config-space/constructed-nvme.bin not found from the test's source path"))
    func msixLocatesTableAndPBAAndCountsVectors() throws {
        // PCI 3.0 §6.8.2.3: Table Size is N-1; Table/PBA Offset low 3 bits are the BIR.
        let blob = try #require(fixture("config-space/constructed-nvme.bin"))
        let m = try #require(PCICapabilityList(config: blob).msix)
        #expect(m.tableSize == 65)
        #expect(m.tableBIR == 0 && m.tableOffset == 0x2000)
        #expect(m.pbaBIR == 0 && m.pbaOffset == 0x3000)
        #expect(!m.enabled && !m.functionMask)
    }

    @Test(.enabled(if: constructedAvailable, "Fixtures/config-space/constructed-nvme.bin not found from the test's source path"))
    func pcieAERAndSRIOVFieldsDecode() throws {
        let caps = PCICapabilityList(config: try #require(fixture("config-space/constructed-nvme.bin")))
        let e = try #require(caps.pciExpress)
        #expect(e.version == 2 && e.deviceType == 0)
        #expect(e.functionLevelResetCapable)
        #expect(e.currentLinkSpeed == 1 && e.currentLinkWidth == 1)
        #expect(PCIExpressCapability.speedName(e.currentLinkSpeed) == "2.5 GT/s")
        let pm = try #require(caps.powerManagement)
        #expect(pm.powerState == 0 && pm.noSoftReset)
        let aer = try #require(caps.aer)
        #expect(aer.uncorrectableSeverity == 0x0046_2030)
        let s = try #require(caps.sriov)
        #expect(s.totalVFs == 4 && s.initialVFs == 4 && s.numVFs == 0)
        #expect(s.firstVFOffset == 1 && s.vfStride == 1 && s.vfDeviceID == 0x0010)
        #expect(caps.summary.contains("0x40 MSI-X: 65 vectors, table BAR0+0x2000, PBA BAR0+0x3000"))
    }

    @Test func capabilityLoopEndsTheWalkAndIsReported() {
        var b = [UInt8](repeating: 0, count: 256)
        b[0x06] = 0x10; b[0x34] = 0x40
        b[0x40] = 0x05; b[0x41] = 0x50       // MSI -> 0x50
        b[0x50] = 0x01; b[0x51] = 0x40       // PM -> back to 0x40
        let caps = PCICapabilityList(config: b)
        #expect(caps.standard.map(\.id) == [0x05, 0x01])
        #expect(caps.problems == ["capability list loops back to 0x40"])
    }

    @Test func pointerIntoTheHeaderIsReported() {
        var b = [UInt8](repeating: 0, count: 256)
        b[0x06] = 0x10; b[0x34] = 0x20
        #expect(PCICapabilityList(config: b).problems == ["capability pointer 0x20 outside 0x40–0xFF"])
    }

    @Test func statusWithoutCapabilityListBitMeansNoWalk() {
        var b = [UInt8](repeating: 0, count: 256)
        b[0x34] = 0x40; b[0x40] = 0x11
        #expect(PCICapabilityList(config: b).standard.isEmpty)
    }

    @Test func msiVectorCountAndWidthFromMessageControl() {
        var b = [UInt8](repeating: 0, count: 256)
        b[0x06] = 0x10; b[0x34] = 0x50
        b[0x50] = 0x05; b[0x51] = 0x00
        b[0x52] = 0x8A; b[0x53] = 0x01       // MMC=5 (32 vectors), 64-bit, per-vector masking
        let m = PCICapabilityList(config: b).msi
        #expect(m?.vectorsCapable == 32 && m?.is64Bit == true && m?.perVectorMasking == true && m?.enabled == false)
    }

    @Test func busMasterAndMemorySpaceAreSetWithoutTouchingOtherCommandBits() throws {
        // vfio-pci leaves COMMAND at 0x0103 after open; DMA needs bit 2 (PCI 3.0 §6.2.2).
        var b = [UInt8](repeating: 0, count: 256)
        b[0x04] = 0x03; b[0x05] = 0x01
        let cfg = ByteConfigSpace(b)
        let before = try cfg.enableMemoryAndBusMaster()
        #expect(before.rawValue == 0x0103)
        #expect(try cfg.read16(at: 4) == 0x0107)
    }

    @Test(.enabled(if: constructedAvailable, "Fixtures/config-space/constructed-nvme.bin not found from the test's source path"))
    func functionLevelResetSetsInitiateBitInDeviceControl() throws {
        let cfg = ByteConfigSpace(try #require(fixture("config-space/constructed-nvme.bin")))
        #expect(try cfg.initiateFunctionLevelReset())
        #expect(try cfg.read16(at: 0x88) == 0x2810 | 0x8000)
    }
}

@Suite("PCIAddress parsing")
struct PCIAddressTests {
    @Test(arguments: [("0000:00:04.0", "0000:00:04.0"), ("00:1f.7", "0000:00:1f.7"), ("ABCD:FF:1F.7", "abcd:ff:1f.7"),
                      (" 0000:03:00.1\n", "0000:03:00.1")])
    func parsesAndPrintsCanonically(text: String, canonical: String) throws {
        #expect(try PCIAddress(parsing: text).description == canonical)
    }

    @Test(arguments: ["", "nvme0", "0000:00:04", "0000:00:20.0", "0000:00:04.8", "00:04:0", "0000:000:04.0", "x:00:04.0"])
    func rejectsWithAMessageShowingTheForm(text: String) {
        let error = #expect(throws: PlatformError.self) { try PCIAddress(parsing: text) }
        #expect(error == .invalidAddress(text))
        #expect(error?.description.contains("e.g. 0000:00:04.0") == true)
        #expect(error?.description.contains("nvmekit list") == true)
    }
}

let qemuCaptureAvailable = fixture("qemu/controller-a/pci-config.bin") != nil

@Suite("Capability walk on QEMU 7.2's config space captured in the guest (Fixtures/qemu)")
struct QEMUConfigSpaceTests {
    @Test(.enabled(if: qemuCaptureAvailable, "Fixtures/qemu/controller-*/pci-config.bin not captured yet (tools/vm capture-fixtures)"),
          arguments: ["controller-a", "controller-b"])
    func capturedConfigSpaceHasMSIXWithTheConfiguredQueueSize(controller: String) throws {
        // tools/vm.d/qemu.sh gives every controller msix_qsize=65; the capture was taken with the kernel nvme driver
        // bound, so MSI-X is enabled.
        let blob = try #require(fixture("qemu/\(controller)/pci-config.bin"))
        let header = PCIConfigHeader(blob)
        #expect(header.vendorID == 0x1B36 && header.deviceID == 0x0010 && header.isNVMe)
        let caps = PCICapabilityList(config: blob)
        #expect(caps.problems.isEmpty)
        #expect(caps.standard.map(\.id) == [PCICapability.msix, PCICapability.pciExpress, PCICapability.powerManagement])
        #expect(caps.extended.isEmpty, "QEMU adds extended capabilities only with SR-IOV options")
        let m = try #require(caps.msix)
        #expect(m.tableSize == 65 && m.enabled)
        #expect(m.tableBIR == 0 && m.pbaBIR == 0 && m.pbaOffset > m.tableOffset)
        #expect(m.pbaOffset - m.tableOffset >= 65 * MSIXCapability.entrySize)
        #expect(caps.pciExpress?.functionLevelResetCapable == true)
    }
}
