import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec
import Synchronization
import Testing

/// Opens controller `index` of the guest through the backend `tools/vm` bound it to.
func openGuestController(_ index: Int = 0, configure: (inout ControllerOptions) -> Void = { _ in },
                         sequence: InitSequence = .standard) throws -> Controller {
    let bdf = GuestEnvironment.devices[index]
    let backend = try #require(GuestEnvironment.backend.flatMap { DeviceBackend(rawValue: $0.rawValue) })
    let device = try openDevice(address: bdf, backend: backend,
                                options: DeviceOptions(allowUnsafe: true, interrupts: backend == .uio ? .intx : .msix))
    var o = ControllerOptions()
    o.interrupts = backend == .uio ? .intx : .msix
    o.defaultTimeout = .seconds(10)
    configure(&o)
    return try Controller.open(device, options: o, sequence: sequence)
}

let driverBackends = GuestEnvironment.isGuest && [.vfio, .noiommu, .uio].contains(GuestEnvironment.backend)
let driverNotHere: Comment = "driver device test: runs in the QEMU guest on vfio, noiommu or uio (tools/vm test --backend vfio|noiommu|uio)"

/// Raw post / ring / interrupt-or-poll wait / reap / ring head, as the pynvme slides do it.
func byHand(_ sqe: SQE, on qp: QueuePair, _ c: Controller) throws -> CQE {
    qp.sq.post(sqe)
    qp.sq.ring()
    #expect(try qp.cq.waitForEntry(until: .after(.seconds(10)), interrupts: c.interrupts))
    let cqe = try #require(qp.cq.reap())
    qp.sq.noteHead(cqe.sqhd)
    qp.cq.ringHead()
    return cqe
}

func ioRoundTrip(_ c: Controller, _ qp: QueuePair, slba: UInt64, blocks: Int, seed: UInt64) throws -> Bool {
    let size = c.namespaces[0].blockSize * blocks
    let out = try Buffer(count: size, from: c.allocator)
    try out.fill(.lbaStamped(firstLBA: slba, lbaSize: c.namespaces[0].blockSize, token: seed))
    var w = try DriverCommand.write(nsid: c.namespaces[0].nsid, slba: slba, blocks: blocks)
    let kw = try DataPointer.attach(out, to: &w, pageSize: c.pageSize, allocator: c.allocator)
    guard qp.execute(w, data: kw).isSuccess else { return false }
    let back = try Buffer(count: size, from: c.allocator)
    var r = try DriverCommand.read(nsid: c.namespaces[0].nsid, slba: slba, blocks: blocks)
    let kr = try DataPointer.attach(back, to: &r, pageSize: c.pageSize, allocator: c.allocator)
    guard qp.execute(r, data: kr).isSuccess else { return false }
    return back.compare(to: out) == nil
}

@Suite("Driver on QEMU: pynvme SDC 2020 slide examples", .serialized, .enabled(if: driverBackends, driverNotHere))
struct DriverSlideExamplesOnDevice {
    @Test("Identify Controller built by hand with PRP1, doorbell rung by hand, interrupt waited, CQE reaped by phase")
    func handBuiltIdentify() throws {
        let c = try openGuestController(sequence: .adminOnly)
        defer { c.close() }
        let admin = try #require(c.adminQueue)
        let buf = try Buffer(count: 4096, from: c.allocator)
        var sqe = SQE()
        sqe.opc = 0x06; sqe.cid = 0x5DC; sqe.prp1 = buf.busAddress(); sqe.cdw10 = 1
        let irqBefore = c.interrupts.count(vector: 0)
        let cqe = try byHand(sqe, on: admin, c)
        #expect(cqe.cid == 0x5DC && cqe.status.isSuccess)
        #expect(String(decoding: buf.bytes[24..<38], as: UTF8.self) == "QEMU NVMe Ctrl")
        if c.interrupts.enabledVectors > 0 {
            // The CQE can be visible before the interrupt reaches its eventfd: wait for it with a deadline.
            let fired = c.interrupts.count(vector: 0) > irqBefore ? true : try c.interrupts.wait(vector: 0, timeout: .seconds(5)) > 0
            #expect(fired, "the admin CQ's interrupt (\(c.interrupts.kind)) fired")
        }
    }

    @Test("IO CQ and SQ created by hand; write and read back by hand-built SQEs, manual doorbells, interrupt wait")
    func handBuiltIOQueuesWriteRead() throws {
        let c = try openGuestController { $0.ioQueueCount = 1 }
        defer { c.close() }
        let vector: UInt16 = c.interrupts.kind == .intx ? 0 : 1
        let io = try c.makeQueuePair(qid: 5, depth: 16, vector: vector)
        var cq = SQE(opcode: 0x05); cq.prp1 = io.cq.busAddress; cq.cdw10 = 15 << 16 | 5; cq.cdw11 = UInt32(vector) << 16 | 0b11
        #expect(c.adminCommand(cq).isSuccess)
        var sq = SQE(opcode: 0x01); sq.prp1 = io.sq.busAddress; sq.cdw10 = 15 << 16 | 5; sq.cdw11 = 5 << 16 | 1
        #expect(c.adminCommand(sq).isSuccess)
        let data = try Buffer(count: 4096, from: c.allocator)
        try data.fill(.lbaStamped(firstLBA: 100, lbaSize: 512, token: 2020))
        var w = SQE(opcode: 0x01, nsid: 1); w.cid = 1; w.prp1 = data.busAddress(); w.cdw10 = 100; w.cdw12 = 7
        let irq = c.interrupts.count(vector: Int(vector))
        #expect(try byHand(w, on: io, c).status.isSuccess)
        if c.interrupts.enabledVectors > Int(vector) {   // the CQE can be visible before the interrupt arrives
            let fired = c.interrupts.count(vector: Int(vector)) > irq ? true : try c.interrupts.wait(vector: Int(vector), timeout: .seconds(5)) > 0
            #expect(fired, "the IO CQ's interrupt fired")
        }
        let back = try Buffer(count: 4096, from: c.allocator)
        var r = w; r.opc = 0x02; r.cid = 2; r.prp1 = back.busAddress()
        #expect(try byHand(r, on: io, c).cid == 2)
        #expect(try back.verify(.lbaStamped(firstLBA: 100, lbaSize: 512, token: 2020)) == nil)
        #expect(c.adminCommand(DriverCommand.deleteIOSubmissionQueue(qid: 5)).isSuccess)
        #expect(c.adminCommand(DriverCommand.deleteIOCompletionQueue(qid: 5)).isSuccess)
    }

    @Test("a malformed command (Identify with a reserved CNS) completes with 00/02 Invalid Field in Command")
    func malformedCommandStatus() throws {
        let c = try openGuestController(sequence: .adminOnly)
        defer { c.close() }
        let buf = try Buffer(count: 4096, from: c.allocator)
        let r = try c.adminCommand(DriverCommand.identify(cns: 0x55), buffer: buf)
        #expect(r.statusLine == "ERROR status: 00/02 Invalid Field in Command")
    }
}

@Suite("Driver on QEMU: custom init sequences", .serialized, .enabled(if: driverBackends, driverNotHere))
struct DriverInitSequencesOnDevice {
    @Test("WRR selected in CC.AMS with QPRIO per IO SQ: QEMU accepts it (it does not model arbitration) and IO verifies")
    func weightedRoundRobin() throws {
        let c = try openGuestController { $0.arbitration = 1; $0.ioQueueCount = 3; $0.ioQueuePriorities = [0, 1, 3] }
        defer { c.close() }
        #expect(c.registers.cc.ams == 1)
        for qp in c.ioQueues { #expect(try ioRoundTrip(c, qp, slba: UInt64(qp.qid) * 64, blocks: 8, seed: 7)) }
    }

    @Test("memory page size 8 KiB (CC.MPS = 1): PRPs on 8 KiB pages, IO of 32 KiB verifies")
    func nonDefaultMPS() throws {
        let c = try openGuestController { $0.mps = 1 }
        defer { c.close() }
        #expect(c.pageSize == 8192 && c.registers.cc.mps == 1)
        #expect(try ioRoundTrip(c, c.ioQueues[0], slba: 512, blocks: 64, seed: 8))
    }

    @Test("a two-entry admin queue (AQA = 00010001h) survives many commands")
    func tinyAdminQueue() throws {
        let c = try openGuestController { $0.adminQueueDepth = 2; $0.asyncEventRequests = 0 }
        defer { c.close() }
        for _ in 0..<10 { #expect(try c.getFeatures(fid: 0x07).isSuccess) }
    }

    @Test("a user step inserted between enable and identify sees CSTS.RDY = 1")
    func insertedStep() throws {
        var seq = InitSequence.standard
        let seen = Mutex<Bool>(false)
        try seq.insert(InitStep("check ready") { c in seen.withLock { $0 = c.registers.csts.rdy } }, after: "enable")
        let c = try openGuestController(sequence: seq)
        defer { c.close() }
        #expect(seen.withLock { $0 })
    }
}

@Suite("Driver on QEMU: doorbells and async events", .serialized, .enabled(if: driverBackends, driverNotHere))
struct DriverDoorbellsOnDevice {
    @Test("an invalid SQ tail doorbell value raises QEMU's async event 'invalid doorbell write value'")
    func invalidDoorbellWriteRaisesAsyncEvent() throws {
        let c = try openGuestController()
        defer { c.close() }
        #expect(try c.getFeatures(fid: 0x07).isSuccess)   // the AER has been fetched
        let qp = c.ioQueues[0]
        qp.sq.ring(tail: UInt32(qp.sq.depth + 7))
        let e = try #require(c.waitForAsyncEvents(until: .after(.seconds(10))).first)
        #expect(e.type == 0 && e.info == 1 && e.logPage == 1, "\(e)")
    }

    @Test("shadow doorbells (Doorbell Buffer Config) on and off give identical data")
    func shadowDoorbellsOnOff() throws {
        var results: [[UInt8]] = []
        for shadow in [false, true] {
            let c = try openGuestController { $0.shadowDoorbells = shadow; $0.ioQueueDepth = 64 }
            defer { c.close() }
            let qp = c.ioQueues[0]
            #expect((qp.sq.shadow != nil) == shadow)
            let b = try Buffer(count: 512 * 32, from: c.allocator)
            try b.fill(.lbaStamped(firstLBA: 2000, lbaSize: 512, token: 11))
            var keep: [DMARegion] = []
            for i in 0..<32 {
                var sqe = try DriverCommand.write(nsid: 1, slba: 2000 + UInt64(i), blocks: 1)
                keep += try DataPointer.attach(b.slice(offset: 512 * i, count: 512), to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
                try qp.submit(sqe, ring: i % 8 == 7)
            }
            var ok = 0
            qp.wait { qp.outstanding == 0 }
            for e in qp.log.entries where e.sqe.opc == 1 && e.cqe.status.isSuccess { ok += 1 }
            #expect(ok == 32)
            withExtendedLifetime(keep) {}
            let back = try Buffer(count: 512 * 32, from: c.allocator)
            var r = try DriverCommand.read(nsid: 1, slba: 2000, blocks: 32)
            let kr = try DataPointer.attach(back, to: &r, pageSize: c.pageSize, allocator: c.allocator)
            #expect(qp.execute(r, data: kr).isSuccess)
            results.append(back.bytes)
            if shadow { #expect(qp.sq.mmioDoorbellWrites <= 4 + 1) }
        }
        #expect(results[0] == results[1])
    }
}

@Suite("Driver on QEMU: resets with IO in flight", .serialized, .enabled(if: driverBackends, driverNotHere))
struct DriverResetsOnDevice {
    @Test("each supported reset kind: every in-flight read ends (device or aborted-by-reset), queues work again",
          arguments: [ResetKind.controller, .flr, .shutdown, .abruptShutdown])
    func resetWithIOInFlight(kind: ResetKind) throws {
        let c = try openGuestController { $0.ioQueueDepth = 64 }
        defer { c.close() }
        if kind == .flr && !c.device.supportedResets.contains(.flr) {
            #expect(throws: ControllerError.self) { try c.reset(kind) }
            return
        }
        let qp = c.ioQueues[0]
        let got = Mutex<[Completion]>([])
        for i in 0..<32 {
            let b = try Buffer(count: 4096, from: c.allocator)
            var sqe = try DriverCommand.read(nsid: 1, slba: UInt64(i * 8), blocks: 8)
            let keep = try DataPointer.attach(b, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
            try qp.submit(sqe, data: keep, ring: false) { cc in got.withLock { $0.append(cc) } }
        }
        qp.sq.ring()
        try c.reset(kind)
        let all = got.withLock { $0 }
        #expect(all.count == 32)
        #expect(all.allSatisfy { ($0.origin == .device && $0.isSuccess) || $0.origin == .abortedByReset })
        #expect(c.registers.csts.rdy)
        #expect(try ioRoundTrip(c, qp, slba: 4096, blocks: 8, seed: 99))
    }

    @Test("NVM Subsystem Reset is refused: QEMU 7.2 reports CAP.NSSRS = 0")
    func subsystemResetRefused() throws {
        let c = try openGuestController()
        defer { c.close() }
        #expect(!c.cap.nssrs)
        #expect(throws: ControllerError.self) { try c.reset(.subsystem) }
        #expect(try ioRoundTrip(c, c.ioQueues[0], slba: 0, blocks: 1, seed: 1))
    }
}

@Suite("Driver on QEMU: two controllers in one process", .enabled(if: driverBackends && GuestEnvironment.devices.count >= 2,
                                                                      "needs two NVMe controllers in the guest (tools/vm test --controllers ab)"))
struct DriverTwoControllersOnDevice {
    @Test("controllers A and B, each IO queue driven from its own thread")
    func twoControllers() throws {
        let a = try openGuestController(0)
        let b = try openGuestController(1)
        defer { a.close(); b.close() }
        #expect(a.identifyData[4..<24] != b.identifyData[4..<24])
        let failures = Mutex(0)
        let group = DispatchGroup()
        for (i, c) in [a, b].enumerated() {
            let qp = c.ioQueues[0]
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                for j in 0..<20 {
                    if (try? ioRoundTrip(c, qp, slba: UInt64(j * 8), blocks: 8, seed: UInt64(i * 100 + j))) != true {
                        failures.withLock { $0 += 1 }
                    }
                }
            }
        }
        #expect(group.wait(timeout: .now() + 120) == .success)
        #expect(failures.withLock { $0 } == 0)
    }
}
