import NVMePlatform
import NVMeSimulator
import NVMeSpec

/// A deliberately tiny host for driving the simulator by hand: rings in DMA memory, raw register and doorbell
/// writes, phase-tag reaping. It does not use the driver layer, so these tests pin the device model alone.
final class TestHost {
    struct Queue {
        var qid: UInt16
        var size: Int
        var sq: DMARegion
        var cq: DMARegion
        var sqTail = 0
        var cqHead = 0
        var phase = true
    }

    let sim: SimulatedController
    var bar: any RegisterSpace { sim.bar0 }
    var queues: [UInt16: Queue] = [:]
    var nextCID: UInt16 = 1
    let dstrd: UInt8

    init(_ configuration: SimulatorConfiguration = SimulatorConfiguration()) throws {
        sim = try SimulatedController(configuration: configuration)
        dstrd = configuration.cap.dstrd
    }

    init(sim: SimulatedController) {
        self.sim = sim
        dstrd = sim.configuration.cap.dstrd
    }

    deinit { sim.close() }

    func region(_ length: Int) throws -> DMARegion { try sim.dma.allocate(length: length, alignment: 4096) }

    /// Sets up admin queues of `entries` each and enables the controller; returns CSTS afterwards.
    @discardableResult
    func enable(entries: Int = 32, cc: ControllerConfiguration? = nil) throws -> ControllerStatus {
        let sq = try region(entries * 64), cq = try region(entries * 16)
        queues[0] = Queue(qid: 0, size: entries, sq: sq, cq: cq)
        bar.setAQA(AdminQueueAttributes(asqs: UInt16(entries - 1), acqs: UInt16(entries - 1)))
        bar.setASQ(sq.busAddress())
        bar.setACQ(cq.busAddress())
        var c = cc ?? ControllerConfiguration(rawValue: 0)
        if cc == nil { c.iosqes = 6; c.iocqes = 4 }
        c.en = true
        bar.setCC(c)
        return bar.csts
    }

    func sqDoorbell(_ qid: UInt16) -> Int { Doorbell.sqTailOffset(qid: qid, dstrd: dstrd) }
    func cqDoorbell(_ qid: UInt16) -> Int { Doorbell.cqHeadOffset(qid: qid, dstrd: dstrd) }

    /// Copies `sqe` into the next slot of SQ `qid` (assigning a CID unless `keepCID`) without ringing.
    @discardableResult
    func post(_ sqe: SubmissionQueueEntry, qid: UInt16 = 0, keepCID: Bool = false) -> UInt16 {
        var e = sqe
        if !keepCID { e.cid = nextCID; nextCID &+= 1; if nextCID == 0xFFFF { nextCID = 1 } }
        var q = queues[qid]!
        q.sq.copyBytes(from: e.bytes, to: q.sqTail * 64)
        q.sqTail = (q.sqTail + 1) % q.size
        queues[qid] = q
        return e.cid
    }

    func ring(_ qid: UInt16 = 0) { bar.write32(UInt32(queues[qid]!.sqTail), at: sqDoorbell(qid)) }

    /// The CQE at the head of CQ `qid` if its phase tag says it is new; advances the head (no doorbell).
    func reap(_ qid: UInt16 = 0) -> CompletionQueueEntry? {
        var q = queues[qid]!
        let dw3 = q.cq.volatileLoad32(at: q.cqHead * 16 + 12)
        guard (dw3 >> 16) & 1 == (q.phase ? 1 : 0) else { return nil }
        let cqe = CompletionQueueEntry(bytes: q.cq.bytes(at: q.cqHead * 16, count: 16))!
        q.cqHead += 1
        if q.cqHead == q.size { q.cqHead = 0; q.phase.toggle() }
        queues[qid] = q
        return cqe
    }

    func ringCQ(_ qid: UInt16 = 0) { bar.write32(UInt32(queues[qid]!.cqHead), at: cqDoorbell(qid)) }

    /// Post + ring + reap + CQ doorbell. Nil when no completion arrived (inline mode completes synchronously).
    func run(_ sqe: SubmissionQueueEntry, qid: UInt16 = 0) -> CompletionQueueEntry? {
        post(sqe, qid: qid)
        ring(qid)
        let c = reap(qid)
        if c != nil { ringCQ(qid) }
        return c
    }

    /// Post + ring, then every completion that arrived, by CID (for commands that also complete an AER).
    func runCollecting(_ sqe: SubmissionQueueEntry, qid: UInt16 = 0) -> (UInt16, [UInt16: CompletionQueueEntry]) {
        let cid = post(sqe, qid: qid)
        ring(qid)
        var got: [UInt16: CompletionQueueEntry] = [:]
        while let c = reap(qid) { got[c.cid] = c }
        ringCQ(qid)
        return (cid, got)
    }

    // MARK: Command builders (raw dwords, spec offsets)

    static func identify(cns: UInt8, nsid: UInt32 = 0, buffer: DMARegion, csi: UInt8 = 0) -> SubmissionQueueEntry {
        var e = SubmissionQueueEntry(opcode: AdminOpcode.identify.rawValue, nsid: nsid)
        e.prp1 = buffer.busAddress()
        e.cdw10 = UInt32(cns)
        e.cdw11 = UInt32(csi) << 24
        return e
    }

    static func createIOCQ(qid: UInt16, entries: Int, base: UInt64, vector: UInt16 = 0, ien: Bool = true,
                           pc: Bool = true) -> SubmissionQueueEntry {
        var e = SubmissionQueueEntry(opcode: AdminOpcode.createIOCompletionQueue.rawValue)
        e.prp1 = base
        e.cdw10 = UInt32(qid) | UInt32(entries - 1) << 16
        e.cdw11 = (pc ? 1 : 0) | (ien ? 2 : 0) | UInt32(vector) << 16
        return e
    }

    static func createIOSQ(qid: UInt16, entries: Int, base: UInt64, cqid: UInt16, pc: Bool = true) -> SubmissionQueueEntry {
        var e = SubmissionQueueEntry(opcode: AdminOpcode.createIOSubmissionQueue.rawValue)
        e.prp1 = base
        e.cdw10 = UInt32(qid) | UInt32(entries - 1) << 16
        e.cdw11 = (pc ? 1 : 0) | UInt32(cqid) << 16
        return e
    }

    static func rw(_ opcode: IOOpcode, nsid: UInt32 = 1, slba: UInt64, blocks: Int, prp1: UInt64, prp2: UInt64 = 0)
        -> SubmissionQueueEntry {
        var e = SubmissionQueueEntry(opcode: opcode.rawValue, nsid: nsid)
        e.prp1 = prp1; e.prp2 = prp2
        e.cdw10 = UInt32(truncatingIfNeeded: slba); e.cdw11 = UInt32(truncatingIfNeeded: slba >> 32)
        e.cdw12 = UInt32(blocks - 1)
        return e
    }

    static func getLogPage(lid: UInt8, bytes: Int, buffer: DMARegion, rae: Bool = false, nsid: UInt32 = 0xFFFF_FFFF,
                           offset: UInt64 = 0) -> SubmissionQueueEntry {
        var e = SubmissionQueueEntry(opcode: AdminOpcode.getLogPage.rawValue, nsid: nsid)
        e.prp1 = buffer.busAddress()
        if bytes > 4096 { e.prp2 = buffer.busAddress(at: 4096) }
        let numd = UInt32(bytes / 4 - 1)
        e.cdw10 = UInt32(lid) | (rae ? 1 << 15 : 0) | (numd & 0xFFFF) << 16
        e.cdw11 = numd >> 16
        e.cdw12 = UInt32(truncatingIfNeeded: offset); e.cdw13 = UInt32(truncatingIfNeeded: offset >> 32)
        return e
    }

    static func setFeatures(fid: UInt8, cdw11: UInt32, save: Bool = false) -> SubmissionQueueEntry {
        var e = SubmissionQueueEntry(opcode: AdminOpcode.setFeatures.rawValue)
        e.cdw10 = UInt32(fid) | (save ? 1 << 31 : 0)
        e.cdw11 = cdw11
        return e
    }

    /// Creates I/O CQ and SQ `qid` with `entries` each; returns the two completions' statuses.
    @discardableResult
    func createIOQueuePair(qid: UInt16, entries: Int, vector: UInt16 = 0, ien: Bool = true) throws
        -> (CompletionStatus, CompletionStatus) {
        let sq = try region(entries * 64), cq = try region(entries * 16)
        let c1 = run(Self.createIOCQ(qid: qid, entries: entries, base: cq.busAddress(), vector: vector, ien: ien))
        let c2 = run(Self.createIOSQ(qid: qid, entries: entries, base: sq.busAddress(), cqid: qid))
        if c1?.status.isSuccess == true && c2?.status.isSuccess == true {
            queues[qid] = Queue(qid: qid, size: entries, sq: sq, cq: cq)
        }
        return (c1?.status ?? CompletionStatus(rawValue: 0x7FFF), c2?.status ?? CompletionStatus(rawValue: 0x7FFF))
    }
}

/// A deterministic byte pattern: every block differs, every byte of a block differs.
func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 9) &+ Int(seed)) }
}
