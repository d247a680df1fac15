import NVMePlatform
import NVMeSpec

/// The two pages of Doorbell Buffer Config — NVMe Base 2.0c §5.8: the Shadow Doorbell buffer (PRP1) the host
/// writes instead of (or before) the doorbell registers, and the EventIdx buffer (PRP2) the controller writes to say
/// which doorbell value it wants an MMIO write for. Each queue's slot sits at its doorbell's offset from 1000h
/// (DSTRD honoured), so one page covers 1024 doorbells at DSTRD 0.
public final class DoorbellBuffer: @unchecked Sendable {
    public let shadowRegion: DMARegion
    public let eventIdxRegion: DMARegion
    public let dstrd: UInt8

    public init(allocator: any DMAAllocator, pageSize: Int = 4096, dstrd: UInt8) throws {
        shadowRegion = try allocator.allocate(length: pageSize, alignment: pageSize)
        eventIdxRegion = try allocator.allocate(length: pageSize, alignment: pageSize)
        self.dstrd = dstrd
    }

    /// PRP1 of the Doorbell Buffer Config command.
    public var shadowBusAddress: UInt64 { shadowRegion.busAddress() }
    /// PRP2 of the Doorbell Buffer Config command.
    public var eventIdxBusAddress: UInt64 { eventIdxRegion.busAddress() }

    /// The slot of queue `qid`'s SQ tail (isCQ false) or CQ head (isCQ true) doorbell. Throws `InvalidArgument`
    /// when the slot lies past the buffer's page (qid too large for this page size and CAP.DSTRD).
    public func slot(qid: UInt16, isCQ: Bool) throws -> ShadowDoorbell {
        let offset = Doorbell.offset(qid: qid, isCQ: isCQ, dstrd: dstrd) - ControllerRegister.doorbellBase
        let perQueue = 2 * (4 << Int(dstrd))
        guard offset >= 0, offset + 4 <= min(shadowRegion.length, eventIdxRegion.length) else {
            throw InvalidArgument(name: "qid", value: qid,
                                  valid: "0...\(max(0, min(shadowRegion.length, eventIdxRegion.length) / perQueue - 1)) "
                                      + "(one \(shadowRegion.length)-byte shadow doorbell page)")
        }
        return ShadowDoorbell(shadow: RingMemory(shadowRegion), eventIdx: RingMemory(eventIdxRegion), offset: offset)
    }

    /// Zeroes both pages (before re-issuing Doorbell Buffer Config after a reset).
    public func clear() { shadowRegion.fill(0); eventIdxRegion.fill(0) }
}

/// One queue's shadow doorbell and EventIdx words.
public struct ShadowDoorbell: @unchecked Sendable {
    @usableFromInline let shadow: RingMemory
    @usableFromInline let eventIdx: RingMemory
    /// Byte offset of this queue's words inside both pages.
    public let offset: Int

    init(shadow: RingMemory, eventIdx: RingMemory, offset: Int) {
        self.shadow = shadow; self.eventIdx = eventIdx; self.offset = offset
    }

    /// The value last written to the shadow doorbell.
    public var shadowValue: UInt32 { shadow.load32(at: offset) }
    /// The controller's EventIdx for this doorbell.
    public var eventIdxValue: UInt32 { eventIdx.load32(at: offset) }

    /// The need-event test of the spec (and of Linux `nvme_dbbuf_need_event`): an MMIO doorbell write is needed when
    /// moving the doorbell from `old` to `new` passes `eventIdx`, i.e. eventIdx ∈ [old, new) in 16-bit ring arithmetic.
    /// `eventIdx == new` needs no write; wrap-around is handled by the 16-bit subtraction.
    @inline(__always)
    public static func needsEvent(eventIdx: UInt16, new: UInt16, old: UInt16) -> Bool {
        (new &- eventIdx &- 1) < (new &- old)
    }

    /// Writes `value` to the shadow doorbell and answers whether the MMIO doorbell must be written too.
    @inlinable @inline(__always)
    func update(_ value: UInt32) -> Bool {
        let old = shadow.load32(at: offset)
        shadow.store32(value, at: offset)
        // mb: the shadow doorbell store above must be visible to the controller before we load EventIdx below,
        // or both sides may decide the other will act and the queue stalls.
        Barrier.mb()
        let ei = eventIdx.load32(at: offset)
        return Self.needsEvent(eventIdx: UInt16(truncatingIfNeeded: ei), new: UInt16(truncatingIfNeeded: value),
                               old: UInt16(truncatingIfNeeded: old))
    }
}
