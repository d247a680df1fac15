/// Controller register offsets in BAR0 — NVMe Base 2.0c §3.1.4, Figure 33.
public enum ControllerRegister: Int, Sendable, CaseIterable {
    case cap = 0x00, vs = 0x08, intms = 0x0C, intmc = 0x10, cc = 0x14, csts = 0x1C, nssr = 0x20
    case aqa = 0x24, asq = 0x28, acq = 0x30, cmbloc = 0x38, cmbsz = 0x3C
    case bpinfo = 0x40, bprsel = 0x44, bpmbl = 0x48, cmbmsc = 0x50, cmbsts = 0x58
    case cmbebs = 0x5C, cmbswtp = 0x60, nssd = 0x64, crto = 0x68
    case pmrcap = 0xE00, pmrctl = 0xE04, pmrsts = 0xE08, pmrebs = 0xE0C, pmrswtp = 0xE10
    case pmrmscl = 0xE14, pmrmscu = 0xE18

    /// Width in bytes of the register at this offset.
    public var width: Int {
        switch self {
        case .cap, .asq, .acq, .bpmbl, .cmbmsc: return 8
        default: return 4
        }
    }

    /// Offset of the first doorbell register (SQ 0 Tail Doorbell).
    public static let doorbellBase = 0x1000
}

/// Doorbell offsets — NVMe Base 2.0c §3.1.4.23/24: `0x1000 + (2*qid + isCQ) * (4 << CAP.DSTRD)`.
public enum Doorbell {
    /// Submission Queue `qid` Tail Doorbell.
    public static func sqTailOffset(qid: UInt16, dstrd: UInt8) -> Int { offset(qid: qid, isCQ: false, dstrd: dstrd) }
    /// Completion Queue `qid` Head Doorbell.
    public static func cqHeadOffset(qid: UInt16, dstrd: UInt8) -> Int { offset(qid: qid, isCQ: true, dstrd: dstrd) }
    public static func offset(qid: UInt16, isCQ: Bool, dstrd: UInt8) -> Int {
        ControllerRegister.doorbellBase + (2 * Int(qid) + (isCQ ? 1 : 0)) * (4 << Int(dstrd))
    }
}

/// Controller Capabilities (CAP, 00h) — Figure 36.
public struct ControllerCapabilities: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bits 15:0 — Maximum Queue Entries Supported (0's based).
    public var mqes: UInt16 { get { UInt16(rawValue.bits(15, 0)) } set { rawValue.setBits(15, 0, UInt64(newValue)) } }
    /// Bit 16 — Contiguous Queues Required.
    public var cqr: Bool { get { rawValue.bit(16) } set { rawValue.setBit(16, newValue) } }
    /// Bits 18:17 — Arbitration Mechanism Supported (bit 0 WRR with urgent, bit 1 vendor specific).
    public var ams: UInt8 { get { UInt8(rawValue.bits(18, 17)) } set { rawValue.setBits(18, 17, UInt64(newValue)) } }
    /// Bits 31:24 — Timeout, in 500 ms units.
    public var to: UInt8 { get { UInt8(rawValue.bits(31, 24)) } set { rawValue.setBits(31, 24, UInt64(newValue)) } }
    /// Bits 35:32 — Doorbell Stride (stride is 4 << DSTRD bytes).
    public var dstrd: UInt8 { get { UInt8(rawValue.bits(35, 32)) } set { rawValue.setBits(35, 32, UInt64(newValue)) } }
    /// Bit 36 — NVM Subsystem Reset Supported.
    public var nssrs: Bool { get { rawValue.bit(36) } set { rawValue.setBit(36, newValue) } }
    /// Bits 44:37 — Command Sets Supported (bit 0 NVM, bit 6 I/O command sets, bit 7 no I/O command set).
    public var css: UInt8 { get { UInt8(rawValue.bits(44, 37)) } set { rawValue.setBits(44, 37, UInt64(newValue)) } }
    /// Bit 45 — Boot Partition Support.
    public var bps: Bool { get { rawValue.bit(45) } set { rawValue.setBit(45, newValue) } }
    /// Bits 47:46 — Controller Power Scope.
    public var cps: UInt8 { get { UInt8(rawValue.bits(47, 46)) } set { rawValue.setBits(47, 46, UInt64(newValue)) } }
    /// Bits 51:48 — Memory Page Size Minimum (2 ^ (12 + MPSMIN)).
    public var mpsmin: UInt8 { get { UInt8(rawValue.bits(51, 48)) } set { rawValue.setBits(51, 48, UInt64(newValue)) } }
    /// Bits 55:52 — Memory Page Size Maximum (2 ^ (12 + MPSMAX)).
    public var mpsmax: UInt8 { get { UInt8(rawValue.bits(55, 52)) } set { rawValue.setBits(55, 52, UInt64(newValue)) } }
    /// Bit 56 — Persistent Memory Region Supported.
    public var pmrs: Bool { get { rawValue.bit(56) } set { rawValue.setBit(56, newValue) } }
    /// Bit 57 — Controller Memory Buffer Supported.
    public var cmbs: Bool { get { rawValue.bit(57) } set { rawValue.setBit(57, newValue) } }
    /// Bit 58 — NVM Subsystem Shutdown Supported.
    public var nsss: Bool { get { rawValue.bit(58) } set { rawValue.setBit(58, newValue) } }
    /// Bits 60:59 — Controller Ready Modes Supported.
    public var crms: UInt8 { get { UInt8(rawValue.bits(60, 59)) } set { rawValue.setBits(60, 59, UInt64(newValue)) } }

    /// Worst-case time to wait for CSTS.RDY to change, from CAP.TO.
    public var timeout: Duration { .milliseconds(Int(to) * 500) }
    /// Doorbell stride in bytes.
    public var doorbellStride: Int { 4 << Int(dstrd) }
    /// Smallest memory page size in bytes.
    public var minimumPageSize: Int { 1 << (12 + Int(mpsmin)) }
    /// Largest memory page size in bytes.
    public var maximumPageSize: Int { 1 << (12 + Int(mpsmax)) }
}

/// Version (VS, 08h) — Figure 37.
public struct Version: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(mjr: UInt16, mnr: UInt8, ter: UInt8 = 0) {
        rawValue = UInt32(mjr) << 16 | UInt32(mnr) << 8 | UInt32(ter)
    }
    /// Bits 31:16 — Major Version Number.
    public var mjr: UInt16 { get { UInt16(rawValue.bits(31, 16)) } set { rawValue.setBits(31, 16, UInt32(newValue)) } }
    /// Bits 15:8 — Minor Version Number.
    public var mnr: UInt8 { get { UInt8(rawValue.bits(15, 8)) } set { rawValue.setBits(15, 8, UInt32(newValue)) } }
    /// Bits 7:0 — Tertiary Version Number.
    public var ter: UInt8 { get { UInt8(rawValue.bits(7, 0)) } set { rawValue.setBits(7, 0, UInt32(newValue)) } }
    public var description: String { "\(mjr).\(mnr).\(ter)" }
}

/// Controller Configuration (CC, 14h) — Figure 41.
public struct ControllerConfiguration: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Bit 0 — Enable.
    public var en: Bool { get { rawValue.bit(0) } set { rawValue.setBit(0, newValue) } }
    /// Bits 6:4 — I/O Command Set Selected (0 NVM, 6 all supported I/O command sets, 7 admin only).
    public var css: UInt8 { get { UInt8(rawValue.bits(6, 4)) } set { rawValue.setBits(6, 4, UInt32(newValue)) } }
    /// Bits 10:7 — Memory Page Size (2 ^ (12 + MPS)).
    public var mps: UInt8 { get { UInt8(rawValue.bits(10, 7)) } set { rawValue.setBits(10, 7, UInt32(newValue)) } }
    /// Bits 13:11 — Arbitration Mechanism Selected (0 round robin, 1 WRR with urgent, 7 vendor specific).
    public var ams: UInt8 { get { UInt8(rawValue.bits(13, 11)) } set { rawValue.setBits(13, 11, UInt32(newValue)) } }
    /// Bits 15:14 — Shutdown Notification (0 none, 1 normal, 2 abrupt).
    public var shn: UInt8 { get { UInt8(rawValue.bits(15, 14)) } set { rawValue.setBits(15, 14, UInt32(newValue)) } }
    /// Bits 19:16 — I/O Submission Queue Entry Size (2 ^ n bytes; 6 for 64).
    public var iosqes: UInt8 { get { UInt8(rawValue.bits(19, 16)) } set { rawValue.setBits(19, 16, UInt32(newValue)) } }
    /// Bits 23:20 — I/O Completion Queue Entry Size (2 ^ n bytes; 4 for 16).
    public var iocqes: UInt8 { get { UInt8(rawValue.bits(23, 20)) } set { rawValue.setBits(23, 20, UInt32(newValue)) } }
    /// Bit 24 — Controller Ready Independent of Media Enable.
    public var crime: Bool { get { rawValue.bit(24) } set { rawValue.setBit(24, newValue) } }

    /// Memory page size in bytes selected by MPS.
    public var pageSize: Int { 1 << (12 + Int(mps)) }
}

/// Controller Status (CSTS, 1Ch) — Figure 42.
public struct ControllerStatus: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Bit 0 — Ready.
    public var rdy: Bool { get { rawValue.bit(0) } set { rawValue.setBit(0, newValue) } }
    /// Bit 1 — Controller Fatal Status.
    public var cfs: Bool { get { rawValue.bit(1) } set { rawValue.setBit(1, newValue) } }
    /// Bits 3:2 — Shutdown Status (0 normal operation, 1 occurring, 2 complete).
    public var shst: UInt8 { get { UInt8(rawValue.bits(3, 2)) } set { rawValue.setBits(3, 2, UInt32(newValue)) } }
    /// Bit 4 — NVM Subsystem Reset Occurred.
    public var nssro: Bool { get { rawValue.bit(4) } set { rawValue.setBit(4, newValue) } }
    /// Bit 5 — Processing Paused.
    public var pp: Bool { get { rawValue.bit(5) } set { rawValue.setBit(5, newValue) } }
    /// Bit 6 — Shutdown Type.
    public var st: Bool { get { rawValue.bit(6) } set { rawValue.setBit(6, newValue) } }

    /// All ones: the device is gone (surprise removal) or the link is down.
    public var isAllOnes: Bool { rawValue == 0xFFFF_FFFF }
}

/// Admin Queue Attributes (AQA, 24h) — Figure 44.
public struct AdminQueueAttributes: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(asqs: UInt16, acqs: UInt16) { rawValue = 0; self.asqs = asqs; self.acqs = acqs }

    /// Bits 11:0 — Admin Submission Queue Size (0's based).
    public var asqs: UInt16 { get { UInt16(rawValue.bits(11, 0)) } set { rawValue.setBits(11, 0, UInt32(newValue)) } }
    /// Bits 27:16 — Admin Completion Queue Size (0's based).
    public var acqs: UInt16 { get { UInt16(rawValue.bits(27, 16)) } set { rawValue.setBits(27, 16, UInt32(newValue)) } }
}
