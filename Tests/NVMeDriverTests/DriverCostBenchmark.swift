import Foundation
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import Testing
@testable import NVMeDriver

/// Driver cost per IO (build SQE + PRP, post, ring, reap, ring head) against the simulator's null mode. Prints
/// numbers, asserts none (timing is not a test). Run with NVMEKIT_BENCH=1.
@Suite("Driver cost benchmark (prints ns/IO; NVMEKIT_BENCH=1)",
       .enabled(if: ProcessInfo.processInfo.environment["NVMEKIT_BENCH"] == "1", "benchmark: set NVMEKIT_BENCH=1 to run"))
struct DriverCostBenchmark {
    func measure(_ label: String, mode: ExecutionMode, depth: Int, batch: Int, ios: Int, body: (QueuePair, Buffer, Int) -> Void) throws {
        var config = SimulatorConfiguration()
        config.nullIO = true
        config.executionMode = mode
        let sim = try SimulatedController(configuration: config)
        var o = ControllerOptions()
        o.interrupts = .polling
        o.ioQueueDepth = depth
        o.commandLogCapacity = 0
        let c = try Controller.open(sim, options: o)
        defer { c.close() }
        let qp = c.ioQueues[0]
        let buf = try Buffer(count: 4096, from: c.allocator)
        body(qp, buf, 1000)   // warm up
        let t0 = MonotonicClock.nanoseconds()
        body(qp, buf, ios)
        let ns = Double(MonotonicClock.nanoseconds() - t0) / Double(ios)
        print("BENCH \(label): \(String(format: "%.1f", ns)) ns/IO over \(ios) IOs (sim \(mode.rawValue), null IO, depth \(depth), batch \(batch))")
    }

    /// Raw steps: the IOWorker's path.
    static func rawLoop(_ qp: QueuePair, _ buf: Buffer, _ n: Int, batch: Int) {
        var sqe = SQE(opcode: IOOpcode.read.rawValue, nsid: 1)
        sqe.prp1 = buf.busAddress()
        sqe.cdw12 = 7
        var done = 0, posted = 0, cid: UInt16 = 0
        while done < n {
            var k = 0
            while k < batch && posted - done < qp.sq.depth - 1 && posted < n {
                sqe.cid = cid; cid &+= 1
                sqe.cdw10 = UInt32(truncatingIfNeeded: posted)
                qp.sq.post(sqe)
                posted += 1; k += 1
            }
            if k > 0 { qp.sq.ring() }
            var reaped = 0
            while let cqe = qp.cq.reap() { qp.sq.noteHead(cqe.sqhd); reaped += 1 }
            if reaped > 0 { qp.cq.ringHead(); done += reaped }
        }
    }

    @Test func rawStepsInline() throws {
        try measure("raw post/ring/reap/ringHead", mode: .inline, depth: 256, batch: 1, ios: 200_000) { Self.rawLoop($0, $1, $2, batch: 1) }
        try measure("raw post/ring/reap/ringHead", mode: .inline, depth: 256, batch: 32, ios: 200_000) { Self.rawLoop($0, $1, $2, batch: 32) }
    }

    @Test func rawStepsBackground() throws {
        try measure("raw post/ring/reap/ringHead", mode: .background, depth: 256, batch: 32, ios: 200_000) { Self.rawLoop($0, $1, $2, batch: 32) }
    }

    @Test func queuePairSubmitPoll() throws {
        try measure("QueuePair.submit/poll", mode: .inline, depth: 256, batch: 32, ios: 200_000) { qp, buf, n in
            var sqe = SQE(opcode: IOOpcode.read.rawValue, nsid: 1)
            sqe.prp1 = buf.busAddress()
            var done = 0, posted = 0
            while done < n {
                var k = 0
                while k < 32 && qp.outstanding < qp.sq.depth - 1 && posted < n {
                    sqe.cdw10 = UInt32(truncatingIfNeeded: posted)
                    _ = try? qp.submit(sqe, timeout: .none, ring: false)
                    posted += 1; k += 1
                }
                if k > 0 { qp.sq.ring() }
                done += qp.poll()
            }
        }
    }
}
