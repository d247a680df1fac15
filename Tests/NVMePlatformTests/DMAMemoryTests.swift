import Testing
@testable import NVMePlatform

@Suite("IOVA allocator: first fit, alignment, reserved windows, coalescing")
struct IOVAAllocatorTests {
    @Test func allocationsAreAlignedAndDisjoint() throws {
        var a = IOVAAllocator(windows: [.init(start: 0, end: 1 << 32)])
        let ox = a.allocate(length: 4096, alignment: 4096)
        let oy = a.allocate(length: 2 << 20, alignment: 2 << 20)
        let oz = a.allocate(length: 8192)
        let x = try #require(ox), y = try #require(oy), z = try #require(oz)
        #expect(x != 0, "IOVA 0 is never handed out")
        #expect(y % (2 << 20) == 0)
        let ranges = [(x, 4096), (y, 2 << 20), (z, 8192)].map { ($0.0, $0.0 + UInt64($0.1)) }.sorted { $0.0 < $1.0 }
        for (p, q) in zip(ranges, ranges.dropFirst()) { #expect(p.1 <= q.0) }
    }

    @Test func msiWindowIsNeverHandedOut() throws {
        var a = IOVAAllocator(windows: [.init(start: 0xFED0_0000, end: 0xFF10_0000)])
        var got: [UInt64] = []
        while let x = a.allocate(length: 1 << 20, alignment: 1 << 20) { got.append(x) }
        #expect(got == [0xFED0_0000, 0xFF00_0000])
    }

    @Test func vfioInclusiveRangesAndHolesAreRespected() throws {
        // Two windows as VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE reports them (inclusive ends converted by the caller).
        var a = IOVAAllocator(windows: [.init(start: 0x1_0000_0000, end: 0x1_0000_4000), .init(start: 0x2_0000_0000, end: 0x2_0001_0000)],
                              reserved: [])
        let first = a.allocate(length: 0x4000), second = a.allocate(length: 0x1000), third = a.allocate(length: 0x10000)
        #expect(first == 0x1_0000_0000)
        #expect(second == 0x2_0000_0000, "the first window is full")
        #expect(third == nil, "does not fit in what is left")
    }

    @Test func releaseCoalescesNeighboursSoALargeRangeFitsAgain() throws {
        var a = IOVAAllocator(windows: [.init(start: 0x10000, end: 0x14000)], reserved: [])
        let r = (0..<4).compactMap { _ in a.allocate(length: 0x1000) }
        let fifth = a.allocate(length: 0x1000)
        #expect(r.count == 4 && fifth == nil)
        for x in [r[1], r[3], r[0], r[2]] { let ok = a.release(x); #expect(ok) }
        #expect(a.free == [.init(start: 0x10000, end: 0x14000)])
        let whole = a.allocate(length: 0x4000)
        #expect(whole == 0x10000)
    }

    @Test func releasingAnUnknownAddressChangesNothing() {
        var a = IOVAAllocator(windows: [.init(start: 0x10000, end: 0x20000)], reserved: [])
        let before = a
        let released = a.release(0x10000)
        #expect(!released)
        #expect(a == before)
    }
}

@Suite("/proc/self/pagemap entries (Documentation/admin-guide/mm/pagemap.rst)")
struct PagemapTests {
    @Test func presentEntryGivesPFNTimesPageSizePlusOffset() {
        let e = PagemapEntry(rawValue: 1 << 63 | 1 << 56 | 0x12345)
        #expect(e.present && e.exclusive && !e.swapped)
        #expect(e.pfn == 0x12345)
        #expect(e.physicalAddress(of: 0x7F00_0000_0ABC, pageSize: 4096) == 0x12345 * 4096 + 0xABC)
    }

    @Test func hiddenPFNNotPresentOrSwappedGiveNoAddress() {
        #expect(PagemapEntry(rawValue: 1 << 63).physicalAddress(of: 0x1000) == nil, "PFN 0: hidden without CAP_SYS_ADMIN")
        #expect(PagemapEntry(rawValue: 0x12345).physicalAddress(of: 0x1000) == nil, "not present")
        #expect(PagemapEntry(rawValue: 1 << 63 | 1 << 62 | 0x12345).physicalAddress(of: 0x1000) == nil, "swapped")
    }

    @Test func softDirtyAndFileBitsDoNotLeakIntoThePFN() {
        let e = PagemapEntry(rawValue: 1 << 63 | 1 << 61 | 1 << 55 | 0x7_FFFF_FFFF_FFFF)
        #expect(e.softDirty && e.fileOrShared)
        #expect(e.pfn == 0x7_FFFF_FFFF_FFFF)
    }
}

let hostIsRoot = HostFiles().isRoot
let freeHugepages = HostFiles().integer("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") ?? 0
let free1GHugepages = HostFiles().integer("/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages") ?? 0

@Suite("Hugepage DMA memory on this machine")
struct HugepageMemoryTests {
    @Test(.enabled(if: hostIsRoot, "pagemap PFNs need root (run swift test as root)"))
    func pagemapTranslatesLockedSmallPagesToDistinctFrames() throws {
        let dma = HugepageDMAAllocator(mapper: try PagemapMapper(), pageSize: .small)
        let r = try dma.allocate(length: 3 * 4096, alignment: 4096)
        let runs = r.busRuns(offset: 0, count: r.length)
        #expect(runs.reduce(0) { $0 + $1.length } == 3 * 4096)
        #expect(runs.allSatisfy { $0.address % 4096 == 0 && $0.address != 0 })
    }

    @Test(.enabled(if: hostIsRoot && freeHugepages >= 2, "needs root and 2 free 2 MiB hugepages (echo 16 > /proc/sys/vm/nr_hugepages)"))
    func hugepageRegionIsPhysicallyContiguousAndReleasedRegionsAreReused() throws {
        let dma = HugepageDMAAllocator(mapper: try PagemapMapper(), pageSize: .huge2M)
        var a: DMARegion? = try dma.allocate(length: 64 * 1024, alignment: 4096)
        let b = try dma.allocate(length: 512 * 1024, alignment: 4096)
        #expect(b.busRuns(offset: 0, count: b.length).count == 1, "inside one 2 MiB page: one bus run")
        #expect(dma.mappedBytes == 2 << 20, "both regions fit in one arena")
        let firstBus = a!.busAddress()
        a = nil
        let c = try dma.allocate(length: 64 * 1024, alignment: 4096)
        #expect(c.busAddress() == firstBus, "the freed range is handed out again")
        #expect(c.bytes(at: 0, count: 4096).allSatisfy { $0 == 0 }, "memory comes back zeroed")
        let report = try #require(dma.leakReport())
        #expect(report.hasPrefix("2 DMA region(s) never released"))
        _ = b
    }

    @Test(.enabled(if: free1GHugepages == 0, "this machine has free 1 GiB hugepages, so the failure cannot be provoked"))
    func missingHugepagesAreReportedWithTheCommandThatReservesThem() throws {
        let dma = HugepageDMAAllocator(mapper: HeapIdentityMapper(), pageSize: .huge1G)
        let error = #expect(throws: PlatformError.self) { try dma.allocate(length: 4096, alignment: 4096) }
        guard case .noHugepages(let bytes, let pageSize, let free, _) = error else {
            Issue.record("expected noHugepages, got \(String(describing: error))"); return
        }
        #expect(bytes == 1 << 30 && pageSize == 1 << 30 && free == 0)
        #expect(error?.description.contains("hugepages-1048576kB/nr_hugepages") == true)
    }
}

/// A mapper that reports host addresses as bus addresses (for allocator tests that never reach a device).
final class HeapIdentityMapper: DMAMapper, @unchecked Sendable {
    let name = "identity"
    func map(hostAddress: UInt, length: Int, pageSize: Int) throws -> [DMARegion.Segment] {
        [.init(offset: 0, busAddress: UInt64(hostAddress), length: length)]
    }
    func unmap(hostAddress: UInt, length: Int, segments: [DMARegion.Segment]) {}
}
