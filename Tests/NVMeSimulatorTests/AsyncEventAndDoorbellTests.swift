import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing

@Suite("Simulator: asynchronous events and invalid doorbell writes")
struct AsyncEventTests {
    func aer() -> SubmissionQueueEntry { SubmissionQueueEntry(opcode: AdminOpcode.asynchronousEventRequest.rawValue) }

    @Test("an Asynchronous Event Request stays outstanding until an event happens (Base §5.2)")
    func aerOutstanding() throws {
        let host = try TestHost()
        try host.enable()
        host.post(aer())
        host.ring()
        #expect(host.reap() == nil)
        // Other admin commands complete past it.
        let buf = try host.region(4096)
        #expect(host.run(TestHost.identify(cns: 1, buffer: buf))?.status == .success)
        #expect(host.reap() == nil)
    }

    @Test("a write to a doorbell of a queue that does not exist completes an AER: error, Invalid Doorbell Register, log 01h (Base §3.1.4.23, Figure 147)")
    func invalidDoorbellRegister() throws {
        let host = try TestHost()
        try host.enable()
        let cid = host.post(aer())
        host.ring()
        host.bar.write32(1, at: host.sqDoorbell(5))
        let c = try #require(host.reap())
        #expect(c.cid == cid && c.status == .success)
        #expect(c.dw0 & 0x7 == 0, "event type Error Status")
        #expect((c.dw0 >> 8) & 0xFF == 0x00, "Write to Invalid Doorbell Register")
        #expect((c.dw0 >> 16) & 0xFF == 0x01, "Error Information log")
    }

    @Test("a doorbell value beyond the queue size completes an AER with Invalid Doorbell Write Value (Base §3.1.4.23)")
    func invalidDoorbellValue() throws {
        let host = try TestHost()
        try host.enable(entries: 32)
        host.post(aer())
        host.ring()
        host.bar.write32(40, at: host.cqDoorbell(0))
        let c = try #require(host.reap())
        #expect(c.dw0 & 0x7 == 0)
        #expect((c.dw0 >> 8) & 0xFF == 0x01, "Invalid Doorbell Write Value")
        #expect(host.sim.statistics.invalidDoorbellWrites == 1)
    }

    @Test("an invalid doorbell write with no AER outstanding raises no event later (QEMU semantics)")
    func invalidDoorbellWithoutAER() throws {
        let host = try TestHost()
        try host.enable()
        host.bar.write32(1, at: host.sqDoorbell(3))
        #expect(host.sim.statistics.invalidDoorbellWrites == 1)
        host.post(aer())
        host.ring()
        #expect(host.reap() == nil)
    }

    @Test("an error event masks further error events until the Error Information log is read without RAE (Base §5.2.1)")
    func eventMaskingUntilLogRead() throws {
        let host = try TestHost()
        try host.enable()
        let aers: Set<UInt16> = [host.post(aer()), host.post(aer())]
        host.ring()
        host.bar.write32(1, at: host.sqDoorbell(7))
        let firstEvent = try #require(host.reap())
        let second = try #require(aers.subtracting([firstEvent.cid]).first)
        host.ringCQ()
        host.bar.write32(1, at: host.sqDoorbell(7))
        #expect(host.reap() == nil, "masked: the second event waits")
        let log = try host.region(4096)
        // RAE = 1 keeps the mask.
        #expect(host.run(TestHost.getLogPage(lid: 1, bytes: 64, buffer: log, rae: true))?.status == .success)
        #expect(host.reap() == nil)
        // RAE = 0 clears it and the queued event completes the remaining AER.
        let (cid, got) = host.runCollecting(TestHost.getLogPage(lid: 1, bytes: 128, buffer: log))
        #expect(got[cid]?.status == .success)
        let event = try #require(got[second])
        #expect(event.dw0 & 7 == 0 && (event.dw0 >> 16) & 0xFF == 1)
        #expect(log.load(at: 0, as: UInt64.self) >= 2, "error count of the newest entry")
    }

    @Test("more than AERL+1 outstanding AERs is Asynchronous Event Request Limit Exceeded (Base §5.2)")
    func aerLimit() throws {
        let host = try TestHost(SimulatorConfiguration(aerl: 1))
        try host.enable()
        host.post(aer()); host.post(aer())
        host.ring()
        #expect(host.reap() == nil)
        let c = host.run(aer())
        #expect(c?.status == CompletionStatus(sct: 1, sc: 0x05, dnr: true))
    }

    @Test("Abort of an outstanding AER completes it with Command Abort Requested; DW0 bit 0 = 0 (Base §5.1)")
    func abortAER() throws {
        let host = try TestHost()
        try host.enable()
        let cid = host.post(aer())
        host.ring()
        var abort = SubmissionQueueEntry(opcode: AdminOpcode.abort.rawValue)
        abort.cdw10 = UInt32(cid) << 16
        let abortCID = host.post(abort)
        host.ring()
        var got: [UInt16: CompletionQueueEntry] = [:]
        while let c = host.reap() { got[c.cid] = c }
        #expect(got[cid]?.status.sc == 0x07)
        #expect(got[abortCID]?.status == .success)
        #expect(got[abortCID]?.dw0 == 0)
        // Aborting something unknown: success with DW0 bit 0 = 1 (not aborted).
        abort.cdw10 = 0x1234 << 16
        #expect(host.run(abort)?.dw0 == 1)
    }

    @Test("a controller reset drops outstanding AERs without completing them (Base §3.7.2)")
    func resetDropsAERs() throws {
        let host = try TestHost()
        try host.enable()
        host.post(aer())
        host.ring()
        var cc = host.bar.cc; cc.en = false; host.bar.setCC(cc)
        try host.enable()
        host.bar.write32(1, at: host.sqDoorbell(9))
        #expect(host.reap() == nil)
    }
}

@Suite("Simulator: shadow doorbells and EventIdx (Doorbell Buffer Config, Base §5.8)")
struct ShadowDoorbellTests {
    struct Shadow { let dbs: DMARegion; let eis: DMARegion }

    func setup(entries: Int = 8, _ config: SimulatorConfiguration = SimulatorConfiguration()) throws -> (TestHost, Shadow) {
        let host = try TestHost(config)
        try host.enable()
        let s = Shadow(dbs: try host.region(4096), eis: try host.region(4096))
        var e = SubmissionQueueEntry(opcode: AdminOpcode.doorbellBufferConfig.rawValue)
        e.prp1 = s.dbs.busAddress(); e.prp2 = s.eis.busAddress()
        #expect(host.run(e)?.status == .success)
        try host.createIOQueuePair(qid: 1, entries: entries)
        return (host, s)
    }

    func read(_ host: TestHost) -> SubmissionQueueEntry {
        TestHost.rw(.read, slba: 0, blocks: 1, prp1: 0)   // PRP 0: data transfer error, still a completion
    }

    @Test("Doorbell Buffer Config with an unaligned page is Invalid Field in Command")
    func misaligned() throws {
        let host = try TestHost()
        try host.enable()
        let page = try host.region(8192)
        var e = SubmissionQueueEntry(opcode: AdminOpcode.doorbellBufferConfig.rawValue)
        e.prp1 = page.busAddress(at: 8); e.prp2 = page.busAddress(at: 4096)
        #expect(host.run(e)?.status == invalidField)
    }

    @Test("after processing, the controller writes the SQ tail it consumed to the SQ EventIdx")
    func eventIdxFollowsTail() throws {
        let (host, s) = try setup(entries: 4)
        for i in 1...6 {
            host.post(read(host), qid: 1)
            let tail = UInt32(host.queues[1]!.sqTail)
            s.dbs.store(tail, at: 8)           // SQ 1 shadow tail: (2*1) * 4
            host.ring(1)
            #expect(s.eis.load(at: 8, as: UInt32.self) == tail, "after command \(i)")
            #expect(host.reap(1) != nil)
            s.dbs.store(UInt32(host.queues[1]!.cqHead), at: 12)
            host.ringCQ(1)
        }
    }

    @Test("the controller takes the SQ tail from the shadow doorbell, not from the MMIO value (QEMU semantics)")
    func shadowTailWins() throws {
        let (host, s) = try setup()
        host.post(read(host), qid: 1); host.post(read(host), qid: 1); host.post(read(host), qid: 1)
        // Host publishes tail 3 in the shadow buffer only; nothing runs in inline mode without an MMIO write.
        s.dbs.store(UInt32(3), at: 8)
        #expect(host.reap(1) == nil)
        // Any MMIO doorbell write wakes the controller, which reads the shadow tail.
        host.bar.write32(1, at: host.sqDoorbell(1))
        var n = 0
        while host.reap(1) != nil { n += 1 }
        #expect(n == 3)
        #expect(s.eis.load(at: 8, as: UInt32.self) == 3)
    }

    @Test("the controller reads the CQ head from the shadow doorbell when the CQ looks full")
    func shadowCQHead() throws {
        let (host, s) = try setup(entries: 4)
        for _ in 0..<3 { host.post(read(host), qid: 1) }
        s.dbs.store(UInt32(3), at: 8)
        host.ring(1)
        for _ in 0..<3 { #expect(host.reap(1) != nil) }
        // CQ (4 entries) now full from the controller's view. Post one more without freeing anything.
        host.post(read(host), qid: 1)
        s.dbs.store(UInt32(host.queues[1]!.sqTail), at: 8)
        host.ring(1)
        #expect(host.reap(1) == nil)
        // Free the slots through the shadow CQ head only, then any SQ doorbell write lets the command through.
        s.dbs.store(UInt32(host.queues[1]!.cqHead), at: 12)
        host.ring(1)
        #expect(host.reap(1) != nil)
    }

    @Test("queues that exist when Doorbell Buffer Config runs get their current tail/head written to the shadow buffer")
    func existingQueuesSeeded() throws {
        let host = try TestHost()
        try host.enable()
        try host.createIOQueuePair(qid: 1, entries: 8)
        for _ in 0..<2 { _ = host.run(TestHost.rw(.read, slba: 0, blocks: 1, prp1: 0), qid: 1) }
        let dbs = try host.region(4096), eis = try host.region(4096)
        dbs.fill(0xFF)
        var e = SubmissionQueueEntry(opcode: AdminOpcode.doorbellBufferConfig.rawValue)
        e.prp1 = dbs.busAddress(); e.prp2 = eis.busAddress()
        #expect(host.run(e)?.status == .success)
        #expect(dbs.load(at: 8, as: UInt32.self) == 2, "SQ 1 tail")
        #expect(dbs.load(at: 12, as: UInt32.self) == 2, "CQ 1 head")
    }

    @Test("an MMIO write to the admin SQ doorbell is mirrored into the admin shadow doorbell (QEMU semantics)")
    func adminShadowMirror() throws {
        let (host, s) = try setup()
        let buf = try host.region(4096)
        host.post(TestHost.identify(cns: 1, buffer: buf))
        s.dbs.store(UInt32(host.queues[0]!.sqTail), at: 0)
        host.ring(0)
        #expect(s.dbs.load(at: 0, as: UInt32.self) == UInt32(host.queues[0]!.sqTail))
        #expect(host.reap(0)?.status == .success)
    }

    @Test("background mode picks up a shadow-only tail update without any MMIO write")
    func backgroundPollsShadow() throws {
        let (host, s) = try setup()
        host.sim.executionMode = .background
        host.post(read(host), qid: 1)
        s.dbs.store(UInt32(host.queues[1]!.sqTail), at: 8)
        let deadline = Deadline.after(.seconds(10))
        var c: CompletionQueueEntry?
        while c == nil && !deadline.hasPassed { c = host.reap(1) }
        #expect(c != nil)
        host.sim.executionMode = .step
    }
}
