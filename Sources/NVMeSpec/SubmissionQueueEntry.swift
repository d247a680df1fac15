/// Submission Queue Entry — NVMe Base 2.0c §4.2, Figure 88 (Common Command Format). 64 bytes, 16 little-endian
/// dwords. Every dword and field is settable, reserved bits included: building a malformed command is as easy as a
/// valid one. `validate()` (in CommandValidation.swift) is separate and only reports.
public struct SubmissionQueueEntry: Hashable, Sendable {
    public static let size = 64
    public typealias Storage = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                                UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    /// Raw dwords in wire order (host is little-endian, as is the wire).
    public var storage: Storage = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    public init() {}

    /// An entry with CDW0.OPC set and every other bit zero.
    public init(opcode: UInt8, nsid: UInt32 = 0) {
        self.opc = opcode
        self.nsid = nsid
    }

    /// Dword `i` (0...15) of the entry. Never traps: outside 0...15 it reads 0 and a write is dropped;
    /// `dword(_:)` and `setDword(_:to:)` throw instead.
    public subscript(dword i: Int) -> UInt32 {
        get {
            guard (0..<16).contains(i) else { return 0 }
            return Swift.withUnsafeBytes(of: storage) { $0.load(fromByteOffset: i * 4, as: UInt32.self) }
        }
        set {
            guard (0..<16).contains(i) else { return }
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: newValue, toByteOffset: i * 4, as: UInt32.self) }
        }
    }

    /// Dword `i` of the entry; throws `InvalidArgument` unless `i` is in 0...15.
    public func dword(_ i: Int) throws -> UInt32 {
        try InvalidArgument.check("dword", i, in: 0...15)
        return self[dword: i]
    }

    /// Sets dword `i` of the entry; throws `InvalidArgument` unless `i` is in 0...15.
    public mutating func setDword(_ i: Int, to value: UInt32) throws {
        try InvalidArgument.check("dword", i, in: 0...15)
        self[dword: i] = value
    }

    // MARK: Command Dword 0 (Figure 87)
    /// CDW0: the whole dword.
    public var cdw0: UInt32 { get { storage.0 } set { storage.0 = newValue } }
    /// CDW0 bits 7:0 — Opcode.
    public var opc: UInt8 { get { UInt8(storage.0.bits(7, 0)) } set { storage.0.setBits(7, 0, UInt32(newValue)) } }
    /// CDW0 bits 9:8 — Fused Operation (0 normal, 1 first, 2 second, 3 reserved).
    public var fuse: UInt8 { get { UInt8(storage.0.bits(9, 8)) } set { storage.0.setBits(9, 8, UInt32(newValue)) } }
    /// CDW0 bits 13:10 — reserved; settable for fuzzing.
    public var cdw0Reserved: UInt8 {
        get { UInt8(storage.0.bits(13, 10)) } set { storage.0.setBits(13, 10, UInt32(newValue)) }
    }
    /// CDW0 bits 15:14 — PRP or SGL for Data Transfer (0 PRP, 1 SGL MPTR contiguous, 2 SGL MPTR segment, 3 reserved).
    public var psdt: UInt8 { get { UInt8(storage.0.bits(15, 14)) } set { storage.0.setBits(15, 14, UInt32(newValue)) } }
    /// CDW0 bits 31:16 — Command Identifier.
    public var cid: UInt16 { get { UInt16(storage.0.bits(31, 16)) } set { storage.0.setBits(31, 16, UInt32(newValue)) } }

    // MARK: Dwords 1-15
    /// DW1 — Namespace Identifier.
    public var nsid: UInt32 { get { storage.1 } set { storage.1 = newValue } }
    /// DW2 — command specific (reserved for most commands).
    public var cdw2: UInt32 { get { storage.2 } set { storage.2 = newValue } }
    /// DW3 — command specific (reserved for most commands).
    public var cdw3: UInt32 { get { storage.3 } set { storage.3 = newValue } }
    /// DW5:DW4 — Metadata Pointer.
    public var mptr: UInt64 {
        get { UInt64(storage.4) | UInt64(storage.5) << 32 }
        set { storage.4 = UInt32(truncatingIfNeeded: newValue); storage.5 = UInt32(truncatingIfNeeded: newValue >> 32) }
    }
    /// DW7:DW6 — PRP Entry 1 (when PSDT = 0).
    public var prp1: UInt64 {
        get { UInt64(storage.6) | UInt64(storage.7) << 32 }
        set { storage.6 = UInt32(truncatingIfNeeded: newValue); storage.7 = UInt32(truncatingIfNeeded: newValue >> 32) }
    }
    /// DW9:DW8 — PRP Entry 2 (when PSDT = 0).
    public var prp2: UInt64 {
        get { UInt64(storage.8) | UInt64(storage.9) << 32 }
        set { storage.8 = UInt32(truncatingIfNeeded: newValue); storage.9 = UInt32(truncatingIfNeeded: newValue >> 32) }
    }
    /// DW9:DW6 — Data Pointer as an SGL descriptor (when PSDT = 1 or 2); bytes 24...39 of the entry.
    public var sgl1: SGLDescriptor {
        get { SGLDescriptor(address: prp1, dword2: storage.8, dword3: storage.9) }
        set { prp1 = newValue.address; storage.8 = newValue.dword2; storage.9 = newValue.dword3 }
    }
    public var cdw10: UInt32 { get { storage.10 } set { storage.10 = newValue } }
    public var cdw11: UInt32 { get { storage.11 } set { storage.11 = newValue } }
    public var cdw12: UInt32 { get { storage.12 } set { storage.12 = newValue } }
    public var cdw13: UInt32 { get { storage.13 } set { storage.13 = newValue } }
    public var cdw14: UInt32 { get { storage.14 } set { storage.14 = newValue } }
    public var cdw15: UInt32 { get { storage.15 } set { storage.15 = newValue } }

    // MARK: Bytes
    /// The 64 wire bytes.
    public var bytes: [UInt8] { Swift.withUnsafeBytes(of: storage) { Array($0) } }

    /// Decode from exactly 64 wire bytes; nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.size else { return nil }
        Swift.withUnsafeMutableBytes(of: &storage) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
    }

    /// Raw wire bytes without copying into an array (for writing into a ring slot).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage, body)
    }

    public static func == (a: Self, b: Self) -> Bool {
        Swift.withUnsafeBytes(of: a.storage) { x in Swift.withUnsafeBytes(of: b.storage) { y in x.elementsEqual(y) } }
    }

    public func hash(into h: inout Hasher) {
        Swift.withUnsafeBytes(of: storage) { h.combine(bytes: $0) }
    }
}
