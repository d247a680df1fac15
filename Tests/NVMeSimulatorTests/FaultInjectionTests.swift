import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing

@Suite("Simulator: fault injection (simulator-only: QEMU has no error injection)")
struct FaultInjectionTests {
    func ready() throws -> (TestHost, DMARegion) {
        let host = try TestHost()
        try host.sim.interrupts.enable(vectors: 2)
        try host.enable()
        try host.createIOQueuePair(qid: 1, entries: 8, vector: 1)
        return (host, try host.region(3 * 4096))
    }

    func read(_ buf: DMARegion, offset: Int = 0) -> SubmissionQueueEntry {
        TestHost.rw(.read, slba: 0, blocks: 1, prp1: buf.busAddress(at: offset))
    }

    @Test("delay: the completion arrives later, not at the doorbell")
    func delay() throws {
        let (host, buf) = try ready()
        host.sim.inject(.nth(1, queue: .io, .delay(.milliseconds(300))))
        let cid = host.post(read(buf), qid: 1)
        host.ring(1)
        #expect(host.reap(1) == nil)
        let deadline = Deadline.after(.seconds(20))
        var c: CompletionQueueEntry?
        while c == nil && !deadline.hasPassed {
            _ = try host.sim.interrupts.wait(vector: 1, timeout: .milliseconds(100))
            c = host.reap(1)
        }
        #expect(c?.cid == cid && c?.status == .success)
    }

    @Test("delay execution: the command's data moves only when it runs late; deleting its SQ first aborts it unrun")
    func delayExecution() throws {
        let (host, buf) = try ready()
        host.sim.writeBlocks(nsid: 1, lba: 0, data: pattern(512, seed: 7))
        // Held for a minute: nothing reaches the host buffer, and no completion, until the SQ is deleted.
        host.sim.inject(.nth(1, queue: .io, .delayExecution(.seconds(60))))
        buf.fill(0xAA, offset: 0, count: 512)
        let cid = host.post(read(buf), qid: 1)
        host.ring(1)
        #expect(host.reap(1) == nil)
        #expect(buf.bytes(at: 0, count: 512) == [UInt8](repeating: 0xAA, count: 512), "the read has not run")
        var delSQ = SubmissionQueueEntry(opcode: AdminOpcode.deleteIOSubmissionQueue.rawValue); delSQ.cdw10 = 1
        #expect(host.run(delSQ)?.status == .success)
        let aborted = try #require(host.reap(1))
        #expect(aborted.cid == cid && aborted.status == CompletionStatus(sct: 0, sc: 0x08, dnr: false))
        #expect(buf.bytes(at: 0, count: 512) == [UInt8](repeating: 0xAA, count: 512), "an aborted command never runs")

        // Held briefly: when it runs, it reads the host buffer as it is then.
        let (host2, buf2) = try ready()
        host2.sim.inject(.nth(1, queue: .io, .delayExecution(.milliseconds(100))))
        buf2.fill(0x11, offset: 0, count: 512)
        let wcid = host2.post(TestHost.rw(.write, slba: 3, blocks: 1, prp1: buf2.busAddress(at: 0)), qid: 1)
        host2.ring(1)
        buf2.fill(0x22, offset: 0, count: 512)   // changed after the doorbell, before the command runs
        let deadline = Deadline.after(.seconds(20))
        var c: CompletionQueueEntry?
        while c == nil && !deadline.hasPassed {
            _ = try host2.sim.interrupts.wait(vector: 1, timeout: .milliseconds(100))
            c = host2.reap(1)
        }
        #expect(c?.cid == wcid && c?.status == .success)
        #expect(host2.sim.readBlocks(nsid: 1, lba: 3, count: 1) == [UInt8](repeating: 0x22, count: 512),
                "the write moved the buffer's content at the time it ran")
    }

    @Test("drop completion: the command runs but never completes; the next one does")
    func drop() throws {
        let (host, buf) = try ready()
        host.sim.inject(.nth(1, queue: .io, .dropCompletion))
        #expect(host.run(read(buf), qid: 1) == nil)
        #expect(host.sim.statistics.droppedCompletions == 1)
        #expect(host.run(read(buf), qid: 1)?.status == .success)
    }

    @Test("wrong phase: the CQE is written with the inverted phase tag, so the host does not consume it")
    func wrongPhase() throws {
        let (host, buf) = try ready()
        host.sim.inject(.nth(1, queue: .io, .wrongPhase))
        let cid = host.post(read(buf), qid: 1)
        host.ring(1)
        #expect(host.reap(1) == nil)
        let raw = try #require(CompletionQueueEntry(bytes: host.queues[1]!.cq.bytes(at: 0, count: 16)))
        #expect(raw.cid == cid && !raw.p)
    }

    @Test("wrong CID: the CQE carries a CID the host never issued")
    func wrongCID() throws {
        let (host, buf) = try ready()
        host.sim.inject(.nth(1, queue: .io, .wrongCID(nil)))
        let cid = host.post(read(buf), qid: 1)
        host.ring(1)
        #expect(host.reap(1)?.cid == cid ^ 0x8000)
        host.sim.inject(.nth(1, queue: .io, .wrongCID(0x4242)))
        #expect(host.run(read(buf), qid: 1)?.cid == 0x4242)
    }

    @Test("status of choice: the command is not executed and completes with the given status")
    func statusOfChoice() throws {
        let (host, buf) = try ready()
        let forced = CompletionStatus(sct: 2, sc: 0x81)
        host.sim.inject(.io(.write, times: 1, .status(forced)))
        buf.copyBytes(from: pattern(512, seed: 7), to: 0)
        #expect(host.run(TestHost.rw(.write, slba: 5, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status == forced)
        #expect(host.sim.readBlocks(nsid: 1, lba: 5, count: 1) == [UInt8](repeating: 0, count: 512))
        #expect(host.run(TestHost.rw(.write, slba: 5, blocks: 1, prp1: buf.busAddress()), qid: 1)?.status == .success)
    }

    @Test("rules match by opcode and by N-th command")
    func matching() throws {
        let (host, buf) = try ready()
        let forced = CompletionStatus(sct: 0, sc: 0x06)
        host.sim.inject(.nth(3, queue: .io, .status(forced)))
        let statuses = (0..<4).map { _ in host.run(read(buf), qid: 1)?.status }
        #expect(statuses == [.success, .success, forced, .success])
        host.sim.inject(.admin(.identify, .status(forced)))
        #expect(host.run(TestHost.identify(cns: 1, buffer: buf))?.status == forced)
        #expect(host.run(TestHost.identify(cns: 1, buffer: buf))?.status == forced)
        #expect(host.run(TestHost.setFeatures(fid: 8, cdw11: 0))?.status == .success)
        host.sim.clearFaults()
        #expect(host.run(TestHost.identify(cns: 1, buffer: buf))?.status == .success)
    }

    @Test("controller fatal: CSTS.CFS = 1, no completion, nothing more is processed until a reset")
    func controllerFatal() throws {
        let (host, buf) = try ready()
        host.sim.inject(.nth(1, queue: .io, .controllerFatal))
        #expect(host.run(read(buf), qid: 1) == nil)
        #expect(host.bar.csts.cfs)
        #expect(host.run(read(buf), qid: 1) == nil)
        var cc = host.bar.cc; cc.en = false; host.bar.setCC(cc)
        #expect(try host.enable().rdy)
        #expect(!host.bar.csts.cfs)
    }

    @Test("disappear: registers read all ones and nothing completes; reappear() brings it back reset")
    func disappear() throws {
        let (host, buf) = try ready()
        host.sim.inject(.nth(1, queue: .io, .disappear))
        #expect(host.run(read(buf), qid: 1) == nil)
        #expect(host.bar.csts.isAllOnes)
        #expect(host.bar.cap.rawValue == ~0)
        #expect(host.bar.read32(at: 0x1000) == 0xFFFF_FFFF)
        host.sim.reappear()
        #expect(host.bar.cap.mqes == 2047)
        #expect(!host.bar.csts.rdy)
    }

    @Test("clobber host memory: bytes just past the command's buffer are overwritten, the command succeeds")
    func clobber() throws {
        let (host, buf) = try ready()
        buf.fill(0)
        host.sim.inject(.nth(1, queue: .io, .clobberHostMemory(length: 8, byte: 0xEE)))
        #expect(host.run(read(buf, offset: 4096), qid: 1)?.status == .success)
        #expect(buf.bytes(at: 4096 + 512, count: 8) == [UInt8](repeating: 0xEE, count: 8))
        #expect(buf.load(at: 4096 + 520, as: UInt8.self) == 0)
        #expect(buf.bytes(at: 0, count: 4096).allSatisfy { $0 == 0 })
    }
}
