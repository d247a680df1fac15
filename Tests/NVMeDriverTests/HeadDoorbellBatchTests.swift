import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing
@testable import NVMeDriver

/// A CQ deeper than its SQ, and `QueuePair.headDoorbellBatch`: the CQ head doorbell written once per many
/// completions without the controller ever finding the CQ full (NVMe 2.0c §4.1: a CQ is full when its tail is one
/// behind the head the host last wrote).
@Suite("CQ head doorbell batching on the simulator")
struct HeadDoorbellBatchTests {
    /// Runs `total` reads with at most `inFlight` outstanding, refilling after every poll; returns CQ head writes.
    static func run(_ qp: QueuePair, total: Int, inFlight: Int) throws -> (cqHeadWrites: Int, completed: Int) {
        let writes0 = qp.cq.mmioDoorbellWrites
        var posted = 0, completed = 0
        var polls = 0
        while completed < total {
            var k = 0
            while qp.outstanding < inFlight && posted < total {
                var sqe = SQE(opcode: IOOpcode.read.rawValue, nsid: 1)
                sqe.cdw12 = 0
                try qp.submit(sqe, ring: false)
                posted += 1; k += 1
            }
            if k > 0 { qp.sq.ring() }
            completed += qp.poll()
            polls += 1
            if polls > total * 100 { break }   // a stall (the controller saw the CQ full) ends the loop, and the test fails
        }
        return (qp.cq.mmioDoorbellWrites - writes0, completed)
    }

    @Test("a CQ of 64 behind an SQ of 9, batch 55: every command completes with one head write per 55 completions")
    func deepCQRingsTheHeadOncePerBatch() throws {
        let (sim, c) = try simController({ $0.nullIO = true }, options: { $0.interrupts = .polling; $0.ioQueueCount = 0 })
        defer { c.close() }
        let qp = try c.createIOQueuePair(qid: 1, depth: 9, cqDepth: 64, vector: nil)
        #expect(qp.cq.depth == 64 && qp.sq.depth == 9)
        qp.headDoorbellBatch = 64 - 8 - 1
        let r = try Self.run(qp, total: 2000, inFlight: 8)
        #expect(r.completed == 2000)
        // A poll reaps up to 8, so the head is written once 55 to 62 entries are unrung.
        #expect((2000 / 62)...(2000 / 55) ~= r.cqHeadWrites, "\(r.cqHeadWrites) CQ head doorbell writes for 2000 completions")
        #expect(sim.statistics.invalidDoorbellWrites == 0)
        // The head the controller knows is never more than the batch behind the host's.
        #expect(qp.cq.unrungEntries < 55)
        // Flushing by hand leaves nothing unrung.
        qp.cq.ringHead()
        #expect(qp.cq.unrungEntries == 0)
    }

    @Test("batch 1 (the default) writes the head after every poll that reaped, as before")
    func batchOneRingsEveryPoll() throws {
        let (_, c) = try simController({ $0.nullIO = true }, options: { $0.interrupts = .polling; $0.ioQueueCount = 0 })
        defer { c.close() }
        let qp = try c.createIOQueuePair(qid: 1, depth: 9, cqDepth: 64, vector: nil)
        #expect(qp.headDoorbellBatch == 1)
        let r = try Self.run(qp, total: 500, inFlight: 8)
        #expect(r.completed == 500)
        // Inline mode completes each rung batch at once: one head write per poll that reaped.
        #expect(r.cqHeadWrites >= 500 / 8, "\(r.cqHeadWrites) CQ head doorbell writes")
    }

    @Test("unrungEntries counts modulo the depth and survives a nonsense head written by hand")
    func unrungEntriesWraps() throws {
        let regs = RecordingRegisters()
        let alloc = HeapDMAAllocator()
        let cq = try CompletionQueue(qid: 1, depth: 8, memory: try alloc.allocate(length: 4096, alignment: 4096), vector: nil,
                                 registers: regs, dstrd: 0)
        for i in 0..<8 { deviceWrite(CQE(sqhd: 0, sqid: 1, cid: UInt16(i), phase: true, status: .success), into: cq, slot: i) }
        for _ in 0..<6 { _ = cq.reap() }
        #expect(cq.unrungEntries == 6)
        cq.ringHead()
        #expect(cq.unrungEntries == 0)
        // The second lap carries phase 0.
        for i in 0..<3 { deviceWrite(CQE(sqhd: 0, sqid: 1, cid: UInt16(8 + i), phase: false, status: .success), into: cq, slot: i) }
        for _ in 0..<5 { #expect(cq.reap() != nil) }     // slots 6, 7, then 0...2: wraps past slot 7
        #expect(cq.head == 3)
        #expect(cq.unrungEntries == 5)
        cq.ringHead(0xFFFF_FFFF)              // any value can be written; the count stays within the ring
        #expect((0..<8).contains(cq.unrungEntries))
    }
}
