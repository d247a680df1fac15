import Testing
@testable import NVMePlatform

@Suite("Buffer: patterns, slices, compare, hexdump, bus runs")
struct BufferTests {
    let dma = HeapDMAAllocator()

    @Test(arguments: [Buffer.Pattern.zeroes, .ones, .byte(0xA5), .random(seed: 7),
                      .lbaStamped(firstLBA: 100, lbaSize: 512, token: 0xC0FFEE)])
    func fillThenVerifySamePatternFindsNoDifference(pattern: Buffer.Pattern) throws {
        let b = try Buffer(count: 4096 + 13, from: dma)   // odd size: the tail is filled too
        try b.fill(.byte(0x5A))
        try b.fill(pattern)
        #expect(try b.verify(pattern) == nil)
    }

    @Test func constantPatternsWriteTheirByte() throws {
        let b = try Buffer(count: 64, from: dma)
        try b.fill(.ones)
        #expect(b.bytes == [UInt8](repeating: 0xFF, count: 64))
        try b.fill(.byte(0x3C))
        #expect(try b[17] == 0x3C)
        try b.fill(.zeroes)
        #expect(b.bytes.allSatisfy { $0 == 0 })
    }

    @Test func randomPatternIsReproducibleFromItsSeedAndDiffersAcrossSeeds() throws {
        let a = try Buffer(count: 1024, from: dma), b = try Buffer(count: 1024, from: dma)
        try a.fill(.random(seed: 42)); try b.fill(.random(seed: 42))
        #expect(a.compare(to: b) == nil)
        try b.fill(.random(seed: 43))
        let diff = try #require(a.compare(to: b))
        #expect(diff.differingBytes > 900)   // independent streams agree on ~1/256 of bytes
        #expect(Set(a.bytes).count > 200)
    }

    @Test func lbaStampCarriesTheLBAAndTokenInEachBlock() throws {
        let b = try Buffer(count: 4 * 512, from: dma)
        try b.fill(.lbaStamped(firstLBA: 0x1234, lbaSize: 512, token: 9))
        for block in 0..<4 {
            let s = try b.stamp(ofBlock: block, lbaSize: 512)
            #expect(s.lba == 0x1234 + UInt64(block))
            #expect(s.token == 9)
        }
        // A block from the wrong LBA is caught, and the diff points into that block.
        let wrong = try Buffer(count: 512, from: dma)
        try wrong.fill(.lbaStamped(firstLBA: 0x9999, lbaSize: 512, token: 9))
        try b.slice(offset: 1024, count: 512).write(wrong.bytes)
        let diff = try #require(try b.verify(.lbaStamped(firstLBA: 0x1234, lbaSize: 512, token: 9)))
        #expect(diff.firstOffset == 1024)
        #expect(diff.runs.allSatisfy { $0.offset >= 1024 && $0.offset + $0.length <= 1536 })
    }

    @Test func sliceSharesMemoryAndRestartsIndices() throws {
        let b = try Buffer(count: 8192, from: dma)
        let s = try b[4096..<4200]
        #expect(s.count == 104)
        try s.store(UInt8(0x77), at: 0)
        #expect(try b[4096] == 0x77)
        #expect(try s.busAddress() == b.busAddress(at: 4096))
        try s.store(UInt32(0x0102_0304), at: 4)
        #expect(try b.bytes(at: 4100, count: 4) == [4, 3, 2, 1])
        #expect(try s.slice(offset: 4, count: 4).load(at: 0, as: UInt32.self) == 0x0102_0304)
    }

    @Test func compareReportsRunsOffsetsAndBothSides() throws {
        let a = try Buffer(count: 64, from: dma), b = try Buffer(count: 64, from: dma)
        try a.fill(.zeroes); try b.fill(.zeroes)
        try a.store(UInt8(0xAB), at: 0x21); try a.store(UInt8(0xCD), at: 0x22); try a.store(UInt8(1), at: 0x30)
        let diff = try #require(a.compare(to: b))
        #expect(diff.runs == [.init(offset: 0x21, length: 2), .init(offset: 0x30, length: 1)])
        #expect(diff.differingBytes == 3)
        let text = diff.description
        #expect(text.contains("3 byte(s) differ"))
        #expect(text.contains("first at 0x21"))
        #expect(text.contains("00000020  expected 00 00 00"))
        #expect(text.contains("00000020  actual   00 ab cd"))
        #expect(text.contains("^^ ^^"))
    }

    @Test func compareFlagsLengthMismatch() throws {
        let a = try Buffer(count: 8, from: dma)
        let diff = try #require(a.compare(to: [0, 0, 0, 0]))
        #expect(diff.description.contains("lengths differ: expected 4, actual 8"))
    }

    @Test func hexdumpMatchesHexdumpCFormatAndCollapsesRepeats() throws {
        let b = try Buffer(count: 64, from: dma)
        try b.fill(.zeroes)
        try b.write(Array("NVMe".utf8), at: 0)
        let dump = b.hexdump().split(separator: "\n").map(String.init)
        #expect(dump[0] == "00000000  4e 56 4d 65 00 00 00 00  00 00 00 00 00 00 00 00  |NVMe............|")
        #expect(dump[1] == "00000010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|")
        #expect(dump[2] == "*")
        #expect(dump.last == "00000040")
    }

    @Test func busRunsFollowTheRegionSegmentsForPRPBuilding() throws {
        let scattered = try HeapDMAAllocator(layout: .scattered(chunk: 4096))
        let b = try Buffer(count: 3 * 4096, from: scattered)
        let runs = try b.slice(offset: 100, count: 8192).busRuns
        #expect(runs.count == 3)
        #expect(try runs[0].address == b.busAddress(at: 100))
        #expect(runs[0].length == 4096 - 100)
        #expect(runs.reduce(0) { $0 + $1.length } == 8192)
    }
}
