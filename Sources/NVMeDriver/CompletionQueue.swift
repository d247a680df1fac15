import NVMePlatform
import NVMeSpec

/// A completion queue on caller-visible DMA memory (qid 0 is the Admin CQ). `reap` takes entries by phase tag,
/// `advanceHead` moves the local head, `ringHead` writes the CQ head doorbell with any value.
///
/// Owned by one thread at a time; no locks.
public final class CompletionQueue: @unchecked Sendable {
    public let qid: UInt16
    public let depth: Int
    /// Bytes per entry (16 for CC.IOCQES = 4).
    public let entrySize: Int
    public let memory: DMARegion
    public let prpList: DMARegion?
    /// Interrupt vector (IV), nil when created with IEN = 0 (polled).
    public let vector: UInt16?
    /// CQ y Head Doorbell offset in BAR0: 1000h + (2y + 1) * (4 << CAP.DSTRD). Settable.
    @exclusivity(unchecked) public var doorbellOffset: Int
    @exclusivity(unchecked) public var shadow: ShadowDoorbell?
    public let registers: any RegisterSpace

    @usableFromInline let rmem: RingMemory
    // Single-owner state (see the type's doc): exclusivity is not checked at run time on the per-command path.
    @usableFromInline @exclusivity(unchecked) var headIndex: Int = 0
    /// Phase tag a new entry carries; starts at 1 and flips every time the head wraps.
    @usableFromInline @exclusivity(unchecked) var expectedPhase: UInt32 = 1
    @exclusivity(unchecked) public var mmioDoorbellWrites: Int = 0
    @exclusivity(unchecked) public var lastRungHead: UInt32 = 0

    public init(qid: UInt16, depth: Int, entrySize: Int = 16, memory: DMARegion, prpList: DMARegion? = nil,
                vector: UInt16?, registers: any RegisterSpace, dstrd: UInt8) throws {
        try InvalidArgument.check("entrySize", entrySize, in: 16...4096)
        try InvalidArgument.check("depth", depth, in: 2...min(SQE.maximumCount16, memory.length / entrySize))
        self.qid = qid; self.depth = depth; self.entrySize = entrySize; self.memory = memory; self.prpList = prpList
        self.vector = vector; self.registers = registers
        self.doorbellOffset = Doorbell.cqHeadOffset(qid: qid, dstrd: dstrd)
        self.rmem = RingMemory(memory)
    }

    public var busAddress: UInt64 { prpList?.busAddress() ?? memory.busAddress() }
    public var head: UInt16 { UInt16(headIndex) }
    /// Entries consumed since the head doorbell was last written (modulo the depth).
    @inlinable public var unrungEntries: Int {
        let rung = Int(lastRungHead % UInt32(depth))
        return headIndex >= rung ? headIndex - rung : headIndex + depth - rung
    }
    /// The phase tag the entry at `head` must carry to be new.
    public var phase: Bool { expectedPhase == 1 }

    /// The entry at `head` if its phase tag says the controller has written it; does not consume it.
    @inlinable
    public func peek() -> CQE? {
        let offset = headIndex &* entrySize
        let dw3 = rmem.loadCQEDword3(at: offset)
        guard (dw3 >> 16) & 1 == expectedPhase else { return nil }
        // dma_rmb: the phase-tag load above must complete before the loads of DW0-DW2 below; otherwise we could
        // pair a new phase tag with stale command-specific dwords.
        Barrier.dmaRmb()
        var cqe = rmem.loadCQE(at: offset)
        cqe.dw3 = dw3
        return cqe
    }

    /// `peek()` and advance the local head by one. No doorbell: call `ringHead()` once per batch.
    @inlinable
    public func reap() -> CQE? {
        guard let cqe = peek() else { return nil }
        let next = headIndex &+ 1
        if next == depth { headIndex = 0; expectedPhase ^= 1 } else { headIndex = next }
        return cqe
    }

    /// The raw entry in `slot`, whatever its phase (for inspection).
    /// Throws `InvalidArgument` for a slot outside the ring.
    public func entry(at slot: Int) throws -> CQE {
        try InvalidArgument.check("slot", slot, in: 0..<depth)
        return rmem.loadCQE(at: slot * entrySize)
    }

    /// Moves the local head to `head`; the expected phase flips when the move wraps past the end of the ring.
    public func advanceHead(to head: UInt16) {
        let h = Int(head) % depth
        if h < headIndex { expectedPhase ^= 1 }
        headIndex = h
    }

    /// Writes the CQ Head Doorbell with any 32-bit value; the local head is not changed. Returns whether MMIO was written.
    @discardableResult @inlinable
    public func ringHead(_ value: UInt32) -> Bool {
        var mmio = true
        // A CQ head write only releases slots: no data store needs ordering before it (Linux uses no barrier here);
        // the shadow path has its own mb() between the shadow store and the EventIdx load.
        if let shadow { mmio = shadow.update(value) }
        if mmio {
            registers.write32(value, at: doorbellOffset)
            mmioDoorbellWrites &+= 1
        }
        lastRungHead = value
        return mmio
    }

    /// Writes the local head to the CQ Head Doorbell.
    @discardableResult @inlinable
    public func ringHead() -> Bool { ringHead(UInt32(headIndex)) }

    /// Waits until an entry is visible at `head` or `deadline` passes. With an armed vector, sleeps on its eventfd
    /// (MSI-X, or INTx vector 0); without one, looks again with a growing pause (`WaitBackoff`) instead of spinning
    /// on a core. Returns whether an entry is visible. Consumes nothing.
    public func waitForEntry(until deadline: Deadline, interrupts: (any InterruptSource)?,
                             backoff: WaitBackoff = .init()) throws -> Bool {
        var pause = backoff
        while true {
            if peek() != nil { return true }
            if deadline.hasPassed { return false }
            try pause.wait(vector: vector, interrupts: interrupts, until: deadline)
        }
    }

    /// Back to the state after creation: zeroed ring, head 0, phase 1.
    public func resetState() {
        headIndex = 0; expectedPhase = 1; lastRungHead = 0
        rmem.zero()
    }
}
