import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec
import Synchronization

/// Integrity maps by controller and namespace, kept by the caller between runs: the maps live in host memory, so
/// a workload run after a reset, a power cycle or a re-bind verifies what earlier runs wrote.
public struct IntegrityStore: Sendable {
    public var maps: [String: IntegrityMap] = [:]
    public init() {}
    public static func key(controller: String, nsid: UInt32) -> String { "\(controller)/ns\(nsid)" }
    public subscript(controller: String, nsid: UInt32) -> IntegrityMap? {
        get { maps[Self.key(controller: controller, nsid: nsid)] }
        set { maps[Self.key(controller: controller, nsid: nsid)] = newValue }
    }

    /// `controller` lost power outside a workload (e.g. a harness power-cycled it between runs): in each of its
    /// maps, writes not yet flushed from a volatile write cache become old-or-new (`IntegrityMap.recordPowerLoss`).
    public mutating func recordPowerLoss(controller: String) {
        for k in maps.keys where k.hasPrefix(controller + "/ns") { maps[k]?.recordPowerLoss() }
    }
}

extension NamespaceIdentity {
    /// The identity of `namespace` on `controller` (serial from its Identify Controller data, empty without it).
    public init(controller: Controller, namespace ns: Namespace) {
        var serial = ""
        if controller.identifyData.count >= 24 {
            serial = String(decoding: controller.identifyData[4..<24], as: UTF8.self)
            while serial.hasSuffix(" ") || serial.hasSuffix("\0") { serial.removeLast() }
        }
        let lbads = UInt8(truncatingIfNeeded: ns.blockSize > 0 ? ns.blockSize.trailingZeroBitCount : 0)
        self.init(serial: serial, nsid: ns.nsid, nsze: ns.blockCount, lbads: lbads, ms: UInt16(truncatingIfNeeded: ns.metadataSize))
    }
}

/// A reset the workload performs while its workers have IO in flight.
public struct ScheduledReset: Sendable, Hashable {
    /// Time after the start of the run.
    public var after: Duration
    public var kind: ResetKind
    /// Index into the workload's controllers.
    public var controller: Int
    public init(after: Duration, kind: ResetKind = .controller, controller: Int = 0) {
        self.after = after; self.kind = kind; self.controller = controller
    }
}

public enum WorkloadError: Error, CustomStringConvertible {
    case configuration(String)
    case queueCreation(controller: String, qid: UInt16, any Error)
    case reset(controller: String, any Error)

    public var description: String {
        switch self {
        case .configuration(let s): return s
        case .queueCreation(let c, let q, let e):
            return "\(c): cannot create IO queue pair \(q) for a worker: \(e) — open the controller with more IO queues (ControllerOptions.ioQueueCount) or use fewer workers"
        case .reset(let c, let e): return "\(c): reset during the workload failed: \(e)"
        }
    }
}

/// Several IOWorkers over namespaces and controllers, each on its own thread and its own dedicated (polled) IO
/// queue pair, with resets at chosen times and a progress callback once per interval.
public final class Workload: @unchecked Sendable {
    public struct Job: Sendable {
        public var controller: Controller
        public var configuration: IOWorkerConfiguration
        public init(controller: Controller, configuration: IOWorkerConfiguration) {
            self.controller = controller; self.configuration = configuration
        }
    }

    public let jobs: [Job]
    public var resets: [ScheduledReset] = []
    /// How often `progress` is called.
    public var progressInterval: Duration = .seconds(1)
    /// Threads that run the workers (nil: one per worker). Fewer threads than workers drive several queue pairs
    /// from one thread in turn, each still on its own queue: what scales where polling threads would outnumber the
    /// CPUs (in the 2-vCPU TCG guest a second spinning vCPU takes the host core QEMU's device emulation needs).
    public var threads: Int?

    public init(jobs: [Job]) { self.jobs = jobs }

    /// Set by `requestStop()`; read by `run`'s coordinator loop.
    private let stopRequested = Atomic<Bool>(false)

    /// Asks every worker to stop submitting; each waits for its outstanding commands, then `run` returns the
    /// results so far (integrity maps included). Callable from any thread (a signal handler's thread), before or
    /// during `run`.
    public func requestStop() { stopRequested.store(true, ordering: .releasing) }
    public convenience init(controller: Controller, configuration: IOWorkerConfiguration) {
        self.init(jobs: [Job(controller: controller, configuration: configuration)])
    }

    /// The distinct controllers, in job order.
    public var controllers: [Controller] {
        var seen: [ObjectIdentifier] = []
        var out: [Controller] = []
        for j in jobs where !seen.contains(ObjectIdentifier(j.controller)) {
            seen.append(ObjectIdentifier(j.controller)); out.append(j.controller)
        }
        return out
    }

    /// Runs every job to its limits. Integrity maps come from and go back to `integrity`.
    public func run(integrity: inout IntegrityStore, progress: ((ProgressSnapshot) -> Void)? = nil) throws -> WorkloadResult {
        // Validate everything before touching a queue.
        var problems: [String] = []
        for j in jobs {
            let ns = j.controller.namespaces.first { $0.nsid == j.configuration.nsid }
            if ns == nil {
                problems.append("\(j.configuration.name): namespace \(j.configuration.nsid) is not active on \(j.controller.device.address) (active: \(j.controller.namespaces.map(\.nsid)))")
                continue
            }
            problems += j.configuration.validate(namespace: ns).map { "\(j.configuration.name): \($0)" }
            let mqes = Int(j.controller.cap.mqes)
            if j.configuration.queueDepth + 1 > mqes + 1 {
                problems.append("\(j.configuration.name): queue depth \(j.configuration.queueDepth) needs an SQ of \(j.configuration.queueDepth + 1) entries; CAP.MQES allows \(mqes + 1): use --qd \(mqes) or less")
            } else if j.configuration.completionQueueDepth(mqes: j.controller.cap.mqes) > mqes + 1 {
                problems.append("\(j.configuration.name): CQ depth \(j.configuration.completionQueueDepth(mqes: j.controller.cap.mqes)) is more than CAP.MQES allows (\(mqes + 1)): use --cq-depth \(mqes + 1) or less")
            }
        }
        problems += overlappingVerifiedRegions()
        if !problems.isEmpty { throw WorkloadError.configuration(problems.joined(separator: "\n")) }

        // Dedicated polled IO queue pairs and workers.
        var workers: [IOWorker] = []
        var created: [(Controller, QueuePair)] = []
        defer {
            for (c, qp) in created { try? c.deleteIOQueuePair(qp) }
            // A worker's buffers stay allocated until its queue is deleted: a timed-out command the controller never
            // answered may still point at them until then.
            withExtendedLifetime(workers) {}
        }
        for j in jobs {
            let c = j.controller
            let ns = c.namespaces.first { $0.nsid == j.configuration.nsid }!
            let used = Set(c.ioQueues.map(\.qid))
            guard let qid = (1...UInt16.max).first(where: { !used.contains($0) }) else {
                throw WorkloadError.configuration("\(c.device.address) has no free I/O queue identifier (65535 in use)")
            }
            let qp: QueuePair
            do {
                let sqDepth = max(2, j.configuration.queueDepth + 1)
                let cqDepth = max(sqDepth, j.configuration.completionQueueDepth(mqes: c.cap.mqes))
                qp = try c.createIOQueuePair(qid: qid, depth: sqDepth, cqDepth: cqDepth, vector: nil,
                                             priority: j.configuration.queuePriority)
                // At most queueDepth commands are outstanding, so the spare CQ slots bound the unrung entries.
                qp.headDoorbellBatch = max(1, cqDepth - j.configuration.queueDepth - 1)
            } catch {
                throw WorkloadError.queueCreation(controller: c.device.address, qid: qid, error)
            }
            created.append((c, qp))
            let cfg = j.configuration
            var map: IntegrityMap? = nil
            if cfg.verify {
                let start = cfg.regionStart, end = cfg.regionEnd ?? ns.blockCount
                let identity = NamespaceIdentity(controller: c, namespace: ns)
                var whole = integrity[c.device.address, ns.nsid]
                    ?? IntegrityMap(identity: identity)
                // A map of another device or geometry is not silently replaced: the caller decides.
                if let id = whole.identity, id != identity {
                    throw WorkloadError.configuration("\(cfg.name): the integrity map for \(c.device.address) namespace \(ns.nsid) describes \(id), but the namespace is now \(identity): start from a new IntegrityStore (or remove the map) after a format or a device change")
                }
                if whole.blockCount != Int(ns.blockCount) || whole.blockSize != ns.blockSize || whole.firstLBA != 0 {
                    throw WorkloadError.configuration("\(cfg.name): the integrity map for \(c.device.address) namespace \(ns.nsid) covers \(whole.blockCount) blocks of \(whole.blockSize) bytes from LBA \(whole.firstLBA), but the namespace has \(ns.blockCount) blocks of \(ns.blockSize) bytes: start from a new IntegrityStore after a format")
                }
                whole.identity = identity
                whole.deallocatedReads = DeallocatedReadBehaviour(dlfeat: ns.dlfeat)
                whole.volatileWriteCache = Self.volatileWriteCacheEnabled(c)
                integrity[c.device.address, ns.nsid] = whole
                map = whole.subrange(slba: start, blocks: Int(end - start))
            }
            workers.append(try IOWorker(queuePair: qp, namespace: ns, configuration: cfg, allocator: c.allocator,
                                        pageSize: c.pageSize, controllerName: c.device.address, map: map))
        }

        let controls = workers.map { _ in WorkerControl() }
        // Nothing reads a worker's last-second p99 without a progress callback: spare the workers computing it.
        if progress == nil { for m in controls { m.reportsRecentP99.store(false, ordering: .relaxed) } }
        let results = ResultSlots(count: workers.count)
        let threadCount = max(1, min(threads ?? workers.count, workers.count))
        let ws = workers
        for t in 0..<threadCount {
            let mine = Array(stride(from: t, to: ws.count, by: threadCount))
            let thread = Thread {
                if mine.count == 1 {
                    let i = mine[0]
                    results.set(i, ws[i].run(control: controls[i]))
                    controls[i].finished.store(true, ordering: .releasing)   // after the result is stored
                    return
                }
                for i in mine { ws[i].begin() }
                var active = mine
                while !active.isEmpty {
                    var k = 0
                    while k < active.count {
                        let i = active[k]
                        if ws[i].step(control: controls[i]) { k += 1; continue }
                        results.set(i, ws[i].finish(control: controls[i]))
                        controls[i].finished.store(true, ordering: .releasing)
                        active.remove(at: k)
                    }
                    if active.allSatisfy({ ws[$0].rs.paused }) { sched_yield() }
                }
            }
            thread.name = "nvmekit-io-\(t)"
            thread.stackSize = 1 << 20
            thread.start()
        }

        // Coordinate: progress, scheduled resets, completion.
        let start = MonotonicClock.nanoseconds()
        var pending = resets.sorted { $0.after < $1.after }
        let interval = UInt64(max(1, progressInterval.components.seconds * 1_000_000_000
                                      + progressInterval.components.attoseconds / 1_000_000_000))
        var nextProgress = start + interval
        var resetError: (any Error)? = nil
        let expected = jobs.map { j -> UInt64? in j.configuration.duration.map { UInt64($0.components.seconds) * 1_000_000_000 + UInt64($0.components.attoseconds / 1_000_000_000) } }
        let longest = expected.compactMap { $0 }.max()
        while !controls.allSatisfy(\.isFinished) {
            if stopRequested.load(ordering: .acquiring) { for m in controls { m.requestStop() } }
            let now = MonotonicClock.nanoseconds()
            if let r = pending.first, now - start >= nanoseconds(r.after) {
                pending.removeFirst()
                if r.controller < controllers.count {
                    let c = controllers[r.controller]
                    let mine = jobs.indices.filter { jobs[$0].controller === c }.map { controls[$0] }
                    for m in mine { m.requestPause() }
                    while !mine.allSatisfy({ $0.isPaused || $0.isFinished }) { usleep(100) }
                    do {
                        try c.reset(r.kind)
                        // The workers' queue pairs are the workload's own: re-create those the init sequence did
                        // not (it may lack the createIOQueues step, as `nvmekit io`'s does), so IO goes on.
                        for (qc, qp) in created where qc === c { try c.recreateIOQueuePair(qp) }
                    } catch { resetError = error; for m in controls { m.requestStop() } }
                    if r.kind == .powerCycle {
                        // The workers are paused (or done): their maps are not being touched.
                        for i in jobs.indices where jobs[i].controller === c { workers[i].recordPowerLoss() }
                    }
                    for m in mine { m.resume() }
                }
            }
            if let progress, now >= nextProgress {
                nextProgress += interval
                progress(ProgressSnapshot(elapsedNanoseconds: now - start, expectedNanoseconds: longest,
                                          completed: controls.reduce(0) { $0 + $1.completed.load(ordering: .relaxed) },
                                          bytes: controls.reduce(0) { $0 + $1.bytes.load(ordering: .relaxed) },
                                          p99Nanoseconds: controls.map { $0.recentP99.load(ordering: .relaxed) }.max() ?? 0,
                                          mismatches: controls.reduce(0) { $0 + $1.mismatches.load(ordering: .relaxed) },
                                          errors: controls.reduce(0) { $0 + $1.errors.load(ordering: .relaxed) }))
            }
            usleep(2000)
        }
        let all = results.values.map { $0! }

        // Maps back into the store.
        for (i, w) in workers.enumerated() {
            guard let m = w.map else { continue }
            let c = jobs[i].controller
            integrity[c.device.address, m.nsid]?.replaceRange(with: m)
        }
        if let resetError { throw WorkloadError.reset(controller: controllers.first?.device.address ?? "", resetError) }
        var config: [String: String] = [:]
        for (i, j) in jobs.enumerated() { config["worker\(i)"] = j.configuration.summary + " on \(j.controller.device.address)" }
        return WorkloadResult(workers: all, configuration: config)
    }

    /// Identify Controller VWC bit 0 (a volatile write cache is present) and Get Features Volatile Write Cache
    /// (06h) bit 0 WCE (it is enabled). Without Identify data the cache is assumed absent.
    public static func volatileWriteCacheEnabled(_ c: Controller) -> Bool {
        guard c.identifyData.count > 525, c.identifyData[525] & 1 != 0 else { return false }
        let r = c.adminCommand(DriverCommand.getFeatures(fid: 0x06))
        return r.isSuccess && r.dw0 & 1 != 0
    }

    /// Verified workers that modify data must own their LBAs: overlapping regions on one namespace are refused.
    func overlappingVerifiedRegions() -> [String] {
        var out: [String] = []
        for a in jobs.indices {
            for b in jobs.indices where b > a {
                let x = jobs[a], y = jobs[b]
                guard x.controller === y.controller, x.configuration.nsid == y.configuration.nsid,
                      x.configuration.verify || y.configuration.verify,
                      x.configuration.mix.modifies || y.configuration.mix.modifies else { continue }
                let ns = x.controller.namespaces.first { $0.nsid == x.configuration.nsid }?.blockCount ?? .max
                let xe = x.configuration.regionEnd ?? ns, ye = y.configuration.regionEnd ?? ns
                if x.configuration.regionStart < ye && y.configuration.regionStart < xe {
                    out.append("\(x.configuration.name) and \(y.configuration.name) write-verify overlapping LBAs of namespace \(x.configuration.nsid): give each worker its own region (--region-start/--region-end) or use --no-verify")
                }
            }
        }
        return out
    }
}

func nanoseconds(_ d: Duration) -> UInt64 {
    let (s, a) = d.components
    return UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, a)) / 1_000_000_000
}

/// Each worker thread writes its own slot once, then the coordinator reads them after every worker finished.
final class ResultSlots: Sendable {
    let storage: Mutex<[WorkerResult?]>
    init(count: Int) { storage = Mutex(Array(repeating: nil, count: count)) }
    func set(_ i: Int, _ r: WorkerResult) { storage.withLock { $0[i] = r } }
    var values: [WorkerResult?] { storage.withLock { $0 } }
}

extension IOWorkerConfiguration {
    /// One line describing the configuration.
    public var summary: String {
        var s = "ns \(nsid) \(mix) size \(ioSize) align \(lbaAlignment) random \(randomPercent)% QD \(queueDepth)"
        s += " region \(regionStart)..<\(regionEnd.map(String.init) ?? "end")"
        if let d = duration { s += " time \(d)" }
        if let n = ioCount { s += " ios \(n)" }
        if let l = iopsLimit { s += " iops-limit \(l)" }
        s += verify ? " verify" : " no-verify"
        s += " pattern \(pattern.rawValue) seed \(seed)"
        return s
    }
}
