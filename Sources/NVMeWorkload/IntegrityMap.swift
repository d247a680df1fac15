import NVMePlatform

/// What the host knows an LBA holds.
public enum LBAState: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Never written through this map: anything may be there, nothing is verified.
    case unknown
    /// Deallocated (Dataset Management / trim): reads return zeroes, ones, or the data that was there (DLFEAT).
    case deallocated
    /// Written by Write Zeroes: reads return zeroes.
    case zeroed
    /// Written with this generation.
    case written(generation: UInt32)

    public var description: String {
        switch self {
        case .unknown: return "unknown"
        case .deallocated: return "deallocated"
        case .zeroed: return "zeroed"
        case .written(let g): return "written (generation \(g))"
        }
    }
}

/// The host-side record of the latest write to every LBA of a range of one namespace. A value: it lives in host
/// memory, independent of any controller, so it survives controller resets and power cycles and verification
/// continues across them. A write cut off by a reset leaves its LBAs *ambiguous*: the old and the new content are
/// both acceptable until a read or a new write settles them.
public struct IntegrityMap: Sendable, Hashable {
    public let nsid: UInt32
    public let blockSize: Int
    public let firstLBA: UInt64
    public let blockCount: Int

    // raw: 0 unknown, 1 deallocated, 2 zeroed, generation + 2 written; bit 31: ambiguous (see `alternatives`).
    @usableFromInline var raw: [UInt32]
    /// For ambiguous LBAs: the state before the interrupted write (raw encoding).
    @usableFromInline var alternatives: [UInt64: UInt32] = [:]
    /// Highest generation ever recorded (the next write uses a larger one).
    public private(set) var highestGeneration: UInt32 = 0

    @usableFromInline static let ambiguousBit: UInt32 = 1 << 31
    /// Largest generation the encoding holds.
    public static let maxGeneration: UInt32 = (1 << 31) - 3

    public init(nsid: UInt32, blockSize: Int, firstLBA: UInt64 = 0, blockCount: Int) {
        precondition(blockSize >= BlockStamp.minimumBlockSize && blockSize % 8 == 0,
                     "verification needs blocks of at least \(BlockStamp.minimumBlockSize) bytes")
        self.nsid = nsid; self.blockSize = blockSize; self.firstLBA = firstLBA; self.blockCount = blockCount
        raw = [UInt32](repeating: 0, count: blockCount)
    }

    public func contains(_ lba: UInt64) -> Bool { lba >= firstLBA && lba - firstLBA < UInt64(blockCount) }
    public func contains(slba: UInt64, blocks: Int) -> Bool {
        blocks >= 0 && slba >= firstLBA && slba - firstLBA + UInt64(blocks) <= UInt64(blockCount)
    }

    @inline(__always) static func decode(_ r: UInt32) -> LBAState {
        switch r & ~ambiguousBit {
        case 0: return .unknown
        case 1: return .deallocated
        case 2: return .zeroed
        case let g: return .written(generation: g - 2)
        }
    }
    @inline(__always) static func encode(_ s: LBAState) -> UInt32 {
        switch s {
        case .unknown: return 0
        case .deallocated: return 1
        case .zeroed: return 2
        case .written(let g): return min(g, maxGeneration) + 2
        }
    }

    /// The latest state of `lba` (for an ambiguous LBA: the interrupted write's state; see `alternative(of:)`).
    public subscript(lba: UInt64) -> LBAState {
        get { Self.decode(raw[index(lba)]) }
        set {
            let i = index(lba)
            if raw[i] & Self.ambiguousBit != 0 { alternatives[lba] = nil }
            raw[i] = Self.encode(newValue)
            if case .written(let g) = newValue { highestGeneration = max(highestGeneration, g) }
        }
    }

    /// Whether `lba` was being written when a reset cut the write off.
    public func isAmbiguous(_ lba: UInt64) -> Bool { raw[index(lba)] & Self.ambiguousBit != 0 }
    /// For an ambiguous LBA, the state before the interrupted write.
    public func alternative(of lba: UInt64) -> LBAState? {
        isAmbiguous(lba) ? alternatives[lba].map(Self.decode) : nil
    }
    public var ambiguousCount: Int { alternatives.count }

    @inline(__always) func index(_ lba: UInt64) -> Int {
        precondition(contains(lba), "LBA \(lba) is outside the map (\(firstLBA)..<\(firstLBA + UInt64(blockCount)))")
        return Int(lba - firstLBA)
    }

    /// Records a completed write of `blocks` blocks from `slba` with `generation`.

    public mutating func recordWrite(slba: UInt64, blocks: Int, generation: UInt32) {
        set(slba: slba, blocks: blocks, raw: Self.encode(.written(generation: generation)))
        if generation > highestGeneration { highestGeneration = generation }
    }
    public mutating func recordZeroes(slba: UInt64, blocks: Int) { set(slba: slba, blocks: blocks, raw: 2) }
    /// Deallocated LBAs read back as zeroes, ones or their old content (DLFEAT need not promise more; QEMU on a raw
    /// image keeps the data). An LBA whose content was unknown therefore stays unknown.
    public mutating func recordDeallocate(slba: UInt64, blocks: Int) {
        precondition(contains(slba: slba, blocks: blocks), "range \(slba)+\(blocks) is outside the map")
        let start = Int(slba - firstLBA)
        for i in start..<(start + blocks) where raw[i] != 0 {
            if raw[i] & Self.ambiguousBit != 0 { alternatives[firstLBA + UInt64(i)] = nil }
            raw[i] = 1
        }
    }
    /// Forgets what the range holds (nothing will be verified there until it is written again).
    public mutating func forget(slba: UInt64, blocks: Int) { set(slba: slba, blocks: blocks, raw: 0) }

    @usableFromInline mutating func set(slba: UInt64, blocks: Int, raw value: UInt32) {
        precondition(contains(slba: slba, blocks: blocks), "range \(slba)+\(blocks) is outside the map")
        let start = Int(slba - firstLBA)
        for i in start..<(start + blocks) {
            if raw[i] & Self.ambiguousBit != 0 { alternatives[firstLBA + UInt64(i)] = nil }
            raw[i] = value
        }
    }

    /// A modifying command on the range was cut off (reset, timeout): the LBAs now hold either their previous
    /// content or `interrupted`'s; both are accepted until one is read back or the range is written again.
    public mutating func recordInterrupted(slba: UInt64, blocks: Int, interrupted: LBAState) {
        precondition(contains(slba: slba, blocks: blocks), "range \(slba)+\(blocks) is outside the map")
        let new = Self.encode(interrupted)
        if case .written(let g) = interrupted { highestGeneration = max(highestGeneration, g) }
        for k in 0..<blocks {
            let lba = slba + UInt64(k)
            let i = Int(lba - firstLBA)
            let old = raw[i]
            if old & Self.ambiguousBit != 0 {
                // Already ambiguous: keep the oldest alternative only if the new write is the same; otherwise the
                // block can hold any of three contents — forget it rather than guess.
                alternatives[lba] = nil
                raw[i] = 0
            } else if old == new {
                continue
            } else {
                alternatives[lba] = old
                raw[i] = new | Self.ambiguousBit
            }
        }
    }

    /// Merges another map of the same namespace: for LBAs the other map covers and knows, its state wins.
    public mutating func merge(_ other: IntegrityMap) {
        precondition(other.nsid == nsid && other.blockSize == blockSize, "maps of different namespaces")
        for i in 0..<other.blockCount {
            let lba = other.firstLBA + UInt64(i)
            guard contains(lba), other.raw[i] != 0 else { continue }
            let j = Int(lba - firstLBA)
            if raw[j] & Self.ambiguousBit != 0 { alternatives[lba] = nil }
            raw[j] = other.raw[i]
            if let alt = other.alternatives[lba] { alternatives[lba] = alt }
        }
        highestGeneration = max(highestGeneration, other.highestGeneration)
    }

    /// A copy covering `[slba, slba + blocks)` only (what one worker owns).
    public func subrange(slba: UInt64, blocks: Int) -> IntegrityMap {
        precondition(contains(slba: slba, blocks: blocks), "range \(slba)+\(blocks) is outside the map")
        var m = IntegrityMap(nsid: nsid, blockSize: blockSize, firstLBA: slba, blockCount: blocks)
        let start = Int(slba - firstLBA)
        m.raw = Array(raw[start..<(start + blocks)])
        for (lba, alt) in alternatives where m.contains(lba) { m.alternatives[lba] = alt }
        m.highestGeneration = highestGeneration
        return m
    }

    /// LBAs in each state (ambiguous counted apart).
    public var summary: (unknown: Int, deallocated: Int, zeroed: Int, written: Int, ambiguous: Int) {
        var u = 0, d = 0, z = 0, w = 0, a = 0
        for r in raw {
            if r & Self.ambiguousBit != 0 { a += 1; continue }
            switch r { case 0: u += 1; case 1: d += 1; case 2: z += 1; default: w += 1 }
        }
        return (u, d, z, w, a)
    }

    // MARK: Verification

    /// Checks `blocks` blocks read from `slba` into `buffer`; returns the first block that does not hold what the
    /// map says (or nil). Ambiguous LBAs that match one of their two states are settled to it (hence `mutating`).
    public mutating func verify(_ buffer: Buffer, slba: UInt64, blocks: Int) -> IntegrityMismatch? {
        precondition(buffer.count >= blocks * blockSize, "buffer smaller than the range")
        return verify(region: buffer.region, offset: buffer.offset, slba: slba, blocks: blocks)
    }

    /// As `verify(_:slba:blocks:)` on raw DMA memory at `offset` (the IOWorker's buffers).

    public mutating func verify(region: DMARegion, offset: Int, slba: UInt64, blocks: Int) -> IntegrityMismatch? {
        for k in 0..<blocks {
            let lba = slba &+ UInt64(k)
            let r = raw[Int(lba &- firstLBA)]
            if r == 0 { continue }
            let content = BlockStamp.inspect(region, offset: offset, blockSize: blockSize, index: k)
            if Self.accepts(r & ~Self.ambiguousBit, content, lba: lba) {
                if r & Self.ambiguousBit != 0 { settle(lba, to: r & ~Self.ambiguousBit) }
                continue
            }
            if r & Self.ambiguousBit != 0, let alt = alternatives[lba], Self.accepts(alt, content, lba: lba) {
                settle(lba, to: alt)
                continue
            }
            return mismatch(lba: lba, blockIndex: k, content: content, region: region, offset: offset)
        }
        return nil
    }

    @usableFromInline mutating func settle(_ lba: UInt64, to value: UInt32) {
        alternatives[lba] = nil
        raw[Int(lba - firstLBA)] = value
    }

    @usableFromInline static func accepts(_ r: UInt32, _ content: BlockStamp.Content, lba: UInt64) -> Bool {
        switch r {
        case 0: return true
        case 1:
            // DLFEAT may say zeroes, ones, or "not reported" (the old data may still be there).
            switch content {
            case .zeroes, .ones: return true
            case .stamped(let h): return h.lba == lba
            case .other: return false
            }
        case 2:
            if case .zeroes = content { return true }
            return false
        default:
            if case .stamped(let h) = content { return h.lba == lba && UInt32(h.generation) == r - 2 }
            return false
        }
    }

    @usableFromInline func mismatch(lba: UInt64, blockIndex: Int, content: BlockStamp.Content, region: DMARegion,
                                    offset: Int) -> IntegrityMismatch {
        let r = raw[Int(lba - firstLBA)]
        let expected = Self.decode(r)
        var kind: IntegrityMismatch.Kind
        var header: BlockStamp.Header?
        switch content {
        case .zeroes: kind = .unexpectedZeroes
        case .ones: kind = .unexpectedOnes
        case .other(let h):
            header = h
            kind = !h.isStamped ? .notStamped : .checksum(stored: h.storedChecksum, computed: h.computedChecksum)
        case .stamped(let h):
            header = h
            if h.lba != lba { kind = .wrongLBA(found: h.lba) }
            else if case .written(let g) = expected, h.generation < g { kind = .staleGeneration(expected: g, found: h.generation) }
            else if case .written(let g) = expected { kind = .wrongGeneration(expected: g, found: h.generation) }
            else { kind = .dataWhereNoneExpected(generation: h.generation) }
        }
        var byteOffset: Int? = nil
        if case .written(let g) = expected {
            byteOffset = BlockStamp.firstDifference(region, offset: offset, blockSize: blockSize, index: blockIndex,
                                                    lba: lba, generation: g)
        }
        let first = region.bytes(at: offset + blockIndex * blockSize, count: min(blockSize, 64))
        return IntegrityMismatch(nsid: nsid, lba: lba, blockIndexInCommand: blockIndex, expected: expected,
                                 alternative: r & Self.ambiguousBit != 0 ? alternatives[lba].map(Self.decode) : nil,
                                 kind: kind, header: header, firstDifferingByte: byteOffset, firstBytes: first)
    }

    // MARK: Persistence

    /// A compact byte image (to keep the map across process restarts, e.g. around a power cycle by the harness).
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32 + raw.count * 4 + alternatives.count * 12)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt32(0x4D4B_564E)); put(nsid); put(UInt32(blockSize)); put(firstLBA); put(UInt64(blockCount))
        put(highestGeneration); put(UInt32(alternatives.count))
        for r in raw { put(r) }
        for (lba, alt) in alternatives.sorted(by: { $0.key < $1.key }) { put(lba); put(alt) }
        return out
    }

    public init?(serialized b: [UInt8]) {
        var pos = 0
        func get<T: FixedWidthInteger>(_: T.Type) -> T? {
            let n = MemoryLayout<T>.size
            guard pos + n <= b.count else { return nil }
            var v: T = 0
            for i in 0..<n { v |= T(b[pos + i]) << (8 * i) }
            pos += n
            return v
        }
        guard get(UInt32.self) == 0x4D4B_564E, let nsid = get(UInt32.self), let bs = get(UInt32.self),
              let first = get(UInt64.self), let count = get(UInt64.self), let high = get(UInt32.self),
              let alts = get(UInt32.self), bs >= 32, count < 1 << 40 else { return nil }
        self.init(nsid: nsid, blockSize: Int(bs), firstLBA: first, blockCount: Int(count))
        for i in 0..<Int(count) { guard let r = get(UInt32.self) else { return nil }; raw[i] = r }
        for _ in 0..<alts {
            guard let lba = get(UInt64.self), let alt = get(UInt32.self) else { return nil }
            alternatives[lba] = alt
        }
        highestGeneration = high
    }
}

/// The first block of a read that does not hold what the integrity map expects.
public struct IntegrityMismatch: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A valid stamp of another LBA (misdirected write or read).
        case wrongLBA(found: UInt64)
        /// A valid stamp of this LBA from an older write (lost write).
        case staleGeneration(expected: UInt32, found: UInt32)
        /// A valid stamp of this LBA from a newer or unrelated write.
        case wrongGeneration(expected: UInt32, found: UInt32)
        /// Header intact but the checksum does not match (corrupted payload).
        case checksum(stored: UInt64, computed: UInt64)
        /// No stamp at all where stamped data was expected.
        case notStamped
        case unexpectedZeroes
        case unexpectedOnes
        /// A stamp where zeroes were expected (Write Zeroes lost).
        case dataWhereNoneExpected(generation: UInt32)
    }

    public var nsid: UInt32
    public var lba: UInt64
    /// Which block of the command (0 = its SLBA).
    public var blockIndexInCommand: Int
    public var expected: LBAState
    /// For an LBA left ambiguous by a reset: the other acceptable state.
    public var alternative: LBAState?
    public var kind: Kind
    public var header: BlockStamp.Header?
    /// First byte within the block that differs from the expected stamp (when the expectation is a stamp).
    public var firstDifferingByte: Int?
    /// The first 64 bytes read.
    public var firstBytes: [UInt8]
    /// The command that read it and its completion (filled in by the IOWorker).
    public var sqe: [UInt32]? = nil
    public var cqe: [UInt32]? = nil

    public init(nsid: UInt32, lba: UInt64, blockIndexInCommand: Int, expected: LBAState, alternative: LBAState? = nil,
                kind: Kind, header: BlockStamp.Header? = nil, firstDifferingByte: Int? = nil, firstBytes: [UInt8],
                sqe: [UInt32]? = nil, cqe: [UInt32]? = nil) {
        self.nsid = nsid; self.lba = lba; self.blockIndexInCommand = blockIndexInCommand; self.expected = expected
        self.alternative = alternative; self.kind = kind; self.header = header
        self.firstDifferingByte = firstDifferingByte; self.firstBytes = firstBytes; self.sqe = sqe; self.cqe = cqe
    }

    public var kindDescription: String {
        switch kind {
        case .wrongLBA(let f): return "block carries LBA \(f)"
        case .staleGeneration(let e, let f): return "stale data: generation \(f), expected \(e) (a write was lost)"
        case .wrongGeneration(let e, let f): return "generation \(f), expected \(e)"
        case .checksum(let s, let c): return "checksum mismatch (stored \(hex64(s)), computed \(hex64(c))): payload corrupted"
        case .notStamped: return "not written by an IOWorker (no stamp)"
        case .unexpectedZeroes: return "reads as zeroes"
        case .unexpectedOnes: return "reads as ones (FFh)"
        case .dataWhereNoneExpected(let g): return "holds data (generation \(g)) where zeroes were expected"
        }
    }

    public var description: String {
        var s = "data mismatch at LBA \(lba) (nsid \(nsid), block \(blockIndexInCommand) of the command): \(kindDescription); expected \(expected)"
        if let a = alternative { s += " or \(a)" }
        if let b = firstDifferingByte { s += "; first differing byte at offset \(b)" }
        if let sqe { s += "\n  SQE: " + sqe.map(hex32).joined(separator: " ") }
        if let cqe { s += "\n  CQE: " + cqe.map(hex32).joined(separator: " ") }
        return s
    }
}

func hex32(_ v: UInt32) -> String { let h = String(v, radix: 16); return String(repeating: "0", count: 8 - h.count) + h }
func hex64(_ v: UInt64) -> String { let h = String(v, radix: 16); return String(repeating: "0", count: 16 - h.count) + h }
