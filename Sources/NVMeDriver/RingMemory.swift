import CNVMeShim
import NVMePlatform
import NVMeSpec

// The driver's only raw-memory file: copying SQEs into ring slots, loading CQEs, shadow doorbell words, and the
// barriers that order them against doorbell writes. `DMARegion.unsafeBaseAddress` is exposed for exactly this.

/// The barriers the queue layer uses, named as in Linux. Each call site says which two accesses it orders.
public enum Barrier {
    /// Orders normal-memory stores (an SQE, a shadow doorbell) before a later MMIO store (the doorbell register).
    @inlinable @inline(__always) public static func wmb() { nvmekit_wmb() }
    /// Orders an earlier load before later loads.
    @inlinable @inline(__always) public static func rmb() { nvmekit_rmb() }
    /// Orders the load of a CQE's phase tag before the loads of the rest of that CQE.
    @inlinable @inline(__always) public static func dmaRmb() { nvmekit_dma_rmb() }
    /// Full fence: a store (shadow doorbell) before a later load (EventIdx) of memory the device also touches.
    @inlinable @inline(__always) public static func mb() { nvmekit_mb() }
}

/// A view of ring memory: the region (kept alive) and its base pointer.
@usableFromInline
struct RingMemory: @unchecked Sendable {
    @usableFromInline let region: DMARegion
    @usableFromInline let base: UnsafeMutableRawPointer

    init(_ region: DMARegion) {
        self.region = region
        self.base = region.unsafeBaseAddress
    }

    /// Copies the 64 wire bytes of `sqe` to `offset` (plain stores; the caller issues wmb() before the doorbell).
    @inlinable @inline(__always)
    func storeSQE(_ sqe: SubmissionQueueEntry, at offset: Int) {
        (base + offset).storeBytes(of: sqe.storage, as: SubmissionQueueEntry.Storage.self)
    }

    @inlinable @inline(__always)
    func loadSQE(at offset: Int) -> SubmissionQueueEntry {
        var sqe = SubmissionQueueEntry()
        sqe.storage = (base + offset).loadUnaligned(as: SubmissionQueueEntry.Storage.self)
        return sqe
    }

    /// Volatile load of a CQE's DW3 (status, phase tag, CID): the word the device writes last matters first.
    @inlinable @inline(__always)
    func loadCQEDword3(at offset: Int) -> UInt32 { nvmekit_load32(base + offset + 12) }

    /// Loads all four dwords of the CQE at `offset`; call after dmaRmb().
    @inlinable @inline(__always)
    func loadCQE(at offset: Int) -> CompletionQueueEntry {
        CompletionQueueEntry(dw0: nvmekit_load32(base + offset), dw1: nvmekit_load32(base + offset + 4),
                             dw2: nvmekit_load32(base + offset + 8), dw3: nvmekit_load32(base + offset + 12))
    }

    @inlinable @inline(__always)
    func load32(at offset: Int) -> UInt32 { nvmekit_load32(base + offset) }
    @inlinable @inline(__always)
    func store32(_ v: UInt32, at offset: Int) { nvmekit_store32(base + offset, v) }

    func zero() { region.fill(0) }
}
