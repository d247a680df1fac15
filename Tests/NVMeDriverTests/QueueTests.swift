import NVMePlatform
import NVMeSpec
import Testing
@testable import NVMeDriver

/// BAR0 stand-in that records every write, for tests of the queue layer alone.
final class RecordingRegisters: RegisterSpace, @unchecked Sendable {
    var writes: [(offset: Int, value: UInt32)] = []
    var values: [Int: UInt32] = [:]
    let length = 0x2000
    func read32(at offset: Int) -> UInt32 { values[offset] ?? 0 }
    func write32(_ value: UInt32, at offset: Int) { writes.append((offset, value)); values[offset] = value }
    func read64(at offset: Int) -> UInt64 { UInt64(read32(at: offset)) | UInt64(read32(at: offset + 4)) << 32 }
    func write64(_ value: UInt64, at offset: Int) {
        write32(UInt32(truncatingIfNeeded: value), at: offset); write32(UInt32(truncatingIfNeeded: value >> 32), at: offset + 4)
    }
}

/// Writes a CQE into slot `slot` of `cq` as a controller would.
func deviceWrite(_ cqe: CQE, into cq: CompletionQueue, slot: Int) {
    let o = slot * 16
    cq.memory.store(cqe.dw0, at: o); cq.memory.store(cqe.dw1, at: o + 4)
    cq.memory.store(cqe.dw2, at: o + 8); cq.memory.store(cqe.dw3, at: o + 12)
}

@Suite("Raw queues (NVMe 2.0c §3.3, §4.1)")
struct QueueTests {
    let alloc = HeapDMAAllocator()

    @Test("post copies the 64 wire bytes into the slot and advances only the local tail; no doorbell until ring")
    func postWritesSlotWithoutDoorbell() throws {
        let regs = RecordingRegisters()
        let sq = try SubmissionQueue(qid: 1, depth: 4, memory: try alloc.allocate(length: 4096, alignment: 4096),
                                 cqid: 1, registers: regs, dstrd: 0)
        var sqe = SQE(opcode: 0x02, nsid: 7)
        sqe.cdw10 = 0xDEAD_BEEF
        #expect(sq.post(sqe) == 0)
        #expect(sq.post(sqe) == 1)
        #expect(regs.writes.isEmpty)
        #expect(sq.memory.bytes(at: 64, count: 64) == sqe.bytes)
        #expect(try sq.entry(at: 1) == sqe)
        sq.ring()
        #expect(regs.writes.count == 1)
        #expect(regs.writes[0].offset == 0x1008 && regs.writes[0].value == 2)
    }

    @Test("ring(tail:) writes any value, and DSTRD moves the doorbell (§3.1.4.23: 1000h + 2y * (4 << DSTRD))")
    func ringAnyValueHonoursStride() throws {
        let regs = RecordingRegisters()
        let sq = try SubmissionQueue(qid: 3, depth: 8, memory: try alloc.allocate(length: 4096, alignment: 4096),
                                 cqid: 3, registers: regs, dstrd: 2)
        let cq = try CompletionQueue(qid: 3, depth: 8, memory: try alloc.allocate(length: 4096, alignment: 4096),
                                 vector: nil, registers: regs, dstrd: 2)
        sq.ring(tail: 0xFFFF)
        cq.ringHead(12345)
        #expect(regs.writes.map(\.offset) == [0x1000 + 6 * 16, 0x1000 + 7 * 16])
        #expect(regs.writes.map(\.value) == [0xFFFF, 12345])
        #expect(sq.tail == 0)   // the local tail is not touched by a raw ring
    }

    @Test("post at slot N writes that slot only; the ring wraps at depth and keeps one slot empty")
    func postAtSlotAndWrap() throws {
        let sq = try SubmissionQueue(qid: 1, depth: 3, memory: try alloc.allocate(length: 4096, alignment: 4096),
                                 cqid: 1, registers: RecordingRegisters(), dstrd: 0)
        try sq.post(SQE(opcode: 9), at: 2)
        #expect(try sq.entry(at: 2).opc == 9 && sq.tail == 0)
        #expect(sq.freeSlots == 2)
        sq.post(SQE(opcode: 1)); sq.post(SQE(opcode: 1))
        #expect(sq.isFull && sq.tail == 2)
        sq.noteHead(2)
        #expect(sq.freeSlots == 2)
        sq.post(SQE(opcode: 1))
        #expect(sq.tail == 0)
    }

    @Test("reap takes entries by phase tag, flips the expected phase on wrap, and ringHead is separate (§4.6 Phase Tag)")
    func reapByPhaseTag() throws {
        let regs = RecordingRegisters()
        let cq = try CompletionQueue(qid: 1, depth: 2, memory: try alloc.allocate(length: 4096, alignment: 4096),
                                 vector: nil, registers: regs, dstrd: 0)
        #expect(cq.reap() == nil)
        deviceWrite(CQE(dw0: 11, sqhd: 1, sqid: 1, cid: 5, phase: true, status: .success), into: cq, slot: 0)
        #expect(cq.peek()?.cid == 5 && cq.head == 0)
        #expect(cq.reap()?.dw0 == 11 && cq.head == 1)
        #expect(cq.reap() == nil)
        deviceWrite(CQE(sqhd: 2, sqid: 1, cid: 6, phase: true, status: .success), into: cq, slot: 1)
        #expect(cq.reap()?.cid == 6)
        #expect(cq.head == 0 && cq.phase == false)
        // The old entry in slot 0 still carries phase 1: not new any more.
        #expect(cq.reap() == nil)
        deviceWrite(CQE(sqhd: 0, sqid: 1, cid: 7, phase: false, status: .success), into: cq, slot: 0)
        #expect(cq.reap()?.cid == 7)
        #expect(regs.writes.isEmpty)
        cq.ringHead()
        #expect(regs.writes.last?.value == 1)
    }

    @Test("advanceHead moves the local head; moving backwards past the end flips the phase")
    func advanceHead() throws {
        let cq = try CompletionQueue(qid: 1, depth: 4, memory: try alloc.allocate(length: 4096, alignment: 4096),
                                 vector: nil, registers: RecordingRegisters(), dstrd: 0)
        cq.advanceHead(to: 3)
        #expect(cq.head == 3 && cq.phase)
        cq.advanceHead(to: 1)
        #expect(cq.head == 1 && !cq.phase)
    }
}

@Suite("Shadow doorbells and EventIdx (NVMe 2.0c §5.8 Doorbell Buffer Config)")
struct ShadowDoorbellTests {
    @Test("need-event: eventIdx equal to the new value needs no MMIO write")
    func eventIdxEqualToNewValue() {
        #expect(!ShadowDoorbell.needsEvent(eventIdx: 5, new: 5, old: 3))
    }

    @Test("need-event: eventIdx passed by the move (old <= eventIdx < new) needs an MMIO write")
    func eventIdxPassed() {
        #expect(ShadowDoorbell.needsEvent(eventIdx: 3, new: 5, old: 3))
        #expect(ShadowDoorbell.needsEvent(eventIdx: 4, new: 5, old: 3))
        #expect(!ShadowDoorbell.needsEvent(eventIdx: 2, new: 5, old: 3))
        #expect(!ShadowDoorbell.needsEvent(eventIdx: 6, new: 5, old: 3))
        #expect(!ShadowDoorbell.needsEvent(eventIdx: 3, new: 3, old: 3))
    }

    @Test("need-event across the ring wrap (old 250 → new 5 in a 256-entry queue)")
    func wrap() {
        #expect(ShadowDoorbell.needsEvent(eventIdx: 252, new: 5, old: 250))
        #expect(ShadowDoorbell.needsEvent(eventIdx: 0, new: 5, old: 250))
        #expect(ShadowDoorbell.needsEvent(eventIdx: 4, new: 5, old: 250))
        #expect(!ShadowDoorbell.needsEvent(eventIdx: 5, new: 5, old: 250))
        #expect(!ShadowDoorbell.needsEvent(eventIdx: 100, new: 5, old: 250))
        #expect(!ShadowDoorbell.needsEvent(eventIdx: 249, new: 5, old: 250))
        // 16-bit counter wrap as well.
        #expect(ShadowDoorbell.needsEvent(eventIdx: 0xFFFF, new: 1, old: 0xFFFE))
    }

    @Test("with a shadow slot, ring writes the shadow word and MMIO only when EventIdx asks for it")
    func ringThroughShadow() throws {
        let alloc = HeapDMAAllocator()
        let regs = RecordingRegisters()
        let db = try DoorbellBuffer(allocator: alloc, dstrd: 0)
        let sq = try SubmissionQueue(qid: 1, depth: 16, memory: try alloc.allocate(length: 4096, alignment: 4096),
                                 cqid: 1, registers: regs, dstrd: 0)
        sq.shadow = try db.slot(qid: 1, isCQ: false)
        #expect(sq.shadow?.offset == 8)
        db.eventIdxRegion.store(UInt32(0), at: 8)
        #expect(sq.ring(tail: 1))                 // eventIdx 0 passed by 0 → 1
        #expect(db.shadowRegion.load(at: 8, as: UInt32.self) == 1)
        #expect(!sq.ring(tail: 2))                // eventIdx still 0: controller is polling the shadow
        db.eventIdxRegion.store(UInt32(4), at: 8)
        #expect(!sq.ring(tail: 4))                // eventIdx == new value
        #expect(sq.ring(tail: 6))                 // passes 4
        #expect(regs.writes.map(\.value) == [1, 6])
        #expect(sq.mmioDoorbellWrites == 2)
    }
}

@Suite("Command log")
struct CommandLogTests {
    @Test("keeps the last N entries oldest first, and exports JSON with SQE and CQE dwords")
    func ringBufferAndJSON() {
        var log = CommandLog(capacity: 3)
        for i in 0..<5 {
            var sqe = SQE(opcode: UInt8(i)); sqe.cid = UInt16(i)
            log.record(.init(qid: 1, sqe: sqe, cqe: CQE(sqhd: 0, sqid: 1, cid: UInt16(i), phase: true,
                             status: CompletionStatus(sct: 0, sc: UInt8(i))), origin: .device,
                             submitTicks: UInt64(i * 10), completeTicks: UInt64(i * 10 + 5)))
        }
        #expect(log.entries.map(\.sqe.cid) == [2, 3, 4])
        #expect(log.recorded == 5)
        let json = log.json()
        #expect(json.contains("\"cid\":4"))
        #expect(json.contains("\"status\":\"00/02\""))
        #expect(!json.contains("\"cid\":1,"))
        #expect(log.render().contains("Invalid Field in Command"))
    }
}

extension Array where Element == UInt8 {
    /// Space-padded ASCII field of an Identify structure, trimmed.
    func ascii(_ o: Int, _ n: Int) -> String {
        var s = String(decoding: self[o..<(o + n)].map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        while s.last == " " { s.removeLast() }
        return s
    }
}
