import Logging
import NVMePlatform
import NVMeSpec
import Synchronization

/// Failures of controller-level operations (init steps, resets). NVMe completion errors stay `CommandError`.
public enum ControllerError: Error, Sendable, CustomStringConvertible {
    /// CSTS.RDY did not reach `expected` within CAP.TO.
    case readyTimeout(expected: Bool, waited: Duration, csts: UInt32)
    /// CSTS.CFS is set.
    case fatalStatus(csts: UInt32)
    /// Registers read all ones: the device is gone.
    case deviceRemoved
    /// An init or reset step's admin command failed.
    case command(step: String, CommandError)
    /// Shutdown did not reach CSTS.SHST = 2 within CAP.TO.
    case shutdownTimeout(csts: UInt32)
    case unsupported(String)
    case step(String, any Error)

    public var description: String {
        switch self {
        case .readyTimeout(let e, let w, let c):
            return "CSTS.RDY did not become \(e ? 1 : 0) within \(w) (CAP.TO); CSTS=\(hex32(c))h"
        case .fatalStatus(let c): return "controller fatal status (CSTS.CFS=1, CSTS=\(hex32(c))h): reset the controller (nvmekit reset --kind controller)"
        case .deviceRemoved: return "the device is gone (registers read FFFFFFFFh): check it is still bound (nvmekit list) and open it again"
        case .command(let s, let e): return "init step \(s): \(e)"
        case .shutdownTimeout(let c): return "shutdown did not complete within CAP.TO (CSTS=\(hex32(c))h)"
        case .unsupported(let s): return s
        case .step(let s, let e): return "init step \(s): \(e)"
        }
    }
}

/// A namespace as Identify Namespace describes it.
public struct Namespace: Sendable, Hashable {
    public var nsid: UInt32
    /// NSZE: size in logical blocks.
    public var blockCount: UInt64
    /// Data bytes per logical block (2 ^ LBADS of the format in use).
    public var blockSize: Int
    /// Metadata bytes per block (MS of the format in use).
    public var metadataSize: Int
    /// FLBAS bit 4: metadata transferred at the end of each block (extended LBA) rather than in a separate buffer.
    public var extendedLBA: Bool
    /// DPS: end-to-end protection type (bits 2:0) and first/last placement (bit 3).
    public var dps: UInt8
    /// DLFEAT: bits 2:0 what a read of a deallocated block returns (000b not reported, 001b zeroes, 010b ones).
    public var dlfeat: UInt8 = 0
}

/// One NVMe controller: its device, the admin queue pair, IO queue pairs, identify data, namespaces, async events,
/// command logs, init steps and resets. Sees the hardware only through `NVMeDevice`.
///
/// Threads: admin commands are serialised by an internal lock and may come from any thread; each IO `QueuePair`
/// belongs to one thread at a time. `reset` touches every queue: call it from the thread owning them, or after the
/// IO threads stopped. Several controllers in one process share nothing.
public final class Controller: @unchecked Sendable {
    public let device: any NVMeDevice
    public var options: ControllerOptions
    public var registers: any RegisterSpace { device.bar0 }
    public var interrupts: any InterruptSource { device.interrupts }
    public var allocator: any DMAAllocator { device.dma }
    public let logger: Logger

    /// CAP as read by the last `disable` step (or at creation).
    public internal(set) var cap: ControllerCapabilities
    /// The admin queue pair (qid 0), after the configureAdminQueue step.
    public internal(set) var adminQueue: QueuePair?
    /// IO queue pairs created by this controller, by qid.
    public internal(set) var ioQueues: [QueuePair] = []
    /// Identify Controller data (4096 bytes) after identifyController.
    public internal(set) var identifyData: [UInt8] = []
    public internal(set) var namespaces: [Namespace] = []
    /// IO SQs and CQs granted by Set Features Number of Queues (1's based).
    public internal(set) var grantedQueues: (submission: Int, completion: Int) = (0, 0)
    public internal(set) var doorbellBuffer: DoorbellBuffer?
    public let asyncEvents = AsyncEventHandler()
    /// The sequence `initialize` ran last; resets run it again to recover.
    public internal(set) var sequence: InitSequence = .standard
    /// Steps run so far, with the time each took.
    public internal(set) var stepLog: [(name: String, nanoseconds: UInt64)] = []

    let adminLock = Mutex(())
    let closedState = Mutex(false)
    /// How long `close()` waits for outstanding commands before failing them locally.
    public var closeTimeout: Duration = .seconds(2)

    public init(device: any NVMeDevice, options: ControllerOptions = .init(), logger: Logger? = nil) {
        self.device = device
        self.options = options
        self.logger = logger ?? Logger(label: "nvmekit.driver.\(device.address)")
        self.cap = device.bar0.cap
    }

    /// Creates a controller and runs `sequence` on it.
    public static func open(_ device: any NVMeDevice, options: ControllerOptions = .init(),
                            sequence: InitSequence = .standard) throws -> Controller {
        let c = Controller(device: device, options: options)
        try c.initialize(sequence)
        return c
    }

    /// Runs every step of `sequence` in order; a failing step stops the sequence and names itself.
    public func initialize(_ sequence: InitSequence = .standard) throws {
        self.sequence = sequence
        stepLog.removeAll()
        for step in sequence.steps {
            let t0 = MonotonicClock.nanoseconds()
            do {
                try step.run(self)
            } catch let e as ControllerError {
                throw e
            } catch let e as CommandError {
                throw ControllerError.command(step: step.name, e)
            } catch {
                throw ControllerError.step(step.name, error)
            }
            stepLog.append((step.name, MonotonicClock.nanoseconds() - t0))
            logger.debug("init step \(step.name) done")
        }
    }

    /// Memory page size selected by CC.MPS.
    public var pageSize: Int { 4096 << Int(options.mps) }
    public var dstrd: UInt8 { cap.dstrd }
    /// Whether the device still answers (CSTS not all ones).
    public var isPresent: Bool { !registers.csts.isAllOnes }

    // MARK: Register steps

    /// CC.EN = 0, then wait for CSTS.RDY = 0 within CAP.TO (a controller left enabled by firmware or UIO included).
    public func disable() throws {
        cap = registers.cap
        if cap.rawValue == .max { throw ControllerError.deviceRemoved }
        var cc = registers.cc
        if cc.en {
            cc.en = false
            registers.setCC(cc)
        }
        try waitReady(false)
    }

    /// Sets Memory Space and Bus Master Enable in the PCI Command register (the device cannot DMA without BME).
    public func enableBusMaster() throws {
        guard let config = device.config else { return }
        let command = try config.read16(at: 0x04)
        if command & 0x6 != 0x6 { try config.write16(command | 0x6, at: 0x04) }
    }

    /// Allocates the admin queues (or reuses them after a reset) and programs AQA, ASQ and ACQ.
    public func configureAdminQueue() throws {
        if adminQueue == nil || adminQueue!.sq.depth != options.adminQueueDepth {
            adminQueue = try makeQueuePair(qid: 0, depth: options.adminQueueDepth, vector: 0, contiguous: true)
        } else {
            adminQueue!.resetRings()
        }
        let a = adminQueue!
        registers.setAQA(AdminQueueAttributes(asqs: UInt16(a.sq.depth - 1), acqs: UInt16(a.cq.depth - 1)))
        registers.setASQ(a.sq.busAddress)
        registers.setACQ(a.cq.busAddress)
    }

    /// Programs CC (EN stays 0): IOSQES 6, IOCQES 4, MPS, CSS, AMS from the options, SHN 0.
    public func configureController() {
        var cc = ControllerConfiguration(rawValue: 0)
        cc.iosqes = 6
        cc.iocqes = 4
        cc.mps = options.mps
        cc.ams = options.arbitration
        cc.css = options.commandSetSelected ?? (cap.css & 0x40 != 0 ? 6 : 0)
        registers.setCC(cc)
    }

    /// Arms interrupts before CC.EN = 1 (VFIO delivers nothing when MSI-X is armed after enabling).
    public func enableInterrupts() throws {
        let irq = interrupts
        if irq.enabledVectors > 0 { try irq.disable() }
        switch options.interrupts {
        case .msix:
            try irq.enable(vectors: max(1, min(irq.supportedVectors - 1, options.ioQueueCount) + 1))
        case .intx:
            do {
                try irq.enable(vectors: 1)
            } catch {
                // uio_pci_generic cannot always unmask INTx (no irqcontrol for the function): poll instead.
                logger.warning("INTx unavailable (\(error)); completions are polled")
                options.interrupts = .polling
            }
        case .polling:
            break
        }
    }

    /// CC.EN = 1, then wait for CSTS.RDY = 1 within CAP.TO.
    public func enable() throws {
        var cc = registers.cc
        cc.en = true
        registers.setCC(cc)
        try waitReady(true)
    }

    /// Polls CSTS.RDY until it equals `ready`, up to CAP.TO; fails early on all ones or CFS (while enabling).
    public func waitReady(_ ready: Bool) throws {
        let limit = max(cap.timeout, .milliseconds(500))
        let deadline = Deadline.after(limit)
        var spins = 0
        while true {
            let csts = registers.csts
            if csts.isAllOnes { throw ControllerError.deviceRemoved }
            if csts.rdy == ready { return }
            if ready && csts.cfs { throw ControllerError.fatalStatus(csts: csts.rawValue) }
            if deadline.hasPassed { throw ControllerError.readyTimeout(expected: ready, waited: limit, csts: csts.rawValue) }
            spins += 1
            if spins > 100 { Thread_yield() }
        }
    }

    // MARK: Admin command steps

    /// Identify Controller (CNS 01h) into `identifyData`.
    public func identifyController() throws {
        identifyData = try identify(cns: 1)
    }

    /// Set Features Number of Queues for `options.ioQueueCount` pairs; records what the controller granted.
    public func setNumberOfQueues() throws {
        let n = min(max(1, options.ioQueueCount), SQE.maximumCount16)   // zero is not expressible (0's based): ask for one
        let c = try adminCommand(DriverCommand.setNumberOfQueues(submissionQueues: n, completionQueues: n)).check()
        grantedQueues = (Int(c.dw0 & 0xFFFF) + 1, Int(c.dw0 >> 16) + 1)
    }

    /// Doorbell Buffer Config when `options.shadowDoorbells` (must precede IO queue creation); attaches each IO
    /// queue's shadow slot. The admin queue keeps MMIO doorbells, as Linux does.
    public func doorbellBufferConfig() throws {
        guard options.shadowDoorbells else { return }
        if doorbellBuffer == nil {
            doorbellBuffer = try DoorbellBuffer(allocator: allocator, pageSize: pageSize, dstrd: dstrd)
        } else {
            doorbellBuffer!.clear()
        }
        let db = doorbellBuffer!
        try adminCommand(DriverCommand.doorbellBufferConfig(shadow: db.shadowBusAddress, eventIdx: db.eventIdxBusAddress),
                         data: [db.shadowRegion, db.eventIdxRegion]).check()
        for qp in ioQueues { attachShadow(qp) }
    }

    /// Attaches the queue's shadow doorbell slots. `makeQueuePair` already refused a qid past the shadow doorbell
    /// page, so a slot is always there; were it not, the queue keeps MMIO doorbells.
    func attachShadow(_ qp: QueuePair) {
        guard let db = doorbellBuffer, qp.qid != 0 else { return }
        qp.sq.shadow = try? db.slot(qid: qp.qid, isCQ: false)
        qp.cq.shadow = try? db.slot(qid: qp.qid, isCQ: true)
    }

    /// Creates `options.ioQueueCount` IO queue pairs (qid 1...n). After a reset, re-creates the existing ones on
    /// the same memory instead.
    public func createIOQueues() throws {
        if !ioQueues.isEmpty {
            for qp in ioQueues {
                qp.resetRings()
                attachShadow(qp)
                try sendCreate(qp)
                qp.state = .ready
            }
            return
        }
        guard options.ioQueueCount > 0 else { return }
        try InvalidArgument.check("ioQueueCount", options.ioQueueCount, in: 0...65535)
        for i in 1...options.ioQueueCount {
            let prio = options.ioQueuePriorities.count >= i ? options.ioQueuePriorities[i - 1] : 2
            _ = try createIOQueuePair(qid: UInt16(i), depth: options.ioQueueDepth, vector: defaultVector(for: UInt16(i)),
                                      priority: prio)
        }
    }

    /// The interrupt vector a new IO CQ gets under `options.interrupts`.
    public func defaultVector(for qid: UInt16) -> UInt16? {
        switch options.interrupts {
        case .polling: return nil
        case .intx: return 0
        case .msix:
            let n = interrupts.enabledVectors
            return n == 0 ? nil : UInt16(Int(qid) % n)
        }
    }

    /// Identify Active Namespace ID list (CNS 02h) and Identify Namespace (CNS 00h) for each.
    public func identifyNamespaces() throws {
        let list = try identify(cns: 2)
        var out: [Namespace] = []
        for i in 0..<1024 {
            let nsid = UInt32(list[4 * i]) | UInt32(list[4 * i + 1]) << 8 | UInt32(list[4 * i + 2]) << 16 | UInt32(list[4 * i + 3]) << 24
            if nsid == 0 { break }
            let d = try identify(cns: 0, nsid: nsid)
            out.append(Self.decodeNamespace(nsid: nsid, d))
        }
        namespaces = out
    }

    static func decodeNamespace(nsid: UInt32, _ d: [UInt8]) -> Namespace {
        func le64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(d[o + $1]) << (8 * UInt64($1)) } }
        let flbas = d[26]
        let format = Int(flbas & 0x0F) | Int((flbas >> 5) & 3) << 4
        let lbaf = 128 + 4 * format
        let ms = Int(d[lbaf]) | Int(d[lbaf + 1]) << 8
        let lbads = Int(d[lbaf + 2])
        return Namespace(nsid: nsid, blockCount: le64(0), blockSize: lbads == 0 ? 0 : 1 << lbads, metadataSize: ms,
                         extendedLBA: flbas & 0x10 != 0, dps: d[29], dlfeat: d[33])
    }

    /// Keeps `options.asyncEventRequests` Asynchronous Event Requests outstanding.
    public func armAsyncEvents() throws {
        try withAdmin { admin in
            while asyncEvents.outstanding < options.asyncEventRequests {
                try submitAsyncEventRequest(admin)
            }
        }
    }

    func submitAsyncEventRequest(_ admin: QueuePair) throws {
        do {
            // Counted and decoded by the admin queue's `asyncEventHandler`, like one posted by hand.
            try admin.submit(DriverCommand.asynchronousEventRequest(), timeout: .none) { _ in }
        } catch {
            throw ControllerError.unsupported("cannot post an Asynchronous Event Request: \(error)")
        }
    }

    // MARK: Queue creation

    /// Allocates a queue pair's rings (no admin command). `contiguous: false` describes each ring by a PRP list.
    /// `cqDepth` (default: `depth`) may exceed the SQ's depth: spare CQ slots let `QueuePair.headDoorbellBatch`
    /// ring the CQ head doorbell less often than once per reap.
    public func makeQueuePair(qid: UInt16, depth: Int, cqDepth: Int? = nil, vector: UInt16?, contiguous: Bool = true,
                              priority: UInt8 = 0) throws -> QueuePair {
        let cqDepth = cqDepth ?? depth
        try InvalidArgument.check("priority", priority, in: 0...3)   // QPRIO, CDW11 bits 2:1
        // CC.MPS is 4 bits: a larger options.mps made pageSize 0 (4096 << 52 and up) and divided by it below.
        try InvalidArgument.check("options.mps", options.mps, in: 0...15)
        let page = pageSize
        // A queue holds 2...65536 entries (§3.3.1); a ring described by a PRP list must fit one list page.
        let listBytes = (page / 8) * page
        try InvalidArgument.check("depth", depth, in: 2...(contiguous ? SQE.maximumCount16 : min(SQE.maximumCount16, listBytes / 64)))
        try InvalidArgument.check("cqDepth", cqDepth, in: 2...(contiguous ? SQE.maximumCount16 : min(SQE.maximumCount16, listBytes / 16)))
        if let db = doorbellBuffer, qid != 0 { _ = try db.slot(qid: qid, isCQ: true) }   // the shadow page covers qid
        func ring(_ bytes: Int) throws -> (DMARegion, DMARegion?) {
            let len = (bytes + page - 1) / page * page
            let mem = try allocator.allocate(length: len, alignment: page)
            guard !contiguous else { return (mem, nil) }
            let list = try allocator.allocate(length: page, alignment: page)
            for i in 0..<(len / page) { list.store(mem.busAddress(at: i * page), at: i * 8) }
            return (mem, list)
        }
        let (cqMem, cqList) = try ring(cqDepth * 16)
        let (sqMem, sqList) = try ring(depth * 64)
        let cq = try CompletionQueue(qid: qid, depth: cqDepth, memory: cqMem, prpList: cqList, vector: vector,
                                 registers: registers, dstrd: dstrd)
        let sq = try SubmissionQueue(qid: qid, depth: depth, memory: sqMem, prpList: sqList, cqid: qid, priority: priority,
                                 registers: registers, dstrd: dstrd)
        let qp = QueuePair(sq: sq, cq: cq, interrupts: options.interrupts == .polling && qid != 0 ? nil : interrupts,
                           logCapacity: options.commandLogCapacity, defaultTimeout: options.defaultTimeout)
        qp.timeoutPolicy = options.timeoutPolicy
        let bar0 = registers
        qp.isPresent = { !bar0.csts.isAllOnes }
        qp.onTimeout = { [weak self] q, cid in self?.handleTimeout(q, cid: cid) }
        if qid == 0 { qp.asyncEventHandler = asyncEvents }
        return qp
    }

    /// Allocates and creates an IO queue pair: Create I/O CQ, then Create I/O SQ, with any qid/depth/vector/priority.
    @discardableResult
    public func createIOQueuePair(qid: UInt16, depth: Int, cqDepth: Int? = nil, vector: UInt16?, priority: UInt8 = 2,
                                  contiguous: Bool = true) throws -> QueuePair {
        let qp = try makeQueuePair(qid: qid, depth: depth, cqDepth: cqDepth, vector: vector, contiguous: contiguous,
                                   priority: priority)
        attachShadow(qp)
        try sendCreate(qp)
        ioQueues.append(qp)
        return qp
    }

    /// Re-creates one IO queue pair of this controller on its memory after a reset (empty rings, Create I/O CQ then
    /// Create I/O SQ), for an init sequence without the `createIOQueues` step, which would re-create every queue
    /// pair itself. Nothing to do when the pair is ready (that step ran). Its commands were completed by the reset.
    public func recreateIOQueuePair(_ qp: QueuePair) throws {
        guard qp.state != .ready else { return }
        guard ioQueues.contains(where: { $0 === qp }) else {
            throw ControllerError.unsupported("IO queue pair \(qp.qid) does not belong to this controller (create it with createIOQueuePair)")
        }
        qp.failAll(.abortedByReset)
        qp.resetRings()
        attachShadow(qp)
        try sendCreate(qp)
        qp.state = .ready
    }

    func sendCreate(_ qp: QueuePair) throws {
        try adminCommand(try DriverCommand.createIOCompletionQueue(qid: qp.cq.qid, depth: qp.cq.depth, prp1: qp.cq.busAddress,
                         vector: qp.cq.vector, physicallyContiguous: qp.cq.prpList == nil),
                         data: [qp.cq.memory] + (qp.cq.prpList.map { [$0] } ?? [])).check()
        try adminCommand(try DriverCommand.createIOSubmissionQueue(qid: qp.sq.qid, depth: qp.sq.depth, prp1: qp.sq.busAddress,
                         cqid: qp.sq.cqid, priority: qp.sq.priority, physicallyContiguous: qp.sq.prpList == nil),
                         data: [qp.sq.memory] + (qp.sq.prpList.map { [$0] } ?? [])).check()
    }

    /// Delete I/O SQ then Delete I/O CQ; outstanding commands of the pair complete locally (aborted).
    public func deleteIOQueuePair(_ qp: QueuePair) throws {
        try adminCommand(DriverCommand.deleteIOSubmissionQueue(qid: qp.sq.qid)).check()
        try adminCommand(DriverCommand.deleteIOCompletionQueue(qid: qp.cq.qid)).check()
        qp.poll()
        qp.failAll(.abortedByReset)
        qp.state = .unavailable
        ioQueues.removeAll { $0 === qp }
    }

    // MARK: Admin path

    /// Runs `body` with exclusive use of the admin queue pair.
    @discardableResult
    public func withAdmin<R>(_ body: (QueuePair) throws -> R) throws -> R {
        guard let admin = adminQueue else {
            throw ControllerError.unsupported("the admin queue is not configured: run the configureAdminQueue step first")
        }
        return try adminLock.withLock { _ in try body(admin) }
    }

    /// Sends one admin command and waits for it (by the device, by timeout, or because the device is gone).
    /// `data` is kept alive until the command completes. Async events that arrive meanwhile are serviced after.
    @discardableResult
    public func adminCommand(_ sqe: SQE, data: [DMARegion] = [], timeout: CommandTimeout = .default) -> Completion {
        guard let admin = adminQueue else {
            let cqe = CQE(sqhd: 0, sqid: 0, cid: 0, phase: false, status: Completion.localStatus(for: .abortedByReset))
            return Completion(origin: .abortedByReset, sqe: sqe, cqe: cqe, latencyNanoseconds: 0)
        }
        return adminLock.withLock { _ in
            let c = admin.execute(sqe, data: data, timeout: timeout)
            serviceAsyncEvents(admin)
            return c
        }
    }

    /// An admin command moving data through `buffer` (PRPs built for the controller's page size).
    @discardableResult
    public func adminCommand(_ sqe: SQE, buffer: Buffer, timeout: CommandTimeout = .default) throws -> Completion {
        var s = sqe
        let keep = try DataPointer.attach(buffer, to: &s, pageSize: pageSize, allocator: allocator)
        return adminCommand(s, data: keep, timeout: timeout)
    }

    /// Identify with the given CNS; returns the 4096-byte data structure (throws on an error status).
    public func identify(cns: UInt8, nsid: UInt32 = 0, cntid: UInt16 = 0, csi: UInt8 = 0,
                         policy: StatusPolicy = .throwing) throws -> [UInt8] {
        let buf = try Buffer(count: 4096, from: allocator)
        try adminCommand(DriverCommand.identify(cns: cns, nsid: nsid, cntid: cntid, csi: csi), buffer: buf).check(policy)
        return buf.bytes
    }

    /// The `length` Get Log Page and Get Log Page with completion accept: up to 1 GiB in one command (the data is
    /// copied out of the DMA buffer); read a larger log in pieces with `offset:`.
    public static let logPageLengths = 0...(1 << 30)

    /// Get Log Page; returns `length` bytes. Throws `InvalidArgument` unless `length` is in `logPageLengths`.
    public func getLogPage(lid: UInt8, nsid: UInt32 = 0xFFFF_FFFF, length: Int, offset: UInt64 = 0, rae: Bool = false,
                           lsp: UInt8 = 0, policy: StatusPolicy = .throwing) throws -> [UInt8] {
        try InvalidArgument.check("length", length, in: Self.logPageLengths)
        try InvalidArgument.check("lsp", lsp, in: 0...0x7F)   // CDW10 bits 14:8
        let buf = try Buffer(count: max(4, (length + 3) / 4 * 4), from: allocator)
        try adminCommand(try DriverCommand.getLogPage(lid: lid, nsid: nsid, bytes: buf.count, offset: offset, rae: rae, lsp: lsp),
                         buffer: buf).check(policy)
        return Array(buf.bytes.prefix(length))
    }

    /// Get Features; returns the completion (DW0 holds the value).
    @discardableResult
    public func getFeatures(fid: UInt8, sel: UInt8 = 0, cdw11: UInt32 = 0, nsid: UInt32 = 0,
                            policy: StatusPolicy = .throwing) throws -> Completion {
        try InvalidArgument.check("sel", sel, in: 0...7)   // CDW10 bits 10:8; 4...7 are reserved but sendable
        return try adminCommand(DriverCommand.getFeatures(fid: fid, sel: sel, cdw11: cdw11, nsid: nsid)).check(policy)
    }

    /// Set Features; returns the completion.
    @discardableResult
    public func setFeatures(fid: UInt8, cdw11: UInt32, cdw12: UInt32 = 0, save: Bool = false, nsid: UInt32 = 0,
                            policy: StatusPolicy = .throwing) throws -> Completion {
        try adminCommand(DriverCommand.setFeatures(fid: fid, cdw11: cdw11, cdw12: cdw12, save: save, nsid: nsid)).check(policy)
    }

    func handleTimeout(_ qp: QueuePair, cid: UInt16) {
        logger.warning("command \(cid) on queue \(qp.qid) timed out")
        guard qp.timeoutPolicy == .abort, let admin = adminQueue else { return }
        let abort = DriverCommand.abort(sqid: qp.qid, cid: cid)
        if qp === admin {
            _ = try? admin.submit(abort)   // we are inside the admin path already: post, do not wait
        } else {
            adminCommand(abort)
        }
    }

    // MARK: Async events

    /// Reads the log page of each arrived event (clearing it) and re-arms, unless the user took control.
    func serviceAsyncEvents(_ admin: QueuePair) {
        while let event = asyncEvents.takeUnserviced() {
            if asyncEvents.readsLogPages, event.logPage != 0 {
                let len = Self.logPageLength(event.logPage)
                if var s = try? DriverCommand.getLogPage(lid: event.logPage, bytes: len),
                   let buf = try? Buffer(count: len, from: allocator),
                   let keep = try? DataPointer.attach(buf, to: &s, pageSize: pageSize, allocator: allocator) {
                    let c = admin.execute(s, data: keep)
                    asyncEvents.attachLog(to: event.sequence, bytes: c.isSuccess ? buf.bytes : [])
                }
            }
            if asyncEvents.autoRearm && asyncEvents.outstanding < options.asyncEventRequests {
                try? submitAsyncEventRequest(admin)
            }
        }
    }

    static func logPageLength(_ lid: UInt8) -> Int {
        switch lid {
        case 0x01: return 64          // one Error Information entry
        case 0x02: return 512         // SMART / Health Information
        case 0x03: return 512         // Firmware Slot Information
        case 0x04: return 4096        // Changed Namespace List
        default: return 512
        }
    }

    /// Polls the admin queue until an async event has arrived or `deadline` passes; returns and clears the events.
    public func waitForAsyncEvents(until deadline: Deadline) -> [AsyncEvent] {
        while true {
            let got: Bool = (try? withAdmin { admin -> Bool in
                admin.poll()
                serviceAsyncEvents(admin)
                return asyncEvents.hasEvents
            }) ?? false
            if got || deadline.hasPassed { return asyncEvents.take() }
            Thread_yield()
        }
    }

    // MARK: Logs

    /// Every queue's command log merged by submission time.
    public var commandLog: [CommandLog.Entry] {
        CommandLog.merged(([adminQueue].compactMap { $0 } + ioQueues).map(\.log))
    }

    /// Quiesces the controller and releases the device, leaving the function safe to hand back:
    ///
    /// 1. every queue stops accepting submissions (`submit` throws `queueUnavailable`);
    /// 2. outstanding commands get up to `closeTimeout` to complete (polled here; Asynchronous Event Requests,
    ///    which complete only when an event happens, are not waited for);
    /// 3. normal shutdown notification (CC.SHN = 01b, wait for CSTS.SHST = 10b within CAP.TO), then CC.EN = 0 and
    ///    a wait for CSTS.RDY = 0 within CAP.TO, so the controller fetches and writes nothing more;
    /// 4. interrupts are disarmed and the device is closed: on UIO and VFIO no-IOMMU PCI COMMAND.BME is cleared
    ///    (nothing else stops the function from DMAing into memory that is about to be reused), DMA mappings are
    ///    revoked even where `Buffer`s are still alive (`DMARegion.isRevoked`), the BAR mapping is dropped and every
    ///    descriptor — VFIO device, group and container included — is closed, so the same function opens again
    ///    at once;
    /// 5. commands still outstanding complete locally with `CompletionOrigin.abortedByReset`.
    ///
    /// Call it after the threads driving IO queues have stopped (as for `reset`). A second call does nothing.
    public func close() {
        let already = closedState.withLock { c in defer { c = true }; return c }
        if already { return }
        let queues = [adminQueue].compactMap { $0 } + ioQueues
        for qp in queues { qp.state = .unavailable }
        drainOutstanding(queues, until: .after(closeTimeout))
        if isPresent {
            if registers.cc.en && registers.csts.rdy { try? shutdown(abrupt: false) }
            do { try disable() } catch { logger.warning("close: \(error)") }
        }
        try? interrupts.disable()
        device.close()
        failEverything(.abortedByReset)
        for qp in queues where qp.state != .removed { qp.state = .unavailable }
    }

    /// Whether `close()` has run.
    public var isClosed: Bool { closedState.withLock { $0 } }

    /// Polls `queues` until only Asynchronous Event Requests are outstanding, the device is gone, or `deadline`.
    func drainOutstanding(_ queues: [QueuePair], until deadline: Deadline) {
        func waiting() -> Bool {
            queues.contains { qp in
                qp.outstanding - (qp === adminQueue ? asyncEvents.outstanding : 0) > 0
            }
        }
        while waiting() && isPresent && !deadline.hasPassed {
            for qp in queues {
                if qp === adminQueue { adminLock.withLock { _ in _ = qp.poll() } } else { _ = qp.poll() }
            }
            Thread_yield()
        }
    }
}
