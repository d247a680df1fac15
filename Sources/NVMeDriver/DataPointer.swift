import NVMePlatform
import NVMeSpec

/// PRP entries for a data buffer — NVMe Base 2.0c §4.1.1: PRP1 may carry an offset; PRP2 is the second page when
/// the transfer touches exactly two pages, else the bus address of a PRP list (chained through its last entry when
/// one list page is not enough). The list pages are returned so the command can keep them alive.
public struct PRPDescriptor: Sendable {
    public var prp1: UInt64
    public var prp2: UInt64
    /// PRP list pages the command must keep alive until it completes.
    public var listPages: [DMARegion]
}

public enum DataPointer {
    /// A buffer whose device was closed has no bus address any more: pointing a command at it would let a device
    /// DMA to an address that now means something else.
    static func checkNotRevoked(_ buffer: Buffer) throws {
        if let reason = buffer.region.revocationReason {
            throw PlatformError.unsupported("this Buffer's DMA memory is no longer mapped for any device (\(reason)): "
                + "allocate a new Buffer from the open controller")
        }
    }

    /// PRP1/PRP2 (and list pages, allocated from `allocator`) for `buffer` with memory page size `pageSize`.
    public static func prp(for buffer: Buffer, pageSize: Int, allocator: any DMAAllocator) throws -> PRPDescriptor {
        try checkNotRevoked(buffer)
        return try prp(runs: buffer.busRuns, pageSize: pageSize, allocator: allocator)
    }

    /// The same from bus runs (address, length).
    public static func prp(runs: [(address: UInt64, length: Int)], pageSize: Int,
                           allocator: any DMAAllocator) throws -> PRPDescriptor {
        // CC.MPS: 2 ^ (12 + MPS), at least 4 KiB.
        guard pageSize >= 4096, pageSize & (pageSize - 1) == 0 else { throw PRPError.invalidPageSize(pageSize) }
        let ps = UInt64(pageSize)
        // Page-granular entries: the first may start inside a page, every later one starts on a page boundary.
        var entries: [UInt64] = []
        for run in runs where run.length > 0 {
            var addr = run.address
            let (end, overflow) = run.address.addingReportingOverflow(UInt64(run.length))
            if overflow {
                throw InvalidArgument(name: "run", value: "0x\(String(run.address, radix: 16)) + \(run.length)",
                                      valid: "a run ending below 2^64")
            }
            while addr < end {
                entries.append(addr)
                addr = (addr / ps + 1) * ps
            }
        }
        guard let first = entries.first else { return PRPDescriptor(prp1: 0, prp2: 0, listPages: []) }
        if entries.count == 1 { return PRPDescriptor(prp1: first, prp2: 0, listPages: []) }
        if entries.count == 2 { return PRPDescriptor(prp1: first, prp2: entries[1], listPages: []) }
        // A list: each page holds pageSize/8 entries; when more follow, the last slot points at the next page.
        let perPage = pageSize / 8
        var rest = Array(entries.dropFirst())
        var pages: [DMARegion] = []
        while !rest.isEmpty {
            let page = try allocator.allocate(length: pageSize, alignment: pageSize)
            let take = rest.count <= perPage ? rest.count : perPage - 1
            for i in 0..<take { page.store(rest[i], at: i * 8) }
            rest.removeFirst(take)
            if let prev = pages.last { prev.store(page.busAddress(), at: (perPage - 1) * 8) }
            pages.append(page)
        }
        return PRPDescriptor(prp1: first, prp2: pages[0].busAddress(), listPages: pages)
    }

    /// Fills PRP1/PRP2 of `sqe` for `buffer`; returns the regions the command must keep alive.
    public static func attach(_ buffer: Buffer, to sqe: inout SQE, pageSize: Int,
                              allocator: any DMAAllocator) throws -> [DMARegion] {
        let d = try prp(for: buffer, pageSize: pageSize, allocator: allocator)
        sqe.psdt = 0
        sqe.prp1 = d.prp1
        sqe.prp2 = d.prp2
        return [buffer.region] + d.listPages
    }

    /// Points `sqe` at `buffer` with SGL data block descriptors (PSDT = 01b): one descriptor when the buffer is
    /// bus-contiguous, else a Last Segment descriptor pointing at a list of data blocks. SGLs are for I/O commands.
    public static func attachSGL(_ buffer: Buffer, to sqe: inout SQE, allocator: any DMAAllocator) throws -> [DMARegion] {
        try checkNotRevoked(buffer)
        let runs = buffer.busRuns
        // An SGL Data Block descriptor's length is 32 bits.
        if let r = runs.first(where: { $0.length > Int(UInt32.max) }) {
            throw InvalidArgument(name: "buffer run length", value: r.length, valid: "0...\(UInt32.max) (split the buffer)")
        }
        sqe.psdt = 1
        if runs.count == 1 {
            sqe.sgl1 = .dataBlock(address: runs[0].address, length: UInt32(runs[0].length))
            return [buffer.region]
        }
        let seg = try allocator.allocate(length: max(4096, runs.count * 16), alignment: 4096)
        for (i, r) in runs.enumerated() {
            let d = SGLDescriptor.dataBlock(address: r.address, length: UInt32(r.length))
            seg.store(d.address, at: i * 16); seg.store(d.dword2, at: i * 16 + 8); seg.store(d.dword3, at: i * 16 + 12)
        }
        sqe.sgl1 = .lastSegment(address: seg.busAddress(), length: UInt32(runs.count * 16))
        return [buffer.region, seg]
    }
}
