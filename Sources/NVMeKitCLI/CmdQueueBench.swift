import ArgumentParser
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSimulator
import NVMeSpec

/// `nvmekit queue-bench`: the driver's own cost per IO (build SQE + PRP, post, ring, reap, ring head) against the
/// simulator's null mode. Timing lives here, never in tests.
struct QueueBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue-bench",
        abstract: "Measure the driver's cost per IO against the simulated controller's null mode (ns/IO).",
        shouldDisplay: false)

    @Option(help: "IOs per measurement.") var ios: Int = 1_000_000
    @Option(help: "IO queue depth.") var depth: Int = 256
    @Option(name: .customLong("repeat"), help: "Repetitions (the best is reported).") var repeat_: Int = 3
    @Option(name: .customLong("json-file"), help: "Also write the measurements as JSON here (tools/bench reads it).")
    var jsonFile: String?
    @Option(help: "Run only the measurements whose path/mode/batch matches, e.g. raw/inline/32 or submit/poll/background/32 (for profiling one loop).")
    var only: String?

    @Option(help: ArgumentHelp("Run the raw loop against this PCI function instead of the simulator (4 KiB reads of namespace 1).",
                               discussion: "The floor the IOWorker is measured against on a real controller: no CID table, no histograms, nothing but post/ring/reap/ringHead."))
    var device: String?
    @Option(help: "Backend for --device: vfio | noiommu | uio (default $NVMEKIT_BACKEND or vfio).") var backend: String?

    func validate() throws {
        try Check.range("--ios", ios, 1...1_000_000_000, "IOs per measurement")
        try Check.range("--depth", depth, 2...65536, "IO queue entries")
        try Check.range("--repeat", repeat_, 1...1000)
        if let jsonFile { try Check.writablePath("--json-file", jsonFile) }
        if let backend, DeviceBackend(rawValue: backend) == nil {
            throw Check.invalid("--backend", backend, mustBe: "vfio, noiommu or uio")
        }
        if backend != nil && device == nil { throw Check.unused("--backend", "without --device (the simulator needs none)") }
    }

    /// --depth against the opened controller's CAP.MQES.
    static func checkDepth(_ depth: Int, _ c: Controller) throws {
        try Check.within("--depth", depth, 2, Int(c.cap.mqes) + 1, "CAP.MQES+1 on \(c.device.address)")
    }


    struct Measurement: Encodable {
        var path: String; var mode: String; var batch: Int; var nsPerIO: Double; var doorbellsPerIO: Double
        /// Per-IO latency of a separate QD1 pass (device only): each IO timed from post to reap by the TSC.
        var latencyNs: LatencyPercentiles? = nil
    }
    struct LatencyPercentiles: Encodable { var mean: Double; var p50: Double; var p99: Double; var count: Int }

    /// QD1 on a real controller, each IO timed post→reap with the TSC (read twice per IO, so this pass is kept apart
    /// from the ns/IO pass whose mean it would inflate).
    static func rawLatencies(_ qp: QueuePair, _ buf: Buffer, _ n: Int, nlb: UInt32, lbaLimit: UInt64) -> LatencyPercentiles {
        var sqe = SQE(opcode: IOOpcode.read.rawValue, nsid: 1)
        sqe.cdw12 = nlb
        sqe.prp1 = buf.busAddress()
        var ticks = [UInt64](repeating: 0, count: max(1, n))
        var cid: UInt16 = 0
        for i in 0..<n {
            sqe.cid = cid; cid &+= 1
            let index = (UInt64(i) &* 0x9E37_79B9_7F4A_7C15) >> 24
            sqe.cdw10 = UInt32(truncatingIfNeeded: (index &* UInt64(nlb + 1)) % lbaLimit)
            let t0 = TickClock.now()
            qp.sq.post(sqe); qp.sq.ring()
            var got = false
            while !got { while let cqe = qp.cq.reap() { qp.sq.noteHead(cqe.sqhd); got = true } }
            ticks[i] = TickClock.now() &- t0
            qp.cq.ringHead()
        }
        let ns = ticks.prefix(n).map { Double($0) * TickClock.nanosecondsPerTick }.sorted()
        guard !ns.isEmpty else { return LatencyPercentiles(mean: 0, p50: 0, p99: 0, count: 0) }
        func at(_ q: Double) -> Double { ns[min(ns.count - 1, Int(q * Double(ns.count)))] }
        return LatencyPercentiles(mean: ns.reduce(0, +) / Double(ns.count), p50: at(0.50), p99: at(0.99), count: ns.count)
    }

    static func open(mode: ExecutionMode, depth: Int) throws -> Controller {
        var config = SimulatorConfiguration()
        config.nullIO = true
        config.executionMode = mode
        let sim = try SimulatedController(configuration: config)
        var o = ControllerOptions()
        o.interrupts = .polling
        o.ioQueueDepth = depth
        o.commandLogCapacity = 0
        o.asyncEventRequests = 0
        var adminOnly = InitSequence.standard
        try adminOnly.remove("createIOQueues")
        let c = try Controller.open(sim, options: o, sequence: adminOnly)
        do {
            try checkDepth(depth, c)
            try c.createIOQueues()
        } catch { c.close(); throw error }
        return c
    }

    /// The IOWorker's loop: raw post/ring/reap/ringHead, PRP1 per command, `batch` SQEs per doorbell.
    static func raw(_ qp: QueuePair, _ buf: Buffer, _ n: Int, batch: Int) {
        raw(qp, buf, n, batch: batch, nlb: 7, lbaLimit: .max, inFlight: qp.sq.depth - 1, random: false)
    }

    /// At most `inFlight` commands outstanding, `batch` SQEs per doorbell; consecutive or scattered LBAs.
    static func raw(_ qp: QueuePair, _ buf: Buffer, _ n: Int, batch: Int, nlb: UInt32, lbaLimit: UInt64, inFlight: Int,
                    random: Bool) {
        var sqe = SQE(opcode: IOOpcode.read.rawValue, nsid: 1)
        sqe.cdw12 = nlb
        let base = buf.busAddress()
        var done = 0, posted = 0
        var cid: UInt16 = 0
        let limit = min(inFlight, qp.sq.depth - 1)
        while done < n {
            var k = 0
            while k < batch && posted - done < limit && posted < n {
                sqe.cid = cid; cid &+= 1
                sqe.prp1 = base &+ UInt64((posted & 7) << 12)
                // Scattered: a multiplicative hash of the IO number (Fibonacci hashing), no RNG state.
                let index = random ? (UInt64(posted) &* 0x9E37_79B9_7F4A_7C15) >> 24 : UInt64(posted)
                sqe.cdw10 = UInt32(truncatingIfNeeded: (index &* UInt64(nlb + 1)) % lbaLimit)
                qp.sq.post(sqe)
                posted &+= 1; k &+= 1
            }
            if k > 0 { qp.sq.ring() }
            var reaped = 0
            while let cqe = qp.cq.reap() { qp.sq.noteHead(cqe.sqhd); reaped &+= 1 }
            if reaped > 0 { qp.cq.ringHead(); done &+= reaped }
        }
    }

    /// The convenience path: QueuePair.submit (CID table, deadline, buffers) and poll (matching, log off).
    static func pair(_ qp: QueuePair, _ buf: Buffer, _ n: Int, batch: Int) {
        var sqe = SQE(opcode: IOOpcode.read.rawValue, nsid: 1)
        sqe.prp1 = buf.busAddress()
        var done = 0, posted = 0
        while done < n {
            var k = 0
            while k < batch && qp.outstanding < qp.sq.depth - 1 && posted < n {
                sqe.cdw10 = UInt32(truncatingIfNeeded: posted)
                if (try? qp.submit(sqe, ring: false)) == nil { break }
                posted &+= 1; k &+= 1
            }
            if k > 0 { qp.sq.ring() }
            done &+= qp.poll()
        }
    }

    func measure(_ label: String, mode: ExecutionMode, batch: Int,
                 _ body: (QueuePair, Buffer, Int, Int) -> Void) throws -> Measurement {
        let c = try Self.open(mode: mode, depth: depth)
        defer { c.close() }
        let qp = c.ioQueues[0]
        let buf = try Buffer(count: 8 * 4096, from: c.allocator)
        body(qp, buf, 10_000, batch)
        var best = Double.infinity
        for _ in 0..<max(1, repeat_) {
            let t0 = MonotonicClock.nanoseconds()
            body(qp, buf, ios, batch)
            best = min(best, Double(MonotonicClock.nanoseconds() - t0) / Double(ios))
        }
        let doorbells = Double(qp.sq.mmioDoorbellWrites + qp.cq.mmioDoorbellWrites) / Double(ios * max(1, repeat_) + 10_000)
        let title = label == "raw" ? "raw post/ring/reap/ringHead" : "QueuePair.submit/poll"
        print("\(title.padding(toLength: 44, withPad: " ", startingAt: 0)) sim \(mode.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) batch \(String(batch).padding(toLength: 3, withPad: " ", startingAt: 0))  \(String(format: "%7.1f", best)) ns/IO  (MMIO doorbells/IO \(String(format: "%.3f", doorbells)))")
        return Measurement(path: label, mode: mode.rawValue, batch: batch, nsPerIO: best, doorbellsPerIO: doorbells)
    }

    /// The raw loop on a real controller: reads of 8 blocks at consecutive LBAs, `batch` in flight.
    func runDevice(_ address: String) throws {
        var t = try TargetOptions.parse(["--target", address, "--interrupts", "polling"] + (backend.map { ["--backend", $0] } ?? []))
        t.allowUnsafe = true
        var o = ControllerOptions()
        o.ioQueueDepth = depth
        o.commandLogCapacity = 0
        o.asyncEventRequests = 0
        var adminOnly = InitSequence.standard
        try adminOnly.remove("createIOQueues")
        let c = try t.openController(options: o, sequence: adminOnly)
        defer { c.close() }
        try run(on: c, address: address)
    }

    /// The raw loop on an open controller whose admin queue is up and whose IO queues are not yet created (they
    /// are created here with the controller's `ioQueueDepth`, which `run()` sets to `--depth`).
    func run(on c: Controller) throws {
        try run(on: c, address: device ?? c.device.address)
    }

    private func run(on c: Controller, address: String) throws {
        try Self.checkDepth(depth, c)
        try c.createIOQueues()
        guard let ns = c.namespaces.first(where: { $0.nsid == 1 }) else { throw ValidationError("namespace 1 is not active on \(address)") }
        let blocks = max(1, 4096 / max(1, ns.blockSize))
        guard ns.blockCount > UInt64(blocks) else { throw OptionError("namespace 1 of \(address) has \(ns.blockCount) blocks: too small for 4 KiB reads") }
        let qp = c.ioQueues[0]
        let buf = try Buffer(count: 8 * 4096, from: c.allocator)
        var out: [Measurement] = []
        print("raw post/ring/reap/ringHead on \(address) (\(ios) reads of 4 KiB, polled):")
        for random in [false, true] {
            for batch in [1, 32] where !Interruption.shared.isInterrupted {   // SIGINT: stop between measurements
                let limit = ns.blockCount - UInt64(blocks)
                Self.raw(qp, buf, 1000, batch: batch, nlb: UInt32(blocks - 1), lbaLimit: limit, inFlight: batch, random: random)
                let db0 = qp.sq.mmioDoorbellWrites + qp.cq.mmioDoorbellWrites
                let t0 = MonotonicClock.nanoseconds()
                Self.raw(qp, buf, ios, batch: batch, nlb: UInt32(blocks - 1), lbaLimit: limit, inFlight: batch, random: random)
                let perIO = Double(MonotonicClock.nanoseconds() - t0) / Double(ios)
                let db = Double(qp.sq.mmioDoorbellWrites + qp.cq.mmioDoorbellWrites - db0) / Double(ios)
                print("  \(random ? "random    " : "sequential") QD\(String(batch).padding(toLength: 3, withPad: " ", startingAt: 0)) \(String(format: "%9.1f", perIO)) ns/IO  \(String(format: "%8.0f", 1e9 / perIO)) IOPS  (MMIO doorbells/IO \(String(format: "%.3f", db)))")
                var m = Measurement(path: random ? "raw-random" : "raw-sequential", mode: "device", batch: batch,
                                    nsPerIO: perIO, doorbellsPerIO: db)
                if batch == 1 && random {
                    let l = Self.rawLatencies(qp, buf, min(ios, 20_000), nlb: UInt32(blocks - 1), lbaLimit: limit)
                    print("  random     QD1 latency per IO: mean \(String(format: "%.0f", l.mean)) ns, p50 \(String(format: "%.0f", l.p50)) ns, p99 \(String(format: "%.0f", l.p99)) ns (\(l.count) IOs timed)")
                    m.latencyNs = l
                }
                out.append(m)
            }
        }
        try write(out)
    }

    func write(_ all: [Measurement]) throws {
        guard let jsonFile else { return }
        let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]
        guard FileManager.default.createFile(atPath: jsonFile, contents: try e.encode(all)) else {
            throw ValidationError("cannot write --json-file \(jsonFile)")
        }
    }

    func run() throws {
        if let device { return try runDevice(device) }
        print("driver cost per IO against the simulator's null mode (\(ios) IOs, depth \(depth), best of \(repeat_)):")
        let plan: [(String, ExecutionMode, Int, (QueuePair, Buffer, Int, Int) -> Void)] = [
            ("raw", .inline, 1, Self.raw), ("raw", .inline, 32, Self.raw), ("submit/poll", .inline, 32, Self.pair),
            ("raw", .background, 32, Self.raw), ("submit/poll", .background, 32, Self.pair),
        ]
        let chosen = plan.filter { only == nil || "\($0.0)/\($0.1.rawValue)/\($0.2)" == only }
        if chosen.isEmpty {
            throw ValidationError("--only \(only ?? "") matches no measurement; choose one of: "
                                  + plan.map { "\($0.0)/\($0.1.rawValue)/\($0.2)" }.joined(separator: ", "))
        }
        var done: [Measurement] = []
        for m in chosen where !Interruption.shared.isInterrupted {   // SIGINT: stop between measurements
            done.append(try measure(m.0, mode: m.1, batch: m.2, m.3))
        }
        try write(done)
    }
}
