/// Scatter Gather List descriptor — NVMe Base 2.0c §4.3.2, Figures 114-120. 16 bytes:
/// bytes 7:0 Address, bytes 11:8 Length, bytes 14:12 type-specific/reserved, byte 15 SGL Identifier.
public struct SGLDescriptor: Hashable, Sendable {
    public static let size = 16

    /// SGL Descriptor Type — SGL Identifier bits 7:4 (Figure 116).
    public enum DescriptorType: UInt8, Sendable, CaseIterable {
        case dataBlock = 0x0
        case bitBucket = 0x1
        case segment = 0x2
        case lastSegment = 0x3
        case keyedDataBlock = 0x4
        case transportDataBlock = 0x5
        case vendorSpecific = 0xF
    }

    /// Bytes 7:0.
    public var address: UInt64
    /// Bytes 11:8 (Length for data block, bit bucket, segment and last segment descriptors).
    public var dword2: UInt32
    /// Bytes 15:12; byte 15 is the SGL Identifier.
    public var dword3: UInt32

    public init(address: UInt64 = 0, dword2: UInt32 = 0, dword3: UInt32 = 0) {
        self.address = address
        self.dword2 = dword2
        self.dword3 = dword3
    }

    /// Bytes 11:8 — Length.
    public var length: UInt32 { get { dword2 } set { dword2 = newValue } }
    /// Byte 15 — SGL Identifier (type in bits 7:4, sub type in bits 3:0).
    public var identifier: UInt8 { get { UInt8(dword3 >> 24) } set { dword3.setBits(31, 24, UInt32(newValue)) } }
    /// SGL Identifier bits 7:4 as a raw value (may be reserved).
    public var typeRaw: UInt8 { get { identifier >> 4 } set { identifier = (identifier & 0x0F) | (newValue << 4) } }
    /// SGL Identifier bits 3:0 — Descriptor Sub Type (0 address, 1 offset, 0xA transport specific).
    public var subtype: UInt8 { get { identifier & 0x0F } set { identifier = (identifier & 0xF0) | (newValue & 0x0F) } }
    /// Descriptor type, nil when the raw type is reserved.
    public var type: DescriptorType? { DescriptorType(rawValue: typeRaw) }

    public static func dataBlock(address: UInt64, length: UInt32) -> Self {
        var d = Self(address: address, dword2: length); d.typeRaw = DescriptorType.dataBlock.rawValue; return d
    }
    public static func bitBucket(length: UInt32) -> Self {
        var d = Self(address: 0, dword2: length); d.typeRaw = DescriptorType.bitBucket.rawValue; return d
    }
    /// Points at a segment of `length` bytes (a multiple of 16) that is followed by more segments.
    public static func segment(address: UInt64, length: UInt32) -> Self {
        var d = Self(address: address, dword2: length); d.typeRaw = DescriptorType.segment.rawValue; return d
    }
    /// Points at the final segment of the list.
    public static func lastSegment(address: UInt64, length: UInt32) -> Self {
        var d = Self(address: address, dword2: length); d.typeRaw = DescriptorType.lastSegment.rawValue; return d
    }

    /// The 16 wire bytes.
    public var bytes: [UInt8] {
        var out = [UInt8](); out.reserveCapacity(16)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: address >> (8 * UInt64(i)))) }
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: dword2 >> (8 * UInt32(i)))) }
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: dword3 >> (8 * UInt32(i)))) }
        return out
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.size else { return nil }
        let b = Array(bytes)
        var a: UInt64 = 0
        for i in 0..<8 { a |= UInt64(b[i]) << (8 * UInt64(i)) }
        var d2: UInt32 = 0, d3: UInt32 = 0
        for i in 0..<4 { d2 |= UInt32(b[8 + i]) << (8 * UInt32(i)); d3 |= UInt32(b[12 + i]) << (8 * UInt32(i)) }
        self.init(address: a, dword2: d2, dword3: d3)
    }
}
