import NVMePlatform

/// The data layout of every logical block an IOWorker writes (little-endian 64-bit words):
///
/// | bytes            | content                                                           |
/// |------------------|-------------------------------------------------------------------|
/// | 0..<8            | the LBA                                                           |
/// | 8..<14           | the write generation (48 bits)                                    |
/// | 14..<16          | `magic` ("W2")                                                    |
/// | 16..<size-8      | a pseudo-random stream seeded by (LBA, generation)                |
/// | size-8..<size    | checksum: FNV-1a over the preceding words (any one changed word changes it) |
///
/// A block read back from another LBA, from an older write, or with any corrupted word is recognisable. This is
/// the only file of NVMeWorkload that touches raw bytes, through `DMARegion.withUnsafeMutableBytes`.
public enum BlockStamp {
    /// The top 16 bits of the second word ("W2" in memory order; the 32-bit-generation layout had "NVKW" there).
    public static let magic: UInt32 = 0x3257
    /// Largest generation the layout carries (the integrity map holds fewer: `IntegrityMap.maxGeneration`).
    public static let maxGeneration: UInt64 = (1 << 48) - 1
    static let fnvOffset: UInt64 = 0xCBF2_9CE4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3

    /// Smallest block size the layout fits in.
    public static let minimumBlockSize = 32

    /// What a block's header and checksum say about it.
    public struct Header: Sendable, Hashable, Codable {
        public var lba: UInt64
        public var generation: UInt64
        public var magic: UInt32
        public var storedChecksum: UInt64
        public var computedChecksum: UInt64
        public var checksumMatches: Bool { storedChecksum == computedChecksum }
        public var isStamped: Bool { magic == BlockStamp.magic }
    }

    /// What a block holds, for verification.
    public enum Content: Sendable, Hashable {
        case zeroes
        case ones
        case stamped(Header)
        case other(Header)
    }

    /// Writes `blocks` stamped blocks of `blockSize` bytes at `offset` of `region`, LBAs `slba...`, `generation`.
    @inline(__always)
    public static func stamp(_ region: DMARegion, offset: Int, blockSize: Int, slba: UInt64, blocks: Int,
                             generation: UInt64) {
        region.withUnsafeMutableBytes { raw in
            precondition(offset >= 0 && offset + blocks * blockSize <= raw.count, "stamp outside the buffer")
            let words = blockSize / 8
            let base = raw.baseAddress! + offset
            for b in 0..<blocks {
                let p = (base + b * blockSize).assumingMemoryBound(to: UInt64.self)
                let lba = slba &+ UInt64(b)
                let w1 = generation & maxGeneration | UInt64(magic) << 48
                p[0] = lba
                p[1] = w1
                var h = (fnvOffset ^ lba) &* fnvPrime
                h = (h ^ w1) &* fnvPrime
                var x = seed(lba: lba, generation: generation)
                for i in 2..<(words - 1) {
                    x &+= 0x9E37_79B9_7F4A_7C15
                    let w = x ^ (x >> 29)
                    p[i] = w
                    h = (h ^ w) &* fnvPrime
                }
                p[words - 1] = h
            }
        }
    }

    @inline(__always)
    static func seed(lba: UInt64, generation: UInt64) -> UInt64 {
        (lba &* 0xD6E8_FEB8_6659_FD93) ^ (generation &* 0xA076_1D64_78BD_642F)
    }

    /// Classifies block `index` (of `blockSize` bytes) at `offset` of `region`.
    public static func inspect(_ region: DMARegion, offset: Int, blockSize: Int, index: Int) -> Content {
        region.withUnsafeMutableBytes { raw in
            precondition(offset >= 0 && offset + (index + 1) * blockSize <= raw.count, "inspect outside the buffer")
            let p = UnsafeRawPointer(raw.baseAddress! + offset + index * blockSize).assumingMemoryBound(to: UInt64.self)
            let words = blockSize / 8
            var h = fnvOffset
            var orAll: UInt64 = 0, andAll: UInt64 = .max
            for i in 0..<(words - 1) {
                let w = p[i]
                h = (h ^ w) &* fnvPrime
                orAll |= w; andAll &= w
            }
            let last = p[words - 1]
            orAll |= last; andAll &= last
            if orAll == 0 { return .zeroes }
            if andAll == .max { return .ones }
            let header = Header(lba: p[0], generation: p[1] & maxGeneration,
                                magic: UInt32(truncatingIfNeeded: p[1] >> 48), storedChecksum: last, computedChecksum: h)
            return header.isStamped && header.checksumMatches ? .stamped(header) : .other(header)
        }
    }

    /// Byte offset (within the block) of the first byte that differs from what `stamp` writes for (`lba`,
    /// `generation`), or nil when the block is exactly that.
    public static func firstDifference(_ region: DMARegion, offset: Int, blockSize: Int, index: Int,
                                       lba: UInt64, generation: UInt64) -> Int? {
        let expected = expectedBlock(blockSize: blockSize, lba: lba, generation: generation)
        let actual = region.bytes(at: offset + index * blockSize, count: blockSize)
        return zip(expected, actual).enumerated().first { $0.element.0 != $0.element.1 }?.offset
    }

    /// The bytes `stamp` writes for one block (for reports and tests).
    public static func expectedBlock(blockSize: Int, lba: UInt64, generation: UInt64) -> [UInt8] {
        var words = [UInt64](repeating: 0, count: blockSize / 8)
        let w1 = generation & maxGeneration | UInt64(magic) << 48
        words[0] = lba; words[1] = w1
        var h = (fnvOffset ^ lba) &* fnvPrime
        h = (h ^ w1) &* fnvPrime
        var x = seed(lba: lba, generation: generation)
        for i in 2..<(words.count - 1) {
            x &+= 0x9E37_79B9_7F4A_7C15
            words[i] = x ^ (x >> 29)
            h = (h ^ words[i]) &* fnvPrime
        }
        words[words.count - 1] = h
        return words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * UInt64($0))) } }
    }
}
