import Testing
@testable import NVMePlatform

@Suite("HeapDMAAllocator: simulated bus addresses, guard gaps, translation, leak report")
struct HeapDMAAllocatorTests {
    @Test func busAddressesArePageAlignedAboveBaseAndDoNotOverlap() throws {
        let dma = HeapDMAAllocator()
        let regions = try [100, 4096, 3 * 4096 + 1, 8192].map { try dma.allocate(length: $0, alignment: 4096) }
        var previousEnd: UInt64 = 0
        for r in regions {
            let bus = r.busAddress()
            #expect(bus >= HeapDMAAllocator.defaultBase)
            #expect(bus % 4096 == 0)
            #expect(bus > previousEnd, "regions must not touch: a gap keeps an overrun detectable")
            previousEnd = bus + UInt64(r.length)
        }
    }

    @Test func largerAlignmentIsHonouredOnTheBus() throws {
        let dma = HeapDMAAllocator()
        _ = try dma.allocate(length: 4096, alignment: 4096)
        let r = try dma.allocate(length: 4096, alignment: 1 << 16)
        #expect(r.busAddress() % (1 << 16) == 0)
    }

    @Test func translationFindsTheSameHostBytesTheRegionHolds() throws {
        let dma = HeapDMAAllocator()
        let r = try dma.allocate(length: 8192, alignment: 4096)
        r.store(UInt32(0xDEAD_BEEF), at: 4100)
        let p = dma.hostPointer(bus: r.busAddress(at: 4100), length: 4)
        #expect(p == r.unsafeBaseAddress + 4100)
        #expect(dma.faults == 0)
    }

    @Test func dmaPastTheRegionOrIntoTheGapIsAFault() throws {
        let dma = HeapDMAAllocator()
        let r = try dma.allocate(length: 4096, alignment: 4096)
        let next = try dma.allocate(length: 4096, alignment: 4096)
        let end = r.busAddress() + 4096
        #expect(dma.hostPointer(bus: end - 8, length: 16) == nil)     // straddles the end
        #expect(dma.hostPointer(bus: end, length: 1) == nil)          // first gap byte
        #expect(dma.hostPointer(bus: next.busAddress() - 1, length: 1) == nil)
        #expect(dma.hostPointer(bus: 0, length: 4) == nil)
        #expect(dma.faults == 4)
        #expect(dma.lastFault == 0)
    }

    @Test func releasedRegionIsUnmappedAndLeavesTheLeakReport() throws {
        let dma = HeapDMAAllocator()
        var r: DMARegion? = try dma.allocate(length: 4096, alignment: 4096)
        let kept = try dma.allocate(length: 512, alignment: 4096)
        let bus = r!.busAddress()
        #expect(dma.liveRegions == 2)
        r = nil
        #expect(dma.liveRegions == 1)
        #expect(dma.hostPointer(bus: bus, length: 4) == nil, "use after free must fault, not read freed memory")
        let report = try #require(dma.leakReport())
        #expect(report.contains("512 bytes"))
        #expect(report.contains(String(kept.busAddress(), radix: 16)))
    }

    @Test func noLeakReportWhenEverythingWasReleased() throws {
        let dma = HeapDMAAllocator()
        do { _ = try dma.allocate(length: 4096, alignment: 4096) }
        #expect(dma.leakReport() == nil)
    }

    @Test func scatteredLayoutGivesEachChunkItsOwnBusRun() throws {
        let dma = try HeapDMAAllocator(layout: .scattered(chunk: 4096))
        let r = try dma.allocate(length: 3 * 4096, alignment: 4096)
        let runs = r.busRuns(offset: 0, count: r.length)
        #expect(runs.count == 3)
        #expect(runs.allSatisfy { $0.length == 4096 })
        // Bytes on both sides of a chunk boundary translate to their own host bytes.
        #expect(dma.hostPointer(bus: r.busAddress(at: 4096), length: 4096) == r.unsafeBaseAddress + 4096)
        #expect(dma.hostPointer(bus: r.busAddress(at: 4095), length: 2) == nil)
    }

    @Test func memoryIsZeroFilled() throws {
        let dma = HeapDMAAllocator()
        let r = try dma.allocate(length: 4096, alignment: 4096)
        #expect(r.bytes(at: 0, count: 4096).allSatisfy { $0 == 0 })
    }
}
