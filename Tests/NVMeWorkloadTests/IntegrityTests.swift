import NVMePlatform
import NVMeWorkload
import Testing

@Suite("Per-LBA integrity map and block stamps")
struct IntegrityTests {
    let allocator = HeapDMAAllocator()

    func stamped(blocks: Int, blockSize: Int = 512, slba: UInt64, generation: UInt32) throws -> Buffer {
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
        map.recordWrite(slba: 0, blocks: 4, generation: 1)
        map.recordZeroes(slba: 0, blocks: 2)
        map.recordDeallocate(slba: 2, blocks: 2)
        #expect(map[0] == .zeroed)
        #expect(map[2] == .deallocated)
        let zeroes = try Buffer(count: 4 * 512, from: allocator)
        #expect(map.verify(zeroes, slba: 0, blocks: 4) == nil)
        let ones = try Buffer(count: 512, from: allocator)
        try ones.fill(.ones)
        #expect(map.verify(ones, slba: 2, blocks: 1) == nil, "a deallocated LBA may read as ones (DLFEAT 010b)")
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
