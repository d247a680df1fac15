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

/// What replaying a repro showed.
public struct ReplayResult: Sendable {
    public var reproduced: Bool
    public var findings: [Finding]
}

/// Runs cases against one controller through the driver's raw queue layer: posts exact SQEs into slots, rings any
/// doorbell value, reaps by phase, judges every case with the oracles, recovers with escalating resets, and writes a
/// repro for every new finding. Controller misbehaviour never escapes as a crash: it becomes a finding.
public final class FuzzRunner {
    public let target: FuzzTarget
    public var options: FuzzOptions
    public let controller: Controller
    /// What the generators were built against (fixed for the run so cases stay reproducible).
    public private(set) var environment: FuzzEnvironment
    public private(set) var summary = FuzzSummary()
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
            record(f, case: lastCase, state: queueState(), outcome: Outcome(resolvedCase: lastCase), history: history)
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
        var found = outcome.findings.filter { options.oracles.contains($0.oracle) && !c.exempt.contains($0.oracle) }
        if outcome.aimedAtQueues {
            found.removeAll { [.completionEntry, .phase, .hostMemoryCanary].contains($0.oracle) }
        }
        let resolved = outcome.resolvedCase
        let broken = found.contains { [.deadline, .controllerFatal, .deviceAlive, .completionEntry, .phase].contains($0.oracle) }
            || outcome.findings.contains { $0.oracle == .deviceAlive || $0.oracle == .controllerFatal }
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

    // MARK: Executing a case

    struct Pending {
        var qid: UInt16
        var cid: UInt16
        var opcode: UInt8
        var expect: Expectation
        var rang: Bool
        var postedIndex: Int
        var guards: [(offset: Int, count: Int)]
        var done = false
        var status: CompletionStatus?
    }

    struct Outcome {
        var findings: [Finding] = []
        var resolvedCase: FuzzCase
        var posted: [PostedCommand] = []
        var writes: [RegisterWrite] = []
        var queueTrouble = false
        /// A command's PRP points into a queue ring: whatever the device then writes over the ring is what it was
        /// told to do, not a bad completion entry or phase.
        var aimedAtQueues = false
    }

    /// Whether the 4 KiB page at `address` overlaps the memory of any queue ring.
    func pointsIntoQueues(_ address: UInt64) -> Bool {
        let page = address & ~UInt64(pageSize - 1)
        let queues = ([controller.adminQueue].compactMap { $0 } + controller.ioQueues)
        for q in queues {
            for mem in [q.sq.memory, q.cq.memory] {
                var o = 0
                while o < mem.length {
                    if mem.busAddress(at: o) & ~UInt64(pageSize - 1) == page { return true }
                    o += pageSize
                }
            }
        }
        return false
    }

    func cidForNext() -> UInt16 {
        let c = nextCID
        nextCID = nextCID == 0xFFFF ? 0x8000 : nextCID + 1
        return c
    }

    /// Whether `offset ..< offset + count + extra` lies within `0 ..< size`, without overflowing on any input (a
    /// repro file's offsets and counts are whatever the file says).
    static func fits(_ offset: Int, _ count: Int, within size: Int) -> Bool {
        guard offset >= 0, count >= 0 else { return false }
        let (end, overflow) = offset.addingReportingOverflow(count)
        return !overflow && end <= size
    }

    func resolve(_ p: Pointer) -> UInt64 {
        func inArena(_ base: Int, _ o: Int) -> UInt64 {
            let (x, overflow) = base.addingReportingOverflow(o)
            if !overflow && x >= 0 && x <= arena.length { return arena.busAddress(at: x) }
            return arena.busAddress(at: 0) &+ UInt64(bitPattern: Int64(base)) &+ UInt64(bitPattern: Int64(o))
        }
        switch p {
        case .data(let o): return inArena(dataStart, o)
        case .list(let o): return inArena(listStart, o)
        case .unmapped(let o): return Self.unmappedBase &+ o
        case .absolute(let v): return v
        case .ring(let qid, let completion, let o):
            guard let q = queue(qid) else { return Self.unmappedBase }
            let mem = completion ? q.cq.memory : q.sq.memory
            return o >= 0 && o <= mem.length ? mem.busAddress(at: o) : mem.busAddress(at: 0) &+ UInt64(bitPattern: Int64(o))
        }
    }

    func doorbellValue(_ v: DoorbellValue, qid: UInt16, completion: Bool) -> UInt32 {
        switch v {
        case .raw(let x): return x
        case .tail(let plus):
            guard let q = queue(qid) else { return UInt32(truncatingIfNeeded: plus) }
            var x = Int(q.sq.tail) &+ plus
            if x < 0 { x &+= q.sq.depth }
            return UInt32(truncatingIfNeeded: x)
        case .head(let plus):
            guard let q = queue(qid) else { return UInt32(truncatingIfNeeded: plus) }
            var x = Int(q.cq.head) &+ plus
            if x < 0 { x &+= q.cq.depth }
            return UInt32(truncatingIfNeeded: x)
        }
    }

    func areaOffset(_ a: MemoryArea) -> (Int, Int) {
        a == .data ? (dataStart, environment.dataBytes) : (listStart, environment.listPages * pageSize)
    }

    func execute(_ c: FuzzCase) -> Outcome {
        var out = Outcome(resolvedCase: c)
        var pending: [Pending] = []
        let regs = target.device.bar0
        let dstrd = controller.cap.dstrd
        var resolvedActions = c.actions
        let faultsBefore = target.faults?.faultCount() ?? 0
        if faultsBefore != lastFaultCount {
            // Faults that arrived between cases belong to the previous case; count them, attribute nothing new.
            summary.dmaFaults += faultsBefore - lastFaultCount
            lastFaultCount = faultsBefore
        }

        for (ai, action) in c.actions.enumerated() {
            switch action {
            case .submit(var s):
                guard let q = queue(s.qid) else {
                    out.queueTrouble = true
                    continue
                }
                if s.ring && s.slot == nil && q.sq.freeSlots == 0 { out.queueTrouble = true; continue }
                var sqe = s.sqe
                let cid = s.cid ?? cidForNext()
                sqe.cid = cid
                s.cid = cid
                if let p = s.prp1 { sqe.prp1 = resolve(p) }
                if let p = s.prp2 { sqe.prp2 = resolve(p) }
                if let p = s.mptr { sqe.mptr = resolve(p) }
                if sqe.psdt == 0 && (pointsIntoQueues(sqe.prp1) || pointsIntoQueues(sqe.prp2)) { out.aimedAtQueues = true }
                let slot = s.slot.map { (($0 % q.sq.depth) + q.sq.depth) % q.sq.depth } ?? Int(q.sq.tail)
                var guards: [(Int, Int)] = []
                if !s.expect.wildPointers, let extent = dataExtent(s) { guards = placeGuards(around: extent) }
                _ = try? q.sq.post(sqe, at: slot)   // slot is reduced modulo the depth above: always in range
                out.posted.append(PostedCommand(qid: s.qid, slot: slot, cid: cid, sqe: hexBytes(sqe.bytes), cqe: nil, status: nil))
                summary.commands += 1
                summary.perOpcode[FuzzSummary.opcodeKey(qid: s.qid, opcode: sqe.opc), default: 0] += 1
                if s.ring && s.slot == nil {
                    q.sq.setTail(UInt16((slot + 1) % q.sq.depth))
                    q.sq.ring()
                    summary.doorbellWrites += 1
                    out.writes.append(RegisterWrite(offset: q.sq.doorbellOffset, value: UInt64(q.sq.tail), what: "SQ\(s.qid) tail"))
                }
                pending.append(Pending(qid: s.qid, cid: cid, opcode: sqe.opc, expect: s.expect, rang: s.ring,
                                       postedIndex: out.posted.count - 1, guards: guards))
                resolvedActions[ai] = .submit(s)
            case .ringSubmissionTail(let qid, let v):
                let value = doorbellValue(v, qid: qid, completion: false)
                let off = queue(qid)?.sq.doorbellOffset ?? Doorbell.sqTailOffset(qid: qid, dstrd: dstrd)
                if Self.fits(off, 4, within: regs.length) { regs.write32(value, at: off) }
                summary.doorbellWrites += 1
                out.writes.append(RegisterWrite(offset: off, value: UInt64(value), what: "SQ\(qid) tail"))
                resolvedActions[ai] = .ringSubmissionTail(qid: qid, value: .raw(value))
            case .ringCompletionHead(let qid, let v):
                let value = doorbellValue(v, qid: qid, completion: true)
                let off = queue(qid)?.cq.doorbellOffset ?? Doorbell.cqHeadOffset(qid: qid, dstrd: dstrd)
                if Self.fits(off, 4, within: regs.length) { regs.write32(value, at: off) }
                summary.doorbellWrites += 1
                out.writes.append(RegisterWrite(offset: off, value: UInt64(value), what: "CQ\(qid) head"))
                resolvedActions[ai] = .ringCompletionHead(qid: qid, value: .raw(value))
            case .writeRegister(let off, let value):
                if Self.fits(off, 4, within: regs.length) { regs.write32(value, at: off) }
                out.writes.append(RegisterWrite(offset: off, value: UInt64(value), what: "register"))
            case .writeRegisterPointer(let off, let p):
                let value = resolve(p)
                if Self.fits(off, 8, within: regs.length) { regs.write64(value, at: off) }
                out.writes.append(RegisterWrite(offset: off, value: value, what: "register (64-bit)"))
            case .writeList(let off, let entries):
                let (base, size) = areaOffset(.list)
                for (i, e) in entries.enumerated() {
                    let (o, overflow) = off.addingReportingOverflow(8 * i)
                    if !overflow && Self.fits(o, 8, within: size) { arena.store(resolve(e), at: base + o) }
                }
            case .writeSGL(let off, let descs):
                let (base, size) = areaOffset(.list)
                for (i, d) in descs.enumerated() {
                    let (rel, overflow) = off.addingReportingOverflow(16 * i)
                    guard !overflow && Self.fits(rel, 16, within: size) else { continue }
                    let o = base + rel
                    arena.store(resolve(d.address), at: o)
                    arena.store(d.length, at: o + 8)
                    arena.store(UInt32(d.identifier) << 24 | (d.reserved & 0xFF_FFFF), at: o + 12)
                }
            case .writeBytes(let area, let off, let bytes):
                let (base, size) = areaOffset(area)
                if Self.fits(off, bytes.count, within: size) { arena.copyBytes(from: bytes, to: base + off) }
            case .fill(let area, let off, let count, let byte):
                let (base, size) = areaOffset(area)
                let lo = max(0, off), hi = min(size, off.addingReportingOverflow(count).overflow ? (count > 0 ? size : 0) : off + count)
                if hi > lo { arena.fill(byte, offset: base + lo, count: hi - lo) }
            case .waitReady(let ready, let ms):
                let d = Deadline.after(.milliseconds(ms))
                while !d.hasPassed {
                    let csts = regs.csts
                    if csts.isAllOnes || csts.rdy == ready || csts.cfs { break }
                    sched_yield()
                }
            case .wait(let us):
                let d = Deadline.after(.microseconds(us))
                while !d.hasPassed { reapAll(&pending, &out, caseIndex: c.index); sched_yield() }
            }
        }
        out.resolvedCase.actions = resolvedActions

        // Wait for what must complete.
        let deadline = Deadline.after(options.deadline)
        var spins = 0
        var stop = false
        while !stop {
            reapAll(&pending, &out, caseIndex: c.index)
            if !pending.contains(where: { !$0.done && $0.expect.completes }) { break }
            spins += 1
            if spins & 15 == 0 {
                let csts = regs.csts
                if csts.isAllOnes || csts.cfs { stop = true }
                if deadline.hasPassed { stop = true }
                sched_yield()
            }
        }
        if pending.contains(where: { !$0.done && $0.expect.completes }) {
            reapAll(&pending, &out, caseIndex: c.index)
        }

        // Deadline and phase oracles.
        for p in pending where !p.done && p.expect.completes {
            guard let q = queue(p.qid) else { continue }
            guard let slot = try? q.cq.entry(at: Int(q.cq.head)) else { continue }   // head < depth always
            if slot.cid == p.cid && slot.sqid == p.qid && slot.p != q.cq.phase {
                out.findings.append(Finding(oracle: .phase, caseIndex: c.index, qid: p.qid, opcode: p.opcode,
                                            expected: "CQE phase tag \(q.cq.phase ? 1 : 0) at CQ\(p.qid) slot \(q.cq.head)",
                                            got: "CQE for CID \(hex(p.cid)) written with phase \(slot.p ? 1 : 0): \(hexBytes(slot.bytes))"))
            } else {
                out.findings.append(Finding(oracle: .deadline, caseIndex: c.index, qid: p.qid, opcode: p.opcode,
                                            expected: "completion within \(options.deadline)",
                                            got: "no completion for CID \(hex(p.cid)) (CQ\(p.qid) head \(q.cq.head), CSTS \(hex(regs.read32(at: ControllerRegister.csts.rawValue))))"))
            }
        }
        // Lingering commands (AERs) stay known to the CID oracle until the next reset.
        for p in pending where !p.done && !p.expect.completes && p.rang {
            lingering[p.qid, default: []].insert(p.cid)
        }

        // Controller state.
        let csts = regs.csts
        if csts.isAllOnes {
            out.findings.append(Finding(oracle: .deviceAlive, caseIndex: c.index, expected: "registers readable",
                                        got: "CSTS reads FFFFFFFFh: the device is gone"))
        } else if csts.cfs {
            out.findings.append(Finding(oracle: .controllerFatal, caseIndex: c.index, qid: pending.last?.qid, opcode: pending.last?.opcode,
                                        expected: "CSTS.CFS = 0", got: "CSTS = \(hex(csts.rawValue))"))
        }

        // Host memory canaries: fixed pages, then the windows around each well-formed buffer.
        for page in canaryPages {
            if let bad = firstMismatch(offset: page, count: pageSize, byte: Self.canaryByte) {
                out.findings.append(Finding(oracle: .hostMemoryCanary, caseIndex: c.index, qid: pending.last?.qid, opcode: pending.last?.opcode,
                                            expected: "canary page at arena offset \(hex(page)) untouched",
                                            got: "byte \(hex(bad.offset)) = \(hex(bad.value)); \(hexBytes(arena.bytes(at: bad.offset, count: min(16, arena.length - bad.offset))))"))
                arena.fill(Self.canaryByte, offset: page, count: pageSize)
            }
        }
        for p in pending where p.done {
            for g in p.guards {
                if let bad = firstMismatch(offset: g.offset, count: g.count, byte: Self.guardByte) {
                    out.findings.append(Finding(oracle: .hostMemoryCanary, caseIndex: c.index, qid: p.qid, opcode: p.opcode,
                                                expected: "host memory outside the command's buffer untouched",
                                                got: "byte at data offset \(hex(bad.offset - dataStart)) = \(hex(bad.value)) (guard \(hex(g.offset - dataStart))+\(g.count))"))
                    break
                }
            }
        }

        // DMA faults.
        if let mon = target.faults {
            if c.submissions.contains(where: { $0.expect.wildPointers }) { settleFaults() }
            let now = mon.faultCount()
            let delta = now - lastFaultCount
            lastFaultCount = now
            summary.dmaFaults += max(0, delta)
            if delta > 0 {
                let wild = pending.filter { $0.expect.wildPointers }
                if wild.isEmpty && !c.actions.contains(where: Self.isRegisterAction) {
                    out.findings.append(Finding(oracle: .dmaFault, caseIndex: c.index, qid: pending.last?.qid, opcode: pending.last?.opcode,
                                                expected: "no DMA fault from well-formed data pointers",
                                                got: "\(delta) fault(s)" + (mon.recentMessages.last.map { ": \($0)" } ?? "")))
                } else if wild.count == 1, let w = wild.first, w.done, w.status?.isSuccess == true {
                    out.findings.append(Finding(oracle: .dmaFault, caseIndex: c.index, qid: w.qid, opcode: w.opcode,
                                                expected: "an error status (e.g. 00/04 Data Transfer Error) for a command whose DMA faulted",
                                                got: "Successful Completion with \(delta) fault(s)" + (mon.recentMessages.last.map { ": \($0)" } ?? "")))
                }
            }
        }

        // LBA canary bookkeeping: a successful command that may have written the canary blocks makes them stale.
        for p in pending where p.done && p.status?.isSuccess == true {
            if mayTouchCanaryLBAs(p, resolved: out.resolvedCase) { lbaCanaryStale = true }
        }
        // Leave no list the next case could follow by accident.
        arena.fill(0, offset: listStart, count: environment.listPages * pageSize)
        for i in pending.indices where pending[i].done {
            out.posted[pending[i].postedIndex].status = pending[i].status.map { "\($0)" }
        }
        return out
    }

    static func isRegisterAction(_ a: Action) -> Bool {
        switch a {
        case .writeRegister, .writeRegisterPointer: return true
        default: return false
        }
    }

    /// Under TCG the IOMMU's fault interrupt reaches the guest's log a little after the completion: give it a moment.
    func settleFaults() {
        guard DeviceBackend(rawValue: target.device.backend) != nil else { return }   // the simulator has no IOMMU
        let d = Deadline.after(.milliseconds(2))
        while !d.hasPassed { sched_yield() }
    }

    /// Reaps every visible completion on the fuzzer's queues and judges its CQE.
    func reapAll(_ pending: inout [Pending], _ out: inout Outcome, caseIndex: UInt64) {
        for qp in [controller.adminQueue] + controller.ioQueues.map({ Optional($0) }) {
            guard let qp else { continue }
            var reaped = 0
            while reaped < qp.cq.depth, let cqe = qp.cq.reap() {
                reaped += 1
                judge(cqe, queue: qp, &pending, &out, caseIndex: caseIndex)
            }
            if reaped > 0 { qp.cq.ringHead() }
        }
    }

    func judge(_ cqe: CQE, queue qp: QueuePair, _ pending: inout [Pending], _ out: inout Outcome, caseIndex: UInt64) {
        let qid = qp.qid
        if cqe.sqid != qid {
            out.findings.append(Finding(oracle: .completionEntry, caseIndex: caseIndex, qid: qid, expected: "CQE.SQID \(qid)",
                                        got: "SQID \(cqe.sqid) in \(hexBytes(cqe.bytes))"))
        }
        if Int(cqe.sqhd) >= qp.sq.depth {
            out.findings.append(Finding(oracle: .completionEntry, caseIndex: caseIndex, qid: qid,
                                        expected: "CQE.SQHD below the queue depth \(qp.sq.depth)", got: "SQHD \(cqe.sqhd)"))
        } else {
            qp.sq.noteHead(cqe.sqhd)
        }
        let st = cqe.status
        summary.statuses["\(hex2(st.sct))/\(hex2(st.sc)) \(st.name)", default: 0] += 1
        if let i = pending.firstIndex(where: { $0.qid == qid && $0.cid == cqe.cid && !$0.done }) {
            pending[i].done = true
            pending[i].status = st
            out.posted[pending[i].postedIndex].cqe = hexBytes(cqe.bytes)
            let p = pending[i]
            if !p.rang {
                out.findings.append(Finding(oracle: .completionEntry, caseIndex: caseIndex, qid: qid, opcode: p.opcode,
                                            expected: "no completion for a command whose tail doorbell was never rung past it",
                                            got: "completed with \(st)"))
            }
            if let rule = p.expect.mustFail, st.isSuccess {
                out.findings.append(Finding(oracle: .status, caseIndex: caseIndex, qid: qid, opcode: p.opcode, expected: rule, got: "\(st)"))
            }
            if (4...6).contains(st.sct) {
                out.findings.append(Finding(oracle: .status, caseIndex: caseIndex, qid: qid, opcode: p.opcode,
                                            expected: "a defined Status Code Type", got: "reserved SCT \(st.sct) in \(st)"))
            }
        } else if lingering[qid]?.remove(cqe.cid) != nil {
            // A late completion of an AER or a command from an earlier case.
        } else {
            out.findings.append(Finding(oracle: .completionEntry, caseIndex: caseIndex, qid: qid,
                                        expected: "CQE.CID of an outstanding command",
                                        got: "CID \(hex(cqe.cid)) (status \(st)) matches nothing outstanding: \(hexBytes(cqe.bytes))"))
        }
    }

    /// The data-area bytes a well-formed command transfers (PRP1 in the data area, NLB from CDW12), nil otherwise.
    func dataExtent(_ s: Submission) -> (offset: Int, count: Int)? {
        guard case .data(let off)? = s.prp1, s.qid != 0, StatusRules.dataLBAOpcodes.contains(s.opcode),
              s.sqe.psdt == 0 || s.sqe.psdt == 1 else { return nil }
        guard s.dwords.count == 16 else { return nil }
        let bytes = (Int(s.dwords[12] & 0xFFFF) + 1) * environment.blockSize
        guard Self.fits(off, bytes, within: environment.dataBytes) else { return nil }
        return (off, bytes)
    }

    /// Paints guard windows just before and after a buffer (inside the data area); returns them as arena ranges.
    func placeGuards(around e: (offset: Int, count: Int)) -> [(offset: Int, count: Int)] {
        var out: [(Int, Int)] = []
        let before = max(0, e.offset - Self.guardWindow)
        if e.offset > before { out.append((dataStart + before, e.offset - before)) }
        let after = min(environment.dataBytes, e.offset + e.count + Self.guardWindow)
        if after > e.offset + e.count { out.append((dataStart + e.offset + e.count, after - e.offset - e.count)) }
        for g in out { arena.fill(Self.guardByte, offset: g.0, count: g.1) }
        return out
    }

    func firstMismatch(offset: Int, count: Int, byte: UInt8) -> (offset: Int, value: UInt8)? {
        arena.withUnsafeMutableBytes { raw -> (Int, UInt8)? in
            let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
            var i = offset
            let end = offset + count
            while i + 8 <= end {
                if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) != pattern { break }
                i += 8
            }
            while i < end {
                if raw[i] != byte { return (i, raw[i]) }
                i += 1
            }
            return nil
        }
    }

    func mayTouchCanaryLBAs(_ p: Pending, resolved c: FuzzCase) -> Bool {
        if p.qid == 0 {
            return [AdminOpcode.formatNVM.rawValue, AdminOpcode.sanitize.rawValue, AdminOpcode.namespaceAttachment.rawValue,
                    AdminOpcode.namespaceManagement.rawValue].contains(p.opcode) || p.opcode >= 0xC0
        }
        switch p.opcode {
        case IOOpcode.write.rawValue, IOOpcode.writeZeroes.rawValue, IOOpcode.writeUncorrectable.rawValue:
            guard let s = c.submissions.first(where: { $0.qid == p.qid && $0.cid == p.cid }) else { return true }
            let e = s.sqe
            if e.nsid != 1 && e.nsid != 0xFFFF_FFFF { return false }
            let (slba, blocks) = StatusRules.lbaRange(e)
            let end = slba.addingReportingOverflow(blocks)
            return end.overflow || end.partialValue > environment.firstCanaryBlock
        case IOOpcode.datasetManagement.rawValue, IOOpcode.copy.rawValue, IOOpcode.zoneManagementSend.rawValue,
             IOOpcode.zoneAppend.rawValue:
            return true
        default:
            return p.opcode >= 0x80
        }
    }

    // MARK: Commands of the fuzzer's own (oracle probes)

    /// Posts `sqe` on `qid` and polls for its completion; nil on timeout or a missing queue.
    func probe(_ sqe: SubmissionQueueEntry, qid: UInt16, timeout: Duration = .seconds(1)) -> CQE? {
        guard let q = queue(qid), q.sq.freeSlots > 0 else { return nil }
        var e = sqe
        let cid = cidForNext()
        e.cid = cid
        q.sq.post(e)
        q.sq.ring()
        let d = Deadline.after(timeout)
        var spins = 0
        while true {
            var found: CQE?
            var reaped = 0
            while reaped < q.cq.depth, let cqe = q.cq.reap() {
                reaped += 1
                if Int(cqe.sqhd) < q.sq.depth { q.sq.noteHead(cqe.sqhd) }
                if cqe.cid == cid { found = cqe } else { lingering[qid]?.remove(cqe.cid) }
            }
            if reaped > 0 { q.cq.ringHead() }
            if let found { return found }
            spins += 1
            if spins & 15 == 0 {
                if d.hasPassed { return nil }
                if target.device.bar0.csts.isAllOnes { return nil }
                sched_yield()
            }
        }
    }

    /// Identify Controller into the fuzzer's private page; nil when it does not complete successfully.
    func identifyController() -> [UInt8]? {
        var sqe = SubmissionQueueEntry(opcode: AdminOpcode.identify.rawValue)
        sqe.cdw10 = 1
        arena.fill(0, offset: identifyOffset, count: pageSize)
        sqe.prp1 = arena.busAddress(at: identifyOffset)
        guard let cqe = probe(sqe, qid: 0), cqe.status.isSuccess else { return nil }
        return arena.bytes(at: identifyOffset, count: 4096)
    }

    var lbaCanaryBytes: Int { environment.canaryBlocks * environment.blockSize }

    func lbaCommand(_ opc: IOOpcode) -> SubmissionQueueEntry {
        var sqe = SubmissionQueueEntry(opcode: opc.rawValue, nsid: 1)
        let slba = environment.firstCanaryBlock
        sqe.cdw10 = UInt32(truncatingIfNeeded: slba); sqe.cdw11 = UInt32(truncatingIfNeeded: slba >> 32)
        sqe.cdw12 = UInt32(environment.canaryBlocks - 1)
        sqe.prp1 = arena.busAddress(at: lbaOffset)
        let bytes = lbaCanaryBytes
        if bytes > pageSize {
            if bytes <= 2 * pageSize {
                sqe.prp2 = arena.busAddress(at: lbaOffset + pageSize)
            } else {
                // The PRP list for the canary buffer lives in the identify page's upper half (never fuzzed).
                let pages = (bytes + pageSize - 1) / pageSize
                for i in 1..<pages { arena.store(arena.busAddress(at: lbaOffset + i * pageSize), at: identifyOffset + 2048 + 8 * (i - 1)) }
                sqe.prp2 = arena.busAddress(at: identifyOffset + 2048)
            }
        }
        return sqe
    }

    func lbaPattern(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: i &* 7 &+ 0x5A) }

    @discardableResult
    func writeLBACanary() -> Bool {
        guard environment.activeNamespaces.contains(1), environment.blockCount > UInt64(environment.canaryBlocks),
              lbaCanaryBytes <= 8 * pageSize, io != nil else { return false }
        arena.withUnsafeMutableBytes { raw in for i in 0..<lbaCanaryBytes { raw[lbaOffset + i] = lbaPattern(i) } }
        guard let cqe = probe(lbaCommand(.write), qid: environment.ioQueueID), cqe.status.isSuccess else { return false }
        lbaCanaryStale = false
        return true
    }

    /// Identify and canary LBA checks, every N cases (or now when `force`).
    func periodicChecks(caseIndex: UInt64, force: Bool) -> [Finding] {
        var out: [Finding] = []
        let n = summary.cases
        if options.oracles.contains(.identify), force || (options.identifyEvery > 0 && n % options.identifyEvery == 0) {
            if let f = checkIdentify(caseIndex: caseIndex) { out.append(f) }
        }
        if options.oracles.contains(.lbaCanary), force || (options.lbaCanaryEvery > 0 && n % options.lbaCanaryEvery == 0) {
            if lbaCanaryStale {
                writeLBACanary()
            } else if environment.activeNamespaces.contains(1), lbaCanaryBytes <= 8 * pageSize, io != nil {
                arena.fill(0, offset: lbaOffset, count: lbaCanaryBytes)
                if let cqe = probe(lbaCommand(.read), qid: environment.ioQueueID), cqe.status.isSuccess {
                    let got = arena.bytes(at: lbaOffset, count: lbaCanaryBytes)
                    if let i = got.indices.first(where: { got[$0] != lbaPattern($0) }) {
                        out.append(Finding(oracle: .lbaCanary, caseIndex: caseIndex, qid: environment.ioQueueID,
                                           expected: "canary LBAs \(environment.firstCanaryBlock)+\(environment.canaryBlocks) unchanged since the last check",
                                           got: "byte \(i) = \(hex(got[i])) (expected \(hex(lbaPattern(i)))); no command in between was allowed to write there"))
                        writeLBACanary()
                    }
                }
            }
        }
        return out
    }

    func checkIdentify(caseIndex: UInt64) -> Finding? {
        let now = identifyController()
        let same = now.map { Array($0[0..<72]) == Array(identifyBaseline.prefix(72)) } ?? false
        if same { return nil }
        let got = now == nil ? "Identify Controller did not complete successfully" : "identity bytes 0-71 changed"
        let f = Finding(oracle: .identify, caseIndex: caseIndex, opcode: AdminOpcode.identify.rawValue,
                        expected: "Identify Controller answers with the same VID/SN/MN/FR", got: got)
        if !recover(caseIndex: caseIndex) {
            return Finding(oracle: .identify, caseIndex: caseIndex, expected: f.expected, got: got + "; no reset restored it")
        }
        return f
    }

    // MARK: Resets and recovery

    var resetLevels: [ResetKind] {
        var levels: [ResetKind] = [.controller]
        let s = target.device.supportedResets
        if s.contains(.flr) { levels.append(.flr) }
        if s.contains(.hotReset) { levels.append(.hotReset) }
        if s.contains(.powerCycle) { levels.append(.powerCycle) }
        return levels
    }

    /// Controller reset and re-initialisation (planned: after cases that change queue or register state).
    func reinitialize() -> Bool { reset(.controller) }

    func reset(_ kind: ResetKind) -> Bool {
        summary.resets[kind.rawValue, default: 0] += 1
        do {
            if kind != .controller && !controller.isPresent {
                // The driver does not touch a device that reads all ones; a function reset or power cycle may
                // bring it back, then the controller is initialised again.
                let fk: FunctionResetKind = kind == .flr ? .flr : kind == .hotReset ? .hotReset : .powerCycle
                try target.device.reset(fk)
                guard controller.isPresent else { return false }
                try controller.reset(.controller)
            } else {
                try controller.reset(kind)
            }
        } catch {
            return false
        }
        guard controller.isPresent, controller.adminQueue != nil, !controller.ioQueues.isEmpty else { return false }
        lingering.removeAll()
        arena.fill(0, offset: listStart, count: environment.listPages * pageSize)
        return identifyController() != nil
    }

    /// Escalates controller reset → FLR → hot reset → power cycle until Identify answers again.
    func recover(caseIndex: UInt64) -> Bool {
        for level in resetLevels where reset(level) {
            summary.recovered += 1
            history.removeAll()
            lbaCanaryStale = lbaCanaryStale || level != .controller
            return true
        }
        summary.unrecovered += 1
        return false
    }

    // MARK: Findings and repros

    func record(_ found: [Finding], case c: FuzzCase, state: [QueueState], outcome: Outcome,
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

    // MARK: Replay

    /// Re-initialises the controller, brings the queues to the repro's positions, runs its cases, and reports
    /// whether the same oracle trips on the failing case.
    public func replay(_ r: Repro) -> ReplayResult {
        replay(cases: r.cases, queueState: r.queueState, oracle: r.oracle)
    }

    public func replay(cases: [FuzzCase], queueState: [QueueState], oracle: OracleKind) -> ReplayResult {
        guard !cases.isEmpty else { return ReplayResult(reproduced: false, findings: []) }
        let savedOutput = options.outputDirectory
        options.outputDirectory = nil
        defer { options.outputDirectory = savedOutput }
        if !reinitialize() && !recover(caseIndex: cases.last!.index) { return ReplayResult(reproduced: false, findings: []) }
        align(to: queueState)
        var last: [Finding] = []
        for (i, c) in cases.enumerated() {
            let f = runCase(c)
            if i == cases.count - 1 { last = f }
        }
        if oracle == .lbaCanary || oracle == .identify {
            last += periodicChecks(caseIndex: cases.last!.index, force: true)
        }
        return ReplayResult(reproduced: last.contains { $0.oracle == oracle }, findings: last)
    }

    /// Advances each queue with harmless commands until its tail matches `state`.
    func align(to state: [QueueState]) {
        for s in state {
            guard let q = queue(s.qid), q.sq.depth == s.depth else { continue }
            var guardCount = 0
            while q.sq.tail != s.sqTail && guardCount < 2 * s.depth {
                guardCount += 1
                let sqe: SubmissionQueueEntry
                if s.qid == 0 {
                    var e = SubmissionQueueEntry(opcode: AdminOpcode.getFeatures.rawValue); e.cdw10 = 1; sqe = e
                } else {
                    sqe = SubmissionQueueEntry(opcode: IOOpcode.flush.rawValue, nsid: 1)
                }
                if probe(sqe, qid: s.qid) == nil { break }
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
