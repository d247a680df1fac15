import NVMeSpec
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// DMA memory for tests and the simulator: ordinary heap pages with made-up bus addresses.
///
/// Bus addresses start at `base` (default 0x1_0000_0000, above 4 GiB so 32-bit truncation bugs show), are page
/// aligned, and every region is followed by at least `guardGap` bytes of unmapped bus space: a DMA that runs off a
/// region's end, or uses a stale or invented address, finds no memory (`hostPointer` returns nil and `faults` counts
/// it) instead of silently hitting a neighbour. With `.scattered(chunk:)` every chunk of a region gets its own bus
/// run, so code that assumes bus-contiguous buffers (PRP lists, SGL segments) is exercised.
///
/// It is also the `DMAAddressSpace` of the simulated controller: the simulator translates the bus addresses this
/// allocator handed out back to host memory.
public final class HeapDMAAllocator: DMAAllocator, DMAAddressSpace, @unchecked Sendable {
    public enum Layout: Sendable, Hashable {
        /// Each region is one bus run.
        case contiguous
        /// Each `chunk` bytes (a multiple of the page size) is its own bus run, separated by a gap.
        case scattered(chunk: Int)
    }

    /// One allocated region, for the leak report.
    public struct Allocation: Sendable, Hashable, CustomStringConvertible {
        public var serial: Int
        public var busAddress: UInt64
        public var length: Int
        public var description: String {
            "region #\(serial): \(length) bytes at bus 0x\(String(busAddress, radix: 16))"
        }
    }

    private struct Mapping {
        var bus: UInt64
        var length: Int
        /// Host address of `bus` (an integer so the state stays Sendable).
        var host: UInt
        var serial: Int
    }

    private struct State {
        var nextBus: UInt64
        var mappings: [Mapping] = []    // sorted by bus
        var live: [Int: Allocation] = [:]
        var serial = 0
        var faults = 0
        var lastFault: UInt64?
    }

    public static let defaultBase: UInt64 = 0x1_0000_0000
    public let base: UInt64
    public let pageSize: Int
    public let guardGap: Int
    public let layout: Layout
    private let state: Mutex<State>

    /// The defaults: bus addresses from `defaultBase`, 4 KiB pages, contiguous.
    public convenience init() {
        // The defaults satisfy every check of the throwing init.
        self.init(checkedBase: HeapDMAAllocator.defaultBase, pageSize: 4096, guardGap: nil, layout: .contiguous)
    }

    /// Throws `InvalidArgument` unless `pageSize` is a power of two (at most 1 GiB), `base` is page aligned and a
    /// scattered layout's chunk is a positive multiple of the page size.
    public convenience init(base: UInt64 = HeapDMAAllocator.defaultBase, pageSize: Int = 4096, guardGap: Int? = nil,
                            layout: Layout = .contiguous) throws {
        guard pageSize > 0, pageSize <= 1 << 30, pageSize & (pageSize - 1) == 0 else {
            throw InvalidArgument(name: "pageSize", value: pageSize, valid: "a power of two in 1...2^30")
        }
        guard base % UInt64(pageSize) == 0 else {
            throw InvalidArgument(name: "base", value: "0x\(String(base, radix: 16))", valid: "a multiple of \(pageSize)")
        }
        if case .scattered(let chunk) = layout, chunk <= 0 || chunk % pageSize != 0 {
            throw InvalidArgument(name: "chunk", value: chunk, valid: "a positive multiple of \(pageSize)")
        }
        if let g = guardGap { try InvalidArgument.check("guardGap", g, in: 0...(1 << 30)) }
        self.init(checkedBase: base, pageSize: pageSize, guardGap: guardGap, layout: layout)
    }

    private init(checkedBase base: UInt64, pageSize: Int, guardGap: Int?, layout: Layout) {
        self.base = base
        self.pageSize = pageSize
        self.guardGap = max(pageSize, guardGap ?? pageSize)
        self.layout = layout
        self.state = Mutex(State(nextBus: base))
    }

    public func allocate(length: Int, alignment: Int = 4096) throws -> DMARegion {
        try DMAArguments.check(length: length, alignment: alignment)
        let align = max(alignment, pageSize)
        let mapped = max(pageSize, (length + pageSize - 1) / pageSize * pageSize)
        var raw: UnsafeMutableRawPointer?
        let rc = posix_memalign(&raw, align, mapped)
        guard rc == 0, let host = raw else {
            throw PlatformError.system(what: "allocating \(mapped) bytes of simulated DMA memory", errno: .init(rawValue: rc))
        }
        host.initializeMemory(as: UInt8.self, repeating: 0, count: mapped)

        let chunk: Int
        switch layout {
        case .contiguous: chunk = mapped
        case .scattered(let c): chunk = c
        }
        let (serial, segments): (Int, [DMARegion.Segment]) = state.withLock { s in
            s.serial += 1
            var segs: [DMARegion.Segment] = []
            var offset = 0
            while offset < mapped {
                let n = min(chunk, mapped - offset)
                let a = UInt64(offset == 0 ? align : pageSize)
                let bus = (s.nextBus + a - 1) / a * a
                s.nextBus = bus + UInt64(n) + UInt64(guardGap)
                segs.append(.init(offset: offset, busAddress: bus, length: n))
                let m = Mapping(bus: bus, length: n, host: UInt(bitPattern: host) + UInt(offset), serial: s.serial)
                s.mappings.insert(m, at: s.mappings.partitionIndex { $0.bus > bus })
                offset += n
            }
            s.live[s.serial] = Allocation(serial: s.serial, busAddress: segs[0].busAddress, length: length)
            return (s.serial, segs)
        }
        // Segments cover the whole mapped range so PRP math sees the full pages; `length` is what the caller asked for.
        let visible = segments.compactMap { seg -> DMARegion.Segment? in
            guard seg.offset < max(length, 1) else { return nil }
            return .init(offset: seg.offset, busAddress: seg.busAddress, length: min(seg.length, max(length, 1) - seg.offset))
        }
        let hostBits = UInt(bitPattern: host)
        return DMARegion(base: host, length: length, segments: visible) { [self] in
            state.withLock { s in
                s.mappings.removeAll { $0.serial == serial }
                s.live[serial] = nil
            }
            free(UnsafeMutableRawPointer(bitPattern: hostBits))
        }
    }

    public var liveRegions: Int { state.withLock { $0.live.count } }

    /// Regions not yet released, oldest first.
    public var liveAllocations: [Allocation] { state.withLock { $0.live.values.sorted { $0.serial < $1.serial } } }

    /// nil when everything was released, else one line per region still alive.
    public func leakReport() -> String? {
        let live = liveAllocations
        guard !live.isEmpty else { return nil }
        return "\(live.count) DMA region(s) never released:\n" + live.map { "  \($0)" }.joined(separator: "\n")
    }

    /// Bus translations that found no memory since creation.
    public var faults: Int { state.withLock { $0.faults } }
    /// The bus address of the most recent fault.
    public var lastFault: UInt64? { state.withLock { $0.lastFault } }

    public func hostPointer(bus: UInt64, length: Int) -> UnsafeMutableRawPointer? {
        let address: UInt? = state.withLock { s in
            let i = s.mappings.partitionIndex { $0.bus > bus } - 1
            if i >= 0, length >= 0 {
                let m = s.mappings[i]
                let off = bus - m.bus
                if off < UInt64(m.length), UInt64(length) <= UInt64(m.length) - off {
                    return m.host + UInt(off)
                }
            }
            s.faults += 1
            s.lastFault = bus
            return nil
        }
        return address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
    }
}

extension Array {
    /// First index whose element satisfies `belongsInSecondPartition`, for an array already partitioned by it.
    func partitionIndex(where belongsInSecondPartition: (Element) -> Bool) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if belongsInSecondPartition(self[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
