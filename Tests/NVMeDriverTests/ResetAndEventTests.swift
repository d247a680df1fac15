import Foundation
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Synchronization
import Testing
@testable import NVMeDriver

@Suite("Asynchronous events on the simulator (NVMe 2.0c §5.2)")
struct AsyncEventTests {
    @Test("an invalid doorbell write value raises an error event that is decoded, its log page read, and the AER re-armed")
    func invalidDoorbellWriteRaisesAsyncEvent() throws {
        let (_, c) = try simController()
        defer { c.close() }
        // Make sure the AER was fetched before the bad write (a later admin command completing proves it).
        #expect(try c.getFeatures(fid: 0x07).isSuccess)
        let qp = c.ioQueues[0]
        qp.sq.ring(tail: UInt32(qp.sq.depth + 5))
        let events = c.waitForAsyncEvents(until: .after(.seconds(5)))
        let e = try #require(events.first)
        #expect(e.type == 0 && e.info == 1 && e.logPage == 1)
        #expect(e.description == "error / invalid doorbell write value (log page 01h)")
        #expect(c.asyncEvents.outstanding == 1)
    }

    @Test("a doorbell of a queue that does not exist raises 'write to invalid doorbell register'")
    func invalidDoorbellRegister() throws {
        let (sim, c) = try simController()
        defer { c.close() }
        #expect(try c.getFeatures(fid: 0x07).isSuccess)
        sim.bar0.write32(1, at: Doorbell.sqTailOffset(qid: 9, dstrd: c.dstrd))
        let e = try #require(c.waitForAsyncEvents(until: .after(.seconds(5))).first)
        #expect(e.type == 0 && e.info == 0)
    }

    @Test("SMART temperature events decode; with autoRearm off the user owns the AER commands")
    func smartEventAndManualRearm() throws {
        let (sim, c) = try simController()
        defer { c.close() }
        c.asyncEvents.autoRearm = false
        sim.raiseAsyncEvent(type: 1, info: 1, logPage: 2)
        let e = try #require(c.waitForAsyncEvents(until: .after(.seconds(5))).first)
        #expect(e.infoName == "temperature threshold" && e.log.count == 512)
        #expect(c.asyncEvents.outstanding == 0)
        c.asyncEvents.autoRearm = true
        try c.armAsyncEvents()
        #expect(c.asyncEvents.outstanding == 1)
    }
}

@Suite("Resets with IO in flight on the simulator (NVMe 2.0c §3.7)")
struct ResetTests {
    /// Posts `n` reads on the first IO queue that the simulator fetches and never completes, returns the sink.
    final class Sink: @unchecked Sendable { var items: [Completion] = [] }

    func readsInFlight(_ sim: SimulatedController, _ c: Controller, _ n: Int) throws -> (Sink, [Buffer]) {
        sim.inject(.io(.read, times: n, .dropCompletion))
        let got = Sink()
        var bufs: [Buffer] = []
        let qp = c.ioQueues[0]
        for i in 0..<n {
            let b = try Buffer(count: 512, from: c.allocator)
            var sqe = try DriverCommand.read(nsid: 1, slba: UInt64(i), blocks: 1)
            let keep = try DataPointer.attach(b, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
            try qp.submit(sqe, data: keep, ring: false) { cc in got.items.append(cc) }
            bufs.append(b)
        }
        qp.sq.ring()
        #expect(qp.outstanding == n)
        return (got, bufs)
    }

    @Test("every reset kind completes outstanding IO locally as aborted-by-reset and the queues work again",
          arguments: [ResetKind.controller, .flr, .hotReset, .powerCycle, .shutdown, .abruptShutdown, .subsystem])
    func resetWithIOInFlight(kind: ResetKind) throws {
        let (sim, c) = try simController({ $0.cap.nssrs = true })
        defer { c.close() }
        let (got, _) = try readsInFlight(sim, c, 5)
        let n = try c.reset(kind)
        let results = got.items
        #expect(n >= 5)
        #expect(results.count == 5)
        #expect(results.allSatisfy { $0.origin == .abortedByReset && $0.status.sct == 3 && $0.status.sc == 0x71 })
        #expect(c.ioQueues[0].outstanding == 0)
        #expect(c.registers.csts.rdy)
        let b = try Buffer(count: 512, from: c.allocator)
        try b.fill(.random(seed: 77))
        #expect(try write(c, c.ioQueues[0], b, slba: 3).isSuccess)
        #expect(sim.readBlocks(nsid: 1, lba: 3, count: 1) == b.bytes)
        #expect(c.asyncEvents.outstanding == 1)
        if kind == .subsystem { #expect(sim.statistics.subsystemResets == 1) }
    }

    @Test("NVM Subsystem Reset is refused when CAP.NSSRS = 0 (QEMU 7.2) and nothing is disturbed")
    func subsystemResetUnsupported() throws {
        let (_, c) = try simController()
        defer { c.close() }
        #expect(throws: ControllerError.self) { try c.reset(.subsystem) }
        #expect(c.ioQueues[0].execute(DriverCommand.flush(nsid: 1)).isSuccess)
    }

    @Test("buffers of aborted commands stay alive until the reset completed them (no use-after-free)")
    func buffersOutliveAbortedCommands() throws {
        let alloc = HeapDMAAllocator()
        let sim = try SimulatedController(memory: alloc)
        let c = try Controller.open(sim)
        defer { c.close() }
        let live = alloc.liveRegions
        sim.inject(.io(.read, times: 1, .dropCompletion))
        do {
            let b = try Buffer(count: 512, from: c.allocator)
            var sqe = try DriverCommand.read(nsid: 1, slba: 0, blocks: 1)
            let keep = try DataPointer.attach(b, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
            try c.ioQueues[0].submit(sqe, data: keep)
        }
        #expect(alloc.liveRegions == live + 1)   // the caller dropped it; the command holds it
        try c.reset(.controller)
        #expect(alloc.liveRegions <= live)
    }

    @Test("surprise removal (registers all ones) fails outstanding commands with deviceRemoved, no hang")
    func surpriseRemoval() throws {
        let (sim, c) = try simController()
        defer { sim.reappear() }
        let qp = c.ioQueues[0]
        sim.inject(.io(.flush, times: 1, .disappear))
        let r = qp.execute(DriverCommand.flush(nsid: 1), timeout: .after(.seconds(30)))
        #expect(r.origin == .deviceRemoved)
        #expect(r.status.sct == 3 && r.status.sc == 0x70)
        #expect(qp.state == .removed)
        #expect(throws: SubmitError.deviceRemoved) { try qp.submit(DriverCommand.flush(nsid: 1)) }
        #expect(!c.isPresent)
    }
}

@Suite("Shadow doorbells, batching, several controllers")
struct QueueFeatureTests {
    func workload(shadow: Bool) throws -> (data: [UInt8], mmio: Int, commands: Int) {
        let (sim, c) = try simController(options: { $0.shadowDoorbells = shadow })
        defer { c.close() }
        let qp = c.ioQueues[0]
        if shadow { #expect(qp.sq.shadow != nil && c.adminQueue!.sq.shadow == nil) }
        let b = try Buffer(count: 512 * 64, from: c.allocator)
        try b.fill(.lbaStamped(firstLBA: 0, lbaSize: 512, token: 9))
        var keep: [DMARegion] = []
        for i in 0..<64 {
            var sqe = try DriverCommand.write(nsid: 1, slba: UInt64(i), blocks: 1)
            keep += try DataPointer.attach(b.slice(offset: 512 * i, count: 512), to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
            try qp.submit(sqe, data: [], ring: i % 8 == 7)   // batches of 8 SQEs per doorbell
            if i % 8 == 7 { qp.wait { qp.outstanding == 0 } }
        }
        withExtendedLifetime(keep) {}
        return (sim.readBlocks(nsid: 1, lba: 0, count: 64) ?? [], qp.sq.mmioDoorbellWrites, 64)
    }

    @Test("shadow doorbells on and off give identical data; batching rings once per 8 SQEs")
    func shadowOnOffIdentical() throws {
        let off = try workload(shadow: false)
        let on = try workload(shadow: true)
        #expect(off.data == on.data && off.data.count == 64 * 512)
        #expect(off.mmio == 8)
        #expect(on.mmio <= off.mmio)
    }

    @Test("two controllers in one process, each IO queue driven from its own thread without locks")
    func twoControllersTwoThreads() throws {
        let (simA, a) = try simController { $0.serialNumber = "A" }
        let (simB, b) = try simController { $0.serialNumber = "B" }
        defer { a.close(); b.close() }
        let done = DispatchGroup()
        let failures = Mutex(0)
        for (c, seed) in [(a, UInt64(1)), (b, UInt64(2))] {
            let qp = c.ioQueues[0]
            let alloc = c.allocator
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                for i in 0..<50 {
                    guard let buf = try? Buffer(count: 512, from: alloc), (try? buf.fill(.random(seed: seed * 1000 + UInt64(i)))) != nil,
                          var sqe = try? DriverCommand.write(nsid: 1, slba: UInt64(i), blocks: 1) else {
                        failures.withLock { $0 += 1 }; continue
                    }
                    sqe.prp1 = buf.busAddress()
                    if !qp.execute(sqe, data: [buf.region]).isSuccess { failures.withLock { $0 += 1 } }
                }
            }
        }
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(failures.withLock { $0 } == 0)
        let ea = try Buffer.expectedBytes(.random(seed: 1000 + 7), count: 512)
        let eb = try Buffer.expectedBytes(.random(seed: 2000 + 7), count: 512)
        #expect(simA.readBlocks(nsid: 1, lba: 7, count: 1) == ea)
        #expect(simB.readBlocks(nsid: 1, lba: 7, count: 1) == eb)
        #expect(a.identifyData.ascii(4, 20) == "A" && b.identifyData.ascii(4, 20) == "B")
    }
}
