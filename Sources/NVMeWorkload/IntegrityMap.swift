import Foundation
import NVMePlatform

/// What the host knows an LBA holds.
public enum LBAState: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Never written through this map: anything may be there, nothing is verified.
    case unknown
    /// Deallocated (Dataset Management / trim): reads return what the namespace's DLFEAT says (zeroes or ones).
    case deallocated
    /// Written by Write Zeroes: reads return zeroes.
    case zeroed
    /// Written with this generation.
    case written(generation: UInt64)

    public var description: String {
        switch self {
        case .unknown: return "unknown"
        case .deallocated: return "deallocated"
        case .zeroed: return "zeroed"
        case .written(let g): return "written (generation \(g))"
        }
    }
}

/// What a read of a deallocated logical block returns: Identify Namespace DLFEAT bits 2:0 (NVM Command Set
/// §4.1.5.1): 000b not reported, 001b all bytes 00h, 010b all bytes FFh.
public enum DeallocatedReadBehaviour: UInt8, Sendable, Hashable, Codable {
    case notReported = 0
    case zeroes = 1
    case ones = 2

    /// From the DLFEAT byte of Identify Namespace (reserved values count as not reported).
    public init(dlfeat: UInt8) { self = Self(rawValue: dlfeat & 0x7) ?? .notReported }
}

/// Who and what a map describes: the controller's serial number (Identify Controller SN), the namespace and its
/// geometry (NSZE, and the LBA format in use: LBADS and MS). A map is only valid on the namespace it was made on.
public struct NamespaceIdentity: Sendable, Hashable, CustomStringConvertible {
    /// Identify Controller SN (bytes 23:04), trailing spaces removed.
    public var serial: String
    public var nsid: UInt32
    /// NSZE: logical blocks.
    public var nsze: UInt64
    /// LBADS of the format in use (data size = 2^LBADS bytes).
    public var lbads: UInt8
    /// MS of the format in use: metadata bytes per block.
    public var ms: UInt16

    public init(serial: String, nsid: UInt32, nsze: UInt64, lbads: UInt8, ms: UInt16) {
        self.serial = serial; self.nsid = nsid; self.nsze = nsze; self.lbads = lbads; self.ms = ms
    }

    public var description: String {
        "serial \"\(serial)\" NSID \(nsid) NSZE \(nsze) LBADS \(lbads) (\(lbads < 64 ? String(UInt64(1) << lbads) : "?") bytes) MS \(ms)"
    }
}

/// Why a map file cannot be used.
public enum IntegrityMapFileError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    /// Not a map file at all.
    case notAMap(path: String)
    /// A map file of a format version this build does not read.
    case version(path: String, found: UInt32)
    /// Damaged: the header or the body says something impossible, or the file is shorter or longer than it says.
    case malformed(path: String, reason: String)
    /// The map describes another controller, namespace or geometry than the one it is used with.
    case otherNamespace(path: String, file: NamespaceIdentity, device: NamespaceIdentity)
    case write(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "cannot read the integrity map \(p): \(r)"
        case .notAMap(let p): return "\(p) is not an integrity map written by nvmekit (no NVKWMAP magic): pick another --map-file or delete it"
        case .version(let p, let v):
            let what = v == 1 ? "version 1 (written by an older nvmekit, without the device's identity)" : "version \(v)"
            return "the integrity map \(p) is format \(what); this nvmekit reads version \(IntegrityMap.fileVersion) only: delete it (rm \(p)) to start afresh"
        case .malformed(let p, let r): return "the integrity map \(p) is damaged: \(r); delete it (rm \(p)) to start afresh"
        case .otherNamespace(let p, let f, let d):
            return "the integrity map \(p) describes \(f), but the device has \(d): use the map file of this device (or delete it to start afresh)"
        case .write(let p, let r): return "cannot save the integrity map to \(p): \(r)"
        }
    }
}

/// The host-side record of the latest write to every LBA of a range of one namespace. A value: it lives in host
/// memory, independent of any controller, so it survives controller resets and power cycles and verification
/// continues across them. A write cut off by a reset leaves its LBAs *ambiguous*: the old and the new content are
/// both acceptable until a read or a new write settles them.
///
/// Memory: 6 bytes per LBA (a 48-bit word: 47 bits of state or generation, one ambiguity bit; measured 6.03 bytes
/// per LBA), i.e. 6 GiB for a namespace of 2^30 LBAs, plus about 64 bytes per ambiguous LBA and, with a volatile
/// write cache, per LBA modified since the last Flush (at most `unflushedLimit`). Generations go up to
/// `maxGeneration` (≈1.4 × 10^14 writes) and never wrap.
public struct IntegrityMap: Sendable, Hashable {
    public let nsid: UInt32
    public let blockSize: Int
    public let firstLBA: UInt64
    public let blockCount: Int
    /// The namespace the map describes (saved with it and checked when it is loaded); nil: not known.
    public var identity: NamespaceIdentity?
    /// What deallocated LBAs read back as (Identify Namespace DLFEAT). With `.notReported` a trimmed LBA is
    /// forgotten (anything may be read); otherwise it reads zeroes or ones — or its old content, since Dataset
    /// Management only *may* deallocate.
    public var deallocatedReads: DeallocatedReadBehaviour = .notReported
    /// The controller has a volatile write cache and it is enabled (Identify Controller VWC bit 0 and Feature 06h):
    /// modifications not yet made durable by a Flush (or FUA) are tracked, and `recordPowerLoss()` makes them
    /// ambiguous.
    public var volatileWriteCache: Bool = false

    // Word per LBA (48 bits, split in `lo` and `hi`): 0 unknown, 1 deallocated, 2 zeroed, generation + 3 written;
    // bit 47: ambiguous (see `alternatives`).
    @usableFromInline var lo: [UInt32]
    @usableFromInline var hi: [UInt16]
    /// For ambiguous LBAs: the state before the interrupted write (word encoding).
    @usableFromInline var alternatives: [UInt64: UInt64] = [:]
    /// LBAs modified since the last Flush while the volatile write cache is enabled.
    @usableFromInline var unflushed = PendingTable()
    /// Highest generation ever recorded (the next write uses a larger one).
    public private(set) var highestGeneration: UInt64 = 0
    /// Counts modifications recorded while the write cache is volatile (see `flushMark`).
    public private(set) var modificationSequence: UInt64 = 0
    /// Most LBAs tracked as unflushed (about 64 bytes each). Past it the map stops tracking them one by one: until
    /// a Flush covers them, a power loss forgets the whole map (nothing false is reported, less is verified).
    public var unflushedLimit: Int = 1 << 22
    /// `modificationSequence` of the latest modification that did not fit under `unflushedLimit` (nil: none).
    public private(set) var unflushedOverflow: UInt64? = nil

    @usableFromInline struct Pending: Sendable, Hashable {
        /// The durable word before the first unflushed modification.
        var durable: UInt64
        /// `modificationSequence` of the latest modification.
        var sequence: UInt64
        /// Modified more than once since the last flush: any of the intermediate contents may have reached media.
        var several: Bool
    }

    @usableFromInline static let ambiguousBit: UInt64 = 1 << 47
    @usableFromInline static let valueMask: UInt64 = ambiguousBit - 1
    /// Largest generation the map holds (2^47 − 4). A writer that reaches it must stop (the IOWorker does).
    public static let maxGeneration: UInt64 = valueMask - 3

    public init(nsid: UInt32, blockSize: Int, firstLBA: UInt64 = 0, blockCount: Int) {
        precondition(blockSize >= BlockStamp.minimumBlockSize && blockSize % 8 == 0,
                     "verification needs blocks of at least \(BlockStamp.minimumBlockSize) bytes")
        precondition(blockCount >= 0, "negative block count")
        self.nsid = nsid; self.blockSize = blockSize; self.firstLBA = firstLBA; self.blockCount = blockCount
        lo = [UInt32](repeating: 0, count: blockCount)
        hi = [UInt16](repeating: 0, count: blockCount)
    }

    /// A map of the whole namespace `identity` describes.
    public init(identity: NamespaceIdentity, firstLBA: UInt64 = 0, blockCount: Int? = nil) {
        self.init(nsid: identity.nsid, blockSize: 1 << Int(identity.lbads), firstLBA: firstLBA,
                  blockCount: blockCount ?? Int(identity.nsze))
        self.identity = identity
    }

    public func contains(_ lba: UInt64) -> Bool { lba >= firstLBA && lba - firstLBA < UInt64(blockCount) }
    public func contains(slba: UInt64, blocks: Int) -> Bool {
        blocks >= 0 && slba >= firstLBA && slba - firstLBA <= UInt64(blockCount)
            && UInt64(blocks) <= UInt64(blockCount) - (slba - firstLBA)
    }

    @inline(__always) func word(_ i: Int) -> UInt64 { UInt64(lo[i]) | UInt64(hi[i]) << 32 }
    @inline(__always) mutating func setWord(_ i: Int, _ v: UInt64) {
        lo[i] = UInt32(truncatingIfNeeded: v); hi[i] = UInt16(truncatingIfNeeded: v >> 32)
    }

    @inline(__always) static func decode(_ r: UInt64) -> LBAState {
        switch r & valueMask {
        case 0: return .unknown
        case 1: return .deallocated
        case 2: return .zeroed
        case let g: return .written(generation: g - 3)
        }
    }
    /// The word for `s`; a generation past `maxGeneration` cannot be held and encodes as unknown (never as
    /// another state).
    @inline(__always) static func encode(_ s: LBAState) -> UInt64 {
        switch s {
        case .unknown: return 0
        case .deallocated: return 1
        case .zeroed: return 2
        case .written(let g): return g <= maxGeneration ? g + 3 : 0
        }
    }

    /// The latest state of `lba` (for an ambiguous LBA: the interrupted write's state; see `alternative(of:)`).
    public subscript(lba: UInt64) -> LBAState {
        get { Self.decode(word(index(lba))) }
        set {
            let i = index(lba)
            if word(i) & Self.ambiguousBit != 0 { alternatives[lba] = nil }
            setWord(i, Self.encode(newValue))
            if case .written(let g) = newValue, g <= Self.maxGeneration { highestGeneration = max(highestGeneration, g) }
        }
    }

    /// Whether `lba` was being written when a reset cut the write off.
    public func isAmbiguous(_ lba: UInt64) -> Bool { word(index(lba)) & Self.ambiguousBit != 0 }
    /// For an ambiguous LBA, the state before the interrupted write.
    public func alternative(of lba: UInt64) -> LBAState? {
        isAmbiguous(lba) ? alternatives[lba].map(Self.decode) : nil
    }
    public var ambiguousCount: Int { alternatives.count }
    /// LBAs modified since the last Flush while the volatile write cache is enabled.
    public var unflushedCount: Int { unflushed.count }
    public func isUnflushed(_ lba: UInt64) -> Bool { unflushed[lba] != nil }

    @inline(__always) func index(_ lba: UInt64) -> Int {
        precondition(contains(lba), "LBA \(lba) is outside the map (\(firstLBA)..<\(firstLBA + UInt64(blockCount)))")
        return Int(lba - firstLBA)
    }

    /// Notes that word `i` (LBA `lba`) is about to change while the write cache is volatile.
    @inline(__always) mutating func notePending(_ i: Int, lba: UInt64, durable: Bool) {
        guard volatileWriteCache else { return }
        if durable { unflushed[lba] = nil; return }
        if !unflushed.noteModified(lba, sequence: modificationSequence, durable: word(i), limit: unflushedLimit) {
            unflushedOverflow = modificationSequence
        }
    }

    /// Records a completed write of `blocks` blocks from `slba` with `generation`. `fua`: the write had Force Unit
    /// Access set, so it is durable even with a volatile write cache.
    public mutating func recordWrite(slba: UInt64, blocks: Int, generation: UInt64, fua: Bool = false) {
        set(slba: slba, blocks: blocks, raw: Self.encode(.written(generation: generation)), durable: fua)
        if generation <= Self.maxGeneration && generation > highestGeneration { highestGeneration = generation }
    }
    public mutating func recordZeroes(slba: UInt64, blocks: Int) { set(slba: slba, blocks: blocks, raw: 2) }
    /// Deallocated LBAs read back as `deallocatedReads` says — or as before, since Dataset Management only *may*
    /// deallocate: a known LBA becomes ambiguous between its old state and `.deallocated`. With DLFEAT "not
    /// reported", and for an LBA whose content was unknown, the LBA is unknown.
    public mutating func recordDeallocate(slba: UInt64, blocks: Int) {
        precondition(contains(slba: slba, blocks: blocks), "range \(slba)+\(blocks) is outside the map")
        if volatileWriteCache { modificationSequence &+= 1 }
        let start = Int(slba - firstLBA)
        for i in start..<(start + blocks) {
            let lba = firstLBA + UInt64(i)
            let old = word(i)
            notePending(i, lba: lba, durable: false)
            if old & Self.ambiguousBit != 0 { alternatives[lba] = nil }
            if deallocatedReads == .notReported || old == 0 || old & Self.ambiguousBit != 0 {
                setWord(i, 0)
            } else if old != 1 {
                alternatives[lba] = old
                setWord(i, 1 | Self.ambiguousBit)
            }
        }
    }
    /// Forgets what the range holds (nothing will be verified there until it is written again).
    public mutating func forget(slba: UInt64, blocks: Int) { set(slba: slba, blocks: blocks, raw: 0) }

    @usableFromInline mutating func set(slba: UInt64, blocks: Int, raw value: UInt64, durable: Bool = false) {
        precondition(contains(slba: slba, blocks: blocks), "range \(slba)+\(blocks) is outside the map")
        if volatileWriteCache { modificationSequence &+= 1 }
        let start = Int(slba - firstLBA)
        for i in start..<(start + blocks) {
            let lba = firstLBA + UInt64(i)
            notePending(i, lba: lba, durable: durable)
            if word(i) & Self.ambiguousBit != 0 { alternatives[lba] = nil }
            setWord(i, value)
        }
    }

    /// A modifying command on the range was cut off (reset, timeout): the LBAs now hold either their previous
    /// content or `interrupted`'s; both are accepted until one is read back or the range is written again.
    public mutating func recordInterrupted(slba: UInt64, blocks: Int, interrupted: LBAState) {
        precondition(contains(slba: slba, blocks: blocks), "range \(slba)+\(blocks) is outside the map")
        let new = Self.encode(interrupted)
        if case .written(let g) = interrupted, g <= Self.maxGeneration { highestGeneration = max(highestGeneration, g) }
        if volatileWriteCache { modificationSequence &+= 1 }
        for k in 0..<blocks {
            let lba = slba + UInt64(k)
            let i = Int(lba - firstLBA)
            let old = word(i)
            notePending(i, lba: lba, durable: false)
            makeAmbiguous(i, lba: lba, old: old, new: new)
        }
    }

    /// Word `i` holds `old` (durable or ambiguous) and may now hold `new` instead.
    @inline(__always) mutating func makeAmbiguous(_ i: Int, lba: UInt64, old: UInt64, new: UInt64) {
        if old & Self.ambiguousBit != 0 || new & Self.ambiguousBit != 0 {
            // Already ambiguous: the block can hold any of three contents — forget it rather than guess.
            alternatives[lba] = nil
            setWord(i, 0)
        } else if old == new {
            return
        } else {
            alternatives[lba] = old
            setWord(i, new | Self.ambiguousBit)
        }
    }

    /// The mark to pass to `recordFlush(upTo:)` for a Flush submitted now.
    public var flushMark: UInt64 { modificationSequence }

    /// A Flush completed: every modification recorded before its submission (`mark`, from `flushMark`; default:
    /// all) is durable. An LBA modified again after the mark stays unflushed.
    public mutating func recordFlush(upTo mark: UInt64 = .max) {
        if let o = unflushedOverflow, o <= mark { unflushedOverflow = nil }
        if mark == .max { unflushed.removeAll(); return }
        unflushed = unflushed.filter { $0.value.sequence > mark }
    }

    /// The controller lost power (or a reset lost its volatile write cache): each LBA modified since the last
    /// Flush holds its durable content or its latest; one modified several times may hold any of them and is
    /// forgotten.
    public mutating func recordPowerLoss() {
        if unflushedOverflow != nil {
            // Which LBAs were modified is not known: none of them can be trusted.
            for i in 0..<blockCount { setWord(i, 0) }
            alternatives.removeAll(); unflushed.removeAll(); unflushedOverflow = nil
            return
        }
        for (lba, p) in unflushed where contains(lba) {
            let i = Int(lba - firstLBA)
            if p.several { alternatives[lba] = nil; setWord(i, 0); continue }
            makeAmbiguous(i, lba: lba, old: p.durable, new: word(i))
        }
        unflushed.removeAll()
    }

    /// Merges another map of the same namespace: for LBAs the other map covers and knows, its state wins.
    public mutating func merge(_ other: IntegrityMap) {
        precondition(other.nsid == nsid && other.blockSize == blockSize, "maps of different namespaces")
        for i in 0..<other.blockCount {
            let lba = other.firstLBA + UInt64(i)
            let w = other.word(i)
            guard contains(lba), w != 0 || other.unflushed[lba] != nil else { continue }
            let j = Int(lba - firstLBA)
            if word(j) & Self.ambiguousBit != 0 { alternatives[lba] = nil }
            setWord(j, w)
            if let alt = other.alternatives[lba] { alternatives[lba] = alt }
        }
        for (lba, p) in other.unflushed where contains(lba) { unflushed[lba] = p }
        highestGeneration = max(highestGeneration, other.highestGeneration)
        modificationSequence = max(modificationSequence, other.modificationSequence)
        if let o = other.unflushedOverflow { unflushedOverflow = max(unflushedOverflow ?? 0, o) }
    }

    /// Takes over everything `other` (a `subrange` of this map, updated since) says about the LBAs it covers: state,
    /// ambiguity and unflushed writes — including LBAs it forgot or flushed.
    public mutating func replaceRange(with other: IntegrityMap) {
        precondition(other.nsid == nsid && other.blockSize == blockSize, "maps of different namespaces")
        precondition(contains(slba: other.firstLBA, blocks: other.blockCount), "the other map is not a range of this one")
        let base = Int(other.firstLBA - firstLBA)
        for i in 0..<other.blockCount { setWord(base + i, other.word(i)) }
        alternatives = alternatives.filter { !other.contains($0.key) }
        for (lba, alt) in other.alternatives { alternatives[lba] = alt }
        unflushed = unflushed.filter { !other.contains($0.key) }
        for (lba, p) in other.unflushed { unflushed[lba] = p }
        highestGeneration = max(highestGeneration, other.highestGeneration)
        modificationSequence = max(modificationSequence, other.modificationSequence)
        if let o = other.unflushedOverflow { unflushedOverflow = max(unflushedOverflow ?? 0, o) }
    }

    /// A copy covering `[slba, slba + blocks)` only (what one worker owns).
    public func subrange(slba: UInt64, blocks: Int) -> IntegrityMap {
        precondition(contains(slba: slba, blocks: blocks), "range \(slba)+\(blocks) is outside the map")
        var m = IntegrityMap(nsid: nsid, blockSize: blockSize, firstLBA: slba, blockCount: blocks)
        let start = Int(slba - firstLBA)
        m.lo = Array(lo[start..<(start + blocks)])
        m.hi = Array(hi[start..<(start + blocks)])
        for (lba, alt) in alternatives where m.contains(lba) { m.alternatives[lba] = alt }
        for (lba, p) in unflushed where m.contains(lba) { m.unflushed[lba] = p }
        m.highestGeneration = highestGeneration
        m.modificationSequence = modificationSequence
        m.identity = identity
        m.deallocatedReads = deallocatedReads
        m.volatileWriteCache = volatileWriteCache
        m.unflushedLimit = unflushedLimit
        m.unflushedOverflow = unflushedOverflow
        return m
    }

    /// LBAs in each state (ambiguous counted apart).
    public var summary: (unknown: Int, deallocated: Int, zeroed: Int, written: Int, ambiguous: Int) {
        var u = 0, d = 0, z = 0, w = 0, a = 0
        for i in 0..<blockCount {
            let r = word(i)
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
            let r = word(Int(lba &- firstLBA))
            if r == 0 { continue }
            let content = BlockStamp.inspect(region, offset: offset, blockSize: blockSize, index: k)
            if accepts(r & Self.valueMask, content, lba: lba) {
                if r & Self.ambiguousBit != 0 { settle(lba, to: r & Self.valueMask) }
                continue
            }
            if r & Self.ambiguousBit != 0, let alt = alternatives[lba], accepts(alt, content, lba: lba) {
                settle(lba, to: alt)
                continue
            }
            return mismatch(lba: lba, blockIndex: k, content: content, region: region, offset: offset)
        }
        return nil
    }

    @usableFromInline mutating func settle(_ lba: UInt64, to value: UInt64) {
        alternatives[lba] = nil
        setWord(Int(lba - firstLBA), value)
    }

    @usableFromInline func accepts(_ r: UInt64, _ content: BlockStamp.Content, lba: UInt64) -> Bool {
        switch r {
        case 0: return true
        case 1:
            switch (deallocatedReads, content) {
            case (.notReported, _): return true
            case (.zeroes, .zeroes), (.ones, .ones): return true
            default: return false
            }
        case 2:
            if case .zeroes = content { return true }
            return false
        default:
            if case .stamped(let h) = content { return h.lba == lba && h.generation == r - 3 }
            return false
        }
    }

    @usableFromInline func mismatch(lba: UInt64, blockIndex: Int, content: BlockStamp.Content, region: DMARegion,
                                    offset: Int) -> IntegrityMismatch {
        let r = word(Int(lba - firstLBA))
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
}

// MARK: Persistence

/// The map file (little-endian): a 128-byte header — magic "NVKWMAP\0", format version, the identity of the
/// namespace (controller serial, NSID, NSZE, LBADS, MS), DLFEAT behaviour, flags, the covered range, the highest
/// generation and the entry counts — then 4 + 2 bytes per LBA, 16 per ambiguous LBA, 32 per unflushed LBA. The
/// header is checked against the file's size and the expected identity before anything is allocated.
extension IntegrityMap {
    /// The map file format this build writes and reads.
    public static let fileVersion: UInt32 = 2
    static let fileMagic: [UInt8] = Array("NVKWMAP".utf8) + [0]
    /// The first word of version 1 files ("NVKM").
    static let version1Magic: UInt32 = 0x4D4B_564E
    static let headerSize = 128

    func header() -> [UInt8] {
        var w = MapWriter()
        w.bytes = Self.fileMagic
        w.u32(Self.fileVersion); w.u32(UInt32(Self.headerSize))
        var sn = Array((identity?.serial ?? "").utf8.prefix(20))
        sn += [UInt8](repeating: 0x20, count: 20 - sn.count)
        w.bytes += sn
        w.u32(nsid); w.u64(identity?.nsze ?? 0); w.u8(identity?.lbads ?? 0); w.u8(deallocatedReads.rawValue)
        w.u16(identity?.ms ?? 0)
        w.u32((volatileWriteCache ? 1 : 0) | (identity != nil ? 2 : 0) | (unflushedOverflow != nil ? 4 : 0))
        w.u32(UInt32(blockSize)); w.u32(0)
        w.u64(firstLBA); w.u64(UInt64(blockCount)); w.u64(highestGeneration); w.u64(modificationSequence)
        w.u64(UInt64(alternatives.count)); w.u64(UInt64(unflushed.count)); w.u64(unflushedOverflow ?? 0)
        w.bytes += [UInt8](repeating: 0, count: Self.headerSize - w.bytes.count)
        return w.bytes
    }

    /// The file's content, in pieces of at most a few MiB.
    func encode(_ emit: ([UInt8]) throws -> Void) rethrows {
        try emit(header())
        let chunk = 1 << 20
        var start = 0
        while start < blockCount {
            let end = min(blockCount, start + chunk)
            var w = MapWriter(); w.bytes.reserveCapacity((end - start) * 4)
            for i in start..<end { w.u32(lo[i]) }
            try emit(w.bytes)
            start = end
        }
        start = 0
        while start < blockCount {
            let end = min(blockCount, start + chunk)
            var w = MapWriter(); w.bytes.reserveCapacity((end - start) * 2)
            for i in start..<end { w.u16(hi[i]) }
            try emit(w.bytes)
            start = end
        }
        var w = MapWriter()
        for (lba, alt) in alternatives.sorted(by: { $0.key < $1.key }) { w.u64(lba); w.u64(alt) }
        for (lba, p) in unflushed.sorted(by: { $0.key < $1.key }) {
            w.u64(lba); w.u64(p.durable); w.u64(p.sequence); w.u64(p.several ? 1 : 0)
        }
        try emit(w.bytes)
    }

    /// The whole file's content in memory (see `write(atomicallyTo:)` for large maps).
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        encode { out += $0 }
        return out
    }

    /// Saves the map to `path` atomically: a temporary file in the same directory, fsync, rename over `path`, fsync
    /// of the directory. On failure `path` keeps its previous content. Safe to call at any time on a copy of the
    /// map (e.g. from a signal handler's cleanup path on the thread that owns the map).
    public func write(atomicallyTo path: String) throws {
        do {
            try AtomicFile.write(to: path) { w in try encode { try w.write($0) } }
        } catch {
            throw IntegrityMapFileError.write(path: path, reason: "\(error)")
        }
    }

    /// Loads a map file. With `expecting`, the file must describe that namespace (serial, NSID, NSZE, LBADS, MS):
    /// otherwise `IntegrityMapFileError.otherNamespace` names both. A damaged, truncated or old-format file throws
    /// an error naming what is wrong, before the map is allocated.
    public init(contentsOf path: String, expecting: NamespaceIdentity? = nil) throws {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw IntegrityMapFileError.unreadable(path: path, reason: FileManager.default.fileExists(atPath: path)
                                                   ? "permission denied" : "no such file")
        }
        defer { try? h.close() }
        var source = FileSource(handle: h, path: path)
        try self.init(source: &source, expecting: expecting)
    }

    /// Decodes a map file's content (see `init(contentsOf:expecting:)`).
    public init(validating bytes: [UInt8], path: String = "map", expecting: NamespaceIdentity? = nil) throws {
        var source = ArraySource(bytes: bytes, path: path)
        try self.init(source: &source, expecting: expecting)
    }

    /// Decodes a map file's content; nil when it is not a valid map (`init(validating:)` says why).
    public init?(serialized b: [UInt8]) {
        guard let m = try? IntegrityMap(validating: b) else { return nil }
        self = m
    }

    init<S: MapSource>(source: inout S, expecting: NamespaceIdentity?) throws {
        let path = source.path
        func bad(_ r: String) -> IntegrityMapFileError { .malformed(path: path, reason: r) }
        let size = try source.size()
        let first = try source.read(min(size, UInt64(Self.headerSize)))
        if first.count >= 4 && MapReader(first).u32(at: 0) == Self.version1Magic && Array(first.prefix(8)) != Self.fileMagic {
            throw IntegrityMapFileError.version(path: path, found: 1)
        }
        guard first.count >= 8, Array(first.prefix(8)) == Self.fileMagic else { throw IntegrityMapFileError.notAMap(path: path) }
        guard first.count >= 12 else { throw bad("truncated header: \(size) bytes, a header has \(Self.headerSize)") }
        let r = MapReader(first)
        let version = r.u32(at: 8)
        guard version == Self.fileVersion else { throw IntegrityMapFileError.version(path: path, found: version) }
        guard first.count == Self.headerSize else { throw bad("truncated header: \(size) bytes, a header has \(Self.headerSize)") }
        guard r.u32(at: 12) == UInt32(Self.headerSize) else { throw bad("header size \(r.u32(at: 12)), expected \(Self.headerSize)") }
        let serialBytes = Array(first[16..<36])
        guard serialBytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { throw bad("serial number bytes are not printable ASCII") }
        var serial = String(decoding: serialBytes, as: UTF8.self)
        while serial.hasSuffix(" ") { serial.removeLast() }
        let nsid = r.u32(at: 36), nsze = r.u64(at: 40), lbads = first[48], dealloc = first[49], ms = r.u16(at: 50)
        let flags = r.u32(at: 52), bs = r.u32(at: 56)
        let firstLBA = r.u64(at: 64), count = r.u64(at: 72), high = r.u64(at: 80), sequence = r.u64(at: 88)
        let altCount = r.u64(at: 96), pendingCount = r.u64(at: 104)
        guard nsid != 0 && nsid != 0xFFFF_FFFF else { throw bad("NSID \(nsid) is not a namespace") }
        guard flags & ~7 == 0 else { throw bad("unknown flags \(String(flags, radix: 16))h") }
        guard let behaviour = DeallocatedReadBehaviour(rawValue: dealloc) else { throw bad("DLFEAT read behaviour \(dealloc) is not 0, 1 or 2") }
        guard bs >= UInt32(BlockStamp.minimumBlockSize), bs <= 1 << 16, bs & (bs - 1) == 0 else {
            throw bad("block size \(bs) is not a power of two within \(BlockStamp.minimumBlockSize)...65536")
        }
        var identity: NamespaceIdentity? = nil
        if flags & 2 != 0 {
            guard lbads >= 5, lbads <= 16, UInt32(1) << UInt32(lbads) == bs else { throw bad("LBADS \(lbads) does not match the block size \(bs)") }
            let id = NamespaceIdentity(serial: serial, nsid: nsid, nsze: nsze, lbads: lbads, ms: ms)
            guard firstLBA <= nsze, count <= nsze - firstLBA else {
                throw bad("it covers LBAs \(firstLBA)+\(count), past NSZE \(nsze)")
            }
            identity = id
        }
        if let expecting {
            guard let identity else {
                throw bad("it carries no device identity (the device has \(expecting))")
            }
            guard identity == expecting else {
                throw IntegrityMapFileError.otherNamespace(path: path, file: identity, device: expecting)
            }
        }
        guard high <= Self.maxGeneration else { throw bad("highest generation \(high) is above \(Self.maxGeneration)") }
        // Sizes from the header, checked against the file before anything is allocated.
        let limit = UInt64(Int.max / 64)
        guard count <= limit, altCount <= count, pendingCount <= count else {
            throw bad("the header claims \(count) LBAs with \(altCount) ambiguous and \(pendingCount) unflushed")
        }
        guard firstLBA <= UInt64.max - count else { throw bad("LBA range \(firstLBA)+\(count) overflows") }
        let expectedSize = UInt64(Self.headerSize) + count * 6 + altCount * 16 + pendingCount * 32
        guard size == expectedSize else {
            throw bad("\(size < expectedSize ? "truncated" : "trailing data"): the header describes \(count) LBAs, "
                      + "\(altCount) ambiguous and \(pendingCount) unflushed (\(expectedSize) bytes) but the file has \(size) bytes")
        }
        self.init(nsid: nsid, blockSize: Int(bs), firstLBA: firstLBA, blockCount: Int(count))
        self.identity = identity
        deallocatedReads = behaviour
        volatileWriteCache = flags & 1 != 0
        highestGeneration = high
        modificationSequence = sequence
        if flags & 4 != 0 {
            let o = r.u64(at: 112)
            guard o <= sequence else { throw bad("unflushed overflow at modification \(o), after the last one (\(sequence))") }
            unflushedOverflow = o
        }
        let n = Int(count)
        let chunk = 1 << 20
        var start = 0
        while start < n {
            let end = min(n, start + chunk)
            let b = MapReader(try source.read(UInt64(end - start) * 4))
            for i in start..<end { lo[i] = b.u32(at: (i - start) * 4) }
            start = end
        }
        start = 0
        var ambiguous = 0
        while start < n {
            let end = min(n, start + chunk)
            let b = MapReader(try source.read(UInt64(end - start) * 2))
            for i in start..<end {
                hi[i] = b.u16(at: (i - start) * 2)
                let w = word(i)
                if w & Self.ambiguousBit != 0 { ambiguous += 1 }
                let v = w & Self.valueMask
                if v >= 3 && v - 3 > high {
                    throw bad("LBA \(firstLBA + UInt64(i)) holds generation \(v - 3), above the highest generation \(high)")
                }
            }
            start = end
        }
        guard ambiguous == Int(altCount) else {
            throw bad("\(ambiguous) LBAs are marked ambiguous but \(altCount) alternatives follow")
        }
        let tail = MapReader(try source.read(altCount * 16 + pendingCount * 32))
        var previous: UInt64? = nil
        for k in 0..<Int(altCount) {
            let lba = tail.u64(at: k * 16), alt = tail.u64(at: k * 16 + 8)
            guard previous.map({ lba > $0 }) ?? true else { throw bad("ambiguous LBAs out of order at entry \(k)") }
            previous = lba
            guard contains(lba), isAmbiguous(lba) else { throw bad("alternative for LBA \(lba), which is not an ambiguous LBA of the map") }
            guard alt <= Self.valueMask, alt < 3 || alt - 3 <= high else { throw bad("alternative \(alt) of LBA \(lba) is not a state") }
            alternatives[lba] = alt
        }
        previous = nil
        let base = Int(altCount) * 16
        for k in 0..<Int(pendingCount) {
            let o = base + k * 32
            let lba = tail.u64(at: o), durable = tail.u64(at: o + 8), seq = tail.u64(at: o + 16), several = tail.u64(at: o + 24)
            guard previous.map({ lba > $0 }) ?? true else { throw bad("unflushed LBAs out of order at entry \(k)") }
            previous = lba
            guard contains(lba) else { throw bad("unflushed LBA \(lba) is outside the map") }
            guard durable <= Self.ambiguousBit | Self.valueMask, several <= 1, seq <= sequence else {
                throw bad("unflushed entry for LBA \(lba) is not valid")
            }
            unflushed[lba] = Pending(durable: durable, sequence: seq, several: several == 1)
        }
    }
}

struct MapWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(truncatingIfNeeded: v)); bytes.append(UInt8(truncatingIfNeeded: v >> 8)) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
}

struct MapReader {
    let b: [UInt8]
    init(_ b: [UInt8]) { self.b = b }
    func u16(at o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    func u32(at o: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[o + $1]) << (8 * UInt32($1)) } }
    func u64(at o: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }
}

protocol MapSource {
    var path: String { get }
    func size() throws -> UInt64
    /// Exactly `count` bytes (the size was checked before).
    mutating func read(_ count: UInt64) throws -> [UInt8]
}

struct ArraySource: MapSource {
    let bytes: [UInt8]
    let path: String
    var pos = 0
    func size() throws -> UInt64 { UInt64(bytes.count) }
    mutating func read(_ count: UInt64) throws -> [UInt8] {
        let n = Int(min(count, UInt64(bytes.count - pos)))
        defer { pos += n }
        return Array(bytes[pos..<(pos + n)])
    }
}

struct FileSource: MapSource {
    let handle: FileHandle
    let path: String
    func size() throws -> UInt64 {
        do {
            let end = try handle.seekToEnd()
            try handle.seek(toOffset: 0)
            return end
        } catch {
            throw IntegrityMapFileError.unreadable(path: path, reason: "\(error)")
        }
    }
    mutating func read(_ count: UInt64) throws -> [UInt8] {
        var out: [UInt8] = []
        while UInt64(out.count) < count {
            let want = Int(min(count - UInt64(out.count), 1 << 24))
            let data: Data?
            do { data = try handle.read(upToCount: want) } catch {
                throw IntegrityMapFileError.unreadable(path: path, reason: "\(error)")
            }
            guard let data, !data.isEmpty else {
                throw IntegrityMapFileError.malformed(path: path, reason: "truncated while reading (the file shrank)")
            }
            out += data
        }
        return out
    }
}

/// The first block of a read that does not hold what the integrity map expects.
public struct IntegrityMismatch: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A valid stamp of another LBA (misdirected write or read).
        case wrongLBA(found: UInt64)
        /// A valid stamp of this LBA from an older write (lost write).
        case staleGeneration(expected: UInt64, found: UInt64)
        /// A valid stamp of this LBA from a newer or unrelated write.
        case wrongGeneration(expected: UInt64, found: UInt64)
        /// Header intact but the checksum does not match (corrupted payload).
        case checksum(stored: UInt64, computed: UInt64)
        /// No stamp at all where stamped data was expected.
        case notStamped
        case unexpectedZeroes
        case unexpectedOnes
        /// A stamp where zeroes were expected (Write Zeroes lost).
        case dataWhereNoneExpected(generation: UInt64)
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
