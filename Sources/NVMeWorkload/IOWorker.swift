import Atomics
import Histogram
import NVMeDriver
import NVMePlatform
import NVMeSpec

#if canImport(Glibc)
import Glibc
#endif

/// What a worker writes into the blocks of its Write commands.
public enum DataPattern: String, Sendable, Hashable, Codable, CaseIterable {
    /// LBA + generation + checksum per block (see `BlockStamp`): verifiable.
    case stamped
    case zeroes
    case ones
    /// A fixed pseudo-random buffer (not verifiable: the written LBAs are forgotten by the integrity map).
    case random
}

/// Everything one IOWorker does. Defaults: 4 KiB-ish random reads (8 blocks) at QD 32 for 10 seconds.
public struct IOWorkerConfiguration: Sendable, Hashable {
    public var name: String = "worker"
    public var nsid: UInt32 = 1
    /// IO size in logical blocks.
    public var ioSize: IOSizeDistribution = .fixed(8)
    /// Random starting LBAs are multiples of this (in blocks).
    public var lbaAlignment: Int = 1
    /// Percentage of IOs at a random LBA; the rest continue sequentially.
    public var randomPercent: Int = 100
    public var mix: OperationMix = .readOnly
    /// First LBA of the region (inclusive).
    public var regionStart: UInt64 = 0
    /// End of the region (exclusive); nil = the namespace's end.
    public var regionEnd: UInt64? = nil
    public var queueDepth: Int = 32
    /// QPRIO of the worker's IO SQ (0 urgent, 1 high, 2 medium, 3 low), effective under weighted round robin.
    public var queuePriority: UInt8 = 2
    /// Stop after this long (nil: no time limit; then `ioCount` must be set).
    public var duration: Duration? = .seconds(10)
    /// Stop after this many IOs.
    public var ioCount: UInt64? = nil
    /// Submit at most this many IOs per second.
    public var iopsLimit: Int? = nil
    /// Verify every read against the integrity map (and stamp every write).
    public var verify: Bool = true
    public var pattern: DataPattern = .stamped
    public var seed: UInt64 = 1
    /// Last N SQE/CQE pairs kept in the result (0: none).
    public var commandLogCapacity: Int = 0
    /// Stop the worker at the first data mismatch.
    public var stopOnMismatch: Bool = true
    /// Stop at the first error completion.
    public var stopOnError: Bool = false
    /// Per-command timeout. A timed-out command is counted apart (`WorkerResult.timeouts`) and quarantined: its buffer
    /// slot and LBA range stay held until the controller answers it late or its queue is re-created by a reset. When
    /// quarantined commands hold the whole queue depth and the controller answers none of them for one more timeout,
    /// the worker stops (`WorkerResult.stopReason`).
    public var timeout: Duration = .seconds(10)
    /// Call sched_yield() after this many consecutive empty polls (0: never). Spinning without a trap can starve
    /// QEMU's device emulation when vCPUs are scarce.
    public var yieldAfterIdlePolls: Int = 0
    /// Submit only when at least this many commands fit (or nothing is in flight): fewer, larger batches per SQ
    /// doorbell at the price of a queue depth that swings between QD − batch and QD. 1: refill at every free slot.
    public var submitBatch: Int = 1
    /// Entries in the worker's IO CQ; nil: 1024 (capped by CAP.MQES). A CQ deeper than the queue depth lets the
    /// worker write the CQ head doorbell once per `depth - queueDepth - 1` completions instead of once per reap.
    /// The queue depth + 1: one head doorbell write per reap, as Linux does.
    public var completionQueueDepth: Int? = nil

    public init() {}

    /// The IO CQ depth the worker asks for on a controller whose CAP.MQES is `mqes` (0's based).
    public func completionQueueDepth(mqes: UInt16) -> Int {
        let most = Int(mqes) + 1
        return completionQueueDepth ?? max(queueDepth + 1, min(1024, most))
    }

    /// Problems with the configuration against `namespace`, one line each naming the fix (empty when valid).
    public func validate(namespace: Namespace?, maxTransferBytes: Int? = nil) -> [String] {
        var out: [String] = []
        let bs = namespace?.blockSize ?? 512
        out += ioSize.validate(maxTransferBlocks: maxTransferBytes.map { $0 / max(1, bs) })
        out += mix.validate()
        if queueDepth < 1 || queueDepth > 65535 { out.append("queue depth \(queueDepth) is outside 1...65535") }
        if submitBatch < 1 || submitBatch > max(1, queueDepth) { out.append("submit batch \(submitBatch) is outside 1...\(queueDepth) (the queue depth)") }
        if let d = completionQueueDepth, d < queueDepth + 1 || d > 65536 {
            out.append("CQ depth \(d) is outside \(queueDepth + 1)...65536 (it must hold the queue depth + 1)")
        }
        if duration == nil && ioCount == nil { out.append("give a limit: a duration (--time) or an IO count (--io-count)") }
        if let l = iopsLimit, l <= 0 { out.append("the IOPS limit must be positive") }
        if randomPercent < 0 || randomPercent > 100 { out.append("random percentage \(randomPercent) is outside 0...100") }
        if lbaAlignment < 1 { out.append("LBA alignment must be at least 1 block") }
        if queuePriority > 3 { out.append("queue priority \(queuePriority) is outside 0...3") }
        if let ns = namespace {
            let end = regionEnd ?? ns.blockCount
            if end > ns.blockCount { out.append("region end \(end) is past the namespace's last LBA (\(ns.blockCount) blocks)") }
            if regionStart >= end { out.append("region start \(regionStart) is not below its end \(end)") }
            else if UInt64(ioSize.maxBlocks) > end - regionStart {
                out.append("the region (\(end - regionStart) blocks) is smaller than the largest IO (\(ioSize.maxBlocks) blocks)")
            }
            if verify && (ns.blockSize < BlockStamp.minimumBlockSize || ns.blockSize % 8 != 0) {
                out.append("verification needs logical blocks of at least \(BlockStamp.minimumBlockSize) bytes; use --no-verify")
            }
            if ns.metadataSize > 0 && ns.extendedLBA {
                out.append("namespace \(ns.nsid) uses extended LBAs (metadata inline): format it without metadata for the IOWorker")
            }
        }
        return out
    }
}

/// Shared between a worker thread and the thread that runs the workload: stop / pause requests and the counters
/// the progress line reads. Atomics only; the worker's IO path checks one flag word per loop.
public final class WorkerControl: Sendable {
    /// Bit 0: stop; bit 1: pause (for a reset).
    let flags = ManagedAtomic<Int>(0)
    let paused = ManagedAtomic<Bool>(false)
    let finished = ManagedAtomic<Bool>(false)
    public let completed = ManagedAtomic<UInt64>(0)
    public let bytes = ManagedAtomic<UInt64>(0)
    /// p99 latency of the last second, nanoseconds.
    public let recentP99 = ManagedAtomic<UInt64>(0)
    public let mismatches = ManagedAtomic<UInt64>(0)
    public let errors = ManagedAtomic<UInt64>(0)
    /// Whether the worker computes `recentP99` at each second boundary (a walk over the histogram's buckets); the
    /// workload clears it when no progress callback reads it.
    let reportsRecentP99 = ManagedAtomic<Bool>(true)
    public init() {}

    public func requestStop() { _ = flags.loadThenBitwiseOr(with: 1, ordering: .releasing) }
    public var isFinished: Bool { finished.load(ordering: .acquiring) }
    public var isPaused: Bool { paused.load(ordering: .acquiring) }
    func requestPause() { _ = flags.loadThenBitwiseOr(with: 2, ordering: .releasing) }
    func resume() { _ = flags.loadThenBitwiseAnd(with: ~2, ordering: .releasing) }
}

/// One IO generator on one dedicated IO queue pair, run on one thread. The IO path (`run`) takes no lock and makes
/// no allocation: commands, buffers, PRP lists and the integrity map are prepared before the first IO.
public final class IOWorker: @unchecked Sendable {
    public let configuration: IOWorkerConfiguration
    public let queuePair: QueuePair
    public let namespace: Namespace
    public let controllerName: String
    public let pageSize: Int
    /// The worker's part of the namespace's integrity map (when verifying); returned updated by `run`.
    // The worker's state is touched by its own thread only (see `run`): exclusivity is not checked at run time.
    @exclusivity(unchecked) public private(set) var map: IntegrityMap?
    /// `map != nil`, kept apart: testing the optional map on the IO path copied the whole map value (its arrays and
    /// tables retained and released) once per IO.
    let verifying: Bool

    struct Context {
        var active = false
        var op: WorkloadOperation = .read
        var slba: UInt64 = 0
        var blocks: Int = 0
        var slot: Int = 0
        var generation: UInt64 = 0
        /// For a Flush: the map's `flushMark` when it was submitted.
        var flushMark: UInt64 = 0
        /// The range was busy when submitted (do not verify).
        var unverifiable = false
        var submitTicks: UInt64 = 0
    }

    let region: DMARegion
    let slotBytes: Int
    let prpLists: DMARegion?
    @exclusivity(unchecked) var pageBus: [UInt64]
    let pagesPerSlot: Int
    @exclusivity(unchecked) var contexts: [Context]
    @exclusivity(unchecked) var freeSlots: [Int]
    @exclusivity(unchecked) var busy: [UInt8]
    /// Timed-out commands the controller has not answered, with their contexts: each keeps its buffer slot and its
    /// LBA range (busy) until its late completion arrives or a reset re-creates the queue, because the controller may
    /// still move data through them. They count against the queue depth (`capacity`).
    @exclusivity(unchecked) var quarantine: [(cid: UInt16, context: Context)] = []
    /// The queue depth less the quarantined commands: what may be in flight now.
    @exclusivity(unchecked) var capacity: Int
    let trackBusy: Bool
    let regionStart: UInt64
    let regionEnd: UInt64
    @exclusivity(unchecked) var generation: UInt64

    @exclusivity(unchecked) var sizeTable: WeightedTable<Int>
    @exclusivity(unchecked) var opTable: WeightedTable<WorkloadOperation>
    @exclusivity(unchecked) var addresses: AddressGenerator
    @exclusivity(unchecked) var rng: WorkloadRandom

    public init(queuePair: QueuePair, namespace: Namespace, configuration: IOWorkerConfiguration,
                allocator: any DMAAllocator, pageSize: Int, controllerName: String, map: IntegrityMap?) throws {
        self.configuration = configuration
        self.queuePair = queuePair
        self.namespace = namespace
        self.controllerName = controllerName
        self.pageSize = pageSize
        let c = configuration
        regionStart = c.regionStart
        regionEnd = c.regionEnd ?? namespace.blockCount
        let bs = namespace.blockSize
        let maxBytes = max(c.ioSize.maxBlocks * bs, 16)
        slotBytes = (maxBytes + pageSize - 1) / pageSize * pageSize
        pagesPerSlot = slotBytes / pageSize
        region = try allocator.allocate(length: slotBytes * c.queueDepth, alignment: pageSize)
        pageBus = []
        pageBus.reserveCapacity(pagesPerSlot * c.queueDepth)
        for i in 0..<(pagesPerSlot * c.queueDepth) { pageBus.append(region.busAddress(at: i * pageSize)) }
        if pagesPerSlot > 2 {
            precondition(pagesPerSlot - 1 <= pageSize / 8, "IO size too large for a single PRP list page")
            let lists = try allocator.allocate(length: pageSize * c.queueDepth, alignment: pageSize)
            for s in 0..<c.queueDepth {
                for p in 1..<pagesPerSlot { lists.store(pageBus[s * pagesPerSlot + p], at: s * pageSize + (p - 1) * 8) }
            }
            prpLists = lists
        } else {
            prpLists = nil
        }
        if c.pattern == .random { region.withUnsafeMutableBytes { raw in
            var r = WorkloadRandom(seed: c.seed)
            for i in stride(from: 0, to: raw.count - 7, by: 8) { raw.storeBytes(of: r.next(), toByteOffset: i, as: UInt64.self) }
        } } else if c.pattern == .ones { region.fill(0xFF) }
        // Indexed by CID: every 16-bit CID has a context, whatever the queue pair's CID allocation does.
        contexts = [Context](repeating: Context(), count: 65536)
        freeSlots = Array((0..<c.queueDepth).reversed())
        capacity = c.queueDepth
        quarantine.reserveCapacity(c.queueDepth)
        trackBusy = c.verify && c.mix.modifies
        busy = trackBusy ? [UInt8](repeating: 0, count: Int(regionEnd - regionStart)) : []
        self.map = c.verify ? (map ?? IntegrityMap(nsid: namespace.nsid, blockSize: bs, firstLBA: regionStart,
                                                   blockCount: Int(regionEnd - regionStart))) : nil
        verifying = self.map != nil
        generation = (self.map?.highestGeneration ?? 0) &+ 1
        sizeTable = try WeightedTable(c.ioSize.entries.map { ($0.blocks, $0.weight) })
        opTable = try WeightedTable(c.mix.active.map { ($0, c.mix.weights[$0]!) })
        addresses = AddressGenerator(regionStart: regionStart, regionEnd: regionEnd, alignment: c.lbaAlignment,
                                     randomPercent: c.randomPercent)
        rng = WorkloadRandom(seed: c.seed)
        if c.commandLogCapacity != queuePair.log.capacity { queuePair.log = CommandLog(capacity: c.commandLogCapacity) }
        queuePair.defaultTimeout = c.timeout
        queuePair.onLateCompletion = { [weak self] completion in self?.lateCompletion(completion) }
    }

    // MARK: Run state (touched only by the worker thread)
    @exclusivity(unchecked) var result = WorkerResult(name: "")
    @exclusivity(unchecked) var inflight = 0
    @exclusivity(unchecked) var submitted: UInt64 = 0
    @exclusivity(unchecked) var thisSecond: UInt64 = 0
    @exclusivity(unchecked) var stopRequested = false
    @exclusivity(unchecked) var opCounts = [UInt64](repeating: 0, count: WorkloadOperation.allCases.count)

    /// Loop state of a run, kept between `step` calls so one thread can drive several workers in turn.
    struct RunState {
        var nsPerTick: Double = 1
        var ticksPerSecond: UInt64 = 0
        var start: UInt64 = 0
        var endTicks: UInt64 = .max
        var ticksPerIO: UInt64 = 0
        var nextSubmit: UInt64 = 0
        var nextSecond: UInt64 = 0
        var lastTick: UInt64 = 0
        /// The clock as last read (idle polls reuse it).
        var lastNow: UInt64 = 0
        var qdIntegral: Double = 0
        var idle = 0
        var doorbells0 = 0
        var sqDoorbells0 = 0
        var ioLimit: UInt64 = .max
        var paused = false
        /// The configured timeout in ticks: how long quarantined commands may block every submission.
        var timeoutTicks: UInt64 = 0
        /// When nothing could be submitted because quarantined commands hold the queue (0: not blocked).
        var starvedSince: UInt64 = 0
        /// IOs and verified blocks when the last reset paused the worker.
        var iosAtReset: UInt64 = 0
        var verifiedAtReset: UInt64 = 0
        var secondHistogram = WorkerResult.makeHistogram()
        /// An empty histogram of the same layout: a second boundary starts the next second's histogram from it (a
        /// copy of its counts on the first record) instead of `Histogram.reset()`, whose generic per-bucket loop
        /// cost over 3 million instructions per second.
        var emptyHistogram = WorkerResult.makeHistogram()
    }
    @exclusivity(unchecked) var rs = RunState()

    /// Runs until a limit is reached or `control` asks to stop; returns the result (the updated map is `map`).
    public func run(control: WorkerControl = WorkerControl()) -> WorkerResult {
        begin()
        while step(control: control) {
            if rs.paused { sched_yield() }
        }
        return finish(control: control)
    }

    /// Starts a run: clears the result and arms the limits. Then call `step` until it returns false, then `finish`.
    public func begin() {
        let c = configuration
        result = WorkerResult(name: c.name, controller: controllerName, nsid: c.nsid, qid: queuePair.qid, queueDepth: c.queueDepth)
        for i in opCounts.indices { opCounts[i] = 0 }
        thisSecond = 0; submitted = 0; stopRequested = false
        result.iopsSeries.reserveCapacity(Int((c.duration.map { $0.components.seconds } ?? 3600)) + 4)
        rs = RunState()
        rs.nsPerTick = TickClock.nanosecondsPerTick
        rs.ticksPerSecond = UInt64(1e9 / rs.nsPerTick)
        rs.start = TickClock.now()
        let nsPerTick = rs.nsPerTick, start = rs.start
        rs.endTicks = c.duration.map { d in
            let (s, a) = d.components
            return start &+ UInt64((Double(s) * 1e9 + Double(a) / 1e9) / nsPerTick)
        } ?? .max
        rs.ticksPerIO = c.iopsLimit.map { UInt64(1e9 / Double($0) / nsPerTick) } ?? 0
        rs.nextSubmit = start
        rs.nextSecond = start &+ rs.ticksPerSecond
        rs.lastTick = start
        rs.doorbells0 = queuePair.sq.mmioDoorbellWrites + queuePair.cq.mmioDoorbellWrites
        rs.sqDoorbells0 = queuePair.sq.mmioDoorbellWrites
        rs.ioLimit = c.ioCount ?? .max
        rs.timeoutTicks = TickClock.ticks(c.timeout)
    }

    /// One pass of the IO loop: submit up to the queue depth and ring once, then reap. Never blocks: while the
    /// coordinator resets the controller it only reports itself paused. Returns false when the run is over.
    public func step(control: WorkerControl) -> Bool {
        let flags = control.flags.load(ordering: .relaxed)
        if flags & 2 != 0 {
            if !rs.paused {
                let t = TickClock.now()
                rs.qdIntegral += Double(inflight) * Double(t &- rs.lastTick)
                rs.paused = true
                control.paused.store(true, ordering: .releasing)
            }
            return true
        }
        if rs.paused { resumeAfterReset(control) }
        if flags & 1 != 0 { stopRequested = true }
        // An idle poll reads the clock only every 64th time: under TCG each clock read is a helper call that
        // contends with QEMU's own clock reads, and a spinning poller must not slow the device it waits for.
        // (An IOPS limit paces by the clock: it reads it every time.)
        var now = rs.idle & 63 == 0 || rs.ticksPerIO != 0 ? TickClock.now() : rs.lastNow
        if now >= rs.endTicks { stopRequested = true }
        if queuePair.state == .removed { return false }

        // Submit up to the queue depth, then ring once (doorbell batching).
        var posted = 0
        if !stopRequested && (capacity - inflight >= configuration.submitBatch || inflight == 0) {
            while inflight < capacity && submitted < rs.ioLimit {
                if rs.ticksPerIO != 0 {
                    if now < rs.nextSubmit { break }
                    rs.nextSubmit = max(rs.nextSubmit &+ rs.ticksPerIO, now &- rs.ticksPerIO &* UInt64(configuration.queueDepth))
                }
                if !submitOne() { break }
                posted &+= 1
            }
            if posted > 0 {
                rs.starvedSince = 0
                // Account the time before the doorbell at the old depth; from here on `posted` more are out
                // (a device may complete them while the doorbell write is still in progress).
                let t = TickClock.now()
                rs.qdIntegral += Double(inflight - posted) * Double(t &- rs.lastTick)
                rs.lastTick = t
                queuePair.sq.ring()
            }
        }
        if inflight == 0 && (stopRequested || submitted >= rs.ioLimit) { return false }

        // Reap.
        let before = inflight
        let reaped = queuePair.poll { completion in self.complete(completion, secondHistogram: &self.rs.secondHistogram) }
        if reaped > 0 || posted > 0 {
            now = TickClock.now()
        }
        rs.lastNow = now
        if reaped > 0 {
            rs.qdIntegral += Double(before) * Double(now &- rs.lastTick)
            rs.lastTick = now
            rs.idle = 0
            if result.mismatchCount > 0 && configuration.stopOnMismatch { stopRequested = true }
            if result.errors > 0 && configuration.stopOnError { stopRequested = true }
        } else if posted == 0 {
            rs.idle &+= 1
            if configuration.yieldAfterIdlePolls > 0 && rs.idle >= configuration.yieldAfterIdlePolls { rs.idle = 0; sched_yield() }
            if inflight == 0 && !quarantine.isEmpty { waitOutQuarantine(now: now) }
        }

        if now >= rs.nextSecond {
            result.iopsSeries.append(thisSecond)
            thisSecond = 0
            rs.nextSecond &+= rs.ticksPerSecond
            control.completed.store(result.ios, ordering: .relaxed)
            control.bytes.store(result.bytesRead &+ result.bytesWritten, ordering: .relaxed)
            if control.reportsRecentP99.load(ordering: .relaxed) {
                control.recentP99.store(rs.secondHistogram.totalCount > 0 ? rs.secondHistogram.valueAtPercentile(99) : 0,
                                        ordering: .relaxed)
            }
            control.mismatches.store(result.mismatchCount, ordering: .relaxed)
            control.errors.store(result.errors, ordering: .relaxed)
            result.latency.add(rs.secondHistogram)
            rs.secondHistogram = rs.emptyHistogram
        }
        return true
    }

    /// Ends a run: the time-weighted queue depth, doorbell counts and the command log go into the result.
    public func finish(control: WorkerControl) -> WorkerResult {
        let c = configuration
        let end = TickClock.now()
        rs.qdIntegral += Double(inflight) * Double(end &- rs.lastTick)
        let elapsedTicks = max(1, end &- rs.start)
        if thisSecond > 0 || result.iopsSeries.isEmpty { result.iopsSeries.append(thisSecond) }
        result.latency.add(rs.secondHistogram)
        rs.secondHistogram = rs.emptyHistogram
        result.elapsedNanoseconds = UInt64(Double(elapsedTicks) * rs.nsPerTick)
        result.meanQueueDepth = rs.qdIntegral / Double(elapsedTicks)
        result.doorbellWrites = UInt64(queuePair.sq.mmioDoorbellWrites + queuePair.cq.mmioDoorbellWrites - rs.doorbells0)
        result.sqDoorbellWrites = UInt64(queuePair.sq.mmioDoorbellWrites - rs.sqDoorbells0)
        result.quarantinedAtEnd = quarantine.count
        if result.resets > 0 {
            result.iosAfterReset = result.ios &- rs.iosAtReset
            result.verifiedBlocksAfterReset = result.verifiedBlocks &- rs.verifiedAtReset
        }
        for op in WorkloadOperation.allCases where opCounts[op.index] > 0 { result.perOperation[op] = opCounts[op.index] }
        if c.commandLogCapacity > 0 { result.commandLog = queuePair.log.entries.map(LoggedCommand.init) }
        control.completed.store(result.ios, ordering: .relaxed)
        control.mismatches.store(result.mismatchCount, ordering: .relaxed)
        return result
    }

    /// After the coordinator's reset: every command the controller no longer knows (failed locally by the reset)
    /// is settled, and modified ranges become ambiguous. The quarantine is lifted: the reset stopped the controller
    /// and its queue was re-created, so no timed-out command can move data any more.
    func resumeAfterReset(_ control: WorkerControl) {
        rs.paused = false
        control.paused.store(false, ordering: .releasing)
        rs.lastTick = TickClock.now()
        var aborted = 0
        for cid in contexts.indices where contexts[cid].active && !queuePair.isOutstanding(UInt16(cid)) {
            settleAborted(cid)
            aborted += 1
        }
        result.abortedByReset &+= UInt64(aborted)
        result.resets += 1
        if !quarantine.isEmpty {
            result.releasedByReset &+= UInt64(quarantine.count)
            for q in quarantine { releaseQuarantined(q.context) }
            quarantine.removeAll(keepingCapacity: true)
        }
        rs.iosAtReset = result.ios
        rs.verifiedAtReset = result.verifiedBlocks
        if queuePair.state != .ready && !stopRequested {
            stopRequested = true
            result.stopReason = "stopped: IO queue \(queuePair.qid) was not re-created after the reset (it is \(queuePair.state)): "
                + "keep the createIOQueues init step or re-create it with Controller.recreateIOQueuePair"
        }
    }

    /// A command's deadline passed: it is counted as a timeout and quarantined — its buffer slot and LBA range stay
    /// held, and count against the queue depth, until the controller answers it (`lateCompletion`) or a reset lifts
    /// the quarantine. A modifying command's range is recorded as interrupted now (old or new content accepted): the
    /// controller may still write it, and the first read after the release settles it.
    func timedOut(_ cid: Int, _ completion: Completion) {
        let ctx = contexts[cid]
        result.timeouts &+= 1
        if result.failures.count < 16 {
            result.failures.append(FailedCommand(opcode: completion.sqe.opc, slba: ctx.slba, blocks: ctx.blocks,
                                                 status: completion.status.description, origin: completion.origin.rawValue,
                                                 sqe: completion.sqe.dwords, cqe: completion.cqe.dwords))
        }
        if map != nil && ctx.op.modifies {
            let state: LBAState = ctx.op == .write ? (configuration.pattern == .stamped ? .written(generation: ctx.generation) : .unknown)
                : ctx.op == .trim ? .deallocated : .zeroed
            map!.recordInterrupted(slba: ctx.slba, blocks: ctx.blocks, interrupted: state)
        }
        contexts[cid].active = false
        quarantine.append((UInt16(cid), ctx))
        inflight &-= 1
        capacity &-= 1
    }

    /// The controller answered a quarantined command after its timeout (`QueuePair.onLateCompletion`): whatever
    /// data it moved has landed, so its buffer slot and LBA range are free again. The range stays as recorded at the
    /// timeout (interrupted: old or new content).
    func lateCompletion(_ completion: Completion) {
        guard let k = quarantine.firstIndex(where: { $0.cid == completion.cqe.cid }) else { return }
        let q = quarantine.remove(at: k)
        result.lateCompletions &+= 1
        releaseQuarantined(q.context)
    }

    func releaseQuarantined(_ ctx: Context) {
        if ctx.op.transfersData { freeSlots.append(ctx.slot) }
        if trackBusy && ctx.op.hasRange {
            let s = Int(ctx.slba - regionStart)
            for i in s..<(s + ctx.blocks) { busy[i] &-= 1 }
        }
        capacity &+= 1
        rs.starvedSince = 0
    }

    /// Nothing is in flight and nothing could be posted while timed-out commands are quarantined: wait for their late
    /// completions without spinning hot, and stop with a reason when none comes for one more timeout.
    func waitOutQuarantine(now: UInt64) {
        if rs.ticksPerIO != 0 && now < rs.nextSubmit { return }   // paced by the IOPS limit, not blocked
        if rs.starvedSince == 0 { rs.starvedSince = now; return }
        if now &- rs.starvedSince >= rs.timeoutTicks {
            stopRequested = true
            if result.stopReason == nil {
                result.stopReason = "stopped: \(quarantine.count) timed-out command(s) the controller never answered hold "
                    + "\(quarantine.count) of the \(configuration.queueDepth) queue slots, and nothing could be submitted "
                    + "for another \(configuration.timeout) (a controller reset releases them)"
            }
            return
        }
        sched_yield()
    }

    /// The controller lost its volatile write cache (power cycle): writes not yet flushed become ambiguous. Call
    /// only while the worker is not running or is paused for the reset (the coordinator does).
    public func recordPowerLoss() { map?.recordPowerLoss() }

    func settleAborted(_ cid: Int) {
        let ctx = contexts[cid]
        if map != nil, ctx.op.modifies {
            let state: LBAState = ctx.op == .write ? (configuration.pattern == .stamped ? .written(generation: ctx.generation) : .unknown)
                : ctx.op == .trim ? .deallocated : .zeroed
            map!.recordInterrupted(slba: ctx.slba, blocks: ctx.blocks, interrupted: state)
        }
        release(cid)
    }

    @inline(__always) func release(_ cid: Int) { release(cid, contexts[cid]) }

    /// `release` with the context already loaded (the completion path reads it once).
    @inline(__always) func release(_ cid: Int, _ ctx: Context) {
        contexts[cid].active = false
        if ctx.op.transfersData { freeSlots.append(ctx.slot) }
        if trackBusy && ctx.op.hasRange {
            let s = Int(ctx.slba - regionStart)
            for i in s..<(s + ctx.blocks) { busy[i] &-= 1 }
        }
        inflight &-= 1
    }

    /// Builds and posts one command (no doorbell). False when nothing could be posted now.
    @inline(__always) func submitOne() -> Bool {
        var op = opTable.sample(&rng)
        var blocks = op == .flush ? 0 : sizeTable.sample(&rng)
        var slba: UInt64 = 0
        if op.hasRange {
            slba = addresses.next(blocks: blocks, &rng)
            if slba + UInt64(blocks) > regionEnd { blocks = Int(regionEnd - slba) }
            if trackBusy {
                var tries = 0
                while isBusy(slba, blocks) {
                    tries += 1
                    if tries == 8 { return false }
                    slba = addresses.next(blocks: blocks, &rng)
                }
            }
        }
        if op == .compare && !canCompare(slba, blocks) { op = .read }
        let bs = namespace.blockSize
        var sqe: SQE
        var slot = 0
        switch op {
        case .read: sqe = .read(nsid: configuration.nsid, slba: slba, nlb: UInt16(blocks - 1))
        case .write: sqe = .write(nsid: configuration.nsid, slba: slba, nlb: UInt16(blocks - 1))
        case .compare: sqe = .compare(nsid: configuration.nsid, slba: slba, nlb: UInt16(blocks - 1))
        case .writeZeroes: sqe = .writeZeroes(nsid: configuration.nsid, slba: slba, nlb: UInt16(blocks - 1))
        case .verify: sqe = .verify(nsid: configuration.nsid, slba: slba, nlb: UInt16(blocks - 1))
        case .flush: sqe = .flush(nsid: configuration.nsid)
        case .trim: sqe = .datasetManagement(nsid: configuration.nsid, nr: 0, attributes: .ad)
        }
        let gen = generation
        // The map holds generations up to IntegrityMap.maxGeneration: past it the worker stops writing rather
        // than reuse a generation.
        if op == .write && verifying && gen > IntegrityMap.maxGeneration { stopRequested = true; return false }
        if op.transfersData {
            guard let s = freeSlots.popLast() else { return false }
            slot = s
            let bytes = op == .trim ? 16 : blocks * bs
            let first = s * pagesPerSlot
            sqe.prp1 = pageBus[first]
            let pages = (bytes + pageSize - 1) / pageSize
            if pages == 2 { sqe.prp2 = pageBus[first + 1] }
            else if pages > 2 { sqe.prp2 = prpLists!.busAddress(at: s * pageSize) }
            let offset = s * slotBytes
            switch op {
            case .write:
                if configuration.pattern == .stamped { BlockStamp.stamp(region, offset: offset, blockSize: bs, slba: slba, blocks: blocks, generation: gen) }
                generation &+= 1
            case .compare:
                fillExpected(offset: offset, slba: slba, blocks: blocks)
            case .trim:
                region.store(UInt32(0), at: offset)
                region.store(UInt32(blocks), at: offset + 4)
                region.store(slba, at: offset + 8)
            default: break
            }
        }
        let cid: UInt16
        do {
            cid = try queuePair.submit(sqe, timeout: .default, ring: false)   // the pair's default is c.timeout
        } catch {
            if op.transfersData { freeSlots.append(slot) }
            if op == .write { generation &-= 1 }
            return false
        }
        let i = Int(cid)
        // One store of the whole context (field by field, each store re-checked the array's uniqueness).
        contexts[i] = Context(active: true, op: op, slba: slba, blocks: blocks, slot: slot, generation: gen,
                              flushMark: op == .flush ? map?.flushMark ?? 0 : 0, unverifiable: false,
                              submitTicks: contexts[i].submitTicks)
        if trackBusy && op.hasRange {
            let s = Int(slba - regionStart)
            for k in s..<(s + blocks) { busy[k] &+= 1 }
        }
        inflight &+= 1
        submitted &+= 1
        return true
    }

    @inline(__always) func isBusy(_ slba: UInt64, _ blocks: Int) -> Bool {
        let s = Int(slba - regionStart)
        for k in s..<(s + blocks) where busy[k] != 0 { return true }
        return false
    }

    /// Compare needs a known expectation for every block: stamped (any generation) or zeroed.
    func canCompare(_ slba: UInt64, _ blocks: Int) -> Bool {
        guard let map else { return false }
        for k in 0..<blocks {
            let lba = slba + UInt64(k)
            if map.isAmbiguous(lba) { return false }
            switch map[lba] {
            case .written, .zeroed: continue
            default: return false
            }
        }
        return configuration.pattern == .stamped
    }

    func fillExpected(offset: Int, slba: UInt64, blocks: Int) {
        let bs = namespace.blockSize
        for k in 0..<blocks {
            switch map![slba + UInt64(k)] {
            case .written(let g): BlockStamp.stamp(region, offset: offset + k * bs, blockSize: bs, slba: slba + UInt64(k), blocks: 1, generation: g)
            default: region.fill(0, offset: offset + k * bs, count: bs)
            }
        }
    }

    @inline(__always) func complete(_ completion: Completion, secondHistogram: inout Histogram<UInt64>) {
        let cid = Int(completion.cqe.cid)
        guard cid < contexts.count else { return }
        let ctx = contexts[cid]
        guard ctx.active else { return }
        if _slowPath(completion.origin == .timedOut) { timedOut(cid, completion); return }
        let bs = namespace.blockSize
        result.ios &+= 1
        thisSecond &+= 1
        opCounts[ctx.op.index] &+= 1
        // One record per IO: the second's histogram is added into the run's at each second boundary and at the end.
        _ = secondHistogram.record(completion.latencyNanoseconds)
        if completion.isSuccess {
            switch ctx.op {
            case .read:
                result.bytesRead &+= UInt64(ctx.blocks * bs)
                if verifying && !ctx.unverifiable {
                    if var m = map!.verify(region: region, offset: ctx.slot * slotBytes, slba: ctx.slba, blocks: ctx.blocks) {
                        result.mismatchCount &+= 1
                        if result.mismatches.count < 16 {
                            m.sqe = completion.sqe.dwords; m.cqe = completion.cqe.dwords
                            result.mismatches.append(m)
                        }
                    } else {
                        result.verifiedBlocks &+= UInt64(ctx.blocks)
                    }
                }
            case .write:
                result.bytesWritten &+= UInt64(ctx.blocks * bs)
                if verifying {
                    if configuration.pattern == .stamped { map!.recordWrite(slba: ctx.slba, blocks: ctx.blocks, generation: ctx.generation) }
                    else { map!.forget(slba: ctx.slba, blocks: ctx.blocks) }
                }
            case .compare:
                result.bytesRead &+= UInt64(ctx.blocks * bs)
                result.verifiedBlocks &+= UInt64(ctx.blocks)
            case .trim: map?.recordDeallocate(slba: ctx.slba, blocks: ctx.blocks)
            case .writeZeroes: map?.recordZeroes(slba: ctx.slba, blocks: ctx.blocks)
            case .flush: map?.recordFlush(upTo: ctx.flushMark)
            case .verify: break
            }
        } else {
            if completion.origin == .device { result.errors &+= 1 } else { result.abortedByReset &+= 1 }
            if result.failures.count < 16 {
                result.failures.append(FailedCommand(opcode: completion.sqe.opc, slba: ctx.slba, blocks: ctx.blocks,
                                                     status: completion.status.description, origin: completion.origin.rawValue,
                                                     sqe: completion.sqe.dwords, cqe: completion.cqe.dwords))
            }
            if ctx.op == .compare && completion.status.sct == 2 && completion.status.sc == 0x85 {
                result.mismatchCount &+= 1
            }
            if map != nil && ctx.op.modifies {
                let state: LBAState = ctx.op == .write ? (configuration.pattern == .stamped ? .written(generation: ctx.generation) : .unknown)
                    : ctx.op == .trim ? .deallocated : .zeroed
                map!.recordInterrupted(slba: ctx.slba, blocks: ctx.blocks, interrupted: state)
            }
        }
        release(cid, ctx)
    }
}
