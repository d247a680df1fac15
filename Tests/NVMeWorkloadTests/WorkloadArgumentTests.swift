import Testing
@testable import NVMeWorkload

/// Public NVMeWorkload helpers given nonsense throw or stay in range; before, these trapped the test binary.
@Suite("Workload helpers: bad arguments do not trap")
struct WorkloadArgumentTests {
    @Test("WeightedTable with no positive weight throws instead of trapping", arguments: [[Int](), [0], [0, -5]])
    func weightedTableWithoutWeights(weights: [Int]) {
        #expect(throws: WorkloadConfigurationError.self) { try WeightedTable(weights.map { ("x", $0) }) }
    }

    @Test("WeightedTable: a bad slot count throws; weights near Int.max do not overflow the sum")
    func weightedTableExtremes() throws {
        #expect(throws: WorkloadConfigurationError.self) { try WeightedTable([(1, 1)], slots: 0) }
        let t = try WeightedTable([(1, Int.max), (2, Int.max)])
        var rng = WorkloadRandom(seed: 3)
        var seen = Set<Int>()
        for _ in 0..<1000 { seen.insert(t.sample(&rng)) }
        #expect(seen == [1, 2])
    }

    @Test("AddressGenerator: a region at the top of the LBA space, a negative or huge IO size stay inside the region")
    func addressGeneratorExtremes() {
        var rng = WorkloadRandom(seed: 9)
        var top = AddressGenerator(regionStart: .max, regionEnd: .max, randomPercent: 0)
        #expect(top.regionStart < top.regionEnd)
        #expect(top.next(blocks: 1, &rng) == top.regionStart)
        var g = AddressGenerator(regionStart: 100, regionEnd: 200, randomPercent: 0)
        #expect(g.next(blocks: -4, &rng) == 100)
        #expect(g.next(blocks: Int.max, &rng) == 100)
        var r = AddressGenerator(regionStart: 100, regionEnd: 200, randomPercent: 100)
        for _ in 0..<100 { #expect((100..<200).contains(r.next(blocks: Int.max, &rng))) }
    }
}
