import Foundation
import NVMeWorkload
import Testing

@Suite("IO size, op mix and address distributions")
struct DistributionTests {
    @Test func weightedSizesAppearInProportionToTheirWeights() throws {
        let d = IOSizeDistribution.weighted([.init(blocks: 8, weight: 70), .init(blocks: 64, weight: 20), .init(blocks: 256, weight: 10)])
        let table = try WeightedTable(d.entries.map { ($0.blocks, $0.weight) })
        var rng = WorkloadRandom(seed: 42)
        var counts: [Int: Int] = [:]
        let n = 200_000
        for _ in 0..<n { counts[table.sample(&rng), default: 0] += 1 }
        #expect(Set(counts.keys) == [8, 64, 256])
        for e in d.entries {
            let share = Double(counts[e.blocks]!) / Double(n)
            #expect(abs(share - Double(e.weight) / 100) < 0.01, "size \(e.blocks): \(share)")
        }
    }

    @Test func listSizesAreEquallyLikely() throws {
        let d = IOSizeDistribution.list([1, 8, 32, 128])
        let table = try WeightedTable(d.entries.map { ($0.blocks, $0.weight) })
        var rng = WorkloadRandom(seed: 7)
        var counts: [Int: Int] = [:]
        for _ in 0..<100_000 { counts[table.sample(&rng), default: 0] += 1 }
        for s in [1, 8, 32, 128] { #expect(abs(Double(counts[s]!) / 100_000 - 0.25) < 0.01) }
    }

    @Test func opMixProducesEveryOperationAtItsWeight() throws {
        let mix = try OperationMix.parse("read:50,write:30,trim:5,flush:5,write-zeroes:4,compare:3,verify:3")
        let table = try WeightedTable(mix.active.map { ($0, mix.weights[$0]!) })
        var rng = WorkloadRandom(seed: 1)
        var counts: [WorkloadOperation: Int] = [:]
        let n = 200_000
        for _ in 0..<n { counts[table.sample(&rng), default: 0] += 1 }
        for op in WorkloadOperation.allCases {
            let share = Double(counts[op] ?? 0) / Double(n)
            #expect(abs(share - Double(mix.weights[op]!) / 100) < 0.01, "\(op): \(share)")
        }
    }

    @Test func theSameSeedGivesTheSameSequence() {
        var a = WorkloadRandom(seed: 99), b = WorkloadRandom(seed: 99), c = WorkloadRandom(seed: 100)
        let x = (0..<16).map { _ in a.next() }
        #expect(x == (0..<16).map { _ in b.next() })
        #expect(x != (0..<16).map { _ in c.next() })
    }

    @Test func sizesParseFromBlocksBytesListsAndWeights() throws {
        #expect(try IOSizeDistribution.parse("8", blockSize: 512) == .fixed(8))
        #expect(try IOSizeDistribution.parse("4k", blockSize: 512) == .fixed(8))
        #expect(try IOSizeDistribution.parse("4k,128k", blockSize: 4096) == .list([1, 32]))
        #expect(try IOSizeDistribution.parse("4k:70,64k:30", blockSize: 512)
                == .weighted([.init(blocks: 8, weight: 70), .init(blocks: 128, weight: 30)]))
        #expect(throws: WorkloadConfigurationError.self) { try IOSizeDistribution.parse("3k", blockSize: 4096) }
        #expect(throws: WorkloadConfigurationError.self) { try IOSizeDistribution.parse("abc", blockSize: 512) }
        #expect(throws: WorkloadConfigurationError.self) { try OperationMix.parse("read:50,erase:50") }
        #expect(IOSizeDistribution.fixed(300).validate(maxTransferBlocks: 256).count == 1)
    }

    @Test func randomAddressesAreAlignedAndStayInsideTheRegion() {
        var g = AddressGenerator(regionStart: 1000, regionEnd: 5000, alignment: 8, randomPercent: 100)
        var rng = WorkloadRandom(seed: 3)
        var seen = Set<UInt64>()
        for _ in 0..<50_000 {
            let lba = g.next(blocks: 16, &rng)
            #expect(lba >= 1000 && lba + 16 <= 5000)
            #expect((lba - 1000) % 8 == 0)
            seen.insert(lba)
        }
        #expect(seen.count == (5000 - 1000 - 16) / 8 + 1, "every aligned slot is reachable")
    }

    @Test func sequentialAddressesFollowEachOtherAndWrapAtTheRegionEnd() {
        var g = AddressGenerator(regionStart: 10, regionEnd: 50, alignment: 1, randomPercent: 0)
        var rng = WorkloadRandom(seed: 3)
        let lbas = (0..<6).map { _ in g.next(blocks: 8, &rng) }
        #expect(lbas == [10, 18, 26, 34, 42, 10])
    }

    @Test func randomPercentageSplitsRandomAndSequentialIOs() {
        var g = AddressGenerator(regionStart: 0, regionEnd: 1 << 30, alignment: 1, randomPercent: 30)
        var rng = WorkloadRandom(seed: 5)
        var previousEnd: UInt64 = 0
        var sequential = 0
        let n = 100_000
        for _ in 0..<n {
            let lba = g.next(blocks: 1, &rng)
            if lba == previousEnd { sequential += 1 }
            previousEnd = lba + 1
        }
        #expect(abs(Double(sequential) / Double(n) - 0.70) < 0.01)
    }
}
