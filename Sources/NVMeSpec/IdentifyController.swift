/// Power State Descriptor — NVMe Base 2.0c Figure 276 (32 bytes; Identify Controller bytes 2048 + 32·n).
public struct PowerStateDescriptor: ByteStructure {
    public static let size = 32
    public var bytes: [UInt8]
    public init() { bytes = [UInt8](repeating: 0, count: Self.size) }

    /// Bytes 1:0 — Maximum Power (in 0.01 W, or 0.0001 W when MXPS).
    public var mp: UInt16 { get { le(0) } set { setLE(0, newValue) } }
    /// Byte 3 bit 0 — Max Power Scale.
    public var mxps: Bool { get { bytes[3].bit(0) } set { bytes[3].setBit(0, newValue) } }
    /// Byte 3 bit 1 — Non-Operational State.
    public var nops: Bool { get { bytes[3].bit(1) } set { bytes[3].setBit(1, newValue) } }
    /// Bytes 7:4 — Entry Latency (µs).
    public var enlat: UInt32 { get { le(4) } set { setLE(4, newValue) } }
    /// Bytes 11:8 — Exit Latency (µs).
    public var exlat: UInt32 { get { le(8) } set { setLE(8, newValue) } }
    /// Byte 12 bits 4:0 — Relative Read Throughput.
    public var rrt: UInt8 { get { bytes[12].bits(4, 0) } set { bytes[12].setBits(4, 0, newValue) } }
    /// Byte 13 bits 4:0 — Relative Read Latency.
    public var rrl: UInt8 { get { bytes[13].bits(4, 0) } set { bytes[13].setBits(4, 0, newValue) } }
    /// Byte 14 bits 4:0 — Relative Write Throughput.
    public var rwt: UInt8 { get { bytes[14].bits(4, 0) } set { bytes[14].setBits(4, 0, newValue) } }
    /// Byte 15 bits 4:0 — Relative Write Latency.
    public var rwl: UInt8 { get { bytes[15].bits(4, 0) } set { bytes[15].setBits(4, 0, newValue) } }
    /// Bytes 17:16 — Idle Power.
    public var idlp: UInt16 { get { le(16) } set { setLE(16, newValue) } }
    /// Byte 18 bits 7:6 — Idle Power Scale (0 not reported, 1 0.0001 W, 2 0.01 W).
    public var ips: UInt8 { get { bytes[18].bits(7, 6) } set { bytes[18].setBits(7, 6, newValue) } }
    /// Bytes 21:20 — Active Power.
    public var actp: UInt16 { get { le(20) } set { setLE(20, newValue) } }
    /// Byte 22 bits 2:0 — Active Power Workload.
    public var apw: UInt8 { get { bytes[22].bits(2, 0) } set { bytes[22].setBits(2, 0, newValue) } }
    /// Byte 22 bits 7:6 — Active Power Scale.
    public var aps: UInt8 { get { bytes[22].bits(7, 6) } set { bytes[22].setBits(7, 6, newValue) } }

    /// nvme-cli's `psds` entry keys, in its order.
    public var nvmeCLIFields: [ReportField] {
        [ReportField("max_power", mp), ReportField("flags", bytes[3]), ReportField("entry_lat", enlat),
         ReportField("exit_lat", exlat), ReportField("read_tput", bytes[12]), ReportField("read_lat", bytes[13]),
         ReportField("write_tput", bytes[14]), ReportField("write_lat", bytes[15]), ReportField("idle_power", idlp),
         ReportField("idle_scale", ips), ReportField("active_power", actp),
         ReportField("active_power_work", bytes[22] & 7), ReportField("active_scale", aps)]
    }
}

/// Identify Controller data structure (CNS 01h) — NVMe Base 2.0c §5.17.2.1, Figure 275. 4096 bytes.
public struct IdentifyController: ByteStructure, FieldReport, NVMeCLIReport {
    public static let size = 4096
    public var bytes: [UInt8]
    public init() { bytes = [UInt8](repeating: 0, count: Self.size) }

    /// Bytes 1:0 — PCI Vendor ID
    public var vid: UInt16 { get { le(0) } set { setLE(0, newValue) } }
    /// Bytes 3:2 — PCI Subsystem Vendor ID
    public var ssvid: UInt16 { get { le(2) } set { setLE(2, newValue) } }
    /// Bytes 23:4 — Serial Number (ASCII, space padded)
    public var sn: String { get { ascii(4, 20) } set { setASCII(4, 20, newValue) } }
    /// Bytes 63:24 — Model Number (ASCII, space padded)
    public var mn: String { get { ascii(24, 40) } set { setASCII(24, 40, newValue) } }
    /// Bytes 71:64 — Firmware Revision (ASCII, space padded)
    public var fr: String { get { ascii(64, 8) } set { setASCII(64, 8, newValue) } }
    /// Bytes 72 — Recommended Arbitration Burst
    public var rab: UInt8 { get { bytes[72] } set { bytes[72] = newValue } }
    /// Bytes 75:73 — IEEE OUI Identifier (little-endian)
    public var ieee: UInt32 {
        get { UInt32(bytes[73]) | UInt32(bytes[74]) << 8 | UInt32(bytes[75]) << 16 }
        set { bytes[73] = UInt8(truncatingIfNeeded: newValue); bytes[74] = UInt8(truncatingIfNeeded: newValue >> 8); bytes[75] = UInt8(truncatingIfNeeded: newValue >> 16) }
    }
    /// Bytes 76 — Controller Multi-Path I/O and Namespace Sharing Capabilities
    public var cmic: UInt8 { get { bytes[76] } set { bytes[76] = newValue } }
    /// Bytes 77 — Maximum Data Transfer Size (2^n units of CAP.MPSMIN; 0 = no limit)
    public var mdts: UInt8 { get { bytes[77] } set { bytes[77] = newValue } }
    /// Bytes 79:78 — Controller ID
    public var cntlid: UInt16 { get { le(78) } set { setLE(78, newValue) } }
    /// Bytes 83:80 — Version (same layout as VS)
    public var ver: UInt32 { get { le(80) } set { setLE(80, newValue) } }
    /// Bytes 87:84 — RTD3 Resume Latency (µs)
    public var rtd3r: UInt32 { get { le(84) } set { setLE(84, newValue) } }
    /// Bytes 91:88 — RTD3 Entry Latency (µs)
    public var rtd3e: UInt32 { get { le(88) } set { setLE(88, newValue) } }
    /// Bytes 95:92 — Optional Asynchronous Events Supported
    public var oaes: UInt32 { get { le(92) } set { setLE(92, newValue) } }
    /// Bytes 99:96 — Controller Attributes
    public var ctratt: UInt32 { get { le(96) } set { setLE(96, newValue) } }
    /// Bytes 101:100 — Read Recovery Levels Supported
    public var rrls: UInt16 { get { le(100) } set { setLE(100, newValue) } }
    /// Bytes 111 — Controller Type (1 I/O, 2 discovery, 3 administrative)
    public var cntrltype: UInt8 { get { bytes[111] } set { bytes[111] = newValue } }
    /// Bytes 127:112 — FRU Globally Unique Identifier
    public var fguid: [UInt8] { get { raw(112, 16) } set { setRaw(112, 16, newValue) } }
    /// Bytes 129:128 — Command Retry Delay Time 1 (100 ms units)
    public var crdt1: UInt16 { get { le(128) } set { setLE(128, newValue) } }
    /// Bytes 131:130 — Command Retry Delay Time 2
    public var crdt2: UInt16 { get { le(130) } set { setLE(130, newValue) } }
    /// Bytes 133:132 — Command Retry Delay Time 3
    public var crdt3: UInt16 { get { le(132) } set { setLE(132, newValue) } }
    /// Bytes 253 — NVM Subsystem Report
    public var nvmsr: UInt8 { get { bytes[253] } set { bytes[253] = newValue } }
    /// Bytes 254 — VPD Write Cycle Information
    public var vwci: UInt8 { get { bytes[254] } set { bytes[254] = newValue } }
    /// Bytes 255 — Management Endpoint Capabilities
    public var mec: UInt8 { get { bytes[255] } set { bytes[255] = newValue } }
    /// Bytes 257:256 — Optional Admin Command Support
    public var oacs: UInt16 { get { le(256) } set { setLE(256, newValue) } }
    /// Bytes 258 — Abort Command Limit (0's based)
    public var acl: UInt8 { get { bytes[258] } set { bytes[258] = newValue } }
    /// Bytes 259 — Asynchronous Event Request Limit (0's based)
    public var aerl: UInt8 { get { bytes[259] } set { bytes[259] = newValue } }
    /// Bytes 260 — Firmware Updates
    public var frmw: UInt8 { get { bytes[260] } set { bytes[260] = newValue } }
    /// Bytes 261 — Log Page Attributes
    public var lpa: UInt8 { get { bytes[261] } set { bytes[261] = newValue } }
    /// Bytes 262 — Error Log Page Entries (0's based)
    public var elpe: UInt8 { get { bytes[262] } set { bytes[262] = newValue } }
    /// Bytes 263 — Number of Power States Support (0's based)
    public var npss: UInt8 { get { bytes[263] } set { bytes[263] = newValue } }
    /// Bytes 264 — Admin Vendor Specific Command Configuration
    public var avscc: UInt8 { get { bytes[264] } set { bytes[264] = newValue } }
    /// Bytes 265 — Autonomous Power State Transition Attributes
    public var apsta: UInt8 { get { bytes[265] } set { bytes[265] = newValue } }
    /// Bytes 267:266 — Warning Composite Temperature Threshold (K)
    public var wctemp: UInt16 { get { le(266) } set { setLE(266, newValue) } }
    /// Bytes 269:268 — Critical Composite Temperature Threshold (K)
    public var cctemp: UInt16 { get { le(268) } set { setLE(268, newValue) } }
    /// Bytes 271:270 — Maximum Time for Firmware Activation (100 ms units)
    public var mtfa: UInt16 { get { le(270) } set { setLE(270, newValue) } }
    /// Bytes 275:272 — Host Memory Buffer Preferred Size (4 KiB units)
    public var hmpre: UInt32 { get { le(272) } set { setLE(272, newValue) } }
    /// Bytes 279:276 — Host Memory Buffer Minimum Size (4 KiB units)
    public var hmmin: UInt32 { get { le(276) } set { setLE(276, newValue) } }
    /// Bytes 295:280 — Total NVM Capacity (bytes)
    public var tnvmcap: UInt128 { get { le(280) } set { setLE(280, newValue) } }
    /// Bytes 311:296 — Unallocated NVM Capacity (bytes)
    public var unvmcap: UInt128 { get { le(296) } set { setLE(296, newValue) } }
    /// Bytes 315:312 — Replay Protected Memory Block Support
    public var rpmbs: UInt32 { get { le(312) } set { setLE(312, newValue) } }
    /// Bytes 317:316 — Extended Device Self-test Time (minutes)
    public var edstt: UInt16 { get { le(316) } set { setLE(316, newValue) } }
    /// Bytes 318 — Device Self-test Options
    public var dsto: UInt8 { get { bytes[318] } set { bytes[318] = newValue } }
    /// Bytes 319 — Firmware Update Granularity (4 KiB units)
    public var fwug: UInt8 { get { bytes[319] } set { bytes[319] = newValue } }
    /// Bytes 321:320 — Keep Alive Support (100 ms units)
    public var kas: UInt16 { get { le(320) } set { setLE(320, newValue) } }
    /// Bytes 323:322 — Host Controlled Thermal Management Attributes
    public var hctma: UInt16 { get { le(322) } set { setLE(322, newValue) } }
    /// Bytes 325:324 — Minimum Thermal Management Temperature (K)
    public var mntmt: UInt16 { get { le(324) } set { setLE(324, newValue) } }
    /// Bytes 327:326 — Maximum Thermal Management Temperature (K)
    public var mxtmt: UInt16 { get { le(326) } set { setLE(326, newValue) } }
    /// Bytes 331:328 — Sanitize Capabilities
    public var sanicap: UInt32 { get { le(328) } set { setLE(328, newValue) } }
    /// Bytes 335:332 — Host Memory Buffer Minimum Descriptor Entry Size (4 KiB units)
    public var hmminds: UInt32 { get { le(332) } set { setLE(332, newValue) } }
    /// Bytes 337:336 — Host Memory Maximum Descriptors Entries
    public var hmmaxd: UInt16 { get { le(336) } set { setLE(336, newValue) } }
    /// Bytes 339:338 — NVM Set Identifier Maximum
    public var nsetidmax: UInt16 { get { le(338) } set { setLE(338, newValue) } }
    /// Bytes 341:340 — Endurance Group Identifier Maximum
    public var endgidmax: UInt16 { get { le(340) } set { setLE(340, newValue) } }
    /// Bytes 342 — ANA Transition Time (s)
    public var anatt: UInt8 { get { bytes[342] } set { bytes[342] = newValue } }
    /// Bytes 343 — Asymmetric Namespace Access Capabilities
    public var anacap: UInt8 { get { bytes[343] } set { bytes[343] = newValue } }
    /// Bytes 347:344 — ANA Group Identifier Maximum
    public var anagrpmax: UInt32 { get { le(344) } set { setLE(344, newValue) } }
    /// Bytes 351:348 — Number of ANA Group Identifiers
    public var nanagrpid: UInt32 { get { le(348) } set { setLE(348, newValue) } }
    /// Bytes 355:352 — Persistent Event Log Size (64 KiB units)
    public var pels: UInt32 { get { le(352) } set { setLE(352, newValue) } }
    /// Bytes 357:356 — Domain Identifier
    public var domainid: UInt16 { get { le(356) } set { setLE(356, newValue) } }
    /// Bytes 383:368 — Max Endurance Group Capacity (bytes)
    public var megcap: UInt128 { get { le(368) } set { setLE(368, newValue) } }
    /// Bytes 512 — Submission Queue Entry Size (3:0 required, 7:4 maximum; 2^n bytes)
    public var sqes: UInt8 { get { bytes[512] } set { bytes[512] = newValue } }
    /// Bytes 513 — Completion Queue Entry Size (3:0 required, 7:4 maximum; 2^n bytes)
    public var cqes: UInt8 { get { bytes[513] } set { bytes[513] = newValue } }
    /// Bytes 515:514 — Maximum Outstanding Commands
    public var maxcmd: UInt16 { get { le(514) } set { setLE(514, newValue) } }
    /// Bytes 519:516 — Number of Namespaces
    public var nn: UInt32 { get { le(516) } set { setLE(516, newValue) } }
    /// Bytes 521:520 — Optional NVM Command Support
    public var oncs: UInt16 { get { le(520) } set { setLE(520, newValue) } }
    /// Bytes 523:522 — Fused Operation Support
    public var fuses: UInt16 { get { le(522) } set { setLE(522, newValue) } }
    /// Bytes 524 — Format NVM Attributes
    public var fna: UInt8 { get { bytes[524] } set { bytes[524] = newValue } }
    /// Bytes 525 — Volatile Write Cache
    public var vwc: UInt8 { get { bytes[525] } set { bytes[525] = newValue } }
    /// Bytes 527:526 — Atomic Write Unit Normal (0's based blocks)
    public var awun: UInt16 { get { le(526) } set { setLE(526, newValue) } }
    /// Bytes 529:528 — Atomic Write Unit Power Fail (0's based blocks)
    public var awupf: UInt16 { get { le(528) } set { setLE(528, newValue) } }
    /// Bytes 530 — I/O Command Set Vendor Specific Command Configuration
    public var icsvscc: UInt8 { get { bytes[530] } set { bytes[530] = newValue } }
    /// Bytes 531 — Namespace Write Protection Capabilities
    public var nwpc: UInt8 { get { bytes[531] } set { bytes[531] = newValue } }
    /// Bytes 533:532 — Atomic Compare & Write Unit (0's based blocks)
    public var acwu: UInt16 { get { le(532) } set { setLE(532, newValue) } }
    /// Bytes 535:534 — Optional Copy Formats Supported
    public var ocfs: UInt16 { get { le(534) } set { setLE(534, newValue) } }
    /// Bytes 539:536 — SGL Support
    public var sgls: UInt32 { get { le(536) } set { setLE(536, newValue) } }
    /// Bytes 543:540 — Maximum Number of Allowed Namespaces
    public var mnan: UInt32 { get { le(540) } set { setLE(540, newValue) } }
    /// Bytes 559:544 — Maximum Domain Namespace Attachments
    public var maxdna: UInt128 { get { le(544) } set { setLE(544, newValue) } }
    /// Bytes 563:560 — Maximum I/O Controller Namespace Attachments
    public var maxcna: UInt32 { get { le(560) } set { setLE(560, newValue) } }
    /// Bytes 1023:768 — NVM Subsystem NVMe Qualified Name (UTF-8, NUL terminated)
    public var subnqn: String { get { ascii(768, 256) } set { setASCII(768, 256, newValue, pad: 0) } }
    /// Bytes 1795:1792 — I/O Queue Command Capsule Supported Size (fabrics)
    public var ioccsz: UInt32 { get { le(1792) } set { setLE(1792, newValue) } }
    /// Bytes 1799:1796 — I/O Queue Response Capsule Supported Size (fabrics)
    public var iorcsz: UInt32 { get { le(1796) } set { setLE(1796, newValue) } }
    /// Bytes 1801:1800 — In Capsule Data Offset (fabrics)
    public var icdoff: UInt16 { get { le(1800) } set { setLE(1800, newValue) } }
    /// Bytes 1802 — Fabrics Controller Attributes
    public var fcatt: UInt8 { get { bytes[1802] } set { bytes[1802] = newValue } }
    /// Bytes 1803 — Maximum SGL Data Block Descriptors
    public var msdbd: UInt8 { get { bytes[1803] } set { bytes[1803] = newValue } }
    /// Bytes 1805:1804 — Optional Fabric Commands Support
    public var ofcs: UInt16 { get { le(1804) } set { setLE(1804, newValue) } }
    /// Bytes 4095:3072 — Vendor Specific
    public var vs: [UInt8] { get { raw(3072, 1024) } set { setRaw(3072, 1024, newValue) } }

    /// Bytes 2047+32n:2048+32n — Power State Descriptor n (0...31).
    public subscript(psd n: Int) -> PowerStateDescriptor {
        get { PowerStateDescriptor(bytes: raw(2048 &+ 32 &* n, 32)) ?? PowerStateDescriptor() }
        set { setRaw(2048 &+ 32 &* n, 32, newValue.bytes) }
    }
    /// Power states 0...NPSS.
    public var psds: [PowerStateDescriptor] { (0...min(Int(npss), 31)).map { self[psd: $0] } }

    /// VER as a Version value.
    public var version: Version { Version(rawValue: ver) }
    /// MDTS in bytes given CAP.MPSMIN's page size; nil = no limit.
    public func maxTransferBytes(mpsminBytes: Int = 4096) -> Int? {
        ValidationContext.maxTransferBytes(mdts: mdts, mpsminBytes: mpsminBytes)
    }

    /// The fields exactly as nvme-cli 2.3 prints `id-ctrl -o json`: its key names and order, sn/mn/fr with their
    /// space padding, 128-bit capacities as decimal strings, fguid as a UUID string, subnqn only when non-empty.
    public var nvmeCLIFields: [ReportField] {
        var f: [ReportField] = [
            .init("vid", vid), .init("ssvid", ssvid), .init("sn", sn), .init("mn", mn), .init("fr", fr),
            .init("rab", rab), .init("ieee", ieee), .init("cmic", cmic), .init("mdts", mdts), .init("cntlid", cntlid),
            .init("ver", ver), .init("rtd3r", rtd3r), .init("rtd3e", rtd3e), .init("oaes", oaes),
            .init("ctratt", ctratt), .init("rrls", rrls), .init("cntrltype", cntrltype),
            .init("fguid", uuidString(fguid)), .init("crdt1", crdt1), .init("crdt2", crdt2),
            .init("crdt3", crdt3), .init("nvmsr", nvmsr), .init("vwci", vwci), .init("mec", mec), .init("oacs", oacs),
            .init("acl", acl), .init("aerl", aerl), .init("frmw", frmw), .init("lpa", lpa), .init("elpe", elpe),
            .init("npss", npss), .init("avscc", avscc), .init("apsta", apsta), .init("wctemp", wctemp),
            .init("cctemp", cctemp), .init("mtfa", mtfa), .init("hmpre", hmpre), .init("hmmin", hmmin),
            .init("tnvmcap", String(tnvmcap)), .init("unvmcap", String(unvmcap)),
            .init("rpmbs", rpmbs), .init("edstt", edstt), .init("dsto", dsto), .init("fwug", fwug), .init("kas", kas),
            .init("hctma", hctma), .init("mntmt", mntmt), .init("mxtmt", mxtmt), .init("sanicap", sanicap),
            .init("hmminds", hmminds), .init("hmmaxd", hmmaxd), .init("nsetidmax", nsetidmax),
            .init("endgidmax", endgidmax), .init("anatt", anatt), .init("anacap", anacap),
            .init("anagrpmax", anagrpmax), .init("nanagrpid", nanagrpid), .init("pels", pels),
            .init("domainid", domainid), .init("megcap", String(megcap)), .init("sqes", sqes),
            .init("cqes", cqes), .init("maxcmd", maxcmd), .init("nn", nn), .init("oncs", oncs), .init("fuses", fuses),
            .init("fna", fna), .init("vwc", vwc), .init("awun", awun), .init("awupf", awupf),
            .init("icsvscc", icsvscc), .init("nwpc", nwpc), .init("acwu", acwu), .init("ocfs", ocfs),
            .init("sgls", sgls), .init("mnan", mnan), .init("maxdna", String(maxdna)), .init("maxcna", maxcna),
        ]
        if !subnqn.isEmpty { f.append(.init("subnqn", subnqn)) }
        f += [.init("ioccsz", ioccsz), .init("iorcsz", iorcsz), .init("icdoff", icdoff), .init("fcatt", fcatt),
              .init("msdbd", msdbd), .init("ofcs", ofcs),
              .init("psds", .objects(psds.map(\.nvmeCLIFields)))]
        return f
    }

    public var reportFields: [ReportField] { nvmeCLIFields }
}

/// LBA Format data structure — NVM Command Set 1.0c Figure 98 (4 bytes; Identify Namespace bytes 128 + 4·n).
public struct LBAFormat: Hashable, Sendable, RawRepresentable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(ms: UInt16, lbads: UInt8, rp: UInt8 = 0) {
        rawValue = 0; self.ms = ms; self.lbads = lbads; self.rp = rp
    }
    /// Bits 15:0 — Metadata Size (bytes per logical block).
    public var ms: UInt16 { get { UInt16(rawValue.bits(15, 0)) } set { rawValue.setBits(15, 0, UInt32(newValue)) } }
    /// Bits 23:16 — LBA Data Size (2^n bytes; 0 = format not supported).
    public var lbads: UInt8 { get { UInt8(rawValue.bits(23, 16)) } set { rawValue.setBits(23, 16, UInt32(newValue)) } }
    /// Bits 25:24 — Relative Performance (0 best, 1 better, 2 good, 3 degraded).
    public var rp: UInt8 { get { UInt8(rawValue.bits(25, 24)) } set { rawValue.setBits(25, 24, UInt32(newValue)) } }
    /// Logical block data size in bytes (0 when LBADS is 0 or absurd).
    public var dataSize: Int { lbads == 0 || lbads > 40 ? 0 : 1 << Int(lbads) }
}

/// Identify Namespace data structure for the NVM Command Set (CNS 00h) — NVM Command Set 1.0c §4.1.5.1, Figure 97.
public struct IdentifyNamespace: ByteStructure, FieldReport, NVMeCLIReport {
    public static let size = 4096
    public var bytes: [UInt8]
    public init() { bytes = [UInt8](repeating: 0, count: Self.size) }

    /// Bytes 7:0 — Namespace Size (logical blocks)
    public var nsze: UInt64 { get { le(0) } set { setLE(0, newValue) } }
    /// Bytes 15:8 — Namespace Capacity (logical blocks)
    public var ncap: UInt64 { get { le(8) } set { setLE(8, newValue) } }
    /// Bytes 23:16 — Namespace Utilization (logical blocks)
    public var nuse: UInt64 { get { le(16) } set { setLE(16, newValue) } }
    /// Bytes 24 — Namespace Features (0 THINP, 1 NSABP, 2 DAE, 3 UIDREUSE, 4 OPTPERF)
    public var nsfeat: UInt8 { get { bytes[24] } set { bytes[24] = newValue } }
    /// Bytes 25 — Number of LBA Formats (0's based)
    public var nlbaf: UInt8 { get { bytes[25] } set { bytes[25] = newValue } }
    /// Bytes 26 — Formatted LBA Size (3:0 format index low, 4 metadata at end of LBA, 6:5 format index high)
    public var flbas: UInt8 { get { bytes[26] } set { bytes[26] = newValue } }
    /// Bytes 27 — Metadata Capabilities (0 extended LBA, 1 separate buffer)
    public var mc: UInt8 { get { bytes[27] } set { bytes[27] = newValue } }
    /// Bytes 28 — End-to-end Data Protection Capabilities (0-2 PI types 1-3, 3 first bytes, 4 last bytes)
    public var dpc: UInt8 { get { bytes[28] } set { bytes[28] = newValue } }
    /// Bytes 29 — End-to-end Data Protection Type Settings (2:0 PI type, 3 PI first)
    public var dps: UInt8 { get { bytes[29] } set { bytes[29] = newValue } }
    /// Bytes 30 — Namespace Multi-path I/O and Namespace Sharing Capabilities
    public var nmic: UInt8 { get { bytes[30] } set { bytes[30] = newValue } }
    /// Bytes 31 — Reservation Capabilities
    public var rescap: UInt8 { get { bytes[31] } set { bytes[31] = newValue } }
    /// Bytes 32 — Format Progress Indicator
    public var fpi: UInt8 { get { bytes[32] } set { bytes[32] = newValue } }
    /// Bytes 33 — Deallocate Logical Block Features
    public var dlfeat: UInt8 { get { bytes[33] } set { bytes[33] = newValue } }
    /// Bytes 35:34 — Namespace Atomic Write Unit Normal
    public var nawun: UInt16 { get { le(34) } set { setLE(34, newValue) } }
    /// Bytes 37:36 — Namespace Atomic Write Unit Power Fail
    public var nawupf: UInt16 { get { le(36) } set { setLE(36, newValue) } }
    /// Bytes 39:38 — Namespace Atomic Compare & Write Unit
    public var nacwu: UInt16 { get { le(38) } set { setLE(38, newValue) } }
    /// Bytes 41:40 — Namespace Atomic Boundary Size Normal
    public var nabsn: UInt16 { get { le(40) } set { setLE(40, newValue) } }
    /// Bytes 43:42 — Namespace Atomic Boundary Offset
    public var nabo: UInt16 { get { le(42) } set { setLE(42, newValue) } }
    /// Bytes 45:44 — Namespace Atomic Boundary Size Power Fail
    public var nabspf: UInt16 { get { le(44) } set { setLE(44, newValue) } }
    /// Bytes 47:46 — Namespace Optimal I/O Boundary
    public var noiob: UInt16 { get { le(46) } set { setLE(46, newValue) } }
    /// Bytes 63:48 — NVM Capacity (bytes)
    public var nvmcap: UInt128 { get { le(48) } set { setLE(48, newValue) } }
    /// Bytes 65:64 — Namespace Preferred Write Granularity
    public var npwg: UInt16 { get { le(64) } set { setLE(64, newValue) } }
    /// Bytes 67:66 — Namespace Preferred Write Alignment
    public var npwa: UInt16 { get { le(66) } set { setLE(66, newValue) } }
    /// Bytes 69:68 — Namespace Preferred Deallocate Granularity
    public var npdg: UInt16 { get { le(68) } set { setLE(68, newValue) } }
    /// Bytes 71:70 — Namespace Preferred Deallocate Alignment
    public var npda: UInt16 { get { le(70) } set { setLE(70, newValue) } }
    /// Bytes 73:72 — Namespace Optimal Write Size
    public var nows: UInt16 { get { le(72) } set { setLE(72, newValue) } }
    /// Bytes 75:74 — Maximum Single Source Range Length
    public var mssrl: UInt16 { get { le(74) } set { setLE(74, newValue) } }
    /// Bytes 79:76 — Maximum Copy Length
    public var mcl: UInt32 { get { le(76) } set { setLE(76, newValue) } }
    /// Bytes 80 — Maximum Source Range Count (0's based)
    public var msrc: UInt8 { get { bytes[80] } set { bytes[80] = newValue } }
    /// Bytes 82 — Number of Unique Capability LBA Formats
    public var nulbaf: UInt8 { get { bytes[82] } set { bytes[82] = newValue } }
    /// Bytes 95:92 — ANA Group Identifier
    public var anagrpid: UInt32 { get { le(92) } set { setLE(92, newValue) } }
    /// Bytes 99 — Namespace Attributes (0 write protected)
    public var nsattr: UInt8 { get { bytes[99] } set { bytes[99] = newValue } }
    /// Bytes 101:100 — NVM Set Identifier
    public var nvmsetid: UInt16 { get { le(100) } set { setLE(100, newValue) } }
    /// Bytes 103:102 — Endurance Group Identifier
    public var endgid: UInt16 { get { le(102) } set { setLE(102, newValue) } }
    /// Bytes 119:104 — Namespace Globally Unique Identifier
    public var nguid: [UInt8] { get { raw(104, 16) } set { setRaw(104, 16, newValue) } }
    /// Bytes 127:120 — IEEE Extended Unique Identifier
    public var eui64: [UInt8] { get { raw(120, 8) } set { setRaw(120, 8, newValue) } }
    /// Bytes 4095:384 — Vendor Specific
    public var vs: [UInt8] { get { raw(384, 3712) } set { setRaw(384, 3712, newValue) } }

    /// Bytes 131+4n:128+4n — LBA Format n (0...63).
    public subscript(lbaf n: Int) -> LBAFormat {
        get { LBAFormat(rawValue: le(128 &+ 4 &* n)) }
        set { setLE(128 &+ 4 &* n, newValue.rawValue) }
    }
    /// Formats 0...NLBAF.
    public var lbafs: [LBAFormat] { (0...min(Int(nlbaf), 63)).map { self[lbaf: $0] } }

    // FLBAS, DPS, NSFEAT, MC, DPC fields.
    /// The LBA format index in use: FLBAS bits 3:0, plus bits 6:5 as bits 5:4 when NLBAF > 16.
    public var formatIndex: Int {
        get { Int(flbas.bits(3, 0)) | Int(flbas.bits(6, 5)) << 4 }
        set { flbas.setBits(3, 0, UInt8(newValue & 0xF)); flbas.setBits(6, 5, UInt8((newValue >> 4) & 3)) }
    }
    /// FLBAS bit 4 — metadata is transferred at the end of the data LBA (extended LBA).
    public var metadataAtEndOfLBA: Bool { get { flbas.bit(4) } set { flbas.setBit(4, newValue) } }
    /// The LBA format in use.
    public var currentFormat: LBAFormat { self[lbaf: formatIndex] }
    /// Logical block data size in bytes of the format in use.
    public var lbaDataSize: Int { currentFormat.dataSize }
    /// Metadata bytes per block of the format in use.
    public var metadataSize: Int { Int(currentFormat.ms) }
    /// DPS bits 2:0 — Protection Information Type enabled (0 none, 1-3 Type 1-3).
    public var pit: UInt8 { get { dps.bits(2, 0) } set { dps.setBits(2, 0, newValue) } }
    /// DPS bit 3 — Protection Information is transferred as the first bytes of metadata.
    public var pip: Bool { get { dps.bit(3) } set { dps.setBit(3, newValue) } }
    /// NSFEAT bit 0 — Thin Provisioning.
    public var thinp: Bool { get { nsfeat.bit(0) } set { nsfeat.setBit(0, newValue) } }
    /// NSFEAT bit 4 — Optimal Performance fields (NPWG…NOWS) valid.
    public var optperf: Bool { get { nsfeat.bit(4) } set { nsfeat.setBit(4, newValue) } }

    /// The fields exactly as nvme-cli 2.3 prints `id-ns -o json` (NVMCAP as a decimal string).
    public var nvmeCLIFields: [ReportField] {
        var f: [ReportField] = [
            .init("nsze", nsze), .init("ncap", ncap), .init("nuse", nuse), .init("nsfeat", nsfeat),
            .init("nlbaf", nlbaf), .init("flbas", flbas), .init("mc", mc), .init("dpc", dpc), .init("dps", dps),
            .init("nmic", nmic), .init("rescap", rescap), .init("fpi", fpi), .init("dlfeat", dlfeat),
            .init("nawun", nawun), .init("nawupf", nawupf), .init("nacwu", nacwu), .init("nabsn", nabsn),
            .init("nabo", nabo), .init("nabspf", nabspf), .init("noiob", noiob),
            .init("nvmcap", String(nvmcap)), .init("nsattr", nsattr), .init("nvmsetid", nvmsetid),
        ]
        if nsfeat & 0x10 != 0 {
            f += [.init("npwg", npwg), .init("npwa", npwa), .init("npdg", npdg), .init("npda", npda), .init("nows", nows)]
        }
        f += [.init("mssrl", mssrl), .init("mcl", mcl), .init("msrc", msrc), .init("nulbaf", nulbaf),
              .init("anagrpid", anagrpid), .init("endgid", endgid), .init("eui64", hexString(eui64)),
              .init("nguid", hexString(nguid)),
              .init("lbafs", .objects(lbafs.map { [.init("ms", $0.ms), .init("ds", $0.lbads), .init("rp", $0.rp)] }))]
        return f
    }

    public var reportFields: [ReportField] { nvmeCLIFields }
}
