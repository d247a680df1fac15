// NVM Command Set (1.0c §3) and Zoned Namespace Command Set (1.1 §3.4) I/O command builders. As for admin
// builders, the data pointer and MPTR are the driver's; `nlb` is 0's based (blocks - 1), as on the wire.

/// Dataset Management attributes — NVM Command Set 1.0c Figure 38 (CDW11).
public struct DatasetManagementAttributes: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bit 0 — Attribute – Integral Dataset for Read.
    public static let idr = Self(rawValue: 1 << 0)
    /// Bit 1 — Attribute – Integral Dataset for Write.
    public static let idw = Self(rawValue: 1 << 1)
    /// Bit 2 — Attribute – Deallocate.
    public static let ad = Self(rawValue: 1 << 2)
}

/// One Dataset Management range — NVM Command Set 1.0c Figure 39. 16 bytes: Context Attributes (bytes 3:0),
/// Length in logical blocks (7:4, 1's based), Starting LBA (15:8).
public struct DatasetManagementRange: Hashable, Sendable {
    public static let size = 16
    public var contextAttributes: UInt32
    public var length: UInt32
    public var slba: UInt64

    public init(slba: UInt64, length: UInt32, contextAttributes: UInt32 = 0) {
        self.slba = slba; self.length = length; self.contextAttributes = contextAttributes
    }

    public var bytes: [UInt8] {
        littleEndianBytes(contextAttributes) + littleEndianBytes(length) + littleEndianBytes(slba)
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.size else { return nil }
        let b = Array(bytes)
        self.init(slba: readLE(b, 8, as: UInt64.self), length: readLE(b, 4, as: UInt32.self),
                  contextAttributes: readLE(b, 0, as: UInt32.self))
    }
}

/// Little-endian bytes of an integer.
@inline(__always)
func littleEndianBytes<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) }
}

/// Reads a little-endian integer at `offset` of `b`; bytes outside `b` (past the end, or a negative offset) read as 0.
@inline(__always)
func readLE<T: FixedWidthInteger>(_ b: [UInt8], _ offset: Int, as: T.Type) -> T {
    var v: T = 0
    for i in 0..<(T.bitWidth / 8) {
        let (o, overflow) = offset.addingReportingOverflow(i)
        if !overflow, o >= 0, o < b.count { v |= T(truncatingIfNeeded: b[o]) << (i * 8) }
    }
    return v
}

/// End-to-end protection fields shared by Read/Write/Compare/Verify/Write Zeroes/Zone Append: CDW14 (Initial or
/// Expected Logical Block Reference Tag, low 32 bits) and CDW15 (Application Tag Mask [31:16], Application Tag [15:0]).
public struct ProtectionTags: Hashable, Sendable {
    public var reftag: UInt32
    public var apptag: UInt16
    public var appmask: UInt16
    public init(reftag: UInt32 = 0, apptag: UInt16 = 0, appmask: UInt16 = 0) {
        self.reftag = reftag; self.apptag = apptag; self.appmask = appmask
    }
}

extension SubmissionQueueEntry {
    // MARK: Common NVM fields (valid for Read, Write, Compare, Verify, Write Zeroes, Write Uncorrectable, Zone Append)

    /// CDW11:CDW10 — Starting LBA (SLBA; ZSLBA for Zone Append and the zone management commands).
    public var slba: UInt64 {
        get { UInt64(cdw10) | UInt64(cdw11) << 32 }
        set { cdw10 = UInt32(truncatingIfNeeded: newValue); cdw11 = UInt32(truncatingIfNeeded: newValue >> 32) }
    }
    /// CDW12 bits 15:0 — Number of Logical Blocks (0's based).
    public var nlb: UInt16 { get { UInt16(cdw12.bits(15, 0)) } set { cdw12.setBits(15, 0, UInt32(newValue)) } }
    /// CDW12 bit 31 — Limited Retry.
    public var lr: Bool { get { cdw12.bit(31) } set { cdw12.setBit(31, newValue) } }
    /// CDW12 bit 30 — Force Unit Access.
    public var fua: Bool { get { cdw12.bit(30) } set { cdw12.setBit(30, newValue) } }
    /// CDW12 bits 29:26 — Protection Information Field (PRACT[3], PRCHK[2:0]: guard, application tag, reference tag).
    public var prinfo: UInt8 { get { UInt8(cdw12.bits(29, 26)) } set { cdw12.setBits(29, 26, UInt32(newValue)) } }
    /// CDW12 bits 23:20 — Directive Type (Write).
    public var dtype: UInt8 { get { UInt8(cdw12.bits(23, 20)) } set { cdw12.setBits(23, 20, UInt32(newValue)) } }
    /// CDW13 bits 31:16 — Directive Specific (Write).
    public var dspec: UInt16 { get { UInt16(cdw13.bits(31, 16)) } set { cdw13.setBits(31, 16, UInt32(newValue)) } }
    /// CDW13 bits 7:0 — Dataset Management hints (Read, Write).
    public var dsm: UInt8 { get { UInt8(cdw13.bits(7, 0)) } set { cdw13.setBits(7, 0, UInt32(newValue)) } }
    /// CDW14 — Initial / Expected Logical Block Reference Tag (low 32 bits).
    public var reftag: UInt32 { get { cdw14 } set { cdw14 = newValue } }
    /// CDW15 bits 15:0 — Logical Block Application Tag.
    public var apptag: UInt16 { get { UInt16(cdw15.bits(15, 0)) } set { cdw15.setBits(15, 0, UInt32(newValue)) } }
    /// CDW15 bits 31:16 — Logical Block Application Tag Mask.
    public var appmask: UInt16 { get { UInt16(cdw15.bits(31, 16)) } set { cdw15.setBits(31, 16, UInt32(newValue)) } }

    private static func rw(_ op: IOOpcode, nsid: UInt32, slba: UInt64, nlb: UInt16, fua: Bool, lr: Bool,
                           prinfo: UInt8, protection: ProtectionTags) -> Self {
        var s = Self(opcode: op.rawValue, nsid: nsid)
        s.slba = slba; s.nlb = nlb; s.fua = fua; s.lr = lr; s.prinfo = prinfo
        s.reftag = protection.reftag; s.apptag = protection.apptag; s.appmask = protection.appmask
        return s
    }

    // MARK: Builders

    /// Flush (00h) — NVM §3.2.1 / Base §7.1. NSID may be FFFFFFFFh (all namespaces).
    public static func flush(nsid: UInt32) -> Self { Self(opcode: IOOpcode.flush.rawValue, nsid: nsid) }

    /// Read (02h) — NVM §3.2.4.
    public static func read(nsid: UInt32, slba: UInt64, nlb: UInt16, fua: Bool = false, lr: Bool = false,
                            prinfo: UInt8 = 0, dsm: UInt8 = 0, protection: ProtectionTags = .init()) -> Self {
        var s = rw(.read, nsid: nsid, slba: slba, nlb: nlb, fua: fua, lr: lr, prinfo: prinfo, protection: protection)
        s.dsm = dsm
        return s
    }

    /// Write (01h) — NVM §3.2.6. `dtype`/`dspec` carry a directive (e.g. a stream id).
    public static func write(nsid: UInt32, slba: UInt64, nlb: UInt16, fua: Bool = false, lr: Bool = false,
                             prinfo: UInt8 = 0, dtype: DirectiveType = .identify, dspec: UInt16 = 0, dsm: UInt8 = 0,
                             protection: ProtectionTags = .init()) -> Self {
        var s = rw(.write, nsid: nsid, slba: slba, nlb: nlb, fua: fua, lr: lr, prinfo: prinfo, protection: protection)
        s.dtype = dtype.rawValue; s.dspec = dspec; s.dsm = dsm
        return s
    }

    /// Compare (05h) — NVM §3.2.2.
    public static func compare(nsid: UInt32, slba: UInt64, nlb: UInt16, fua: Bool = false, lr: Bool = false,
                               prinfo: UInt8 = 0, protection: ProtectionTags = .init()) -> Self {
        rw(.compare, nsid: nsid, slba: slba, nlb: nlb, fua: fua, lr: lr, prinfo: prinfo, protection: protection)
    }

    /// Write Zeroes (08h) — NVM §3.2.8. `deac` asks the controller to deallocate the blocks.
    public static func writeZeroes(nsid: UInt32, slba: UInt64, nlb: UInt16, deac: Bool = false, fua: Bool = false,
                                   lr: Bool = false, prinfo: UInt8 = 0, protection: ProtectionTags = .init()) -> Self {
        var s = rw(.writeZeroes, nsid: nsid, slba: slba, nlb: nlb, fua: fua, lr: lr, prinfo: prinfo,
                   protection: protection)
        s.cdw12.setBit(25, deac)
        return s
    }

    /// Write Uncorrectable (04h) — NVM §3.2.7.
    public static func writeUncorrectable(nsid: UInt32, slba: UInt64, nlb: UInt16) -> Self {
        var s = Self(opcode: IOOpcode.writeUncorrectable.rawValue, nsid: nsid)
        s.slba = slba; s.nlb = nlb
        return s
    }

    /// Dataset Management (09h) — NVM §3.2.3. `nr` is the 0's based number of ranges in the data buffer (see
    /// `DatasetManagementRange`).
    public static func datasetManagement(nsid: UInt32, nr: UInt8,
                                         attributes: DatasetManagementAttributes = .ad) -> Self {
        var s = Self(opcode: IOOpcode.datasetManagement.rawValue, nsid: nsid)
        s.cdw10 = UInt32(nr)
        s.cdw11 = attributes.rawValue
        return s
    }

    /// Verify (0Ch) — NVM §3.2.5.
    public static func verify(nsid: UInt32, slba: UInt64, nlb: UInt16, fua: Bool = false, lr: Bool = false,
                              prinfo: UInt8 = 0, protection: ProtectionTags = .init()) -> Self {
        rw(.verify, nsid: nsid, slba: slba, nlb: nlb, fua: fua, lr: lr, prinfo: prinfo, protection: protection)
    }

    /// Zone Management Send (79h) — ZNS 1.1 §3.4.3. CDW13: ZSASO[9], Select All[8], ZSA[7:0].
    public static func zoneManagementSend(nsid: UInt32, slba: UInt64, zsa: ZoneSendAction, selectAll: Bool = false,
                                          zsaso: Bool = false) -> Self {
        var s = Self(opcode: IOOpcode.zoneManagementSend.rawValue, nsid: nsid)
        s.slba = slba
        s.cdw13.setBit(9, zsaso)
        s.cdw13.setBit(8, selectAll)
        s.cdw13.setBits(7, 0, UInt32(zsa.rawValue))
        return s
    }

    /// Zone Management Receive (7Ah) — ZNS 1.1 §3.4.2. CDW12 NUMD (0's based dwords); CDW13: PR[16],
    /// ZRASF[15:8], ZRA[7:0].
    public static func zoneManagementReceive(nsid: UInt32, slba: UInt64, numd: UInt32,
                                             zra: ZoneReceiveAction = .reportZones,
                                             zrasf: ZoneReportFilter = .allZones, partial: Bool = false) -> Self {
        var s = Self(opcode: IOOpcode.zoneManagementReceive.rawValue, nsid: nsid)
        s.slba = slba
        s.cdw12 = numd
        s.cdw13.setBit(16, partial)
        s.cdw13.setBits(15, 8, UInt32(zrasf.rawValue))
        s.cdw13.setBits(7, 0, UInt32(zra.rawValue))
        return s
    }

    /// Zone Append (7Dh) — ZNS 1.1 §3.4.1. `zslba` is the zone's start LBA; the CQE's DW1:DW0 returns the LBA written.
    public static func zoneAppend(nsid: UInt32, zslba: UInt64, nlb: UInt16, fua: Bool = false, lr: Bool = false,
                                  prinfo: UInt8 = 0, piremap: Bool = false,
                                  protection: ProtectionTags = .init()) -> Self {
        var s = rw(.zoneAppend, nsid: nsid, slba: zslba, nlb: nlb, fua: fua, lr: lr, prinfo: prinfo,
                   protection: protection)
        s.cdw12.setBit(25, piremap)
        return s
    }
}
