#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// How a run is shaped.
public struct FuzzOptions: Sendable {
    public var seed: UInt64 = 1
    /// Stop after this many cases (nil: only the time limit stops the run).
    public var cases: Int? = 1000
    public var timeLimit: Duration?
    public var generators: [GeneratorKind] = GeneratorKind.allCases
    public var oracles: Set<OracleKind> = Set(OracleKind.allCases)
    /// How long a command that must complete may take.
    public var deadline: Duration = .milliseconds(500)
    /// Identify Controller every N cases (and after every recovery).
    public var identifyEvery = 100
    /// Canary LBAs are read back every N cases.
    public var lbaCanaryEvery = 100
    /// Where repro files go (nil: kept in memory only).
    public var outputDirectory: String?
    /// Repro files written per finding signature (oracle, queue, opcode, rule).
    public var reprosPerSignature = 1
    public var maximumRepros = 200
    /// Cases before the failing one kept in a repro (since the last re-initialisation).
    public var historyLength = 8
    /// First case index (a run can resume where another stopped).
    public var firstCase: UInt64 = 0
    /// Called about every `progressInterval` with the summary so far.
    public var progressInterval: Duration = .seconds(1)
    public var stopOnFirstFinding = false
    /// Cases whose label contains one of these are not run (counted in `avoided`): shapes known to take the
    /// target down in a way only a power cycle undoes, e.g. QEMU 7.2's endless SGL segment chain (docs/fuzzer.md).
    public var avoidLabels: [String] = []

    public init() {}
}

/// Runs cases against one controller through the driver's raw queue layer: posts exact SQEs into slots, rings any
/// doorbell value, reaps by phase, judges every case with the oracles, recovers with escalating resets, and writes a
/// repro for every new finding. Controller misbehaviour never escapes as a crash: it becomes a finding.
///
/// A case is executed into a `CaseOutcome` (Execution.swift), judged by `Oracles.judge` (Oracle.swift, Oracles/),
/// recovered from (Recovery.swift) and recorded here; Probes.swift holds the fuzzer's own commands and the periodic
/// checks, Replay.swift runs a repro again.
public final class FuzzRunner {
    public let target: FuzzTarget
    public var options: FuzzOptions
    public let controller: Controller
    /// What the generators were built against (fixed for the run so cases stay reproducible).
    public private(set) var environment: FuzzEnvironment
    public internal(set) var summary = FuzzSummary()
    /// Every finding of the run (capped at 10,000).
    public private(set) var findings: [Finding] = []
    /// Repros kept in memory (also written to `outputDirectory`).
    public private(set) var repros: [Repro] = []
    /// Called with progress.
    public var progress: ((FuzzSummary) -> Void)?
    /// Called after every case with its findings and wall time in seconds (tracing a slow or stuck run).
    public var caseFinished: ((FuzzCase, [Finding], Double) -> Void)?
    /// Called before every case runs, with the summary so far: a heartbeat for a supervisor outside the guest, which
    /// knows from the last one which case was running when the device or its host died.
    public var caseStarting: ((FuzzCase, FuzzSummary) -> Void)?
    /// Asked before every case: true ends the run there (after the final health check), as the limits do — the
    /// CLI's SIGINT/SIGTERM handling sets it.
    public var shouldStop: (() -> Bool)?

    // Arena layout, in pages: canary | data | canary | list | canary | identify | LBA canary buffer
    let arena: DMARegion
    let pageSize = 4096
    let dataStart: Int
    let listStart: Int
    let identifyOffset: Int
    let lbaOffset: Int
    let canaryPages: [Int]
    static let canaryByte: UInt8 = 0xCA
    static let guardByte: UInt8 = 0xC5
    static let guardWindow = 256
    /// Bus addresses no allocation reaches (within a 39-bit IOMMU address width).
    public static let unmappedBase: UInt64 = 0x7F_0000_0000

    var nextCID: UInt16 = 0x8000
    /// AERs and other commands allowed to complete in a later case, by queue and CID.
    var lingering: [UInt16: Set<UInt16>] = [:]
    var history: [(state: [QueueState], fuzzCase: FuzzCase)] = []
    var signatures: [String: Int] = [:]
    var identifyBaseline: [UInt8] = []
    var lbaCanaryStale = true
    var lastFaultCount = 0
    var previousCaseWild = false
    let generator: CaseGenerator

    /// Opens the controller with the standard init sequence (polled queues, no AERs: the fuzzer owns the admin queue).
    public init(target: FuzzTarget, options: FuzzOptions = .init()) throws {
        self.target = target
        self.options = options
        var copts = ControllerOptions()
        copts.adminQueueDepth = 32
        copts.ioQueueCount = 1
        copts.ioQueueDepth = 64
        copts.interrupts = .polling
        copts.asyncEventRequests = 0
        copts.commandLogCapacity = 0
        copts.defaultTimeout = .seconds(2)
        controller = Controller(device: target.device, options: copts)
        try controller.initialize()

        var env = FuzzEnvironment()
        env.adminQueueDepth = copts.adminQueueDepth
        env.ioQueueDepth = copts.ioQueueDepth
        let dataPages = env.dataPages, listPages = env.listPages
        dataStart = pageSize
        listStart = dataStart + (dataPages + 1) * pageSize
        identifyOffset = listStart + (listPages + 1) * pageSize
        lbaOffset = identifyOffset + pageSize
        canaryPages = [0, dataStart + dataPages * pageSize, listStart + listPages * pageSize]
        arena = try target.device.dma.allocate(length: lbaOffset + 8 * pageSize, alignment: pageSize)
        Self.describe(&env, controller: controller, device: target.device)
        environment = env
        generator = CaseGenerator(seed: options.seed, kinds: options.generators, environment: env)
        summary.target = target.name
        summary.seed = options.seed
        for p in canaryPages { arena.fill(Self.canaryByte, offset: p, count: pageSize) }
        lastFaultCount = target.faults?.faultCount() ?? 0
        identifyBaseline = identifyController() ?? []
        if identifyBaseline.isEmpty { throw FuzzError.target("\(target.name) does not answer Identify Controller after initialisation") }
        writeLBACanary()
    }

    /// Fills the environment from CAP, Identify Controller and the namespaces the driver found.
    static func describe(_ env: inout FuzzEnvironment, controller c: Controller, device: any NVMeDevice) {
        let cap = c.cap
        env.mqes = cap.mqes
        env.contiguousQueuesRequired = cap.cqr
        env.interruptVectors = device.interrupts.supportedVectors
        env.grantedQueuePairs = max(1, min(c.grantedQueues.submission, c.grantedQueues.completion))
        let id = c.identifyData
        if id.count >= 520 {
            env.namespaceCount = UInt32(id[516]) | UInt32(id[517]) << 8 | UInt32(id[518]) << 16 | UInt32(id[519]) << 24
            let mdts = id[77]
            env.maximumTransferBytes = mdts == 0 ? nil : (1 << Int(mdts)) * cap.minimumPageSize
        }
        env.activeNamespaces = c.namespaces.map(\.nsid)
        if let ns = c.namespaces.first(where: { $0.nsid == 1 }) {
            env.blockSize = max(512, ns.blockSize)
            env.blockCount = ns.blockCount
        }
    }

    var admin: QueuePair { controller.adminQueue! }
    var io: QueuePair? { controller.ioQueues.first }

    func queue(_ qid: UInt16) -> QueuePair? {
        if qid == 0 { return controller.adminQueue }
        return controller.ioQueues.first { $0.qid == qid }
    }

    // MARK: Running

    /// Runs cases until `options.cases` or `options.timeLimit`, whichever comes first.
    @discardableResult
    public func run() -> FuzzSummary {
        let start = MonotonicClock.nanoseconds()
        var lastProgress = start
        let limitNs: UInt64? = options.timeLimit.map { UInt64($0.components.seconds) * 1_000_000_000 + UInt64($0.components.attoseconds / 1_000_000_000) }
        var index = options.firstCase
        var n = 0
        var lastCase: FuzzCase?
        while options.cases.map({ n < $0 }) ?? true {
            if shouldStop?() == true { break }
            let c = generator.generate(index: index)
            if options.avoidLabels.contains(where: { c.label.contains($0) }) {
                summary.avoided += 1
                n += 1; index += 1
                continue
            }
            lastCase = c
            caseStarting?(c, summary)
            let found = runCase(c)
            n += 1; index += 1
            if n & 15 == 0 || !found.isEmpty {
                let now = MonotonicClock.nanoseconds()
                updateRate(start: start, now: now)
                if let limitNs, now - start >= limitNs { break }
                if now - lastProgress >= UInt64(options.progressInterval.components.seconds) * 1_000_000_000
                    + UInt64(options.progressInterval.components.attoseconds / 1_000_000_000) {
                    lastProgress = now
                    progress?(summary)
                }
            }
            if summary.unrecovered > 0 { break }
            if options.stopOnFirstFinding && !found.isEmpty { break }
        }
        // Final health check: canary LBAs and Identify.
        if summary.unrecovered == 0, let lastCase {
            let f = periodicChecks(caseIndex: lastCase.index, force: true)
            record(f, case: lastCase, state: queueState(), outcome: CaseOutcome(resolvedCase: lastCase), history: history)
        }
        updateRate(start: start, now: MonotonicClock.nanoseconds())
        return summary
    }

    func updateRate(start: UInt64, now: UInt64) {
        summary.seconds = Double(now - start) / 1e9
        summary.casesPerSecond = summary.seconds > 0 ? Double(summary.cases) / summary.seconds : 0
    }

    /// Runs one case: executes it, judges it, recovers if needed, records findings. Returns its findings.
    @discardableResult
    public func runCase(_ c: FuzzCase) -> [Finding] {
        let t0 = MonotonicClock.nanoseconds()
        let found = judge(c)
        let dt = Double(MonotonicClock.nanoseconds() - t0) / 1e9
        summary.secondsPerGenerator[c.generator.rawValue, default: 0] += dt
        caseFinished?(c, found, dt)
        return found
    }

    func judge(_ c: FuzzCase) -> [Finding] {
        summary.cases += 1
        summary.perGenerator[c.generator.rawValue, default: 0] += 1
        let state = queueState()
        let outcome = execute(c)
        let judged = Oracles.judge(outcome, OracleContext(deadline: options.deadline))
        var found = judged.filter { options.oracles.contains($0.oracle) && !c.exempt.contains($0.oracle) }
        if outcome.aimedAtQueues {
            found.removeAll { [.completionEntry, .phase, .hostMemoryCanary].contains($0.oracle) }
        }
        let resolved = outcome.resolvedCase
        let broken = found.contains { [.deadline, .controllerFatal, .deviceAlive, .completionEntry, .phase].contains($0.oracle) }
            || judged.contains { $0.oracle == .deviceAlive || $0.oracle == .controllerFatal }
        if found.contains(where: { $0.oracle == .deadline }) { summary.hangs += 1 }
        let priorHistory = history
        if broken {
            if !recover(caseIndex: c.index) {
                found.append(Finding(oracle: .identify, caseIndex: c.index, expected: "a reset brings the controller back",
                                     got: "no reset level (\(resetLevels.map(\.rawValue).joined(separator: " → "))) restored Identify"))
            }
        } else if c.requiresReset || outcome.queueTrouble || outcome.aimedAtQueues {
            summary.plannedResets += 1
            if !reinitialize() {
                if !recover(caseIndex: c.index) {
                    found.append(Finding(oracle: .identify, caseIndex: c.index, expected: "re-initialisation after \(c.label)",
                                         got: "no reset level restored Identify"))
                }
            }
        } else {
            history.append((state, resolved))
            if history.count > options.historyLength { history.removeFirst() }
        }
        if summary.unrecovered == 0 {
            found += periodicChecks(caseIndex: c.index, force: false)
        }
        record(found, case: resolved, state: state, outcome: outcome, history: priorHistory)
        if broken || c.requiresReset || outcome.queueTrouble || outcome.aimedAtQueues { history.removeAll() }
        return found
    }

    func queueState() -> [QueueState] {
        ([controller.adminQueue] + controller.ioQueues.map { Optional($0) }).compactMap { $0 }.map {
            QueueState(qid: $0.qid, depth: $0.sq.depth, sqTail: $0.sq.tail, sqHead: $0.sq.head, cqHead: $0.cq.head,
                       cqPhase: $0.cq.phase)
        }
    }

    // MARK: Findings and repros

    func record(_ found: [Finding], case c: FuzzCase, state: [QueueState], outcome: CaseOutcome,
                history: [(state: [QueueState], fuzzCase: FuzzCase)]) {
        guard !found.isEmpty else { return }
        summary.findings += found.count
        for f in found {
            summary.perOracle[f.oracle.rawValue, default: 0] += 1
            if let op = f.opcode { summary.findingsPerOpcode[FuzzSummary.opcodeKey(qid: f.qid ?? 1, opcode: op), default: 0] += 1 }
            if findings.count < 10_000 { findings.append(f) }
        }
        for f in found {
            let sig = f.signature
            let seen = signatures[sig, default: 0]
            signatures[sig] = seen + 1
            guard seen < options.reprosPerSignature, repros.count < options.maximumRepros else { continue }
            let hist = history
            let r = Repro(seed: options.seed, target: target.name, oracle: f.oracle, expected: f.expected, got: f.got,
                          caseIndex: c.index, label: c.label, generator: c.generator, environment: environment,
                          queueState: hist.first?.state ?? state, history: hist.map(\.fuzzCase), failingCase: c,
                          posted: outcome.posted, registerWrites: outcome.writes,
                          alsoTripped: found.filter { $0 != f }.map { "\($0.oracle.rawValue): \($0.got)" })
            repros.append(r)
            if let dir = options.outputDirectory {
                try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let path = (dir as NSString).appendingPathComponent(r.fileName)
                if FileManager.default.createFile(atPath: path, contents: Data(r.json().utf8)) {
                    summary.reproFiles.append(path)
                }
            }
        }
    }

    /// The case the run would generate at `index`.
    public func generateCase(_ index: UInt64) -> FuzzCase { generator.generate(index: index) }
}

func hex2(_ v: UInt8) -> String {
    let h = String(v, radix: 16, uppercase: true)
    return h.count == 1 ? "0" + h : h
}
