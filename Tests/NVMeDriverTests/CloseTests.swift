import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Synchronization
import Testing
@testable import NVMeDriver

/// `Controller.close()` quiesces: no new submissions, a bounded wait for outstanding commands, shutdown and
/// CC.EN = 0 / CSTS.RDY = 0, then the device is released; later calls do nothing.
@Suite("Controller.close() quiesces and releases")
struct ControllerCloseTests {
    @Test("close leaves CC.EN = 0 and CSTS.RDY = 0 (not only CC.SHN set)")
    func disablesController() throws {
        let (sim, c) = try simController()
        #expect(sim.bar0.cc.en && sim.bar0.csts.rdy)
        c.close()
        #expect(!sim.bar0.cc.en, "CC=\(String(sim.bar0.cc.rawValue, radix: 16))")
        #expect(!sim.bar0.csts.rdy, "CSTS=\(String(sim.bar0.csts.rawValue, radix: 16))")
        #expect(c.isClosed)
    }

    @Test("a command the controller never answers is failed locally by close, after a bounded wait")
    func failsOutstandingLocally() throws {
        let (sim, c) = try simController()
        c.closeTimeout = .milliseconds(100)
        let qp = c.ioQueues[0]
        sim.inject(.io(.flush, times: 1, .dropCompletion))
        let got = Mutex<Completion?>(nil)
        try qp.submit(DriverCommand.flush(nsid: 1), timeout: .none) { done in got.withLock { $0 = done } }
        #expect(qp.outstanding == 1)
        c.close()
        let done = try #require(got.withLock { $0 }, "close returned with the flush still outstanding")
        #expect(done.origin == .abortedByReset && !done.isSuccess)
        #expect(qp.outstanding == 0)
    }

    @Test("commands the controller does answer complete normally during close's wait")
    func drainsAnsweredCommands() throws {
        var cfg = SimulatorConfiguration()
        cfg.executionMode = .background
        let sim = try SimulatedController(configuration: cfg)
        let c = try Controller.open(sim)
        let qp = c.ioQueues[0]
        let got = Mutex<[Completion]>([])
        for _ in 0..<8 {
            try qp.submit(DriverCommand.flush(nsid: 1)) { done in got.withLock { $0.append(done) } }
        }
        c.close()
        let all = got.withLock { $0 }
        #expect(all.count == 8)
        #expect(all.allSatisfy { $0.origin == .device && $0.isSuccess }, "\(all.map(\.origin))")
    }

    @Test("after close no queue accepts a submission, and a second close is a no-op")
    func refusesSubmissionsAndIsIdempotent() throws {
        let (sim, c) = try simController()
        let qp = c.ioQueues[0]
        c.close()
        #expect(throws: SubmitError.queueUnavailable(qid: qp.qid)) { try qp.submit(DriverCommand.flush(nsid: 1)) }
        // Bring the simulated controller back up behind the closed driver: a second close must not touch it.
        let other = try Controller.open(sim)
        #expect(sim.bar0.csts.rdy)
        c.close()
        #expect(sim.bar0.cc.en && sim.bar0.csts.rdy, "the second close disabled a controller it no longer owns")
        other.close()
    }

    @Test("a second Controller on the same simulated device after close initializes and does IO")
    func reopenAfterClose() throws {
        let (sim, c) = try simController()
        let keep = try Buffer(count: 4096, from: c.allocator)   // kept alive across close, as users do
        try keep.fill(.byte(0x5A))
        c.close()
        let c2 = try Controller.open(sim)
        defer { c2.close() }
        let buf = try Buffer(count: 4096, from: c2.allocator)
        try buf.fill(.random(seed: 7))
        #expect(try write(c2, c2.ioQueues[0], buf, slba: 3).isSuccess)
        let back = try Buffer(count: 4096, from: c2.allocator)
        #expect(try read(c2, c2.ioQueues[0], back, slba: 3).isSuccess)
        #expect(back.compare(to: buf) == nil)
        #expect(try keep.verify(.byte(0x5A)) == nil)
    }
}
