import Testing
@testable import NVMeSpec

/// Reads a fixture relative to this source file (works from any working directory).
func fixture(_ path: String, filePath: String = #filePath) -> [UInt8]? {
    var dir = filePath
    for _ in 0..<3 { if let slash = dir.lastIndex(of: "/") { dir = String(dir[..<slash]) } }   // → package root
    return readFile(dir + "/Fixtures/" + path)
}

/// Minimal file read without Foundation (the spec module and its tests stay Foundation-free).
func readFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return out
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Identify and log page decoders against constructed blobs")
struct DecoderTests {
    @Test("Identify Controller decodes every field at its Figure 275 offset")
    func identifyController() throws {
        let blob = try #require(fixture("constructed/id-ctrl.bin"))
        let c = try #require(IdentifyController(bytes: blob))
        #expect(c.vid == 0x1B36 && c.ssvid == 0x1AF4)
        #expect(c.sn == "NVMEKIT0            " && c.sn.count == 20)   // space padding kept, as nvme-cli prints it
        #expect(c.mn.hasPrefix("QEMU NVMe Ctrl ") && c.mn.count == 40)
        #expect(c.fr == "7.2.22  ")
        #expect(c.rab == 6 && c.ieee == 0x525400 && c.cmic == 2 && c.mdts == 7 && c.cntlid == 0x41)
        #expect(c.ver == 0x0001_0400 && c.version.description == "1.4.0")
        #expect(c.rtd3r == 100000 && c.rtd3e == 200000 && c.oaes == 0x100 && c.ctratt == 0x10 && c.cntrltype == 1)
        #expect(c.crdt1 == 11 && c.crdt2 == 22 && c.crdt3 == 33)
        #expect(c.oacs == 0x0A && c.acl == 3 && c.aerl == 3 && c.frmw == 3 && c.lpa == 7 && c.elpe == 63 && c.npss == 1)
        #expect(c.wctemp == 343 && c.cctemp == 373 && c.kas == 100)
        #expect(c.tnvmcap == (UInt128(1) << 64) + 4096 && c.unvmcap == 12345)
        #expect(c.sqes == 0x66 && c.cqes == 0x44 && c.nn == 256 && c.oncs == 0x15D && c.fuses == 1 && c.vwc == 7)
        #expect(c.awun == 7 && c.sgls == 1)
        #expect(c.subnqn == "nqn.2019-08.org.qemu:NVMEKIT0")
        #expect(c.maxTransferBytes(mpsminBytes: 4096) == 512 * 1024)
        let psds = c.psds
        #expect(psds.count == 2)
        #expect(psds[0].mp == 2500 && psds[0].enlat == 16 && psds[0].exlat == 4 && !psds[0].nops)
        #expect(psds[0].rrt == 0 && psds[0].rrl == 1 && psds[0].rwt == 2 && psds[0].rwl == 3)
        #expect(psds[0].idlp == 500 && psds[0].ips == 2 && psds[0].actp == 800 && psds[0].apw == 2 && psds[0].aps == 1)
        #expect(psds[1].nops && psds[1].mp == 5 && psds[1].enlat == 1000 && psds[1].exlat == 2000)
        #expect(c.vs[0] == 0xEE && c.vs[1023] == 0xEF)
        #expect(c.bytes == blob)   // decode → encode keeps every byte
    }

    @Test("Identify Controller nvme-cli fields use nvme-cli's names, order and padding")
    func identifyControllerNVMeCLI() throws {
        let blob = try #require(fixture("constructed/id-ctrl.bin"))
        let c = try #require(IdentifyController(bytes: blob))
        let f = c.nvmeCLIFields
        let names = f.map(\.name)
        #expect(Array(names.prefix(12)) == ["vid", "ssvid", "sn", "mn", "fr", "rab", "ieee", "cmic", "mdts", "cntlid", "ver", "rtd3r"])
        for key in ["oacs", "acl", "aerl", "frmw", "lpa", "elpe", "npss", "sqes", "cqes", "nn", "oncs", "vwc", "sgls", "subnqn", "psds"] {
            #expect(names.contains(key), "missing \(key)")
        }
        #expect(names.last == "psds")
        #expect(f.first { $0.name == "ieee" }?.value == .int(0x525400))
        #expect(f.first { $0.name == "sn" }?.value == .string("NVMEKIT0            "))
        #expect(f.first { $0.name == "tnvmcap" }?.value == .string("18446744073709555712"))
        #expect(f.first { $0.name == "fguid" }?.value == .string("00000000-0000-0000-0000-000000000000"))
        guard case .objects(let ps)? = f.first(where: { $0.name == "psds" })?.value else { Issue.record("psds"); return }
        #expect(ps.count == 2 && ps[0].map(\.name) == ["max_power", "flags", "entry_lat", "exit_lat", "read_tput",
                "read_lat", "write_tput", "write_lat", "idle_power", "idle_scale", "active_power", "active_power_work",
                "active_scale"])
        #expect(ps[1][1].value == .int(2))   // flags byte: NOPS
        var empty = c; empty.subnqn = ""
        #expect(!empty.nvmeCLIFields.contains { $0.name == "subnqn" })
    }

    @Test("Identify Namespace decodes LBA formats, FLBAS, metadata and PI settings (NVM Figure 97-98)")
    func identifyNamespace() throws {
        let blob = try #require(fixture("constructed/id-ns.bin"))
        let n = try #require(IdentifyNamespace(bytes: blob))
        #expect(n.nsze == 0x200000 && n.ncap == 0x1F0000 && n.nuse == 0x1000)
        #expect(n.nsfeat == 0x14 && n.optperf && !n.thinp)
        #expect(n.nlbaf == 7 && n.lbafs.count == 8)
        #expect(n.flbas == 0x12 && n.formatIndex == 2 && n.metadataAtEndOfLBA)
        #expect(n.currentFormat == LBAFormat(ms: 16, lbads: 9, rp: 1))
        #expect(n.lbaDataSize == 512 && n.metadataSize == 16)
        #expect(n[lbaf: 7].ms == 64 && n[lbaf: 7].dataSize == 4096 && n[lbaf: 7].rp == 3)
        #expect(n.mc == 3 && n.dpc == 0x1F && n.dps == 0x09 && n.pit == 1 && n.pip)
        #expect(n.nmic == 1 && n.rescap == 0xFF && n.fpi == 0x80 && n.dlfeat == 9)
        #expect(n.nawun == 1 && n.nawupf == 2 && n.nacwu == 3 && n.nabsn == 4 && n.nabo == 5 && n.nabspf == 6 && n.noiob == 8)
        #expect(n.nvmcap == 0x4000_0000 && n.npwg == 7 && n.nows == 15 && n.mssrl == 128 && n.mcl == 128 && n.msrc == 127)
        #expect(n.anagrpid == 1 && n.nsattr == 1 && n.nvmsetid == 1 && n.endgid == 1)
        #expect(n.eui64 == [0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9A])
        #expect(n.nguid == Array(0x10...0x1F))
        #expect(n.bytes == blob)
        let names = n.nvmeCLIFields.map(\.name)
        #expect(Array(names.prefix(10)) == ["nsze", "ncap", "nuse", "nsfeat", "nlbaf", "flbas", "mc", "dpc", "dps", "nmic"])
        #expect(names.contains("npwg"))   // NSFEAT.OPTPERF set
        #expect(n.nvmeCLIFields.first { $0.name == "eui64" }?.value == .string("525400123456789a"))
        guard case .objects(let l)? = n.nvmeCLIFields.last?.value else { Issue.record("lbafs"); return }
        #expect(l.count == 8 && l[2] == [ReportField("ms", 16), ReportField("ds", 9), ReportField("rp", 1)])
    }

    @Test("ZNS Identify Namespace: MAR/MOR and zone size per LBA format (ZNS Figure 51-52)")
    func zonedNamespace() throws {
        let blob = try #require(fixture("constructed/zns-id-ns.bin"))
        let z = try #require(ZonedIdentifyNamespace(bytes: blob))
        #expect(z.zoc == 1 && z.vzcap && !z.zae && z.ozcs == 1 && z.razb)
        #expect(z.mar == 13 && z.mor == 11 && z.rrl == 60 && z.frl == 70)
        #expect(z[lbafe: 0] == LBAFormatExtension(zsze: 0x8000, zdes: 2) && z[lbafe: 1].zsze == 0x1000)
        #expect(z.bytes == blob)
    }

    @Test("SMART / Health log: warnings, 128-bit counters, sensors (Base Figure 207)")
    func smart() throws {
        let blob = try #require(fixture("constructed/smart.bin"))
        let s = try #require(SMARTHealthLog(bytes: blob))
        #expect(s.criticalWarning == 2 && s.temperatureThresholdExceeded && !s.spareBelowThreshold)
        #expect(s.compositeTemperature == 323 && s.availableSpare == 100 && s.availableSpareThreshold == 10 && s.percentageUsed == 3)
        #expect(s.dataUnitsRead == (UInt128(1) << 64) + 5 && s.dataUnitsWritten == 77)
        #expect(s.hostReadCommands == 1000 && s.hostWriteCommands == 2000 && s.controllerBusyTime == 9)
        #expect(s.powerCycles == 42 && s.powerOnHours == 1234 && s.unsafeShutdowns == 5)
        #expect(s.mediaAndDataIntegrityErrors == 1 && s.numberOfErrorInformationLogEntries == 2)
        #expect(s.warningCompositeTemperatureTime == 11 && s.criticalCompositeTemperatureTime == 12)
        #expect(s[temperatureSensor: 1] == 300 && s[temperatureSensor: 2] == 301 && s[temperatureSensor: 3] == 0)
        #expect(s.thermalManagementTemperature1TransitionCount == 1 && s.totalTimeForThermalManagementTemperature2 == 4)
        #expect(s.bytes == blob)
    }

    @Test("Error Information entries: status, phase tag and parameter location (Base Figure 205)")
    func errorLog() throws {
        let blob = try #require(fixture("constructed/error-log.bin"))
        let log = ErrorInformationLog(bytes: blob)
        #expect(log.entries.count == 2)
        let e = log.entries[0]
        #expect(e.errorCount == 7 && e.sqid == 1 && e.cid == 0x1234 && e.phaseTag)
        #expect(e.status.description == "Invalid Field in Command (00/02) DNR")
        #expect(e.errorByte == 40 && e.errorBit == 3 && e.lba == 0x1000 && e.nsid == 1)
        #expect(e.commandSpecificInformation == 0xDEADBEEF)
        #expect(log.entries[1].status.matches(CommandSpecificStatus.invalidQueueIdentifier) && !log.entries[1].phaseTag)
        #expect(log.bytes == blob)
    }

    @Test("Firmware Slot, Commands Supported and Effects, Changed Namespace List (Base Figures 209-213)")
    func otherLogs() throws {
        let fwBlob = try #require(fixture("constructed/fw-slot.bin"))
        let fw = try #require(FirmwareSlotLog(bytes: fwBlob))
        #expect(fw.activeSlot == 1 && fw.nextResetSlot == 2)
        #expect(fw[frs: 1] == "7.2.22  " && fw[frs: 2] == "8.0.0   " && fw[frs: 3] == "")
        let fxBlob = try #require(fixture("constructed/effects.bin"))
        let fx = try #require(CommandsSupportedAndEffectsLog(bytes: fxBlob))
        #expect(fx.supportedAdminOpcodes == [0x06, 0x80] && fx.supportedIOOpcodes == [0x01, 0x02])
        let fmt = fx[admin: 0x80]
        #expect(fmt.csupp && fmt.lbcc && fmt.ncc && fmt.nic && fmt.ccc && fmt.cse == 1 && !fmt.uss)
        #expect(fx[io: 0x01].lbcc && !fx[io: 0x02].lbcc)
        let chBlob = try #require(fixture("constructed/changed-ns.bin"))
        let ch = try #require(NamespaceList(bytes: chBlob))
        #expect(ch.nsids == [1, 3] && !ch.overflowed)
        #expect(NamespaceList([0xFFFF_FFFF]).overflowed)
    }

    @Test("encoders build the structures the simulator serves: encode → decode round trips")
    func encodeRoundTrips() {
        var c = IdentifyController()
        c.vid = 0x1B36; c.sn = "SIM0"; c.mn = "NVMeKit Simulator"; c.fr = "1.0"; c.mdts = 5; c.nn = 4
        c.subnqn = "nqn.2026-11.dev.nvmekit:sim"; c.npss = 0; c.sqes = 0x66; c.cqes = 0x44
        var psd = PowerStateDescriptor(); psd.mp = 900; psd.enlat = 5
        c[psd: 0] = psd
        let c2 = IdentifyController(bytes: c.bytes)!
        #expect(c2.sn == "SIM0                " && c2.mn.hasPrefix("NVMeKit Simulator ") && c2.fr == "1.0     ")
        #expect(Array(c.bytes[4..<8]) == Array("SIM0".utf8) && c.bytes[8] == 0x20)   // SN at byte 4, space padded
        #expect(c.bytes[768 + 27] == 0)   // SUBNQN is NUL padded
        #expect(c2 == c && c2[psd: 0].mp == 900 && c2.bytes.count == 4096)

        var n = IdentifyNamespace()
        n.nsze = 1 << 21; n.ncap = 1 << 21; n.nlbaf = 1
        n[lbaf: 0] = LBAFormat(ms: 0, lbads: 9); n[lbaf: 1] = LBAFormat(ms: 8, lbads: 12)
        n.formatIndex = 1; n.pit = 2
        #expect(n.bytes[26] == 0x01 && n.bytes[29] == 0x02 && n.bytes[132 + 2] == 12 && n.bytes[132] == 8)
        #expect(IdentifyNamespace(bytes: n.bytes)! == n && n.lbaDataSize == 4096)
        n.formatIndex = 0x25   // > 16 formats: bits 5:4 go to FLBAS 6:5
        #expect(n.flbas == 0x45 && n.formatIndex == 0x25)

        var z = ZonedIdentifyNamespace(); z.mar = 0xFFFF_FFFF; z[lbafe: 3] = LBAFormatExtension(zsze: 1 << 20, zdes: 1)
        #expect(z.bytes[2816 + 48 + 2] == 0x10 && ZonedIdentifyNamespace(bytes: z.bytes)![lbafe: 3].zdes == 1)

        var s = SMARTHealthLog(); s.dataUnitsRead = UInt128.max; s[temperatureSensor: 8] = 0x1234
        #expect(s.bytes[32..<48].allSatisfy { $0 == 0xFF } && s.bytes[214] == 0x34 && s.bytes[215] == 0x12)

        var e = ErrorInformationEntry(); e.status = CompletionStatus(GenericStatus.lbaOutOfRange, dnr: true); e.phaseTag = true
        #expect(e.statusField == ((0x4080 << 1) | 1) && e.status.matches(GenericStatus.lbaOutOfRange))

        var fw = FirmwareSlotLog(); fw.activeSlot = 3; fw[frs: 3] = "abc"
        #expect(fw.bytes[0] == 3 && fw.bytes[24] == 0x61 && fw.bytes[27] == 0x20)
        #expect(NamespaceList([5, 9]).bytes[4] == 9 && NamespaceList([5, 9]).nsids == [5, 9])
        #expect(IdentifyController(bytes: [UInt8](repeating: 0, count: 100)) == nil)
    }

    @Test("feature values place their fields in CDW11 / DW0 (Base §5.27.1 Figures 319-333)")
    func features() {
        var arb = ArbitrationFeature(rawValue: 0); arb.ab = 7; arb.lpw = 1; arb.mpw = 2; arb.hpw = 3
        #expect(arb.rawValue == 0x0302_0107)
        var pm = PowerManagementFeature(rawValue: 0); pm.ps = 4; pm.wh = 2
        #expect(pm.rawValue == 0x44)
        var tt = TemperatureThresholdFeature(rawValue: 0); tt.tmpth = 350; tt.tmpsel = 1; tt.thsel = 1
        #expect(tt.rawValue == 0x0011_015E)
        let nq = NumberOfQueuesFeature(nsqr: 63, ncqr: 31)
        #expect(nq.rawValue == 0x001F_003F)
        let sqe = nq.setFeatures()
        #expect(sqe.opc == 0x09 && sqe.cdw10 == 7 && sqe.cdw11 == 0x001F_003F)
        let got = NumberOfQueuesFeature(completion: CompletionQueueEntry(dw0: 0x0003_0007))
        #expect(got.nsqa == 7 && got.ncqa == 3)
        var ic = InterruptCoalescingFeature(rawValue: 0); ic.thr = 9; ic.time = 10
        #expect(ic.rawValue == 0x0A09)
        #expect(InterruptVectorConfigurationFeature(iv: 5, cd: true).rawValue == 0x0001_0005)
        var aec = AsynchronousEventConfigurationFeature(rawValue: 0); aec.shcw = 0xFF; aec.nan = true; aec.fan = true; aec.zdcn = true
        #expect(aec.rawValue == 0x0800_03FF)
        #expect(VolatileWriteCacheFeature(wce: true).setFeatures().cdw10 == 6)
        #expect(ArbitrationFeature.getFeatures(sel: .saved).cdw10 == 0x0201)
    }
}
