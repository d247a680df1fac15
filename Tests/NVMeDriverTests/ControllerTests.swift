import Foundation
import Synchronization
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing
@testable import NVMeDriver

/// A simulated controller (QEMU 7.2's CAP by default) and a driver controller on it.
func simController(_ configure: (inout SimulatorConfiguration) -> Void = { _ in },
                   options: (inout ControllerOptions) -> Void = { _ in },
                   sequence: InitSequence = .standard) throws -> (SimulatedController, Controller) {
    var config = SimulatorConfiguration()
    configure(&config)
    let sim = try SimulatedController(configuration: config)
    var o = ControllerOptions()
    o.defaultTimeout = .seconds(10)
    options(&o)
    let c = try Controller.open(sim, options: o, sequence: sequence)
    return (sim, c)
}

/// Writes `buffer` to LBA `slba` on `qp` and waits.
func write(_ c: Controller, _ qp: QueuePair, _ buffer: Buffer, slba: UInt64, nsid: UInt32 = 1) throws -> Completion {
    let blocks = buffer.count / c.namespaces[0].blockSize
    var sqe = try DriverCommand.write(nsid: nsid, slba: slba, blocks: blocks)
    let keep = try DataPointer.attach(buffer, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
    return qp.execute(sqe, data: keep)
}

func read(_ c: Controller, _ qp: QueuePair, _ buffer: Buffer, slba: UInt64, nsid: UInt32 = 1) throws -> Completion {
    let blocks = buffer.count / c.namespaces[0].blockSize
    var sqe = try DriverCommand.read(nsid: nsid, slba: slba, blocks: blocks)
    let keep = try DataPointer.attach(buffer, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
    return qp.execute(sqe, data: keep)
}

@Suite("Controller init steps on the simulator (NVMe 2.0c §3.5.1)")
struct ControllerInitTests {
    @Test("the standard sequence enables the controller, identifies it and its namespaces, creates IO queues, arms AERs")
    func standardSequence() throws {
        let (sim, c) = try simController { $0.modelNumber = "Init Test Ctrl"; $0.namespaces = [.init(nsid: 1, blockCount: 1000), .init(nsid: 2, blockCount: 2000)] }
        defer { c.close() }
        #expect(c.registers.csts.rdy)
        #expect(c.registers.cc.en && c.registers.cc.iosqes == 6 && c.registers.cc.iocqes == 4)
        #expect(c.identifyData.ascii(24, 40) == "Init Test Ctrl")
        #expect(c.namespaces.map(\.nsid) == sim.activeNamespaces)
        #expect(c.namespaces.map(\.blockCount) == [1000, 2000])
        #expect(c.ioQueues.count == 1 && c.ioQueues[0].qid == 1)
        #expect(c.asyncEvents.outstanding == 1)
        #expect(c.stepLog.map(\.name) == InitSequence.standardStepNames)
    }

    @Test("a controller left enabled (as UIO leaves it) is disabled first: CSTS.RDY goes to 0 before AQA is written")
    func disablesEnabledController() throws {
        let (sim, c1) = try simController()
        // Do not shut down: leave CC.EN = 1 like firmware / uio_pci_generic does.
        #expect(sim.bar0.csts.rdy)
        let c2 = Controller(device: sim)
        try c2.initialize(.adminOnly)
        #expect(c2.registers.csts.rdy)
        #expect(try c2.identify(cns: 1).ascii(24, 40) == sim.configuration.modelNumber)
        withExtendedLifetime(c1) {}
    }

    @Test("steps can be replaced, inserted, removed and moved; a custom step runs where it was put")
    func editSequence() throws {
        var seq = InitSequence.standard
        let seen = Mutex<[String]>([])
        try seq.insert(InitStep("probe") { c in seen.withLock { $0.append("probe rdy=\(c.registers.csts.rdy)") } }, after: "enable")
        try seq.remove("armAsyncEvents")
        try seq.replace("identifyNamespaces") { c in seen.withLock { $0.append("custom ns") }; try c.identifyNamespaces() }
        try seq.move("setNumberOfQueues", before: "identifyController")
        let (_, c) = try simController(sequence: seq)
        defer { c.close() }
        #expect(seen.withLock { $0 } == ["probe rdy=true", "custom ns"])
        #expect(c.asyncEvents.outstanding == 0)
        #expect(c.stepLog.map(\.name).firstIndex(of: "setNumberOfQueues")! < c.stepLog.map(\.name).firstIndex(of: "identifyController")!)
    }

    @Test("weighted round robin (CC.AMS = 001b) with a priority per IO SQ (QPRIO)")
    func weightedRoundRobin() throws {
        let (_, c) = try simController({ $0.cap.ams = 1 }) {
            $0.arbitration = 1; $0.ioQueueCount = 3; $0.ioQueuePriorities = [0, 1, 3]
        }
        defer { c.close() }
        #expect(c.registers.cc.ams == 1)
        #expect(c.ioQueues.map(\.sq.priority) == [0, 1, 3])
        // Every queue works under WRR.
        for qp in c.ioQueues {
            let b = try Buffer(count: 512, from: c.allocator)
            try b.fill(.random(seed: UInt64(qp.qid)))
            #expect(try write(c, qp, b, slba: UInt64(qp.qid)).isSuccess)
        }
        // Arbitration burst / weights through Set Features 01h.
        let r = try c.setFeatures(fid: 0x01, cdw11: 0x0302_0103)
        #expect(r.isSuccess)
    }

    @Test("a non-default memory page size (CC.MPS = 1, 8 KiB) moves PRP math to 8 KiB pages and IO still verifies")
    func nonDefaultMPS() throws {
        let (sim, c) = try simController(options: { $0.mps = 1 })
        defer { c.close() }
        #expect(c.registers.cc.mps == 1 && c.pageSize == 8192)
        let b = try Buffer(count: 32768, alignment: 8192, from: c.allocator)
        try b.fill(.random(seed: 8))
        #expect(try write(c, c.ioQueues[0], b, slba: 64).isSuccess)
        #expect(sim.readBlocks(nsid: 1, lba: 64, count: 32768 / 512) == b.bytes)
        let back = try Buffer(count: 32768, alignment: 8192, from: c.allocator)
        #expect(try read(c, c.ioQueues[0], back, slba: 64).isSuccess)
        #expect(back.compare(to: b) == nil)
    }

    @Test("a tiny admin queue (2 entries, AQA = 0001_0001h) wraps correctly over many commands")
    func tinyAdminQueue() throws {
        let (_, c) = try simController(options: { $0.adminQueueDepth = 2; $0.asyncEventRequests = 0 })
        defer { c.close() }
        #expect(c.registers.aqa.asqs == 1 && c.registers.aqa.acqs == 1)
        for _ in 0..<9 { #expect(try c.getFeatures(fid: 0x07).isSuccess) }
    }

    @Test("non-contiguous rings (PC = 0) get a PRP list of their pages; a controller requiring contiguous queues refuses with a status, not a crash")
    func nonContiguousQueues() throws {
        let (_, c) = try simController(options: { $0.ioQueueCount = 0 })
        defer { c.close() }
        let qp = try c.makeQueuePair(qid: 2, depth: 512, vector: nil, contiguous: false)
        let list = try #require(qp.sq.prpList)
        let pages = qp.sq.memory.length / c.pageSize
        #expect(pages == 512 * 64 / 4096)
        for i in 0..<pages { #expect(list.load(at: i * 8, as: UInt64.self) == qp.sq.memory.busAddress(at: i * c.pageSize)) }
        #expect(qp.sq.busAddress == list.busAddress())
        // CAP.CQR = 1 here, as on QEMU: creation is refused with Invalid Field in Command, and nothing breaks.
        #expect(c.cap.cqr)
        #expect(throws: CommandError.self) { try c.sendCreate(qp) }
        #expect(try c.getFeatures(fid: 0x07).isSuccess)
    }
}

@Suite("Commands on the simulator: completion styles, status values, timeouts")
struct CommandTests {
    @Test("pynvme slide 1: Identify built by hand with PRP1, posted, doorbell rung, MSI-X waited, CQE reaped by phase")
    func handBuiltIdentify() throws {
        let (sim, c) = try simController(sequence: .adminOnly)
        defer { c.close() }
        let admin = c.adminQueue!
        let buf = try Buffer(count: 4096, from: c.allocator)
        var sqe = SQE()
        sqe.opc = 0x06; sqe.cid = 0x1234; sqe.prp1 = buf.busAddress(); sqe.cdw10 = 1
        let before = c.interrupts.count(vector: 0)
        admin.sq.post(sqe)
        admin.sq.ring()
        #expect(try admin.cq.waitForEntry(until: .after(.seconds(5)), interrupts: c.interrupts))
        let cqe = try #require(admin.cq.reap())
        admin.cq.ringHead()
        #expect(cqe.cid == 0x1234 && cqe.status.isSuccess && cqe.sqid == 0)
        #expect(c.interrupts.count(vector: 0) > before)
        #expect(buf.bytes.ascii(24, 40) == sim.configuration.modelNumber)
    }

    @Test("pynvme slide 2: IO CQ/SQ created by hand, write and read by hand-built SQEs and manual doorbells")
    func handBuiltIO() throws {
        let (sim, c) = try simController(options: { $0.ioQueueCount = 0 })
        defer { c.close() }
        let io = try c.makeQueuePair(qid: 1, depth: 8, vector: 1)
        try c.enableInterrupts()
        var cq = SQE(opcode: 0x05); cq.prp1 = io.cq.busAddress; cq.cdw10 = 7 << 16 | 1; cq.cdw11 = 1 << 16 | 0b11
        #expect(c.adminCommand(cq).isSuccess)
        var sq = SQE(opcode: 0x01); sq.prp1 = io.sq.busAddress; sq.cdw10 = 7 << 16 | 1; sq.cdw11 = 1 << 16 | 1
        #expect(c.adminCommand(sq).isSuccess)
        let data = try Buffer(count: 4096, from: c.allocator)
        try data.fill(.lbaStamped(firstLBA: 8, lbaSize: 512, token: 42))
        var w = SQE(opcode: 0x01, nsid: 1); w.cid = 1; w.prp1 = data.busAddress(); w.cdw10 = 8; w.cdw12 = 7
        io.sq.post(w)
        io.sq.ring()
        #expect(try io.cq.waitForEntry(until: .after(.seconds(5)), interrupts: c.interrupts))
        #expect(io.cq.reap()?.status.isSuccess == true)
        io.cq.ringHead()
        #expect(sim.readBlocks(nsid: 1, lba: 8, count: 8) == data.bytes)
        let back = try Buffer(count: 4096, from: c.allocator)
        var r = w; r.opc = 0x02; r.cid = 2; r.prp1 = back.busAddress()
        io.sq.post(r); io.sq.ring()
        #expect(try io.cq.waitForEntry(until: .after(.seconds(5)), interrupts: c.interrupts))
        #expect(io.cq.reap()?.cid == 2)
        io.cq.ringHead()
        #expect(try back.verify(.lbaStamped(firstLBA: 8, lbaSize: 512, token: 42)) == nil)
    }

    @Test("completion by callback, by explicit polling and by async/await give the same results")
    func completionStyles() async throws {
        let (_, c) = try simController()
        defer { c.close() }
        let qp = c.ioQueues[0]
        let b = try Buffer(count: 512, from: c.allocator)
        var sqe = try DriverCommand.read(nsid: 1, slba: 0, blocks: 1)
        let keep = try DataPointer.attach(b, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
        let viaCallback = Mutex<Completion?>(nil)
        try qp.submit(sqe, data: keep) { cc in viaCallback.withLock { $0 = cc } }
        qp.wait { viaCallback.withLock { $0 } != nil }
        #expect(viaCallback.withLock { $0 }?.isSuccess == true)

        let cid = try qp.submit(sqe, data: keep)
        var polled: Completion?
        while polled == nil { qp.poll { polled = $0 } }
        #expect(polled?.cid == cid && polled?.isSuccess == true)

        let awaited = await qp.execute(sqe, data: keep)
        #expect(awaited.isSuccess && awaited.origin == .device)
        #expect(qp.outstanding == 0)
    }

    @Test("an error status is a value; check(.throwing) throws it, check(.logging) logs 'ERROR status: 00/02 …'")
    func statusAsValue() throws {
        let (_, c) = try simController(sequence: .adminOnly)
        defer { c.close() }
        let buf = try Buffer(count: 4096, from: c.allocator)
        let r = try c.adminCommand(DriverCommand.identify(cns: 0x55), buffer: buf)
        #expect(r.origin == .device && !r.isSuccess)
        #expect(r.status.sct == 0 && r.status.sc == 0x02)
        #expect(r.statusLine == "ERROR status: 00/02 Invalid Field in Command")
        #expect(throws: CommandError.self) { try r.check(.throwing) }
        #expect(try r.check(.logging) == r)
        #expect(throws: CommandError.self) { try c.identify(cns: 0x55) }
    }

    @Test("a command the controller never answers times out locally; its CID stays quarantined until a late answer")
    func timeoutQuarantinesCID() throws {
        let (sim, c) = try simController()
        defer { c.close() }
        let qp = c.ioQueues[0]
        sim.inject(.io(.flush, times: 1, .dropCompletion))
        let r = qp.execute(DriverCommand.flush(nsid: 1), timeout: .after(.milliseconds(50)))
        #expect(r.origin == .timedOut && !r.isSuccess)
        #expect(r.status.sct == 3 && r.status.sc == 0x71)
        #expect(qp.quarantined == 1 && qp.outstanding == 0)
        #expect(!qp.isOutstanding(r.cid))
        // Other commands keep working, and never reuse the quarantined CID.
        for _ in 0..<10 {
            let ok = qp.execute(DriverCommand.flush(nsid: 1))
            #expect(ok.isSuccess && ok.cid != r.cid)
        }
        // A reset releases it.
        try c.reset(.controller)
        #expect(qp.quarantined == 0)
    }

    @Test("a late answer to a timed-out command frees its CID and reaches onLateCompletion with the controller's CQE")
    func lateCompletionOfATimedOutCommand() throws {
        let (sim, c) = try simController()
        defer { c.close() }
        let qp = c.ioQueues[0]
        var late: [Completion] = []
        qp.onLateCompletion = { late.append($0) }
        sim.inject(.io(.flush, times: 1, .delay(.milliseconds(300))))
        let r = qp.execute(DriverCommand.flush(nsid: 1), timeout: .after(.milliseconds(50)))
        #expect(r.origin == .timedOut && qp.quarantined == 1)
        let deadline = Deadline.after(.seconds(30))
        while late.isEmpty && !deadline.hasPassed { if qp.poll() == 0 { sched_yield() } }
        try #require(late.count == 1, "the late completion never reached onLateCompletion")
        #expect(late[0].origin == .device && late[0].isSuccess && late[0].cqe.cid == r.cid && late[0].sqe.opc == 0x00)
        #expect(qp.quarantined == 0 && qp.outstanding == 0)
    }

    @Test("a stuck command times out on a queue whose every poll finds other completions")
    func timeoutIsNoticedOnABusyQueue() throws {
        let (sim, c) = try simController()
        defer { c.close() }
        let qp = c.ioQueues[0]
        sim.inject(.io(.flush, times: 1, .dropCompletion))
        var stuck: Completion?
        try qp.submit(DriverCommand.flush(nsid: 1), timeout: .after(.milliseconds(50))) { stuck = $0 }
        // Inline mode answers each later Flush at its doorbell: no poll below is ever idle.
        let deadline = Deadline.after(.seconds(30))
        while stuck == nil && !deadline.hasPassed {
            try qp.submit(DriverCommand.flush(nsid: 1), timeout: .none)
            #expect(qp.poll() >= 1)
        }
        #expect(stuck?.origin == .timedOut, "the stuck command never timed out while other commands completed")
        #expect(qp.quarantined == 1)
    }

    @Test("timeout policy .abort sends an Admin Abort (08h) naming the SQ and CID")
    func timeoutAbort() throws {
        let (sim, c) = try simController()
        defer { c.close() }
        let qp = c.ioQueues[0]
        qp.timeoutPolicy = .abort
        sim.inject(.io(.flush, times: 1, .dropCompletion))
        let r = qp.execute(DriverCommand.flush(nsid: 1), timeout: .after(.milliseconds(50)))
        #expect(r.origin == .timedOut)
        let abort = c.adminQueue!.log.entries.last { $0.sqe.opc == AdminOpcode.abort.rawValue }
        #expect(abort?.sqe.cdw10 == UInt32(qp.qid) | UInt32(r.cid) << 16)
    }

    @Test("the command log records SQE/CQE pairs with latency and exports them as JSON")
    func commandLog() throws {
        let (_, c) = try simController()
        defer { c.close() }
        let buf = try Buffer(count: 4096, from: c.allocator)
        _ = try c.adminCommand(DriverCommand.identify(cns: 0x55), buffer: buf)
        let entries = c.commandLog
        let bad = try #require(entries.last { $0.sqe.opc == 0x06 && $0.sqe.cdw10 == 0x55 })
        #expect(bad.cqe.status.sc == 2 && bad.completeTicks >= bad.submitTicks)
        #expect(CommandLog.json(entries).contains("\"statusName\":\"Invalid Field in Command\""))
        #expect(CommandLog.render(entries).contains("06h"))
    }
}
