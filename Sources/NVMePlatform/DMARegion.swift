import CNVMeShim
import Synchronization

/// Pinned memory the device can reach, with the bus address (IOVA for VFIO type1, physical for no-IOMMU/UIO,
/// a simulated address for the simulator) of every byte. The region is released when the last reference goes:
/// queues and in-flight commands hold a reference, so DMA memory outlives every command that points at it.
///
/// This file and the backends are the only places that touch raw memory.
public final class DMARegion: @unchecked Sendable {
    /// A run of bytes whose bus addresses are contiguous.
    public struct Segment: Sendable, Hashable {
        public var offset: Int
        public var busAddress: UInt64
        public var length: Int
        public init(offset: Int, busAddress: UInt64, length: Int) {
            self.offset = offset; self.busAddress = busAddress; self.length = length
        }
    }

    public let length: Int
    /// Contiguous bus runs covering `0..<length`, in offset order.
    public let segments: [Segment]
    /// Host virtual address of byte 0. Exposed for the driver's hot path and the simulator; prefer the accessors.
    public let unsafeBaseAddress: UnsafeMutableRawPointer
    private let release: @Sendable () -> Void
    private let revocation: DMARevocation?

    public convenience init(base: UnsafeMutableRawPointer, length: Int, segments: [Segment],
                            release: @escaping @Sendable () -> Void) {
        self.init(base: base, length: length, segments: segments, revocation: nil, release: release)
    }

    /// A region whose device mapping ends when `revocation` is revoked (the device was closed).
    public init(base: UnsafeMutableRawPointer, length: Int, segments: [Segment], revocation: DMARevocation?,
                release: @escaping @Sendable () -> Void) {
        precondition(!segments.isEmpty, "a DMA region needs at least one bus segment")
        self.unsafeBaseAddress = base
        self.length = length
        self.segments = segments
        self.revocation = revocation
        self.release = release
    }

    /// Set once the device this memory was mapped for has been closed: the memory stays mapped in this process
    /// (reading and writing it is safe) but no device can reach it any more, and its bus addresses mean nothing.
    /// Building a command on it throws.
    public var isRevoked: Bool { revocation?.isRevoked ?? false }

    /// Why the region can no longer be used for DMA (nil while it can).
    public var revocationReason: String? { revocation?.reason }

    deinit { release() }

    /// Bus address of byte `offset`.
    public func busAddress(at offset: Int = 0) -> UInt64 {
        precondition(offset >= 0 && offset <= length, "offset \(offset) outside DMA region of \(length) bytes")
        if segments.count == 1 { return segments[0].busAddress + UInt64(offset) }
        var lo = 0, hi = segments.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if segments[mid].offset <= offset { lo = mid } else { hi = mid - 1 }
        }
        return segments[lo].busAddress + UInt64(offset - segments[lo].offset)
    }

    /// Bus-contiguous runs covering `offset..<offset+count`, as (bus address, length) pairs — the input of PRP/SGL math.
    public func busRuns(offset: Int, count: Int) -> [(address: UInt64, length: Int)] {
        precondition(offset >= 0 && count >= 0 && offset + count <= length, "range outside DMA region")
        var out: [(UInt64, Int)] = []
        var pos = offset, left = count
        for s in segments where left > 0 && pos < s.offset + s.length {
            if pos < s.offset { continue }
            let n = min(left, s.offset + s.length - pos)
            let addr = s.busAddress + UInt64(pos - s.offset)
            if let last = out.last, last.0 + UInt64(last.1) == addr { out[out.count - 1].1 += n } else { out.append((addr, n)) }
            pos += n; left -= n
        }
        return out.map { (address: $0.0, length: $0.1) }
    }

    // MARK: Accessors
    public func load<T: FixedWidthInteger>(at offset: Int, as: T.Type = T.self) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= length, "load outside DMA region")
        return T(littleEndian: unsafeBaseAddress.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    public func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= length, "store outside DMA region")
        unsafeBaseAddress.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    /// A volatile 32-bit load, for words a device writes behind our back (CQ phase, shadow EventIdx).
    public func volatileLoad32(at offset: Int) -> UInt32 { nvmekit_load32(unsafeBaseAddress + offset) }
    public func volatileStore32(_ v: UInt32, at offset: Int) { nvmekit_store32(unsafeBaseAddress + offset, v) }

    public func copyBytes(from source: some Collection<UInt8>, to offset: Int) {
        precondition(offset >= 0 && offset + source.count <= length, "copy outside DMA region")
        var i = offset
        for b in source { unsafeBaseAddress.storeBytes(of: b, toByteOffset: i, as: UInt8.self); i += 1 }
    }

    public func bytes(at offset: Int, count: Int) -> [UInt8] {
        precondition(offset >= 0 && count >= 0 && offset + count <= length, "read outside DMA region")
        return Array(UnsafeRawBufferPointer(start: unsafeBaseAddress + offset, count: count))
    }

    public func fill(_ byte: UInt8, offset: Int = 0, count: Int? = nil) {
        let n = count ?? (length - offset)
        precondition(offset >= 0 && n >= 0 && offset + n <= length, "fill outside DMA region")
        (unsafeBaseAddress + offset).initializeMemory(as: UInt8.self, repeating: byte, count: n)
    }

    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: unsafeBaseAddress, count: length))
    }
}

/// Shared by every region of one allocator: revoked when the device is closed.
public final class DMARevocation: Sendable {
    private let state = Mutex<String?>(nil)
    public init() {}
    public var isRevoked: Bool { state.withLock { $0 != nil } }
    public var reason: String? { state.withLock { $0 } }
    /// Marks every region revoked; the first reason stays.
    public func revoke(reason: String) { state.withLock { if $0 == nil { $0 = reason } } }
}
