/// End-to-end data protection (NVM Command Set 1.0c §5.2 / §5.3): the guard CRCs and the protection information
/// tuples a host builds and checks itself. All multi-byte PI fields are big-endian on the wire.

/// CRC-16 T10-DIF: polynomial 8BB7h, initial value 0, not reflected, no final XOR — the 16b Guard
/// (NVM Command Set §5.3.1.4.1, "16b Guard Protection Information").
public enum CRC16T10DIF {
    static let table: [UInt16] = (0..<256).map { i -> UInt16 in
        var c = UInt16(i) << 8
        for _ in 0..<8 { c = c & 0x8000 != 0 ? (c << 1) ^ 0x8BB7 : c << 1 }
        return c
    }

    /// Continues `crc` over `bytes` (start with 0).
    public static func update<C: Collection>(_ crc: UInt16, _ bytes: C) -> UInt16 where C.Element == UInt8 {
        var c = crc
        for b in bytes { c = (c << 8) ^ table[Int(UInt8(truncatingIfNeeded: c >> 8) ^ b)] }
        return c
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 { update(0, bytes) }
}

/// CRC-64 NVMe (Rocksoft): polynomial AD93D23594C93659h, reflected, initial value and final XOR all ones — the
/// 64b Guard (NVM Command Set §5.3.1.4.2, "64b Guard Protection Information").
public enum CRC64NVMe {
    static let table: [UInt64] = (0..<256).map { i -> UInt64 in
        var c = UInt64(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x9A6C_9329_AC4B_C9B5 : c >> 1 }   // reflected AD93D235…
        return c
    }

    /// Continues a running value (start with `initial`; finish with `finish`).
    public static func update<C: Collection>(_ running: UInt64, _ bytes: C) -> UInt64 where C.Element == UInt8 {
        var c = running
        for b in bytes { c = (c >> 8) ^ table[Int(UInt8(truncatingIfNeeded: c) ^ b)] }
        return c
    }

    public static let initial: UInt64 = ~0
    public static func finish(_ running: UInt64) -> UInt64 { ~running }
    public static func checksum<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        finish(update(initial, bytes))
    }
}

/// The 8-byte protection information tuple with a 16b Guard (PIF 00b): Guard, Application Tag, Reference Tag.
public struct ProtectionInformation16: Hashable, Sendable {
    public var guardTag: UInt16
    public var applicationTag: UInt16
    public var referenceTag: UInt32
    public static let size = 8

    public init(guardTag: UInt16, applicationTag: UInt16, referenceTag: UInt32) {
        self.guardTag = guardTag; self.applicationTag = applicationTag; self.referenceTag = referenceTag
    }

    /// The tuple for one block of `data`, its guard computed over the data.
    public init<C: Collection>(data: C, applicationTag: UInt16, referenceTag: UInt32) where C.Element == UInt8 {
        self.init(guardTag: CRC16T10DIF.checksum(data), applicationTag: applicationTag, referenceTag: referenceTag)
    }

    /// Big-endian wire bytes.
    public var bytes: [UInt8] {
        [UInt8(guardTag >> 8), UInt8(truncatingIfNeeded: guardTag),
         UInt8(applicationTag >> 8), UInt8(truncatingIfNeeded: applicationTag),
         UInt8(referenceTag >> 24), UInt8(truncatingIfNeeded: referenceTag >> 16),
         UInt8(truncatingIfNeeded: referenceTag >> 8), UInt8(truncatingIfNeeded: referenceTag)]
    }

    /// Decodes the first 8 bytes; nil when fewer are given.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        let b = Array(bytes.prefix(8))
        guard b.count == 8 else { return nil }
        guardTag = UInt16(b[0]) << 8 | UInt16(b[1])
        applicationTag = UInt16(b[2]) << 8 | UInt16(b[3])
        referenceTag = b[4...7].reduce(0) { $0 << 8 | UInt32($1) }
    }
}

/// The 16-byte protection information tuple with a 64b Guard (PIF 10b): Guard, Application Tag, and a 48-bit
/// field holding the Storage Tag (STS bits, most significant) and the Reference Tag (the rest).
public struct ProtectionInformation64: Hashable, Sendable {
    public var guardTag: UInt64
    public var applicationTag: UInt16
    /// Storage and Logical Block Reference Tag, 48 bits (bits 47:0).
    public var storageAndReferenceTag: UInt64
    public static let size = 16

    public init(guardTag: UInt64, applicationTag: UInt16, storageAndReferenceTag: UInt64) {
        self.guardTag = guardTag; self.applicationTag = applicationTag
        self.storageAndReferenceTag = storageAndReferenceTag & 0xFFFF_FFFF_FFFF
    }

    public init<C: Collection>(data: C, applicationTag: UInt16, storageAndReferenceTag: UInt64) where C.Element == UInt8 {
        self.init(guardTag: CRC64NVMe.checksum(data), applicationTag: applicationTag,
                  storageAndReferenceTag: storageAndReferenceTag)
    }

    /// The Reference Tag part when the Storage Tag is `storageTagSize` bits (Identify Namespace / NVM: STS).
    public func referenceTag(storageTagSize sts: Int) -> UInt64 {
        let bits = UInt64(48 - max(0, min(48, sts)))
        return storageAndReferenceTag & ((1 << bits) - 1)
    }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: guardTag >> UInt64(56 - 8 * $0)) }
            + [UInt8(applicationTag >> 8), UInt8(truncatingIfNeeded: applicationTag)]
            + (0..<6).map { UInt8(truncatingIfNeeded: storageAndReferenceTag >> UInt64(40 - 8 * $0)) }
    }

    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        let b = Array(bytes.prefix(16))
        guard b.count == 16 else { return nil }
        guardTag = b[0...7].reduce(0) { $0 << 8 | UInt64($1) }
        applicationTag = UInt16(b[8]) << 8 | UInt16(b[9])
        storageAndReferenceTag = b[10...15].reduce(0) { $0 << 8 | UInt64($1) }
    }
}
