import CNVMeShim
import Glibc
import Synchronization
import Testing
@testable import NVMePlatform

/// Counts map/unmap calls, as the VFIO type1 mapper would issue VFIO_IOMMU_MAP_DMA / UNMAP_DMA.
final class CountingMapper: DMAMapper, @unchecked Sendable {
    let name = "counting"
    let unmapped = Mutex<[UInt]>([])
    func map(hostAddress: UInt, length: Int, pageSize: Int) throws -> [DMARegion.Segment] {
        [.init(offset: 0, busAddress: UInt64(hostAddress), length: length)]
    }
    func unmap(hostAddress: UInt, length: Int, segments: [DMARegion.Segment]) {
        unmapped.withLock { $0.append(hostAddress) }
    }
}

@Suite("Closing a device revokes its DMA memory although Buffers are still alive")
struct DMARevocationTests {
    @Test("revoke unmaps every arena once, marks live regions revoked, keeps their memory usable, refuses new regions")
    func revokeWhileBuffersLive() throws {
        let mapper = CountingMapper()
        var dma: HugepageDMAAllocator? = HugepageDMAAllocator(mapper: mapper, pageSize: .small)
        let buffer = try Buffer(count: 8192, from: dma!)
        try buffer.fill(.byte(0xA5))
        #expect(!buffer.region.isRevoked)
        dma!.revoke(reason: "test device was closed")
        #expect(mapper.unmapped.withLock { $0.count } == 1, "the IOMMU mapping goes at close, not when the last Buffer goes")
        #expect(buffer.region.isRevoked)
        #expect(buffer.region.revocationReason?.contains("test device was closed") == true)
        #expect(try buffer.verify(.byte(0xA5)) == nil, "the memory stays mapped in the process")
        try buffer.fill(.zeroes)
        #expect(throws: PlatformError.self) { _ = try Buffer(count: 4096, from: dma!) }
        dma!.revoke(reason: "again")
        dma = nil
        #expect(mapper.unmapped.withLock { $0.count } == 1, "no second unmap when the allocator goes")
        #expect(try buffer.verify(.zeroes) == nil)
    }
}

@Suite("OwnedDescriptor and JoinableThread")
struct OwnedDescriptorTests {
    @Test("a closed owner refuses calls with EBADF instead of using a recycled number")
    func closedOwnerRefuses() throws {
        let fd = nvmekit_eventfd_create(1)
        #expect(fd >= 0)
        let owner = OwnedDescriptor(fd, name: "test eventfd")
        #expect(owner.call { nvmekit_eventfd_signal($0) } == 0)
        owner.close()
        #expect(!owner.isOpen)
        // The number is free again: the next descriptor may get it; the owner must not touch it.
        let reused = nvmekit_eventfd_create(1)
        defer { _ = nvmekit_close(reused) }
        #expect(owner.call { nvmekit_eventfd_signal($0) } < 0)
        var v: UInt64 = 0
        #expect(nvmekit_eventfd_read(reused, &v) != 0 || v == 0, "the owner signalled a descriptor it no longer owns")
        owner.close()   // idempotent
    }

    @Test("join waits until the thread body has returned")
    func joinWaits() throws {
        let done = Mutex(false)
        let t = try #require(JoinableThread {
            for _ in 0..<1000 { sched_yield() }
            done.withLock { $0 = true }
        })
        t.join()
        #expect(done.withLock { $0 })
        t.join()
    }
}
