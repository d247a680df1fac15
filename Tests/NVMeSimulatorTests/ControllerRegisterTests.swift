import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing

@Suite("Simulator: controller registers and reset semantics")
struct ControllerRegisterTests {
    @Test("CAP and VS read back the configured values, default as QEMU 7.2 (Base §3.1.4.1-2)")
    func capAndVersion() throws {
        let host = try TestHost()
        #expect(host.bar.cap.rawValue == SimulatorConfiguration.qemuCAP.rawValue)
        #expect(host.bar.vs == Version(mjr: 1, mnr: 4))
        var cap = SimulatorConfiguration.qemuCAP
        cap.mqes = 255; cap.dstrd = 2; cap.nssrs = true
        let other = try TestHost(SimulatorConfiguration(cap: cap, version: Version(mjr: 2, mnr: 0)))
        #expect(other.bar.cap.mqes == 255 && other.bar.cap.dstrd == 2 && other.bar.cap.nssrs)
        #expect(other.bar.vs.mjr == 2)
    }

    @Test("CC.EN 0→1 with valid admin queues sets CSTS.RDY; 1→0 clears it (Base §3.5.1)")
    func enableDisable() throws {
        let host = try TestHost()
        #expect(!host.bar.csts.rdy)
        let csts = try host.enable()
        #expect(csts.rdy && !csts.cfs)
        var cc = host.bar.cc
        cc.en = false
        host.bar.setCC(cc)
        #expect(!host.bar.csts.rdy)
    }

    @Test("CC.EN = 1 with ASQ = 0 fails with CSTS.CFS, as QEMU's start check does")
    func enableWithoutAdminQueueFails() throws {
        let host = try TestHost()
        host.bar.setAQA(AdminQueueAttributes(asqs: 31, acqs: 31))
        var cc = ControllerConfiguration(rawValue: 0); cc.en = true
        host.bar.setCC(cc)
        #expect(host.bar.csts.cfs)
        #expect(!host.bar.csts.rdy)
        #expect(host.sim.statistics.lastEnableFailure != nil)
    }

    @Test("CC.MPS above CAP.MPSMAX fails the enable (Base §3.1.4.5)")
    func enableWithBadPageSize() throws {
        let host = try TestHost()
        var cc = ControllerConfiguration(rawValue: 0); cc.mps = 5
        let csts = try host.enable(cc: cc)
        #expect(csts.cfs && !csts.rdy)
    }

    @Test("readyDelay holds CSTS.RDY at 0 until it passes (Base §3.5.1, CAP.TO bounds it)")
    func readyDelay() throws {
        let host = try TestHost(SimulatorConfiguration(readyDelay: .milliseconds(30)))
        let csts = try host.enable()
        #expect(!csts.rdy)
        let deadline = Deadline.after(host.bar.cap.timeout)
        while !host.bar.csts.rdy && !deadline.hasPassed {}
        #expect(host.bar.csts.rdy)
    }

    @Test("CC.SHN = normal shutdown sets CSTS.SHST = complete; clearing SHN clears it (Base §3.6)")
    func shutdown() throws {
        let host = try TestHost()
        try host.enable()
        var cc = host.bar.cc
        cc.shn = 1
        host.bar.setCC(cc)
        #expect(host.bar.csts.shst == 2)
        cc.shn = 0
        host.bar.setCC(cc)
        #expect(host.bar.csts.shst == 0)
    }

    @Test("a controller reset deletes I/O queues: their doorbells become invalid (Base §3.7.2)")
    func resetDeletesQueues() throws {
        let host = try TestHost()
        try host.enable()
        let (cq, sq) = try host.createIOQueuePair(qid: 1, entries: 16)
        #expect(cq.isSuccess && sq.isSuccess)
        var cc = host.bar.cc; cc.en = false; host.bar.setCC(cc)
        try host.enable()
        // Creating queue 1 again succeeds only if the reset removed it.
        let (cq2, sq2) = try host.createIOQueuePair(qid: 1, entries: 16)
        #expect(cq2.isSuccess && sq2.isSuccess)
    }

    @Test("NSSR with 'NVMe' resets the subsystem and sets CSTS.NSSRO when CAP.NSSRS = 1 (simulator-only: QEMU lacks NSSR)")
    func nssr() throws {
        var cap = SimulatorConfiguration.qemuCAP; cap.nssrs = true
        let host = try TestHost(SimulatorConfiguration(cap: cap))
        try host.enable()
        host.bar.write32(0x1234, at: ControllerRegister.nssr.rawValue)
        #expect(host.bar.csts.rdy, "a value other than 4E564D65h is ignored")
        host.bar.write32(0x4E56_4D65, at: ControllerRegister.nssr.rawValue)
        #expect(!host.bar.csts.rdy)
        #expect(host.bar.csts.nssro)
        #expect(!host.bar.cc.en)
        // NSSRO is RW1C.
        host.bar.write32(1 << 4, at: ControllerRegister.csts.rawValue)
        #expect(!host.bar.csts.nssro)
    }

    @Test("NSSR is ignored when CAP.NSSRS = 0, as on QEMU")
    func nssrUnsupported() throws {
        let host = try TestHost()
        try host.enable()
        host.bar.write32(0x4E56_4D65, at: ControllerRegister.nssr.rawValue)
        #expect(host.bar.csts.rdy && !host.bar.csts.nssro)
    }

    @Test("FLR and power cycle return CC/AQA/ASQ/ACQ to 0; namespace data survives")
    func functionReset() throws {
        let host = try TestHost()
        try host.enable()
        host.sim.writeBlocks(nsid: 1, lba: 3, data: pattern(512, seed: 9))
        for kind in [FunctionResetKind.flr, .powerCycle] {
            try host.enable()
            try host.sim.reset(kind)
            #expect(host.bar.cc.rawValue == 0 && host.bar.aqa.rawValue == 0 && host.bar.asq == 0 && !host.bar.csts.rdy)
        }
        #expect(host.sim.readBlocks(nsid: 1, lba: 3, count: 1) == pattern(512, seed: 9))
    }

    @Test("doorbells sit at 0x1000 + (2*qid + isCQ) * (4 << DSTRD) (Base §3.1.4.23)", arguments: [UInt8(0), 2])
    func doorbellStride(dstrd: UInt8) throws {
        var cap = SimulatorConfiguration.qemuCAP; cap.dstrd = dstrd
        let host = try TestHost(SimulatorConfiguration(cap: cap))
        try host.enable()
        let id = try host.region(4096)
        let c = host.run(TestHost.identify(cns: 1, buffer: id))
        #expect(c?.status == .success)
        #expect(id.load(at: 0, as: UInt16.self) == 0x1B36)
    }
}
