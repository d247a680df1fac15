import NVMePlatform
import NVMeSpec

/// A submission queue on caller-visible DMA memory (qid 0 is the Admin SQ). Every step is its own call: `post`
/// copies an entry into a slot, `ring` writes the tail doorbell with any value. Nothing here validates: a test may
/// post into any slot and ring any tail, including values the controller must reject.
///
/// Owned by one thread at a time; no locks. `@unchecked Sendable` only so it can be handed to a worker thread.
public final class SubmissionQueue: @unchecked Sendable {
    public let qid: UInt16
    /// Entries in the ring (1's based). Create I/O SQ's QSIZE is `depth - 1`.
    public let depth: Int
    /// Bytes per entry (64 for CC.IOSQES = 6).
    public let entrySize: Int
    /// The ring memory. Its bus address goes into ASQ or Create I/O SQ's PRP1.
    public let memory: DMARegion
    /// The PRP list describing `memory` when the queue is created physically non-contiguous (PC = 0).
    public let prpList: DMARegion?
    /// Completion queue this SQ posts to.
    public let cqid: UInt16
    /// Queue priority (QPRIO) used under weighted round robin.
    public let priority: UInt8
    /// SQ y Tail Doorbell offset in BAR0: 1000h + (2y) * (4 << CAP.DSTRD). Settable to ring someone else's doorbell.
    @exclusivity(unchecked) public var doorbellOffset: Int
    /// The Doorbell Buffer Config slot, nil when the queue rings MMIO only.
    @exclusivity(unchecked) public var shadow: ShadowDoorbell?
    public let registers: any RegisterSpace

    @usableFromInline let rmem: RingMemory
    // Single-owner state (see the type's doc): exclusivity is not checked at run time on the per-command path.
    @usableFromInline @exclusivity(unchecked) var tailIndex: Int = 0
    @usableFromInline @exclusivity(unchecked) var headIndex: Int = 0
    /// MMIO doorbell writes issued (shadow doorbells and batching make this smaller than the number of commands).
    @exclusivity(unchecked) public var mmioDoorbellWrites: Int = 0
    /// The value most recently passed to `ring(tail:)`.
    @exclusivity(unchecked) public var lastRungTail: UInt32 = 0

    public init(qid: UInt16, depth: Int, entrySize: Int = 64, memory: DMARegion, prpList: DMARegion? = nil,
                cqid: UInt16, priority: UInt8 = 0, registers: any RegisterSpace, dstrd: UInt8) throws {
        try InvalidArgument.check("entrySize", entrySize, in: 64...4096)
        try InvalidArgument.check("depth", depth, in: 2...min(SQE.maximumCount16, memory.length / entrySize))
        self.qid = qid; self.depth = depth; self.entrySize = entrySize; self.memory = memory; self.prpList = prpList
        self.cqid = cqid; self.priority = priority; self.registers = registers
        self.doorbellOffset = Doorbell.sqTailOffset(qid: qid, dstrd: dstrd)
        self.rmem = RingMemory(memory)
    }

    /// Bus address of slot 0 (or of the PRP list when non-contiguous): ASQ / Create I/O SQ PRP1.
    public var busAddress: UInt64 { prpList?.busAddress() ?? memory.busAddress() }
    /// The slot the next `post(_:)` writes.
    public var tail: UInt16 { UInt16(tailIndex) }
    /// The controller's head as last reported in a CQE's SQHD.
    public var head: UInt16 { UInt16(headIndex) }
    /// Slots that can be posted before the ring is full (one slot always stays empty).
    public var freeSlots: Int { depth - 1 - (tailIndex - headIndex + depth) % depth }
    public var isFull: Bool { (tailIndex + 1) % depth == headIndex }

    /// Copies `sqe` into slot `slot` (any slot in 0..<depth). No doorbell, the local tail does not move.
    /// Throws `InvalidArgument` for a slot outside the ring.
    public func post(_ sqe: SQE, at slot: Int) throws {
        try InvalidArgument.check("slot", slot, in: 0..<depth)
        rmem.storeSQE(sqe, at: slot &* entrySize)
    }

    /// Copies `sqe` into the slot at the local tail and advances the tail (wrapping). No doorbell.
    @discardableResult @inlinable
    public func post(_ sqe: SQE) -> UInt16 {
        let slot = tailIndex
        rmem.storeSQE(sqe, at: slot &* entrySize)
        tailIndex = slot &+ 1 == depth ? 0 : slot &+ 1
        return UInt16(truncatingIfNeeded: slot)
    }

    /// The entry currently in `slot` (what the controller will fetch).
    public func entry(at slot: Int) throws -> SQE {
        try InvalidArgument.check("slot", slot, in: 0..<depth)
        return rmem.loadSQE(at: slot * entrySize)
    }

    /// Writes the SQ Tail Doorbell with `tail` — any 32-bit value, valid or not; the local tail is not changed.
    /// With a shadow doorbell the value goes to the shadow word and MMIO is written only when EventIdx asks for it.
    /// Returns whether the MMIO doorbell was written.
    @discardableResult @inlinable
    public func ring(tail value: UInt32) -> Bool {
        // wmb: the SQE stores of post() above must be visible in memory before the controller can observe the
        // new tail (shadow word or doorbell register) written below.
        Barrier.wmb()
        var mmio = true
        if let shadow { mmio = shadow.update(value) }
        if mmio {
            registers.write32(value, at: doorbellOffset)
            mmioDoorbellWrites &+= 1
        }
        lastRungTail = value
        return mmio
    }

    /// Rings the local tail: post N entries, ring once (doorbell batching).
    @discardableResult @inlinable
    public func ring() -> Bool { ring(tail: UInt32(tailIndex)) }

    /// Moves the local tail without writing anything (to replay or skip slots by hand).
    public func setTail(_ value: UInt16) { tailIndex = Int(value) % depth }

    /// Records the controller's SQ head from a CQE's SQHD, freeing slots.
    @inlinable
    public func noteHead(_ sqhd: UInt16) {
        let h = Int(sqhd)
        if h < depth { headIndex = h }
    }

    /// Back to the state after creation: empty ring, tail = head = 0 (after a reset re-creates the queue).
    public func resetState() {
        tailIndex = 0; headIndex = 0; lastRungTail = 0
        rmem.zero()
    }
}
