import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec
import Testing

/// D0 → D3hot → D0 through PMCSR on QEMU 7.2's NVMe function (PCI PM 1.2; docs/pci-power-management.md).
/// QEMU 7.2 has PMCSR.NoSoftReset = 1 (read-only), so only the context-preserving path exists here; the
/// NoSoftReset = 0 path is `PowerManagementSimulatorTests` on the simulator.
@Suite("PCI power management on QEMU (vfio, noiommu, uio)", .serialized, .enabled(if: driverBackends, driverNotHere))
struct PCIPowerDeviceTests {
    @Test("PowerState D3hot and D0 read back as written; NoSoftReset = 1 keeps COMMAND, BARs and CC.EN; IO works after")
    func cycleKeepsContextWithNoSoftReset() throws {
        let c = try openGuestController { $0.ioQueueCount = 1 }
        defer { c.close() }
        let qp = c.ioQueues[0]
        #expect(try ioRoundTrip(c, qp, slba: 40, blocks: 8, seed: 1), "IO before the cycle")
        let r = try c.cyclePowerState()
        print("\(c.device.backend): before \(r.before.summary); in D3hot PMCSR 0x\(String(r.inD3hot.pmcsr, radix: 16)); "
            + "after \(r.after.summary); CC 0x\(String(r.ccAfterD0.rawValue, radix: 16)) CSTS 0x\(String(r.cstsAfterD0.rawValue, radix: 16)); "
            + "restored \(r.restored)")
        #expect(r.before.state == .d0)
        #expect(r.inD3hot.state == .d3hot, "PMCSR.PowerState reads back the D3hot written (PCI PM 1.2 §3.2.4)")
        #expect(r.after.state == .d0)
        // Spec: with NoSoftReset = 1 "Configuration Context is preserved" (PCIe Base 6.0 §7.5.2.2); with 0 the
        // function comes back reset. Whichever the device advertises, the observed behaviour must match it.
        #expect(r.reinitialized == r.expectedSoftReset, "NoSoftReset=\(r.before.noSoftReset) yet CC.EN=\(r.ccAfterD0.en) after D0")
        if r.before.noSoftReset {
            #expect(r.contextAfterD0 == r.contextBefore, "context lost: \(r.contextAfterD0.differences(from: r.contextBefore))")
            #expect(r.ccAfterD0.en && r.cstsAfterD0.rdy)
        }
        let command = PCICommand(rawValue: try #require(c.device.config).read16(at: PCICommand.offset))
        #expect(command.contains([.memorySpace, .busMaster]))
        #expect(try ioRoundTrip(c, qp, slba: 48, blocks: 8, seed: 2), "IO after the cycle")
        #expect(IdentifyController(bytes: try c.identify(cns: 1))?.mn.hasPrefix("QEMU NVMe Ctrl") == true)
    }

    @Test("PowerState read back through the raw config space, and D1 refused (PMC has no D1_Support)")
    func rawPowerStateWrites() throws {
        let dev = try PlatformGuest.open(GuestEnvironment.devices[0])
        defer { dev.close() }
        let config = try #require(dev.config)
        let pm = try #require(try config.powerManagement())
        #expect(pm.version == 3 && !pm.d1Support && !pm.d2Support)
        #expect(throws: PlatformError.self) { try config.setPowerState(.d1) }
        #expect(try config.setPowerState(.d3hot).state == .d3hot)
        #expect(try config.setPowerState(.d0).state == .d0)
    }

    @Test("uio: in D3hot BAR0 is not decoded (reads all ones) — QEMU 7.2 deviation recorded as a known issue",
          .enabled(if: GuestEnvironment.backend == .uio, "needs a BAR mapping the kernel does not police in D3hot (uio); vfio-pci blocks BAR access in D3hot"))
    func d3hotMemorySpaceNotDecoded() throws {
        let dev = try PlatformGuest.open(GuestEnvironment.devices[0])
        defer { dev.close() }
        let config = try #require(dev.config)
        try config.setPowerState(.d3hot)
        let csts = dev.bar0.csts
        try config.setPowerState(.d0)
        print("uio: CSTS read in D3hot: 0x\(String(csts.rawValue, radix: 16))")
        // PCIe Base 6.0 §5.3.1.4.1: "Configuration and Message requests are the only TLPs accepted by a Function in
        // the D3Hot state. All other received Requests must be handled as Unsupported Requests" — a memory read
        // completes with all ones. QEMU 7.2 gates BAR decoding on COMMAND only and keeps answering.
        withKnownIssue("QEMU 7.2 keeps decoding BAR0 in D3hot (docs/pci-power-management.md)") {
            #expect(csts.isAllOnes)
        }
    }
}
