import Testing
@testable import NVMeSpec

/// NVMeSpec's builders take raw wire values; the count conversions and index accessors never trap.
@Suite("Spec: counts convert to 0's based wire values without trapping")
struct SpecArgumentTests {
    @Test("SQE.nlb(blocks:) is blocks - 1 for 1...65536 and throws otherwise", arguments: [0, -1, 65537, Int.max, Int.min])
    func nlbFromCount(blocks: Int) throws {
        #expect(throws: InvalidArgument(name: "blocks", value: blocks, valid: "1...65536")) { try SubmissionQueueEntry.nlb(blocks: blocks) }
        #expect(try SubmissionQueueEntry.nlb(blocks: 1) == 0 && SubmissionQueueEntry.nlb(blocks: 65536) == 0xFFFF)
    }

    @Test("SQE.qsize(depth:) is depth - 1 for 1...65536 and throws otherwise", arguments: [0, -1, 65537])
    func qsizeFromDepth(depth: Int) throws {
        #expect(throws: InvalidArgument(name: "depth", value: depth, valid: "1...65536")) { try SubmissionQueueEntry.qsize(depth: depth) }
        #expect(try SubmissionQueueEntry.qsize(depth: 2) == 1 && SubmissionQueueEntry.qsize(depth: 65536) == 0xFFFF)
    }

    @Test("SQE dword access: dword(_:)/setDword throw outside 0...15; the subscript reads 0 and drops the write",
          arguments: [-1, 16, Int.max])
    func dwordIndex(i: Int) throws {
        var s = SubmissionQueueEntry(opcode: 2, nsid: 1)
        #expect(throws: InvalidArgument(name: "dword", value: i, valid: "0...15")) { try s.dword(i) }
        #expect(throws: InvalidArgument(name: "dword", value: i, valid: "0...15")) { try s.setDword(i, to: 7) }
        let before = s
        s[dword: i] = 0xFFFF_FFFF
        #expect(s == before && s[dword: i] == 0)
        try s.setDword(12, to: 0xFFFF)
        #expect(try s.dword(12) == 0xFFFF && s.nlb == 0xFFFF)
    }

    @Test("QueueRing throws for a size outside 2...65536; moving by a negative count does nothing", arguments: [0, 1, 65537])
    func ringSize(size: Int) throws {
        #expect(throws: InvalidArgument(name: "size", value: size, valid: "2...65536")) { try QueueRing(size: size) }
        var r = try QueueRing(size: 4)
        r.advanceTail(by: -3); r.advanceHead(by: -1)
        #expect(r.tail == 0 && r.head == 0)
        #expect(r.index(1, offsetBy: Int.max) == UInt16((1 + Int.max % 4) % 4))
    }

    @Test("numd(forByteCount:) rounds up without overflowing at Int.max")
    func numdNoOverflow() {
        #expect(SubmissionQueueEntry.numd(forByteCount: 4) == 0 && SubmissionQueueEntry.numd(forByteCount: 5) == 1)
        #expect(SubmissionQueueEntry.numd(forByteCount: Int.max) == UInt32(truncatingIfNeeded: (Int.max - 1) / 4))
    }

    @Test("structure accessors past the end read 0 and drop writes instead of trapping")
    func structureIndexOutOfRange() {
        var id = IdentifyController()
        #expect(id[psd: 40] == PowerStateDescriptor() && id[psd: -1] == PowerStateDescriptor())
        id[psd: 200] = PowerStateDescriptor()
        id.setLE(4094, UInt32.max)
        #expect(id.bytes.count == IdentifyController.size && id.le(4094, as: UInt16.self) == 0xFFFF)
        #expect(id.raw(4090, 10).count == 10 && id.ascii(-4, 8) == "")
        var ns = IdentifyNamespace()
        ns[lbaf: 1000] = LBAFormat(rawValue: 7)
        #expect(ns[lbaf: 1000].rawValue == 0 && ns[lbaf: -1].rawValue == 0)
    }

    @Test("PRP: runs past the top of the address space, a one-slot list page and a tiny page size throw or stay finite")
    func prpExtremes() throws {
        #expect(throws: PRPError.runPastAddressSpace(index: 0)) {
            try PRP.pageEntries([DMARun(busAddress: UInt64.max - 4095, length: 8192)], pageSize: 4096)
        }
        #expect(throws: PRPError.runPastAddressSpace(index: 1)) {
            try PRP.pageEntries([DMARun(busAddress: 0x1000, length: Int.max), DMARun(busAddress: 0x1000 + UInt64(Int.max), length: 4096)],
                                pageSize: 4096)
        }
        // A list page in the last qword of a page holds one entry: it cannot chain (this looped forever).
        #expect(throws: PRPError.listPageTooSmall(0x9FF8)) {
            try PRP.build(busAddress: 0x10000, length: 4 * 4096, pageSize: 4096) { _ in 0x9FF8 }
        }
        #expect(PRP.listPageCount(entryCount: 100, pageSize: 0) == 98)
        #expect(PRP.listPageCount(entryCount: Int.min, pageSize: 4096) == 0)
        #expect(SGL.segmentCount(elements: 5, descriptorsPerSegment: 0) == SGL.segmentCount(elements: 5, descriptorsPerSegment: 2))
    }

    @Test("bits(hi, lo) with hi below lo is an empty field, not a trap")
    func emptyBitField() {
        var x: UInt32 = 0xFFFF_FFFF
        #expect(x.bits(3, 7) == 0)
        x.setBits(3, 7, 0)
        #expect(x == 0xFFFF_FFFF)
    }
}
