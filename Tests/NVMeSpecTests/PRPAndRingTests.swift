import Testing
@testable import NVMeSpec

@Suite("PRP, SGL and queue ring arithmetic")
struct PRPAndRingTests {
    let page = 4096

    func noList(_ i: Int) -> UInt64 { Issue.record("list page \(i) requested for a transfer that needs none"); return 0 }

    @Test("a buffer inside one page with an offset needs PRP1 only (Base §4.3.1)")
    func offsetInFirstPage() throws {
        let l = try PRP.build(busAddress: 0x10_0200, length: 512, pageSize: page, listPage: noList)
        #expect(l.prp1 == 0x10_0200 && l.prp2 == 0 && l.listPages.isEmpty)
    }

    @Test("exactly one aligned page needs PRP1 only; 4 KiB from an offset crosses into PRP2")
    func exactlyOnePage() throws {
        let l = try PRP.build(busAddress: 0x20_0000, length: 4096, pageSize: page, listPage: noList)
        #expect(l.prp1 == 0x20_0000 && l.prp2 == 0)
        let o = try PRP.build(busAddress: 0x20_0800, length: 4096, pageSize: page, listPage: noList)
        #expect(o.prp1 == 0x20_0800 && o.prp2 == 0x20_1000 && o.listPages.isEmpty)
    }

    @Test("two pages put the second page in PRP2, not a list (Base §4.3.1 Fig. 109)")
    func twoPages() throws {
        let l = try PRP.build(busAddress: 0x30_0000, length: 8192, pageSize: page, listPage: noList)
        #expect(l.prp1 == 0x30_0000 && l.prp2 == 0x30_1000 && l.listPages.isEmpty)
        // Two separate runs, page aligned.
        let runs = [DMARun(busAddress: 0x50_0000, length: 4096), DMARun(busAddress: 0x90_0000, length: 4096)]
        let r = try PRP.build(runs, pageSize: page, listPage: noList)
        #expect(r.prp1 == 0x50_0000 && r.prp2 == 0x90_0000)
    }

    @Test("three pages make PRP2 point to a list holding pages 2 and 3")
    func threePagesUseList() throws {
        let l = try PRP.build(busAddress: 0x40_0000, length: 3 * 4096, pageSize: page) { _ in 0x7000_0000 }
        #expect(l.prp1 == 0x40_0000 && l.prp2 == 0x7000_0000)
        #expect(l.listPages.count == 1 && l.listPages[0].entries == [0x40_1000, 0x40_2000])
        #expect(l.listPages[0].bytes.count == 16 && l.listPages[0].bytes[1] == 0x10 && l.listPages[0].bytes[2] == 0x40)
    }

    @Test("513 pages fill one list page exactly (512 entries); 514 chain into a second list (Base §4.3.1 Fig. 112)")
    func listBoundaryAndChain() throws {
        let slots = PRP.entriesPerListPage(pageSize: page)
        #expect(slots == 512)
        let exact = try PRP.build(busAddress: 0x100_0000, length: (slots + 1) * 4096, pageSize: page) { i in
            UInt64(0x8000_0000 + i * 4096)
        }
        #expect(exact.listPages.count == 1 && exact.listPages[0].entries.count == 512)
        #expect(exact.listPages[0].entries.last == UInt64(0x100_0000 + slots * 4096))
        #expect(PRP.listPageCount(entryCount: slots + 1, pageSize: page) == 1)

        let chained = try PRP.build(busAddress: 0x100_0000, length: (slots + 2) * 4096, pageSize: page) { i in
            UInt64(0x8000_0000 + i * 4096)
        }
        #expect(chained.listPages.count == 2)
        #expect(chained.prp2 == 0x8000_0000)
        // The first list holds 511 data pages, its last slot points to the second list.
        #expect(chained.listPages[0].entries.count == 512)
        #expect(chained.listPages[0].entries[510] == UInt64(0x100_0000 + 511 * 4096))
        #expect(chained.listPages[0].entries[511] == 0x8000_1000)
        #expect(chained.listPages[1].busAddress == 0x8000_1000)
        #expect(chained.listPages[1].entries == [UInt64(0x100_0000 + 512 * 4096), UInt64(0x100_0000 + 513 * 4096)])
        #expect(PRP.listPageCount(entryCount: slots + 2, pageSize: page) == 2)
    }

    @Test("listPageCount agrees with build for every size up to three chained lists")
    func listCountMatchesBuild() throws {
        for pages in [1, 2, 3, 512, 513, 514, 1023, 1024, 1025, 1535, 1536, 1537] {
            let l = try PRP.build(busAddress: 0, length: pages * 4096, pageSize: page) { UInt64(0x1_0000_0000 + $0 * 4096) }
            #expect(l.listPages.count == PRP.listPageCount(entryCount: pages, pageSize: page), "pages \(pages)")
            // Every data page appears exactly once across PRP1, PRP2/list entries (pointers excluded).
            let listPointers = Set(l.listPages.map(\.busAddress))
            let data = [l.prp1] + (l.listPages.isEmpty ? (l.prp2 == 0 ? [] : [l.prp2])
                                   : l.listPages.flatMap(\.entries).filter { !listPointers.contains($0) })
            #expect(data == (0..<pages).map { UInt64($0 * 4096) })
        }
    }

    @Test("a list page that starts mid-page holds fewer entries before chaining")
    func listPageWithOffset() throws {
        // Only 2 slots remain in the first list page (offset 4080).
        let l = try PRP.build(busAddress: 0, length: 5 * 4096, pageSize: page) { i in i == 0 ? 0x9000_0FF0 : 0xA000_0000 }
        #expect(l.listPages[0].entries == [0x1000, 0xA000_0000])
        #expect(l.listPages[1].entries == [0x2000, 0x3000, 0x4000])
    }

    @Test("runs that cannot be PRPs are rejected with the fix in the message")
    func badRuns() {
        #expect(throws: PRPError.runStartsMidPage(index: 1, busAddress: 0x5010)) {
            try PRP.build([DMARun(busAddress: 0x1000, length: 4096), DMARun(busAddress: 0x5010, length: 100)],
                          pageSize: 4096, listPages: [])
        }
        #expect(throws: PRPError.runEndsMidPage(index: 0, end: 0x1800)) {
            try PRP.build([DMARun(busAddress: 0x1000, length: 2048), DMARun(busAddress: 0x5000, length: 100)],
                          pageSize: 4096, listPages: [])
        }
        #expect(throws: PRPError.firstRunNotDwordAligned(0x1001)) {
            try PRP.build(busAddress: 0x1001, length: 10, pageSize: 4096) { _ in 0 }
        }
        #expect(throws: PRPError.invalidPageSize(3000)) { try PRP.pageEntries([], pageSize: 3000) }
        // Adjacent runs merge, so a split at a non-page boundary is fine when contiguous.
        #expect((try? PRP.build([DMARun(busAddress: 0x1000, length: 100), DMARun(busAddress: 0x1064, length: 8092)],
                                pageSize: 4096, listPages: []))?.prp2 == 0x2000)
    }

    @Test("SGL: one element goes in SGL1; several fit a Last Segment; more chain Segment → Last Segment (Base §4.3.2)")
    func sglChains() throws {
        let one = try SGL.build([.data(busAddress: 0x1000, length: 512)], descriptorsPerSegment: 256) { _ in 0 }
        #expect(one.sgl1.type == .dataBlock && one.sgl1.address == 0x1000 && one.segments.isEmpty)

        let few = try SGL.build([.data(busAddress: 0x1000, length: 512), .bitBucket(length: 512),
                                 .data(busAddress: 0x3000, length: 512)], descriptorsPerSegment: 256) { _ in 0xF000 }
        #expect(few.sgl1.type == .lastSegment && few.sgl1.address == 0xF000 && few.sgl1.length == 48)
        #expect(few.segments[0].descriptors.map(\.type) == [.dataBlock, .bitBucket, .dataBlock])

        // Capacity 3: 7 elements → seg0 [d0 d1 →seg1], seg1 [d2 d3 →last], seg2 [d4 d5 d6].
        let elems = (0..<7).map { SGLElement.data(busAddress: UInt64($0) * 0x1000, length: 4096) }
        let many = try SGL.build(elems, descriptorsPerSegment: 3) { UInt64(0xA0000 + $0 * 0x100) }
        #expect(many.sgl1.type == .segment && many.sgl1.length == 48)
        #expect(many.segments.count == 3 && SGL.segmentCount(elements: 7, descriptorsPerSegment: 3) == 3)
        #expect(many.segments[0].descriptors[2].type == .segment && many.segments[0].descriptors[2].address == 0xA0100)
        #expect(many.segments[1].descriptors[2].type == .lastSegment && many.segments[1].descriptors[2].length == 48)
        #expect(many.segments[2].descriptors.map(\.address) == [0x4000, 0x5000, 0x6000])
        var sqe = SubmissionQueueEntry.read(nsid: 1, slba: 0, nlb: 0)
        sqe.setDataPointer(many)
        #expect(sqe.psdt == 1 && sqe.sgl1 == many.sgl1)
    }

    @Test("ring: empty/full/count, wrap flips the phase (Base §3.3.1)")
    func ringWrapAndPhase() throws {
        var r = try QueueRing(size: 4)
        #expect(r.isEmpty && !r.isFull && r.freeSlots == 3 && r.phase)
        r.advanceTail(by: 3)
        #expect(r.isFull && r.count == 3 && r.tail == 3 && r.tailPhase)
        r.advanceTail()               // producer wraps to 0
        #expect(r.tail == 0 && !r.tailPhase)
        r.advanceHead(by: 3)
        #expect(r.head == 3 && r.phase)
        r.advanceHead()               // consumer wraps: expects phase 0 now
        #expect(r.head == 0 && !r.phase && r.isEmpty)
        r.advanceTail(by: 2)
        #expect(r.occupied == [0, 1])
        r.moveHead(to: 1)
        #expect(r.head == 1 && !r.phase && r.count == 1)
        r.moveHead(to: 0)             // 1 → 0 passes the end: three steps, one wrap
        #expect(r.head == 0 && r.phase)
        #expect(r.distance(from: 3, to: 1) == 2 && r.index(3, offsetBy: 2) == 1)
        #expect(r.isValidIndex(3) && !r.isValidIndex(4))
    }
}
