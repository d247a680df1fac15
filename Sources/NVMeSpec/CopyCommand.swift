// Copy (19h), NVM Command Set 1.0 §3.2.2 (Simple Copy, TP 4065): copies up to MSRC+1 source ranges of a namespace,
// listed in the data buffer as Source Range Entries, to consecutive LBAs starting at SDLBA in the same namespace.
// Fields are named as on the wire; 0's based fields say so, counts (1's based) carry `Count` in their label.

/// One Source Range Entry in Descriptor Format 0h (NVM Command Set 1.0 §3.2.2, "Source Range Entries Descriptor
/// Format 0h"), 32 bytes: bytes 7:0 reserved, 15:8 SLBA, 17:16 NLB (0's based), 23:18 reserved, 27:24 EILBRT
/// (Expected Initial Logical Block Reference Tag), 29:28 ELBAT (Expected Logical Block Application Tag), 31:30 ELBATM
/// (Expected Logical Block Application Tag Mask).
public struct CopySourceRangeFormat0: Hashable, Sendable {
    public static let size = 32
    public var slba: UInt64
    /// Number of Logical Blocks, 0's based (blocks - 1).
    public var nlb: UInt16
    public var eilbrt: UInt32
    public var elbat: UInt16
    public var elbatm: UInt16

    public init(slba: UInt64, nlb: UInt16, eilbrt: UInt32 = 0, elbat: UInt16 = 0, elbatm: UInt16 = 0) {
        self.slba = slba; self.nlb = nlb; self.eilbrt = eilbrt; self.elbat = elbat; self.elbatm = elbatm
    }

    /// A range of `blockCount` blocks (1...65536); nil outside that range, since NLB holds blockCount - 1 in 16 bits.
    public init?(slba: UInt64, blockCount: Int) {
        guard blockCount >= 1, blockCount <= 65_536 else { return nil }
        self.init(slba: slba, nlb: UInt16(blockCount - 1))
    }

    /// Blocks in the range (NLB + 1).
    public var blockCount: Int { Int(nlb) + 1 }

    public var bytes: [UInt8] {
        [UInt8](repeating: 0, count: 8) + littleEndianBytes(slba) + littleEndianBytes(nlb)
            + [UInt8](repeating: 0, count: 6) + littleEndianBytes(eilbrt) + littleEndianBytes(elbat) + littleEndianBytes(elbatm)
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.size else { return nil }
        let b = Array(bytes)
        self.init(slba: readLE(b, 8, as: UInt64.self), nlb: readLE(b, 16, as: UInt16.self),
                  eilbrt: readLE(b, 24, as: UInt32.self), elbat: readLE(b, 28, as: UInt16.self),
                  elbatm: readLE(b, 30, as: UInt16.self))
    }

    /// The data buffer of a Copy command: the entries back to back.
    public static func buffer(_ ranges: [CopySourceRangeFormat0]) -> [UInt8] { ranges.flatMap(\.bytes) }
}

extension SubmissionQueueEntry {
    /// CDW12 bits 7:0 — Number of Ranges (NR), 0's based (Copy).
    public var copyNR: UInt8 { get { UInt8(cdw12.bits(7, 0)) } set { cdw12.setBits(7, 0, UInt32(newValue)) } }
    /// CDW12 bits 11:8 — Descriptor Format (DESFMT) of the Source Range Entries (Copy).
    public var copyDESFMT: UInt8 { get { UInt8(cdw12.bits(11, 8)) } set { cdw12.setBits(11, 8, UInt32(newValue)) } }
    /// CDW12 bits 15:12 — Protection Information Field Read (PRINFOR) (Copy).
    public var copyPRINFOR: UInt8 { get { UInt8(cdw12.bits(15, 12)) } set { cdw12.setBits(15, 12, UInt32(newValue)) } }
    /// CDW12 bits 23:20 — Directive Type (DTYPE) (Copy).
    public var copyDTYPE: UInt8 { get { UInt8(cdw12.bits(23, 20)) } set { cdw12.setBits(23, 20, UInt32(newValue)) } }
    /// CDW12 bits 29:26 — Protection Information Field Write (PRINFOW) (Copy; the same bits as `prinfo`).
    public var copyPRINFOW: UInt8 { get { prinfo } set { prinfo = newValue } }
    /// CDW11:CDW10 — Starting Destination LBA (SDLBA) (Copy; the same dwords as `slba`).
    public var sdlba: UInt64 { get { slba } set { slba = newValue } }

    /// Copy (19h) — NVM Command Set 1.0 §3.2.2. `nr` is the 0's based number of Source Range Entries in the data
    /// buffer (see `CopySourceRangeFormat0`), `desfmt` their Descriptor Format (0h: 32-byte entries). CDW14/CDW15
    /// carry the destination's reference tag, application tag and mask (LBTL/LBAT/LBATM) in `protection`.
    public static func copy(nsid: UInt32, sdlba: UInt64, nr: UInt8, desfmt: UInt8 = 0, prinfor: UInt8 = 0,
                            prinfow: UInt8 = 0, fua: Bool = false, lr: Bool = false,
                            protection: ProtectionTags = .init()) -> Self {
        var s = Self(opcode: IOOpcode.copy.rawValue, nsid: nsid)
        s.sdlba = sdlba
        s.copyNR = nr; s.copyDESFMT = desfmt; s.copyPRINFOR = prinfor; s.copyPRINFOW = prinfow
        s.fua = fua; s.lr = lr
        s.reftag = protection.reftag; s.apptag = protection.apptag; s.appmask = protection.appmask
        return s
    }

    /// Copy of `ranges` (1...256 of them) in Descriptor Format 0h: the command and its data buffer. Nil when the
    /// count does not fit NR.
    public static func copy(nsid: UInt32, sdlba: UInt64, ranges: [CopySourceRangeFormat0]) -> (sqe: Self, data: [UInt8])? {
        guard !ranges.isEmpty, ranges.count <= 256 else { return nil }
        return (copy(nsid: nsid, sdlba: sdlba, nr: UInt8(ranges.count - 1)), CopySourceRangeFormat0.buffer(ranges))
    }
}

extension IdentifyController {
    /// ONCS bit 8 — the controller supports the Copy command.
    public var oncsCopy: Bool { oncs & (1 << 8) != 0 }
    /// OCFS bit `format` — Copy Descriptor Format `format` is supported (bit 0: format 0h, bit 1: format 1h).
    public func ocfsSupports(format: Int) -> Bool { format >= 0 && format < 16 && ocfs & (1 << UInt16(format)) != 0 }
}

extension IdentifyNamespace {
    /// MSRC is 0's based: the number of Source Range Entries a Copy may carry.
    public var maxSourceRangeCount: Int { Int(msrc) + 1 }
}
