/// Completion Queue Entry — NVMe Base 2.0c §4.6, Figure 89 (Common Completion Queue Entry Layout). 16 bytes:
/// DW0 and DW1 command specific, DW2 = SQID:SQHD, DW3 = Status:P:CID.
public struct CompletionQueueEntry: Hashable, Sendable {
    public static let size = 16

    public var dw0: UInt32
    public var dw1: UInt32
    public var dw2: UInt32
    public var dw3: UInt32

    public init(dw0: UInt32 = 0, dw1: UInt32 = 0, dw2: UInt32 = 0, dw3: UInt32 = 0) {
        self.dw0 = dw0; self.dw1 = dw1; self.dw2 = dw2; self.dw3 = dw3
    }

    /// Build an entry from its fields.
    public init(dw0: UInt32 = 0, dw1: UInt32 = 0, sqhd: UInt16, sqid: UInt16, cid: UInt16, phase: Bool,
                status: CompletionStatus) {
        self.init(dw0: dw0, dw1: dw1)
        self.sqhd = sqhd; self.sqid = sqid; self.cid = cid; self.p = phase; self.status = status
    }

    /// DW2 bits 15:0 — SQ Head Pointer.
    public var sqhd: UInt16 { get { UInt16(dw2.bits(15, 0)) } set { dw2.setBits(15, 0, UInt32(newValue)) } }
    /// DW2 bits 31:16 — SQ Identifier.
    public var sqid: UInt16 { get { UInt16(dw2.bits(31, 16)) } set { dw2.setBits(31, 16, UInt32(newValue)) } }
    /// DW3 bits 15:0 — Command Identifier.
    public var cid: UInt16 { get { UInt16(dw3.bits(15, 0)) } set { dw3.setBits(15, 0, UInt32(newValue)) } }
    /// DW3 bit 16 — Phase Tag.
    public var p: Bool { get { dw3.bit(16) } set { dw3.setBit(16, newValue) } }
    /// DW3 bits 31:17 — Status field (SF).
    public var status: CompletionStatus {
        get { CompletionStatus(rawValue: UInt16(dw3.bits(31, 17))) }
        set { dw3.setBits(31, 17, UInt32(newValue.rawValue)) }
    }

    /// The 16 wire bytes.
    public var bytes: [UInt8] {
        var out = [UInt8](); out.reserveCapacity(16)
        for d in [dw0, dw1, dw2, dw3] { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: d >> (8 * UInt32(i)))) } }
        return out
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.size else { return nil }
        let b = Array(bytes)
        func dw(_ i: Int) -> UInt32 {
            UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
        }
        self.init(dw0: dw(0), dw1: dw(4), dw2: dw(8), dw3: dw(12))
    }
}
