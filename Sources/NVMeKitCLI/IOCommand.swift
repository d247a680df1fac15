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

    func validate() throws {
        if workers < 1 { throw ValidationError("--workers must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let cqDepth, cqDepth < queueDepth + 1 || cqDepth > 65536 {
            throw ValidationError("--cq-depth must be within \(queueDepth + 1)...65536 (at least --qd + 1)")
        }
        if submitBatch < 1 || submitBatch > queueDepth {
            throw ValidationError("--submit-batch must be within 1...\(queueDepth) (the queue depth, --qd)")
        }
        if DataPattern(rawValue: pattern) == nil {
            throw ValidationError("unknown pattern '\(pattern)': use stamped, zeroes, ones or random")
        }
        if ResetKind(rawValue: resetKind) == nil {
            throw ValidationError("unknown reset kind '\(resetKind)': use one of \(ResetKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let mix { do { _ = try OperationMix.parse(mix) } catch { throw ValidationError("\(error)") } }
        if readPercent < 0 || readPercent > 100 { throw ValidationError("--read must be within 0...100") }
        if seconds == nil && ioCount == nil { return }
        if let s = seconds, s <= 0 { throw ValidationError("--time must be positive") }
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
        seq.remove("createIOQueues")      // the workload creates its own polled queue pairs
        let device: any NVMeDevice
        if t == "sim" || t.hasPrefix("sim:") {
            var cfg = SimulatorConfiguration()
            cfg.nullIO = simNull
            cfg.namespaces = [NamespaceConfiguration(nsid: 1, blockCount: simBlocks)]
            device = try SimulatedController(configuration: cfg, address: t == "sim" ? "sim0" : String(t.dropFirst(4)))
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
        if let mapFile, let data = FileManager.default.contents(atPath: mapFile) {
            guard let map = IntegrityMap(serialized: [UInt8](data)) else {
                printError("\(mapFile) is not an integrity map written by nvmekit io: delete it to start afresh"); throw ExitCode(2)
            }
            store[controllers[0].device.address, map.nsid] = map
        }
        var line = ProgressLine()
        let result: WorkloadResult
        do {
            result = try workload.run(integrity: &store, progress: noProgress ? nil : { line.report($0) })
        } catch {
            line.finish()
            printError("\(error)"); throw ExitCode(2)
        }
        if !noProgress { line.finish() }
        if let mapFile, let map = store[controllers[0].device.address, nsid] {
            try Data(map.serialized()).write(to: URL(fileURLWithPath: mapFile))
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
        if result.mismatchCount > 0 { throw ExitCode(3) }
        if result.total.errors > 0 { throw ExitCode(4) }
    }
}
