import NVMeSpec
import CNUMA
import CNVMeShim
import Synchronization
import SystemPackage

/// Makes host memory reachable by a device and says at which bus addresses: VFIO type1 maps it into the IOMMU at
/// an allocated IOVA; no-IOMMU and UIO look the physical address up in `/proc/self/pagemap`.
public protocol DMAMapper: AnyObject, Sendable {
    /// `vfio` IOVA, or `physical`.
    var name: String { get }
    /// Maps `[hostAddress, hostAddress + length)` (page aligned, pinned) and returns its bus runs; segment offsets are
    /// relative to `hostAddress`. `pageSize` is the size of the pages backing it (physically contiguous units).
    func map(hostAddress: UInt, length: Int, pageSize: Int) throws -> [DMARegion.Segment]
    func unmap(hostAddress: UInt, length: Int, segments: [DMARegion.Segment])
}

/// Bus address = physical address, from `/proc/self/pagemap` (needs CAP_SYS_ADMIN: PFNs read as 0 otherwise).
/// The memory must stay pinned: hugepages are never migrated, and `HugepageDMAAllocator` locks its pages.
public final class PagemapMapper: DMAMapper, @unchecked Sendable {
    public let name = "physical"
    private let fd: Int32

    public init(path: String = "/proc/self/pagemap") throws {
        let fd = nvmekit_open(path, 0)
        guard fd >= 0 else {
            if fd == -Errno.permissionDenied.rawValue { throw PlatformError.notRoot(operation: "Reading physical addresses", path: path) }
            throw PlatformError.system(what: "opening \(path)", errno: Errno(rawValue: -fd))
        }
        self.fd = fd
    }
    deinit { _ = nvmekit_close(fd) }

    /// Physical address of one virtual address.
    public func physicalAddress(of address: UInt) throws -> UInt64 {
        var raw: UInt64 = 0
        let r = nvmekit_pagemap_entry(fd, address, &raw)
        guard r == 0 else { throw PlatformError.system(what: "reading /proc/self/pagemap", errno: Errno(rawValue: -r)) }
        let e = PagemapEntry(rawValue: raw)
        guard let pa = e.physicalAddress(of: address, pageSize: nvmekit_page_size()) else {
            if e.present && e.pfn == 0 { throw PlatformError.physicalAddressesHidden }
            throw PlatformError.unsupported("page at 0x\(String(address, radix: 16)) is not resident (pagemap 0x\(String(raw, radix: 16))); "
                + "DMA memory must be locked before its address is looked up")
        }
        return pa
    }

    public func map(hostAddress: UInt, length: Int, pageSize: Int) throws -> [DMARegion.Segment] {
        var segments: [DMARegion.Segment] = []
        var offset = 0
        while offset < length {
            let pa = try physicalAddress(of: hostAddress + UInt(offset))
            let n = min(pageSize, length - offset)
            if let last = segments.last, last.busAddress + UInt64(last.length) == pa {
                segments[segments.count - 1].length += n
            } else {
                segments.append(.init(offset: offset, busAddress: pa, length: n))
            }
            offset += n
        }
        return segments
    }

    public func unmap(hostAddress: UInt, length: Int, segments: [DMARegion.Segment]) {}
}

/// Pinned DMA memory from hugepages (2 MiB by default, 1 GiB when reserved), NUMA-local when a node is given,
/// carved into regions. Each arena of hugepages is mapped for the device once (`DMAMapper`) and sits between
/// inaccessible guard reservations, so a CPU overrun faults instead of corrupting a neighbour. `leakReport()` lists
/// the regions still alive at teardown.
public final class HugepageDMAAllocator: DMAAllocator, @unchecked Sendable {
    public enum PageSize: Int, Sendable, CaseIterable {
        case small = 4096
        case huge2M = 2_097_152
        case huge1G = 1_073_741_824
        var shift: Int32 { self == .small ? 0 : (self == .huge2M ? 21 : 30) }
    }

    private struct Arena {
        var reservation: UInt          // start of the PROT_NONE reservation (guards included)
        var reservationLength: Int
        var base: UInt                 // first byte of the hugepages
        var length: Int
        var segments: [DMARegion.Segment]
        var space: IOVAAllocator       // offsets inside the arena
    }
    private struct Live: Sendable { var arena: Int; var offset: UInt64; var length: Int; var bus: UInt64 }
    private struct State { var arenas: [Arena] = []; var live: [Int: Live] = [:]; var serial = 0; var unmapped = false }

    public let pageSize: PageSize
    public let numaNode: Int?
    public let mapper: any DMAMapper
    private let files: any SystemFiles
    private let state = Mutex(State())
    /// Revoked by `revoke(reason:)`; every region this allocator handed out shares it.
    public let revocation = DMARevocation()

    public init(mapper: any DMAMapper, pageSize: PageSize = .huge2M, numaNode: Int? = nil,
                files: any SystemFiles = HostFiles()) {
        self.mapper = mapper; self.pageSize = pageSize; self.numaNode = numaNode; self.files = files
    }

    deinit {
        let (arenas, unmapped) = state.withLock { ($0.arenas, $0.unmapped) }
        for a in arenas {
            if !unmapped { mapper.unmap(hostAddress: a.base, length: a.length, segments: a.segments) }
            _ = nvmekit_munmap(nvmekit_pointer(a.reservation), a.reservationLength)
        }
    }

    /// Ends every device mapping now, although regions may still be alive: the IOMMU mappings go (VFIO type1), the
    /// regions are marked revoked (`DMARegion.isRevoked`, building a command on one throws) and `allocate` throws.
    /// The memory itself stays mapped in the process until the last region and the allocator are gone, so a
    /// `Buffer` kept past its device's `close()` reads and writes harmlessly. Called by the device's `close()`,
    /// after the function can no longer DMA. Idempotent.
    public func revoke(reason: String) {
        revocation.revoke(reason: reason)
        let arenas: [Arena] = state.withLock { s in
            if s.unmapped { return [] }
            s.unmapped = true
            return s.arenas
        }
        for a in arenas { mapper.unmap(hostAddress: a.base, length: a.length, segments: a.segments) }
    }

    private func hugepageCounts() -> (free: Int, total: Int) {
        let dir = "/sys/kernel/mm/hugepages/hugepages-\(pageSize.rawValue / 1024)kB"
        return (files.integer(dir + "/free_hugepages") ?? 0, files.integer(dir + "/nr_hugepages") ?? 0)
    }

    /// Maps a new arena of at least `bytes`.
    private func makeArena(bytes: Int) throws -> Arena {
        let ps = pageSize.rawValue
        let length = max(ps, (bytes + ps - 1) / ps * ps)
        let reservationLength = length + 3 * ps
        var err: Int32 = 0
        guard let res = nvmekit_mmap_reserve(reservationLength, &err) else {
            throw PlatformError.system(what: "reserving \(formatBytes(reservationLength)) of address space", errno: Errno(rawValue: err))
        }
        let resAddr = nvmekit_address(res)
        let base = (resAddr + UInt(ps) - 1) / UInt(ps) * UInt(ps) + UInt(ps)   // one guard page-size below
        guard nvmekit_mmap_anonymous_at(nvmekit_pointer(base), length, pageSize.shift, 0, &err) != nil else {
            _ = nvmekit_munmap(res, reservationLength)
            if pageSize != .small && (err == Errno.noMemory.rawValue || err == Errno.invalidArgument.rawValue) {
                let c = hugepageCounts()
                throw PlatformError.noHugepages(bytes: length, pageSize: ps, free: c.free, total: c.total)
            }
            throw PlatformError.system(what: "mapping \(formatBytes(length)) of DMA memory", errno: Errno(rawValue: err))
        }
        if let node = numaNode, numa_available() >= 0 {
            numa_tonode_memory(nvmekit_pointer(base), length, Int32(node))
        }
        let lr = nvmekit_mlock(nvmekit_pointer(base), length)
        guard lr == 0 else {
            _ = nvmekit_munmap(res, reservationLength)
            if pageSize != .small && lr == -Errno.noMemory.rawValue {
                let c = hugepageCounts()
                throw PlatformError.noHugepages(bytes: length, pageSize: ps, free: c.free, total: c.total)
            }
            throw PlatformError.system(what: "locking \(formatBytes(length)) of DMA memory (raise the limit: `ulimit -l unlimited`)",
                                       errno: Errno(rawValue: -lr))
        }
        let segments: [DMARegion.Segment]
        do { segments = try mapper.map(hostAddress: base, length: length, pageSize: ps) } catch {
            _ = nvmekit_munmap(res, reservationLength)
            throw error
        }
        return Arena(reservation: resAddr, reservationLength: reservationLength, base: base, length: length,
                     segments: segments, space: IOVAAllocator(windows: [.init(start: 0, end: UInt64(length))], reserved: []))
    }

    public func allocate(length: Int, alignment: Int = 4096) throws -> DMARegion {
        try DMAArguments.check(length: length, alignment: alignment)
        let size = UInt64(max(4096, (length + 4095) / 4096 * 4096))
        let align = UInt64(max(4096, alignment))
        // IOVAAllocator never hands out offset 0 (a guard against zero bus addresses); arenas use offsets from 0x1000,
        // so ask for the size plus nothing extra but let the carve start at the first page.
        let (serial, arenaIndex, offset, arena): (Int, Int, UInt64, Arena) = try state.withLock { s in
            if s.unmapped {
                throw PlatformError.unsupported("no DMA memory after the device was closed (\(revocation.reason ?? "closed")): open it again")
            }
            for i in s.arenas.indices {
                if let o = s.arenas[i].space.allocate(length: size, alignment: align) {
                    s.serial += 1
                    return (s.serial, i, o, s.arenas[i])
                }
            }
            var a = try makeArena(bytes: Int(size) + Int(align) + 4096)
            guard let o = a.space.allocate(length: size, alignment: align) else {
                throw PlatformError.unsupported("DMA arena of \(a.length) bytes cannot hold \(size) bytes aligned to \(align)")
            }
            s.arenas.append(a)
            s.serial += 1
            return (s.serial, s.arenas.count - 1, o, a)
        }
        // Bus runs of [offset, offset+length) inside the arena.
        var segs: [DMARegion.Segment] = []
        let start = Int(offset), end = Int(offset) + max(length, 1)
        for seg in arena.segments where seg.offset < end && seg.offset + seg.length > start {
            let lo = max(seg.offset, start), hi = min(seg.offset + seg.length, end)
            segs.append(.init(offset: lo - start, busAddress: seg.busAddress + UInt64(lo - seg.offset), length: hi - lo))
        }
        state.withLock { $0.live[serial] = Live(arena: arenaIndex, offset: offset, length: length, bus: segs[0].busAddress) }
        let region = DMARegion(base: nvmekit_pointer(arena.base + UInt(offset))!, length: length, segments: segs,
                               revocation: revocation) { [self] in
            state.withLock { s in
                s.live[serial] = nil
                s.arenas[arenaIndex].space.release(offset)
            }
        }
        region.fill(0)
        return region
    }

    public var liveRegions: Int { state.withLock { $0.live.count } }

    /// Bytes mapped for DMA (all arenas).
    public var mappedBytes: Int { state.withLock { $0.arenas.reduce(0) { $0 + $1.length } } }

    /// nil when every region was released, else one line per region still alive.
    public func leakReport() -> String? {
        let live = state.withLock { $0.live.sorted { $0.key < $1.key } }
        guard !live.isEmpty else { return nil }
        return "\(live.count) DMA region(s) never released:\n" + live.map {
            "  region #\($0.key): \($0.value.length) bytes at bus 0x\(String($0.value.bus, radix: 16))"
        }.joined(separator: "\n")
    }
}
