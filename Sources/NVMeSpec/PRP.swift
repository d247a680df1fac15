/// A physically contiguous piece of a buffer as the device sees it: bus address (IOVA or physical) and length.
public struct DMARun: Hashable, Sendable {
    public var busAddress: UInt64
    public var length: Int
    public init(busAddress: UInt64, length: Int) { self.busAddress = busAddress; self.length = length }
}

/// Why a buffer cannot be described by PRPs.
public enum PRPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The memory page size is not a power of two of at least 4 KiB.
    case invalidPageSize(Int)
    /// PRP1's offset must be dword aligned (bits 1:0 zero).
    case firstRunNotDwordAligned(UInt64)
    /// Every run after the first must start on a memory page boundary (indexes count runs after merging adjacent ones).
    case runStartsMidPage(index: Int, busAddress: UInt64)
    /// Every run before the last must end on a memory page boundary.
    case runEndsMidPage(index: Int, end: UInt64)
    /// A PRP list page's address must be qword aligned.
    case listPageNotQwordAligned(UInt64)
    /// A run has a negative length.
    case negativeLength(index: Int)
    /// A run (or adjacent runs merged) would end past the top of the 64-bit bus address space.
    case runPastAddressSpace(index: Int)
    /// A list page placed so near the end of a memory page that it holds one entry cannot chain to another.
    case listPageTooSmall(UInt64)
    /// The runs add up to more bytes than any NVMe command can transfer (`PRP.maximumTransferBytes`).
    case transferTooLong(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .invalidPageSize(let p): "memory page size \(p) is not a power of two >= 4096"
        case .firstRunNotDwordAligned(let a): "PRP1 0x\(hexDigits(a, width: 1)) is not dword aligned: align the buffer to 4 bytes"
        case .runStartsMidPage(let i, let a): "run \(i) starts at 0x\(hexDigits(a, width: 1)), not on a page boundary: PRPs need page-aligned runs after the first (use an SGL)"
        case .runEndsMidPage(let i, let e): "run \(i) ends at 0x\(hexDigits(e, width: 1)), not on a page boundary: PRPs need page-aligned run ends before the last (use an SGL)"
        case .listPageNotQwordAligned(let a): "PRP list page 0x\(hexDigits(a, width: 1)) is not 8-byte aligned"
        case .negativeLength(let i): "run \(i) has a negative length"
        case .runPastAddressSpace(let i): "run \(i) ends past the top of the 64-bit bus address space"
        case .listPageTooSmall(let a): "PRP list page 0x\(hexDigits(a, width: 1)) holds a single entry and cannot chain: start it at least 16 bytes before a page boundary"
        case .transferTooLong(let b, let l): "runs of \(b) bytes in all are more than the \(l) bytes (2^34) an NVMe command can transfer"
        }
    }
}

/// PRP1/PRP2 plus the PRP list pages a transfer needs — NVMe Base 2.0c §4.3.1 (Figures 108-112).
public struct PRPLayout: Hashable, Sendable {
    /// One PRP list page to write into memory: its bus address and the 8-byte entries, in order. When a list page
    /// is full and more entries follow, its last entry is the address of the next list page (chaining).
    public struct ListPage: Hashable, Sendable {
        public var busAddress: UInt64
        public var entries: [UInt64]
        /// The little-endian bytes to copy to `busAddress`.
        public var bytes: [UInt8] { entries.flatMap { littleEndianBytes($0) } }
    }

    public var prp1: UInt64
    /// 0 (one page), the second page (two pages), or the first list page (more).
    public var prp2: UInt64
    public var listPages: [ListPage]
    /// The page addresses the transfer touches, in order (PRP1 first, with its offset).
    public var pageEntries: [UInt64]
}

/// PRP arithmetic. A page entry is a memory page's bus address; only the first may carry an offset.
public enum PRP {
    /// Entries per list page, for a page-aligned list page.
    public static func entriesPerListPage(pageSize: Int) -> Int { pageSize / 8 }

    /// The most bytes one command can move: 2^34, what the widest length field (Get Log Page NUMD, 32 bits of
    /// 0's based dwords) can say. Longer runs throw instead of building millions of page entries.
    public static let maximumTransferBytes = 1 << 34

    /// The page entries of a buffer: one per memory page touched. Throws `PRPError.transferTooLong` when the runs
    /// add up to more than `maximumTransferBytes`.
    public static func pageEntries(_ runs: [DMARun], pageSize: Int) throws(PRPError) -> [UInt64] {
        guard pageSize >= 4096, pageSize & (pageSize - 1) == 0 else { throw .invalidPageSize(pageSize) }
        let merged = try merge(runs)
        guard let first = merged.first else { return [] }
        var total = 0
        for run in merged {
            let (sum, overflow) = total.addingReportingOverflow(run.length)
            total = overflow ? .max : sum
        }
        if total > maximumTransferBytes { throw .transferTooLong(bytes: total, limit: maximumTransferBytes) }
        if first.busAddress & 3 != 0 { throw .firstRunNotDwordAligned(first.busAddress) }
        let mask = UInt64(pageSize - 1)
        var entries: [UInt64] = []
        for (i, run) in merged.enumerated() {
            if i > 0 && run.busAddress & mask != 0 { throw .runStartsMidPage(index: i, busAddress: run.busAddress) }
            let end = run.busAddress + UInt64(run.length)   // merge() checked it does not overflow
            if i < merged.count - 1 && end & mask != 0 { throw .runEndsMidPage(index: i, end: end) }
            guard run.length > 0 else { continue }
            entries.append(run.busAddress)
            var page = (run.busAddress & ~mask) + UInt64(pageSize)
            while page < end { entries.append(page); page += UInt64(pageSize) }
        }
        return entries
    }

    /// Adjacent runs (one ending where the next begins) become one; zero-length runs after the first vanish.
    static func merge(_ runs: [DMARun]) throws(PRPError) -> [DMARun] {
        var out: [DMARun] = []
        if let i = runs.firstIndex(where: { $0.length < 0 }) { throw .negativeLength(index: i) }
        for (i, r) in runs.enumerated() where r.length > 0 {
            if r.busAddress.addingReportingOverflow(UInt64(r.length)).overflow { throw .runPastAddressSpace(index: i) }
            if var last = out.last, last.busAddress + UInt64(last.length) == r.busAddress {
                let (sum, overflow) = last.length.addingReportingOverflow(r.length)
                if overflow { throw .runPastAddressSpace(index: i) }
                last.length = sum; out[out.count - 1] = last
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// How many page-aligned PRP list pages `entryCount` page entries need (0 for one or two entries). A page size
    /// below 16 bytes counts as 16 (two entries per list page, the least that can chain).
    public static func listPageCount(entryCount: Int, pageSize: Int) -> Int {
        guard entryCount > 2 else { return 0 }
        let m = entryCount - 1   // entries after PRP1
        let slots = max(2, entriesPerListPage(pageSize: pageSize))
        if m <= slots { return 1 }
        return 1 + (m - slots + (slots - 2)) / (slots - 1)
    }

    /// How many page-aligned PRP list pages a buffer needs.
    public static func listPageCount(_ runs: [DMARun], pageSize: Int) throws(PRPError) -> Int {
        listPageCount(entryCount: try pageEntries(runs, pageSize: pageSize).count, pageSize: pageSize)
    }

    /// PRP1/PRP2 and list pages for `runs`. `listPage(i)` returns the bus address of the i-th list page (called
    /// only when lists are needed, in order); a list page may start mid-page, in which case it holds fewer entries.
    public static func build(_ runs: [DMARun], pageSize: Int,
                             listPage: (Int) -> UInt64) throws(PRPError) -> PRPLayout {
        let entries = try pageEntries(runs, pageSize: pageSize)
        switch entries.count {
        case 0: return PRPLayout(prp1: runs.first?.busAddress ?? 0, prp2: 0, listPages: [], pageEntries: [])
        case 1: return PRPLayout(prp1: entries[0], prp2: 0, listPages: [], pageEntries: entries)
        case 2: return PRPLayout(prp1: entries[0], prp2: entries[1], listPages: [], pageEntries: entries)
        default: break
        }
        var pages: [PRPLayout.ListPage] = []
        var rest = entries[1...]
        var address = listPage(0)
        while true {
            if address & 7 != 0 { throw .listPageNotQwordAligned(address) }
            let slots = (pageSize - Int(address & UInt64(pageSize - 1))) / 8
            if rest.count <= slots {
                pages.append(.init(busAddress: address, entries: Array(rest)))
                break
            }
            if slots < 2 { throw .listPageTooSmall(address) }
            let next = listPage(pages.count + 1)
            pages.append(.init(busAddress: address, entries: Array(rest.prefix(slots - 1)) + [next]))
            rest = rest.dropFirst(slots - 1)
            address = next
        }
        return PRPLayout(prp1: entries[0], prp2: pages[0].busAddress, listPages: pages, pageEntries: entries)
    }

    /// Same, with the list page addresses given up front (`listPageCount` tells how many are needed).
    public static func build(_ runs: [DMARun], pageSize: Int, listPages: [UInt64]) throws(PRPError) -> PRPLayout {
        try build(runs, pageSize: pageSize) { i in i < listPages.count ? listPages[i] : 0 }
    }

    /// Contiguous buffer shorthand.
    public static func build(busAddress: UInt64, length: Int, pageSize: Int,
                             listPage: (Int) -> UInt64) throws(PRPError) -> PRPLayout {
        try build([DMARun(busAddress: busAddress, length: length)], pageSize: pageSize, listPage: listPage)
    }
}

extension SubmissionQueueEntry {
    /// Puts a PRP layout's PRP1/PRP2 into the entry and selects PRPs (PSDT 0).
    public mutating func setDataPointer(_ prp: PRPLayout) {
        psdt = 0; prp1 = prp.prp1; prp2 = prp.prp2
    }
}
