import ArgumentParser
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import NVMeWorkload

/// `nvmekit io`: IOWorkers with per-LBA verification, latency histograms, JSON and an HTML report.
struct IOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "io",
        abstract: "Run IOWorkers: mixed IO with per-LBA data verification, IOPS series and latency percentiles.",
        discussion: """
        Each worker owns a dedicated polled IO queue pair and a slice of the region. Examples:
          nvmekit io --target sim --mix read:70,write:30 --io-size 4k --qd 32 --time 10
          nvmekit io --target 0000:00:04.0 --workers 2 --io-size 4k:70,64k:30 --report out.html --json
        """)

    @OptionGroup var target: TargetOptions

    @Option(name: .customLong("and-target"), help: "Another controller (PCI address or sim) to run workers on; repeatable.")
    var moreTargets: [String] = []
    @Option(help: "Namespace ID.") var nsid: UInt32 = 1
    @Option(help: "Workers per controller; each gets an equal slice of the region.") var workers: Int = 1
    @Option(help: ArgumentHelp("Threads running the workers (default: one per worker).",
                               discussion: "Fewer threads than workers drive several queue pairs from one thread in turn: use it where polling threads would outnumber the CPUs."))
    var threads: Int?
    @Option(name: .customLong("submit-batch"), help: "Submit only when this many commands fit (fewer, larger doorbell batches).")
    var submitBatch: Int = 1
    @Option(name: .customLong("io-size"), help: "Blocks (8), bytes (4k), a list (4k,64k) or weights (4k:70,128k:30).")
    var ioSize: String = "4k"
    @Option(name: .customLong("align"), help: "LBA alignment of random IOs, in blocks (default: the smallest IO size).")
    var alignment: Int?
    @Option(help: "Percentage of IOs at random LBAs; the rest are sequential.") var random: Int = 100
    @Option(name: .customLong("read"), help: "Read percentage (the rest writes); ignored with --mix.") var readPercent: Int = 100
    @Option(help: "Op mix, e.g. read:60,write:30,trim:4,flush:2,write-zeroes:2,compare:1,verify:1.") var mix: String?
    @Option(name: .customLong("region-start"), help: "First LBA of the region.") var regionStart: UInt64 = 0
    @Option(name: .customLong("region-end"), help: "End LBA of the region (exclusive; default: namespace end).") var regionEnd: UInt64?
    @Option(name: .customLong("qd"), help: "Queue depth per worker.") var queueDepth: Int = 32
    @Option(name: .customLong("cq-depth"), help: ArgumentHelp("Entries in each worker's IO CQ (default 1024, capped by CAP.MQES).",
            discussion: "Spare CQ slots beyond --qd + 1 let the worker write the CQ head doorbell once per (cq-depth - qd - 1) completions; --cq-depth <qd + 1> rings it after every reap."))
    var cqDepth: Int?
    @Option(name: .customLong("qprio"), help: "Queue priority 0 urgent … 3 low (effective with --wrr).") var queuePriority: UInt8 = 2
    @Flag(name: .customLong("wrr"), help: "Weighted round robin arbitration (CC.AMS = 1).") var weightedRoundRobin = false
    @Option(name: .customLong("time"), help: "Seconds to run (default 10 unless --io-count is given).") var seconds: Double?
    @Option(name: .customLong("io-count"), help: "IOs per worker.") var ioCount: UInt64?
    @Option(name: .customLong("iops"), help: "IOPS limit per worker.") var iopsLimit: Int?
    @Flag(name: .customLong("no-verify"), help: "Do not stamp writes or verify reads.") var noVerify = false
    @Option(help: "Write data: stamped | zeroes | ones | random (only stamped is verifiable).") var pattern: String = "stamped"
    @Option(help: "Random seed (the same seed replays the same workload).") var seed: UInt64 = 1
    @Option(name: .customLong("cmdlog"), help: "Keep the last N commands of each worker in the results.") var commandLog: Int = 0
    @Flag(name: .customLong("keep-going"), help: "Do not stop a worker at its first data mismatch.") var keepGoing = false
    @Option(name: .customLong("reset-at"), help: "Seconds after the start at which to reset the controller(s) with IO in flight; repeatable.")
    var resetAt: [Double] = []
    @Option(name: .customLong("reset-kind"), help: "Reset kind for --reset-at (controller, flr, power-cycle, …).") var resetKind: String = "controller"
    @Flag(name: .customLong("shadow-doorbells"), help: "Doorbell Buffer Config: ring through shadow doorbells.") var shadowDoorbells = false
    @Option(name: .customLong("yield-after"), help: "sched_yield() after N empty polls (0: pure spin).") var yieldAfter: Int = 0
    @Flag(name: .customLong("sim-null"), help: "Simulator only: complete reads/writes without moving data (driver cost).") var simNull = false
    @Option(name: .customLong("sim-blocks"), help: "Simulator only: namespace size in blocks.") var simBlocks: UInt64 = 262_144
    @Option(help: "Write the HTML report here.") var report: String?
    @Flag(help: "Print the results as JSON on standard output (the summary goes to standard error).") var json = false
    @Option(name: .customLong("json-file"), help: "Write the JSON results to this file.") var jsonFile: String?
    @Option(name: .customLong("map-file"), help: "Load the integrity map from this file before and save it after, so verification spans invocations.")
    var mapFile: String?
    @Flag(name: .customLong("no-progress"), help: "No progress line.") var noProgress = false
    @Option(name: .customLong("timeout"), help: ArgumentHelp("Per-command timeout in seconds (default 10).",
            discussion: "A timed-out command keeps its buffer and LBAs until the controller answers it or a reset re-creates the queue; any timeout makes the run exit with status 5."))
    var commandTimeout: Double?

    /// Longest --time and latest --reset-at: a week, far beyond any run and far from Int64 nanosecond overflow.
    static let longestRun = 604_800.0

    func validate() throws {
        try target.validate()
        try Check.range("--workers", workers, 1...65535, "IO queue pairs per controller")
        for t in moreTargets { try TargetOptions.checkTarget("--and-target", t) }
        try Check.within("--threads", threads, 1, workers * (1 + moreTargets.count), "at most one per worker")
        try Check.range("--qd", queueDepth, 1...65535, "an SQ holds --qd + 1 entries, at most 65536")
        try Check.within("--cq-depth", cqDepth, queueDepth + 1, 65536, "at least --qd + 1")
        try Check.within("--submit-batch", submitBatch, 1, queueDepth, "the queue depth, --qd")
        try Check.range("--align", alignment, 1...(1 << 48), "blocks")
        try Check.range("--random", random, 0...100, "percent")
        try Check.range("--read", readPercent, 0...100, "percent")
        try Check.range("--qprio", queuePriority, 0...3, "QPRIO is 2 bits")
        try Check.range("--time", seconds, 0.001...Self.longestRun, "seconds")
        try Check.range("--timeout", commandTimeout, 0.001...86_400, "seconds per command")
        try Check.range("--io-count", ioCount, 1...(UInt64(1) << 62))
        try Check.range("--iops", iopsLimit, 1...100_000_000)
        try Check.range("--cmdlog", commandLog, 0...1_000_000, "commands kept per worker")
        try Check.each("--reset-at", resetAt, 0...(seconds.map { min($0, Self.longestRun) } ?? Self.longestRun),
                       seconds == nil ? "seconds" : "seconds, within --time")
        try Check.range("--yield-after", yieldAfter, 0...1_000_000_000, "empty polls")
        try Check.range("--sim-blocks", simBlocks, 1...(UInt64(1) << 24), "logical blocks; the integrity map holds about 6 bytes per block")
        let anySimulator = ([target.resolvedTarget] + moreTargets).contains(where: DeviceTarget.isSimulator)
        if simNull && !anySimulator { throw Check.unused("--sim-null", "without a simulator target (--target sim)") }
        if let report { try Check.writablePath("--report", report) }
        if let jsonFile { try Check.writablePath("--json-file", jsonFile) }
        if let mapFile { try Check.writablePath("--map-file", mapFile) }
        if let regionEnd, regionEnd <= regionStart {
            throw OptionError("--region-end must be above --region-start (\(regionStart)); got \(regionEnd)")
        }
        if DataPattern(rawValue: pattern) == nil {
            throw Check.invalid("--pattern", pattern, mustBe: "one of \(DataPattern.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if ResetKind(rawValue: resetKind) == nil {
            throw Check.invalid("--reset-kind", resetKind, mustBe: "one of \(ResetKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let mix { do { _ = try OperationMix.parse(mix) } catch { throw OptionError("--mix: \(error)") } }
        do { _ = try IOSizeDistribution.parse(ioSize, blockSize: 512) } catch {
            // A byte size that is not a multiple of 512 may still fit a namespace's block size: judged after opening.
            if case .invalid(let m) = error, !m.contains("multiple of") { throw OptionError("--io-size: \(m)") }
        }
    }

    /// Checks the options against what each opened controller allows (CAP.MQES, MDTS, granted queues, namespace).
    func validate(against controllers: [Controller]) throws {
        for c in controllers {
            let entries = Int(c.cap.mqes) + 1
            try Check.within("--qd", queueDepth, 1, entries - 1, "an SQ of --qd + 1 entries; CAP.MQES+1 is \(entries) on \(c.device.address)")
            try Check.within("--cq-depth", cqDepth, queueDepth + 1, entries, "CAP.MQES+1 on \(c.device.address)")
            let granted = min(c.grantedQueues.submission, c.grantedQueues.completion)
            try Check.within("--workers", workers, 1, granted, "IO queue pairs granted by \(c.device.address)")
            guard let ns = c.namespaces.first(where: { $0.nsid == nsid }) else { continue }
            let size: IOSizeDistribution
            do { size = try IOSizeDistribution.parse(ioSize, blockSize: ns.blockSize) } catch {
                throw OptionError("--io-size: \(error)")
            }
            // One PRP list page per IO (the IOWorker's layout), and MDTS (in units of CAP.MPSMIN) when reported.
            var limit = (c.pageSize / 8 + 1) * c.pageSize
            var why = "one PRP list page of \(c.pageSize)-byte pages"
            let mdts = c.identifyData.count > 77 ? Int(c.identifyData[77]) : 0
            if mdts > 0 && mdts < 32 {
                let bytes = c.cap.minimumPageSize << mdts
                if bytes < limit { limit = bytes; why = "MDTS·MPSMIN on \(c.device.address)" }
            }
            let maxBlocks = min(65536, limit / max(1, ns.blockSize))
            try Check.within("--io-size", size.maxBlocks, 1, maxBlocks,
                            "blocks of \(ns.blockSize) bytes, \(maxBlocks * ns.blockSize / 1024) KiB: \(why)")
            let end = regionEnd ?? ns.blockCount
            try Check.within("--region-end", end, 1, ns.blockCount, "namespace \(nsid) size in blocks")
            try Check.within("--region-start", regionStart, 0, end &- 1, "below the region end")
            try Check.within("--align", alignment.map { UInt64($0) }, 1, end &- regionStart, "the region's size in blocks")
            try Check.within("--io-size", UInt64(size.maxBlocks), 1, (end &- regionStart) / UInt64(workers),
                             "blocks: each worker's slice of the region must hold the largest IO")
        }
    }

    func open(_ t: String) throws -> Controller {
        var o = ControllerOptions()
        o.interrupts = .polling
        o.ioQueueCount = workers
        o.ioQueueDepth = max(2, queueDepth + 1)
        o.shadowDoorbells = shadowDoorbells
        o.arbitration = weightedRoundRobin ? 1 : 0
        o.commandLogCapacity = 64
        var seq = InitSequence.standard
        try seq.remove("createIOQueues")      // the workload creates its own polled queue pairs
        let device: any NVMeDevice
        let parsed = try DeviceTarget.parse(t, backend: target.resolvedBackend)
        if parsed.isSimulator {
            var cfg = SimulatorConfiguration()
            cfg.nullIO = simNull
            cfg.namespaces = [NamespaceConfiguration(nsid: 1, blockCount: simBlocks)]
            // With a state file, what earlier invocations wrote is there (its namespaces replace --sim-blocks), and
            // this run's writes are saved back; io names the device after the file so that two --and-target
            // state files tell apart in its report.
            device = try parsed.openDevice(options: DeviceOptions(), configuration: cfg,
                                           simulatorAddress: parsed.stateFile ?? "sim0")
        } else {
            var opts = target
            opts.target = t
            opts.interrupts = "polling"
            device = try opts.openDevice()
        }
        let c = Controller(device: device, options: o)
        do { try c.initialize(seq) } catch { device.close(); throw error }
        return c
    }

    func run() throws {
        var controllers: [Controller] = []
        defer { for c in controllers { c.close() } }
        do {
            for t in [target.resolvedTarget] + moreTargets { controllers.append(try open(t)) }
        } catch {
            printError("cannot open the controller: \(error)"); throw ExitCode(2)
        }
        try run(on: controllers)
    }

    /// Exit status of a run whose commands timed out (after mismatches 3 and error completions 4).
    static let timeoutExitCode: Int32 = 5

    /// Everything `run` does once the controllers are open (`open` for each target): the workload, the map file,
    /// the outputs and the exit status. The caller closes the controllers.
    func run(on controllers: [Controller]) throws {
        try validate(against: controllers)
        let opMix: OperationMix
        if let mix { opMix = try OperationMix.parse(mix) } else { opMix = .read(percent: readPercent) }

        var jobs: [Workload.Job] = []
        for (ci, c) in controllers.enumerated() {
            guard let ns = c.namespaces.first(where: { $0.nsid == nsid }) else {
                printError("namespace \(nsid) is not active on \(c.device.address) (active: \(c.namespaces.map(\.nsid))): use --nsid")
                throw ExitCode(2)
            }
            let size: IOSizeDistribution
            do { size = try IOSizeDistribution.parse(ioSize, blockSize: ns.blockSize) } catch {
                printError("\(error)"); throw ExitCode(2)
            }
            let end = regionEnd ?? ns.blockCount
            let span = end > regionStart ? (end - regionStart) / UInt64(workers) : 0
            for w in 0..<workers {
                var cfg = IOWorkerConfiguration()
                cfg.name = controllers.count > 1 ? "c\(ci)w\(w)" : "w\(w)"
                cfg.nsid = nsid
                cfg.ioSize = size
                cfg.lbaAlignment = alignment ?? max(1, size.minBlocks)
                cfg.randomPercent = random
                cfg.mix = opMix
                cfg.regionStart = regionStart + UInt64(w) * span
                cfg.regionEnd = w == workers - 1 ? end : regionStart + UInt64(w + 1) * span
                cfg.queueDepth = queueDepth
                cfg.queuePriority = queuePriority
                cfg.duration = seconds.map { .nanoseconds(Int64($0 * 1e9)) } ?? (ioCount == nil ? .seconds(10) : nil)
                cfg.ioCount = ioCount
                cfg.iopsLimit = iopsLimit
                cfg.verify = !noVerify
                cfg.pattern = DataPattern(rawValue: pattern)!
                cfg.seed = seed &+ UInt64(ci * 1000 + w)
                cfg.commandLogCapacity = commandLog
                cfg.stopOnMismatch = !keepGoing
                cfg.yieldAfterIdlePolls = yieldAfter
                cfg.submitBatch = submitBatch
                cfg.completionQueueDepth = cqDepth
                if let t = commandTimeout { cfg.timeout = .nanoseconds(Int64(t * 1e9)) }
                jobs.append(.init(controller: c, configuration: cfg))
            }
        }
        let workload = Workload(jobs: jobs)
        workload.threads = threads
        Interruption.shared.onStop { workload.requestStop() }   // SIGINT/SIGTERM: stop, save the map, close, exit 130
        for t in resetAt {
            for ci in controllers.indices {
                workload.resets.append(ScheduledReset(after: .nanoseconds(Int64(t * 1e9)), kind: ResetKind(rawValue: resetKind)!, controller: ci))
            }
        }

        var store = IntegrityStore()
        if let mapFile, FileManager.default.fileExists(atPath: mapFile) {
            // The map must describe this device's namespace (serial, NSID, NSZE, LBA format); checked before the
            // map is allocated.
            let c0 = controllers[0]
            do {
                guard let ns = c0.namespaces.first(where: { $0.nsid == nsid }) else { throw ExitCode(2) }   // reported above
                let map = try IntegrityMap(contentsOf: mapFile, expecting: NamespaceIdentity(controller: c0, namespace: ns))
                store[c0.device.address, map.nsid] = map
            } catch {
                printError("\(error)"); throw ExitCode(2)
            }
        }
        var line = ProgressLine()
        let outcome: Result<WorkloadResult, any Error>
        do {
            outcome = .success(try workload.run(integrity: &store, progress: noProgress ? nil : { line.report($0) }))
        } catch {
            outcome = .failure(error)
        }
        line.finish()
        // Whatever the outcome, what was written is recorded: the map and the simulator's state file.
        let saveFailed = !persist(store: store, controllers: controllers)
        let result: WorkloadResult
        switch outcome {
        case .success(let r): result = r
        case .failure(let error): printError("\(error)"); throw ExitCode(2)
        }
        if json { print(result.json()) }
        if json { printError(result.summary()) } else { print(result.summary()) }
        if let jsonFile { try result.json().write(toFile: jsonFile, atomically: true, encoding: .utf8) }
        if let report {
            try HTMLReport.render(result).write(toFile: report, atomically: true, encoding: .utf8)
            if !json { print("report: \(report)") }
        }
        if let law = Optional(result.total.littlesLaw), !law.isConsistent(tolerance: 0.25), result.total.ios > 1000 {
            printError(String(format: "note: Little's law off by %.0f%% (IOPS x mean latency = %.2f, measured QD %.2f)",
                              law.relativeError * 100, law.predictedQueueDepth, law.measuredQueueDepth))
        }
        let t = result.total
        if t.timeouts > 0 {
            // One line that says why the run fails, whatever else the summary said.
            printError("nvmekit io: failed: \(t.timeouts) command(s) timed out after \(commandTimeout ?? 10) s "
                       + "(\(t.lateCompletions) answered late, \(t.releasedByReset) released by a reset, "
                       + "\(t.quarantinedAtEnd) never answered; each held its buffer and LBAs until then)"
                       + (t.stopReason.map { "; \($0)" } ?? ""))
        } else if let why = t.stopReason {
            printError("nvmekit io: \(why)")
        }
        // A reset asked for but never reached (the run ended first) is a request the run did not honour.
        let missedResets = resetAt.count - t.resets
        if missedResets > 0 {
            printError("nvmekit io: \(missedResets) of \(resetAt.count) --reset-at resets did not happen: the run ended after "
                       + String(format: "%.2f s", t.seconds) + "; give --time or a larger --io-count")
        }
        if result.mismatchCount > 0 { throw ExitCode(3) }
        if t.errors > 0 || (t.stopReason != nil && t.timeouts == 0) { throw ExitCode(4) }
        if t.timeouts > 0 { throw ExitCode(Self.timeoutExitCode) }
        if saveFailed || missedResets > 0 { throw ExitCode(2) }
    }

    /// Saves the integrity map (`--map-file`) and every simulator state file; prints one line per failure and
    /// returns false when anything could not be saved.
    func persist(store: IntegrityStore, controllers: [Controller]) -> Bool {
        var ok = true
        if let mapFile, let c0 = controllers.first, let map = store[c0.device.address, nsid] {
            do { try map.write(atomicallyTo: mapFile) } catch { printError("\(error)"); ok = false }
        }
        for c in controllers {
            if let failure = TargetOptions.saveState(of: c.device) { printError(failure); ok = false }
        }
        return ok
    }
}
