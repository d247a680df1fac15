import Foundation
import NVMePlatform
import NVMeWorkload
import Testing

@Suite("Per-LBA integrity map and block stamps")
struct IntegrityTests {
    let allocator = HeapDMAAllocator()

    func stamped(blocks: Int, blockSize: Int = 512, slba: UInt64, generation: UInt64) throws -> Buffer {
        let b = try Buffer(count: blocks * blockSize, from: allocator)
        BlockStamp.stamp(b.region, offset: b.offset, blockSize: blockSize, slba: slba, blocks: blocks, generation: generation)
        return b
    }

    @Test func stampedBlocksCarryTheirLBAGenerationAndAValidChecksum() throws {
        let b = try stamped(blocks: 4, slba: 1000, generation: 7)
        for i in 0..<4 {
            guard case .stamped(let h) = BlockStamp.inspect(b.region, offset: 0, blockSize: 512, index: i) else {
                Issue.record("block \(i) is not recognised as stamped"); continue
            }
            #expect(h.lba == 1000 + UInt64(i))
            #expect(h.generation == 7)
            #expect(h.checksumMatches)
        }
        #expect(try b.bytes(at: 0, count: 512) == BlockStamp.expectedBlock(blockSize: 512, lba: 1000, generation: 7))
    }

    @Test func verificationPassesWhenEveryBlockHoldsItsLatestWrite() throws {
        var map = IntegrityMap(nsid: 1, blockSize: 512, blockCount: 4096)
        map.recordWrite(slba: 100, blocks: 8, generation: 3)
        let b = try stamped(blocks: 8, slba: 100, generation: 3)
        #expect(map.verify(b, slba: 100, blocks: 8) == nil)
    }

    @Test func aCorruptedByteIsReportedWithItsLBAAndOffset() throws {
        var map = IntegrityMap(nsid: 1, blockSize: 512, blockCount: 4096)
        map.recordWrite(slba: 100, blocks: 8, generation: 3)
        let b = try stamped(blocks: 8, slba: 100, generation: 3)
        try b.store(try b[3 * 512 + 200] ^ 0x40, at: 3 * 512 + 200)          // block 3 = LBA 103, payload byte 200
        let mFound = map.verify(b, slba: 100, blocks: 8)
        let m = try #require(mFound)
        #expect(m.lba == 103)
        #expect(m.blockIndexInCommand == 3)
        #expect(m.firstDifferingByte == 200)
        guard case .checksum = m.kind else { Issue.record("expected a checksum mismatch, got \(m.kind)"); return }
        #expect(m.description.contains("LBA 103"))
    }

    @Test func aLostWriteIsReportedAsStaleGeneration() throws {
        var map = IntegrityMap(nsid: 1, blockSize: 512, blockCount: 64)
        map.recordWrite(slba: 10, blocks: 1, generation: 5)
        let b = try stamped(blocks: 1, slba: 10, generation: 4)
        let mFound = map.verify(b, slba: 10, blocks: 1)
        let m = try #require(mFound)
        #expect(m.kind == .staleGeneration(expected: 5, found: 4))
    }

    @Test func aMisdirectedBlockIsReportedWithTheLBAItCarries() throws {
        var map = IntegrityMap(nsid: 1, blockSize: 4096, blockCount: 64)
        map.recordWrite(slba: 11, blocks: 1, generation: 2)
        let b = try stamped(blocks: 1, blockSize: 4096, slba: 40, generation: 2)
        let mFound = map.verify(b, slba: 11, blocks: 1)
        let m = try #require(mFound)
        #expect(m.lba == 11)
        #expect(m.kind == .wrongLBA(found: 40))
    }

    @Test func zeroedAndDeallocatedStatesAreTrackedAsSuch() throws {
        var map = IntegrityMap(nsid: 1, blockSize: 512, blockCount: 64)
        map.deallocatedReads = .zeroes
        map.recordWrite(slba: 0, blocks: 4, generation: 1)
        map.recordZeroes(slba: 0, blocks: 2)
        map.recordDeallocate(slba: 2, blocks: 2)
        #expect(map[0] == .zeroed)
        #expect(map[2] == .deallocated)
        let zeroes = try Buffer(count: 4 * 512, from: allocator)
        #expect(map.verify(zeroes, slba: 0, blocks: 4) == nil)
        let ones = try Buffer(count: 512, from: allocator)
        try ones.fill(.ones)
        #expect(map.verify(ones, slba: 2, blocks: 1)?.kind == .unexpectedOnes, "DLFEAT 001b: a deallocated LBA reads zeroes")
        let mFound = map.verify(ones, slba: 0, blocks: 1)
        let m = try #require(mFound)
        #expect(m.kind == .unexpectedOnes)
        let data = try stamped(blocks: 1, slba: 1, generation: 1)
        let zFound = map.verify(data, slba: 1, blocks: 1)
        let z = try #require(zFound)
        #expect(z.kind == .dataWhereNoneExpected(generation: 1))
    }

    @Test func aWriteCutOffByAResetAcceptsOldOrNewDataAndSettlesOnRead() throws {
        var map = IntegrityMap(nsid: 1, blockSize: 512, blockCount: 64)
        map.recordWrite(slba: 20, blocks: 2, generation: 1)
        map.recordInterrupted(slba: 20, blocks: 2, interrupted: .written(generation: 2))
        #expect(map.isAmbiguous(20) && map.isAmbiguous(21))
        let old = try stamped(blocks: 1, slba: 20, generation: 1)
        #expect(map.verify(old, slba: 20, blocks: 1) == nil)
        #expect(map[20] == .written(generation: 1) && !map.isAmbiguous(20), "the read settles the LBA to what it saw")
        let new = try stamped(blocks: 1, slba: 21, generation: 2)
        #expect(map.verify(new, slba: 21, blocks: 1) == nil)
        #expect(map[21] == .written(generation: 2))
        let third = try stamped(blocks: 1, slba: 20, generation: 2)
        #expect(map.verify(third, slba: 20, blocks: 1) != nil, "once settled, the other content is a mismatch")
    }

    @Test func deallocatingAnLBAOfUnknownContentLeavesItUnknown() throws {
        var map = IntegrityMap(nsid: 1, blockSize: 512, blockCount: 8)
        map.deallocatedReads = .zeroes
        map.recordWrite(slba: 4, blocks: 1, generation: 3)
        map.recordDeallocate(slba: 3, blocks: 2)
        #expect(map[3] == .unknown, "old content nobody recorded may still read back")
        #expect(map[4] == .deallocated)
        let foreign = try Buffer(count: 512, from: allocator)
        try foreign.fill(.random(seed: 5))
        #expect(map.verify(foreign, slba: 3, blocks: 1) == nil)
        #expect(map.verify(foreign, slba: 4, blocks: 1) != nil)
    }

    @Test func theMapIsAValueThatSurvivesSerialisation() throws {
        var map = IntegrityMap(nsid: 3, blockSize: 4096, firstLBA: 100, blockCount: 50)
        map.recordWrite(slba: 100, blocks: 10, generation: 9)
        map.recordZeroes(slba: 120, blocks: 5)
        map.recordInterrupted(slba: 101, blocks: 1, interrupted: .written(generation: 10))
        let copy = map
        map.recordDeallocate(slba: 100, blocks: 1)
        #expect(copy[100] == .written(generation: 9), "copies are independent values")
        let restored = try #require(IntegrityMap(serialized: copy.serialized()))
        #expect(restored == copy)
        #expect(restored.alternative(of: 101) == .written(generation: 9))
        #expect(IntegrityMap(serialized: [1, 2, 3]) == nil)
    }

    // MARK: Generations at every scale

    @Test("generations past 2^31 and 2^32 stay distinct, exact and written (no wrap into zeroed or another generation)")
    func generationsPast32BitsStayDistinct() throws {
        var map = IntegrityMap(nsid: 1, blockSize: 512, blockCount: 16)
        let gens: [UInt64] = [0, (1 << 31) - 3, (1 << 31) - 2, 1 << 31, (1 << 32) - 1, 1 << 32, (1 << 32) + 1, (1 << 40) + 7,
                              IntegrityMap.maxGeneration]
        for (i, g) in gens.enumerated() { map.recordWrite(slba: UInt64(i), blocks: 1, generation: g) }
        for (i, g) in gens.enumerated() {
            #expect(map[UInt64(i)] == .written(generation: g), "generation \(g)")
            let b = try stamped(blocks: 1, slba: UInt64(i), generation: g)
            guard case .stamped(let h) = BlockStamp.inspect(b.region, offset: 0, blockSize: 512, index: 0) else {
                Issue.record("generation \(g) is not recognised as stamped"); continue
            }
            #expect(h.generation == g)
            #expect(map.verify(b, slba: UInt64(i), blocks: 1) == nil, "generation \(g) verifies")
        }
        #expect(map.highestGeneration == IntegrityMap.maxGeneration)
        // A block of generation 1 where 2^32 + 1 is expected is a lost write, not a match modulo 2^32.
        let old = try stamped(blocks: 1, slba: 6, generation: 1)
        let found = map.verify(old, slba: 6, blocks: 1)
        let m = try #require(found)
        #expect(m.kind == .staleGeneration(expected: (1 << 32) + 1, found: 1))
        // Beyond what the map holds a write is recorded as unknown, never as another state.
        map.recordWrite(slba: 15, blocks: 1, generation: IntegrityMap.maxGeneration + 1)
        #expect(map[15] == .unknown)
        let restored = try IntegrityMap(validating: map.serialized())
        #expect(restored == map)
        #expect(restored[5] == .written(generation: 1 << 32))
    }

    // MARK: Map files

    static let identity = NamespaceIdentity(serial: "NVMEKIT0", nsid: 1, nsze: 4096, lbads: 9, ms: 0)

    func tempPath(_ tag: String) -> String {
        NSTemporaryDirectory() + "nvmekit-map-\(tag)-\(UInt64.random(in: 0...UInt64.max)).map"
    }

    func sampleMap() -> IntegrityMap {
        var map = IntegrityMap(identity: Self.identity)
        map.recordWrite(slba: 10, blocks: 20, generation: 3)
        map.recordInterrupted(slba: 12, blocks: 1, interrupted: .written(generation: 4))
        return map
    }

    @Test("a map file of another serial, NSID, NSZE, LBADS or MS is refused with both identities named")
    func mapOfAnotherNamespaceIsRefused() throws {
        let path = tempPath("other")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try sampleMap().write(atomicallyTo: path)
        #expect(try IntegrityMap(contentsOf: path, expecting: Self.identity) == sampleMap())
        var others: [NamespaceIdentity] = []
        var o = Self.identity; o.serial = "NVMEKIT1"; others.append(o)
        o = Self.identity; o.nsid = 2; others.append(o)
        o = Self.identity; o.nsze = 8192; others.append(o)
        o = Self.identity; o.lbads = 12; others.append(o)
        o = Self.identity; o.ms = 8; others.append(o)
        for other in others {
            #expect {
                try IntegrityMap(contentsOf: path, expecting: other)
            } throws: { e in
                guard case IntegrityMapFileError.otherNamespace(_, let file, let device) = e else { return false }
                let text = "\(e)"
                return file == Self.identity && device == other && text.contains(Self.identity.description)
                    && text.contains(other.description)
            }
        }
    }

    @Test("a header claiming 2^39 LBAs is refused from its size before the map is allocated")
    func hugeHeaderIsRefusedWithoutAllocating() throws {
        var bytes = sampleMap().serialized()
        func put64(_ v: UInt64, at o: Int) { for i in 0..<8 { bytes[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        put64(1 << 39, at: 40)      // NSZE
        put64(1 << 39, at: 72)      // LBAs in the map
        #expect {
            try IntegrityMap(validating: bytes)
        } throws: { e in
            guard case IntegrityMapFileError.malformed(_, let reason) = e else { return false }
            return reason.contains("truncated") && reason.contains("\(1 << 39) LBAs")
        }
        put64(1 << 62, at: 72)
        #expect(throws: IntegrityMapFileError.self) { try IntegrityMap(validating: bytes) }
    }

    @Test("truncated, extended, garbage and version-1 map files are refused with what is wrong")
    func damagedMapFilesAreRefused() throws {
        let good = sampleMap().serialized()
        func reason(_ b: [UInt8]) -> String? {
            do { _ = try IntegrityMap(validating: b); return nil } catch { return "\(error)" }
        }
        #expect(reason(good) == nil)
        #expect(reason(Array(good.dropLast(5)))?.contains("truncated") == true)
        #expect(reason(Array(good.prefix(60)))?.contains("truncated header") == true)
        #expect(reason(good + [0])?.contains("trailing data") == true)
        #expect(reason(Array("hello, world".utf8))?.contains("not an integrity map") == true)
        #expect(reason([])?.contains("not an integrity map") == true)
        // Version 1: "NVKM" then the NSID.
        let v1: [UInt8] = [0x4E, 0x56, 0x4B, 0x4D, 1, 0, 0, 0, 0, 2, 0, 0] + [UInt8](repeating: 0, count: 40)
        let old = try #require(reason(v1))
        #expect(old.contains("version 1") && old.contains("delete it"))
        var future = good; future[8] = 3
        #expect(reason(future)?.contains("version 3") == true)
        var wrongGen = good; wrongGen[80] = 1   // highest generation 1, below the LBAs' 3 and 4
        #expect(reason(wrongGen)?.contains("above the highest generation") == true)
    }

    @Test("an atomic write that fails leaves the old file intact and no temporary file behind")
    func failedAtomicWriteKeepsTheOldFile() throws {
        let dir = NSTemporaryDirectory() + "nvmekit-atomic-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/run.map"
        try sampleMap().write(atomicallyTo: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        struct Injected: Error {}
        var bigger = sampleMap(); bigger.recordWrite(slba: 100, blocks: 100, generation: 9)
        #expect(throws: Injected.self) {
            try AtomicFile.write(bigger.serialized(), to: path, beforeRename: { throw Injected() })
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["run.map"])
        #expect(throws: IntegrityMapFileError.self) { try bigger.write(atomicallyTo: dir + "/missing-dir/run.map") }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    // MARK: DLFEAT

    func trimmedMap(_ behaviour: DeallocatedReadBehaviour) -> IntegrityMap {
        var map = IntegrityMap(nsid: 1, blockSize: 512, blockCount: 16)
        map.deallocatedReads = behaviour
        map.recordWrite(slba: 0, blocks: 8, generation: 5)
        map.recordDeallocate(slba: 0, blocks: 8)
        return map
    }

    func content(_ kind: String, lba: UInt64) throws -> Buffer {
        let b = try Buffer(count: 512, from: allocator)
        switch kind {
        case "zeroes": try b.fill(.zeroes)
        case "ones": try b.fill(.ones)
        case "old": BlockStamp.stamp(b.region, offset: 0, blockSize: 512, slba: lba, blocks: 1, generation: 5)
        default: try b.fill(.random(seed: lba))
        }
        return b
    }

    @Test("DLFEAT 001b: a trimmed LBA reads zeroes (or its old data: deallocation is optional), never ones")
    func dlfeatZeroes() throws {
        var map = trimmedMap(DeallocatedReadBehaviour(dlfeat: 0x09))
        #expect(map.verify(try content("zeroes", lba: 0), slba: 0, blocks: 1) == nil)
        #expect(map[0] == .deallocated && !map.isAmbiguous(0))
        #expect(map.verify(try content("old", lba: 1), slba: 1, blocks: 1) == nil)
        #expect(map.verify(try content("ones", lba: 2), slba: 2, blocks: 1)?.kind == .unexpectedOnes)
        #expect(map.verify(try content("ones", lba: 0), slba: 0, blocks: 1)?.kind == .unexpectedOnes)
        #expect(map.verify(try content("random", lba: 3), slba: 3, blocks: 1) != nil)
    }

    @Test("DLFEAT 010b: a trimmed LBA reads ones (or its old data), never zeroes")
    func dlfeatOnes() throws {
        var map = trimmedMap(DeallocatedReadBehaviour(dlfeat: 0x02))
        #expect(map.verify(try content("ones", lba: 0), slba: 0, blocks: 1) == nil)
        #expect(map.verify(try content("old", lba: 1), slba: 1, blocks: 1) == nil)
        #expect(map.verify(try content("zeroes", lba: 2), slba: 2, blocks: 1)?.kind == .unexpectedZeroes)
    }

    @Test("DLFEAT 000b: what a trimmed LBA reads is not reported, so any content is legal")
    func dlfeatNotReported() throws {
        var map = trimmedMap(DeallocatedReadBehaviour(dlfeat: 0x00))
        for (i, kind) in ["zeroes", "ones", "old", "random"].enumerated() {
            #expect(map.verify(try content(kind, lba: UInt64(i)), slba: UInt64(i), blocks: 1) == nil, "\(kind)")
        }
        #expect(map[0] == .unknown)
    }

    // MARK: Volatile write cache

    @Test("the unflushed set matches a dictionary model through writes, FUA writes, partial flushes, subrange, merge and save/load")
    func unflushedSetMatchesModel() throws {
        var map = IntegrityMap(nsid: 1, blockSize: 512, firstLBA: 1000, blockCount: 40_000)
        map.volatileWriteCache = true
        // Model: LBA -> (sequence of the latest modification, modified more than once).
        var model: [UInt64: (seq: UInt64, several: Bool)] = [:]
        var rng = WorkloadRandom(seed: 7)
        var seq: UInt64 = 0
        var marks: [UInt64] = []
        for g in 1...6000 {
            let slba = 1000 + rng.below(40_000 - 8)
            let fua = rng.below(10) == 0
            map.recordWrite(slba: slba, blocks: 8, generation: UInt64(g), fua: fua)
            seq += 1
            for l in slba..<(slba + 8) {
                if fua { model[l] = nil }
                else if model[l] != nil { model[l] = (seq, true) }
                else { model[l] = (seq, false) }
            }
            if g % 97 == 0 { marks.append(map.flushMark) }
            if g % 331 == 0, let mark = marks.first {
                marks.removeFirst()
                map.recordFlush(upTo: mark)
                model = model.filter { $0.value.seq > mark }
            }
        }
        #expect(map.unflushedCount == model.count)
        for l in stride(from: UInt64(1000), to: 41_000, by: 1) where map.isUnflushed(l) != (model[l] != nil) {
            Issue.record("LBA \(l): unflushed \(map.isUnflushed(l)), model \(model[l] != nil)")
            break
        }
        // A subrange and a merge back, and a save/load, keep the same set (and equal maps stay equal).
        let part = map.subrange(slba: 11_000, blocks: 20_000)
        #expect(part.unflushedCount == model.keys.filter { $0 >= 11_000 && $0 < 31_000 }.count)
        var whole = map
        whole.replaceRange(with: part)
        #expect(whole == map && whole.hashValue == map.hashValue)
        let loaded = try IntegrityMap(validating: map.serialized())
        #expect(loaded == map && loaded.unflushedCount == model.count)
        // After a power loss every LBA modified twice since its flush is forgotten, once: old-or-new.
        map.recordPowerLoss()
        #expect(map.unflushedCount == 0)
        for (l, m) in model.prefix(500) where m.several { #expect(map[l] == .unknown) }
    }

    @Test("with a volatile write cache, unflushed writes are old-or-new after a power loss; flushed ones stay exact")
    func unflushedWritesAreAmbiguousAfterPowerLoss() throws {
        var map = IntegrityMap(nsid: 1, blockSize: 512, blockCount: 16)
        map.volatileWriteCache = true
        map.recordWrite(slba: 0, blocks: 4, generation: 1)
        map.recordFlush(upTo: map.flushMark)
        #expect(map.unflushedCount == 0)
        map.recordWrite(slba: 1, blocks: 1, generation: 2)        // unflushed
        map.recordWrite(slba: 2, blocks: 1, generation: 3, fua: true)   // FUA: durable
        let mark = map.flushMark                                  // a Flush submitted here ...
        map.recordWrite(slba: 3, blocks: 1, generation: 4)        // ... does not cover this write
        map.recordWrite(slba: 5, blocks: 1, generation: 5)
        map.recordWrite(slba: 5, blocks: 1, generation: 6)        // twice before a flush
        map.recordFlush(upTo: mark)
        #expect(map.unflushedCount == 2)
        // The unflushed set survives a save and load (a power cycle between processes).
        map = try IntegrityMap(validating: map.serialized())
        map.recordPowerLoss()
        #expect(!map.isAmbiguous(0) && !map.isAmbiguous(1) && !map.isAmbiguous(2))
        #expect(map.isAmbiguous(3) && map.alternative(of: 3) == .written(generation: 1))
        #expect(map[5] == .unknown, "an LBA written twice since the flush may hold any of three contents")
        #expect(map.verify(try stamped(blocks: 1, slba: 3, generation: 1), slba: 3, blocks: 1) == nil, "old data is legal")
        #expect(map.verify(try stamped(blocks: 1, slba: 1, generation: 1), slba: 1, blocks: 1)?.kind
                == .staleGeneration(expected: 2, found: 1), "a flushed write must not be lost")
        #expect(map.verify(try stamped(blocks: 1, slba: 0, generation: 0), slba: 0, blocks: 1) != nil)
    }

    @Test("past unflushedLimit LBAs the map keeps no per-LBA record: a power loss before a covering Flush forgets it all")
    func unflushedOverflowIsConservative() throws {
        var map = IntegrityMap(nsid: 1, blockSize: 512, blockCount: 64)
        map.volatileWriteCache = true
        map.unflushedLimit = 4
        map.recordWrite(slba: 0, blocks: 8, generation: 1)
        #expect(map.unflushedCount == 4 && map.unflushedOverflow != nil)
        var flushed = map
        flushed.recordFlush(upTo: flushed.flushMark)
        #expect(flushed.unflushedOverflow == nil)
        flushed.recordPowerLoss()
        #expect(flushed[7] == .written(generation: 1))
        var restored = try IntegrityMap(validating: map.serialized())
        restored.unflushedLimit = 4
        #expect(restored == map)
        restored.recordPowerLoss()
        #expect(restored.summary.unknown == 64, "LBA 7 may have lost its write: nothing is trusted")
    }

    @Test("without a volatile write cache every completed write is exact after a power loss")
    func withoutACacheNothingIsAmbiguous() throws {
        var map = IntegrityMap(nsid: 1, blockSize: 512, blockCount: 8)
        map.recordWrite(slba: 0, blocks: 8, generation: 1)
        map.recordWrite(slba: 0, blocks: 8, generation: 2)
        map.recordPowerLoss()
        #expect(map.ambiguousCount == 0 && map.unflushedCount == 0)
        #expect(map[0] == .written(generation: 2))
    }

    @Test func subrangesMergeBackIntoTheWholeMap() {
        var whole = IntegrityMap(nsid: 1, blockSize: 512, blockCount: 100)
        whole.recordWrite(slba: 0, blocks: 100, generation: 1)
        var part = whole.subrange(slba: 50, blocks: 10)
        part.recordWrite(slba: 55, blocks: 2, generation: 4)
        whole.merge(part)
        #expect(whole[55] == .written(generation: 4))
        #expect(whole[54] == .written(generation: 1))
        #expect(whole.highestGeneration == 4)
    }
}
