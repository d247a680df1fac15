/// Hands out I/O virtual address ranges inside the windows an IOMMU accepts (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE),
/// first fit, aligned, with freed ranges coalesced. Also used to carve hugepage arenas into DMA regions.
/// Pure bookkeeping: no syscalls.
public struct IOVAAllocator: Sendable, Hashable {
    /// A half-open range `[start, end)`.
    public struct Range: Sendable, Hashable, CustomStringConvertible {
        public var start: UInt64
        public var end: UInt64
        public init(start: UInt64, end: UInt64) { self.start = start; self.end = end }
        public var length: UInt64 { end - start }
        public var description: String { "0x\(String(start, radix: 16))..<0x\(String(end, radix: 16))" }
    }

    /// Free ranges, sorted, non-overlapping, non-adjacent.
    public private(set) var free: [Range]
    /// Allocated ranges by start.
    public private(set) var allocated: [UInt64: UInt64] = [:]

    /// The x86 interrupt (MSI) window, which an IOMMU never maps for DMA.
    public static let x86MSIWindow = Range(start: 0xFEE0_0000, end: 0xFF00_0000)

    /// `windows` are the usable ranges (inclusive ends as VFIO reports them are converted by the caller);
    /// `reserved` ranges are cut out of them. Address 0 is never handed out, so a zero bus address is always a bug.
    public init(windows: [Range], reserved: [Range] = [IOVAAllocator.x86MSIWindow]) {
        var ranges = windows.filter { $0.end > $0.start }.sorted { $0.start < $1.start }
        for r in reserved + [Range(start: 0, end: 0x1000)] {
            ranges = ranges.flatMap { w -> [Range] in
                if r.end <= w.start || r.start >= w.end { return [w] }
                var parts: [Range] = []
                if r.start > w.start { parts.append(Range(start: w.start, end: r.start)) }
                if r.end < w.end { parts.append(Range(start: r.end, end: w.end)) }
                return parts
            }
        }
        free = ranges
    }

    /// The first `length` bytes aligned to `alignment` that fit, or nil when the space is exhausted or the request
    /// is not one (`length` 0, `alignment` not a power of two).
    public mutating func allocate(length: UInt64, alignment: UInt64 = 4096) -> UInt64? {
        guard length > 0, alignment > 0, alignment & (alignment - 1) == 0 else { return nil }
        for (i, r) in free.enumerated() {
            let (sum, overflow) = r.start.addingReportingOverflow(alignment - 1)
            if overflow { continue }
            let start = sum & ~(alignment - 1)
            guard start < r.end, r.end - start >= length else { continue }
            var replacement: [Range] = []
            if start > r.start { replacement.append(Range(start: r.start, end: start)) }
            if start + length < r.end { replacement.append(Range(start: start + length, end: r.end)) }
            free.replaceSubrange(i...i, with: replacement)
            allocated[start] = length
            return start
        }
        return nil
    }

    /// Returns a range from `allocate`. Returns false (and changes nothing) for an address it did not hand out.
    @discardableResult
    public mutating func release(_ start: UInt64) -> Bool {
        guard let length = allocated.removeValue(forKey: start) else { return false }
        var r = Range(start: start, end: start + length)
        let i = free.firstIndex { $0.start > start } ?? free.count
        var lo = i, hi = i
        if i > 0, free[i - 1].end == r.start { r.start = free[i - 1].start; lo = i - 1 }
        if i < free.count, free[i].start == r.end { r.end = free[i].end; hi = i + 1 }
        free.replaceSubrange(lo..<hi, with: [r])
        return true
    }

    public var freeBytes: UInt64 { free.reduce(0) { $0 + $1.length } }
}

/// One `/proc/self/pagemap` entry (Documentation/admin-guide/mm/pagemap.rst).
public struct PagemapEntry: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// Bit 63: page present in RAM.
    public var present: Bool { rawValue >> 63 & 1 == 1 }
    /// Bit 62: page swapped.
    public var swapped: Bool { rawValue >> 62 & 1 == 1 }
    /// Bit 61: file-page or shared-anon.
    public var fileOrShared: Bool { rawValue >> 61 & 1 == 1 }
    /// Bit 56: page exclusively mapped.
    public var exclusive: Bool { rawValue >> 56 & 1 == 1 }
    /// Bit 55: soft-dirty.
    public var softDirty: Bool { rawValue >> 55 & 1 == 1 }
    /// Bits 54:0: page frame number when present (zero without CAP_SYS_ADMIN).
    public var pfn: UInt64 { rawValue & ((1 << 55) - 1) }

    /// Physical address of `virtualAddress`, given the base page size; nil when not present or the PFN is hidden.
    public func physicalAddress(of virtualAddress: UInt, pageSize: Int = 4096) -> UInt64? {
        guard present, !swapped, pfn != 0 else { return nil }
        return pfn * UInt64(pageSize) + UInt64(virtualAddress % UInt(pageSize))
    }
}
