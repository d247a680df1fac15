import NVMePlatform
import NVMeSpec

/// A submission queue as the controller tracks it.
struct SimSubmissionQueue {
    var id: UInt16
    var cqid: UInt16
    var base: UInt64
    /// Entries (1's based).
    var size: UInt32
    var head: UInt32 = 0
    var tail: UInt32 = 0
    var priority: UInt8 = 0
    /// Shadow doorbell and EventIdx bus addresses once Doorbell Buffer Config is in effect.
    var shadowDoorbell: UInt64?
    var eventIdx: UInt64?
}

/// A completion queue as the controller tracks it.
struct SimCompletionQueue {
    var id: UInt16
    var base: UInt64
    var size: UInt32
    var head: UInt32 = 0
    var tail: UInt32 = 0
    /// Phase tag the controller writes into the next entry; starts at 1 and flips on every wrap.
    var phase = true
    var vector: UInt16
    var interruptsEnabled: Bool
    var shadowDoorbell: UInt64?
    var eventIdx: UInt64?
    /// SQs bound to this CQ.
    var boundSQs = 0
    /// An SQ stopped fetching because this CQ was full; a head doorbell write restarts processing.
    var blockedSQs = false
}

struct PendingCompletion {
    var sqid: UInt16
    var cid: UInt16
    var status: CompletionStatus
    var dw0: UInt32 = 0
    var dw1: UInt32 = 0
    /// Fault-injected phase inversion / CID change, applied when the entry is written.
    var invertPhase = false
    var cidOverride: UInt16?
}

/// What executing one command produced.
enum CommandOutcome {
    case complete(CompletionStatus, dw0: UInt32 = 0, dw1: UInt32 = 0)
    /// No completion now (an Asynchronous Event Request waiting for an event, a sanitize in progress…).
    case deferred
}

/// An asynchronous event waiting for (or reported through) an AER — Base §5.2, Figure 146.
struct AsyncEvent: Hashable {
    var type: UInt8
    var info: UInt8
    var logPage: UInt8
    var dw0: UInt32 { UInt32(type & 7) | UInt32(info) << 8 | UInt32(logPage) << 16 }
}

/// Asynchronous event types (Figure 146) and the information codes the simulator raises.
enum AsyncEventType {
    static let errorStatus: UInt8 = 0
    static let smartHealth: UInt8 = 1
    static let notice: UInt8 = 2
    static let invalidDoorbellRegister: UInt8 = 0x00
    static let invalidDoorbellValue: UInt8 = 0x01
    static let namespaceAttributeChanged: UInt8 = 0x00
    static let firmwareActivationStarting: UInt8 = 0x01
}

/// Log page identifiers (Base Figure 202).
enum LogPageID {
    static let errorInformation: UInt8 = 0x01
    static let smartHealth: UInt8 = 0x02
    static let firmwareSlot: UInt8 = 0x03
    static let changedNamespaceList: UInt8 = 0x04
    static let commandsSupportedAndEffects: UInt8 = 0x05
    static let deviceSelfTest: UInt8 = 0x06
    static let sanitizeStatus: UInt8 = 0x81
}

/// Status values the model returns, by their spec names (Base Figures 94-101, NVM Figure 31, ZNS Figure 26).
enum Status {
    static func generic(_ sc: UInt8, dnr: Bool = true) -> CompletionStatus { .init(sct: 0, sc: sc, dnr: dnr) }
    static func specific(_ sc: UInt8, dnr: Bool = true) -> CompletionStatus { .init(sct: 1, sc: sc, dnr: dnr) }
    static func media(_ sc: UInt8, dnr: Bool = true) -> CompletionStatus { .init(sct: 2, sc: sc, dnr: dnr) }

    static let success = CompletionStatus.success
    static let invalidOpcode = generic(0x01)
    static let invalidField = generic(0x02)
    static let commandIDConflict = generic(0x03)
    static let dataTransferError = generic(0x04, dnr: false)
    static let abortRequested = generic(0x07, dnr: false)
    static let abortedSQDeletion = generic(0x08, dnr: false)
    static let invalidNamespace = generic(0x0B)
    static let commandSequenceError = generic(0x0C)
    static let invalidSGLSegmentDescriptor = generic(0x0D)
    static let invalidSGLDescriptorCount = generic(0x0E)
    static let dataSGLLengthInvalid = generic(0x0F)
    static let metadataSGLLengthInvalid = generic(0x10)
    static let sglDescriptorTypeInvalid = generic(0x11)
    static let invalidPRPOffset = generic(0x13)
    static let sglOffsetInvalid = generic(0x16)
    static let sanitizeFailed = generic(0x1C)
    static let sanitizeInProgress = generic(0x1D)
    static let sglDataBlockGranularityInvalid = generic(0x1E)
    static let namespaceIsWriteProtected = generic(0x20)
    static let lbaOutOfRange = generic(0x80)
    static let capacityExceeded = generic(0x81)
    static let namespaceNotReady = generic(0x82, dnr: false)
    static let formatInProgress = generic(0x84)

    static let commandSizeLimitExceeded = specific(0x83)   // NVM Command Set specific (Copy)
    static let invalidCompletionQueue = specific(0x00)
    static let invalidQueueIdentifier = specific(0x01)
    static let invalidQueueSize = specific(0x02)
    static let abortCommandLimitExceeded = specific(0x03)
    static let asyncEventRequestLimitExceeded = specific(0x05)
    static let invalidFirmwareSlot = specific(0x06)
    static let invalidFirmwareImage = specific(0x07)
    static let invalidInterruptVector = specific(0x08)
    static let invalidLogPage = specific(0x09)
    static let invalidFormat = specific(0x0A)
    static let firmwareActivationRequiresConventionalReset = specific(0x0B, dnr: false)
    static let invalidQueueDeletion = specific(0x0C, dnr: false)   // no DNR, as QEMU: retry after deleting the SQs
    static let featureNotSaveable = specific(0x0D)
    static let featureNotChangeable = specific(0x0E)
    static let firmwareActivationRequiresNSSR = specific(0x10, dnr: false)
    static let firmwareActivationRequiresReset = specific(0x11, dnr: false)
    static let overlappingRange = specific(0x14)
    static let namespaceInsufficientCapacity = specific(0x15)
    static let namespaceIdentifierUnavailable = specific(0x16)
    static let namespaceAlreadyAttached = specific(0x18)
    static let namespaceIsPrivate = specific(0x19)
    static let namespaceNotAttached = specific(0x1A)
    static let controllerListInvalid = specific(0x1C)
    static let deviceSelfTestInProgress = specific(0x1D)
    static let invalidControllerIdentifier = specific(0x1F)
    static let conflictingAttributes = specific(0x80)
    static let invalidProtectionInformation = specific(0x81)
    static let writeToReadOnlyRange = specific(0x82)
    // ZNS command specific (ZNS Figure 26).
    static let zoneBoundaryError = specific(0xB8)
    static let zoneIsFull = specific(0xB9)
    static let zoneIsReadOnly = specific(0xBA)
    static let zoneIsOffline = specific(0xBB)
    static let zoneInvalidWrite = specific(0xBC)
    static let tooManyActiveZones = specific(0xBD)
    static let tooManyOpenZones = specific(0xBE)
    static let invalidZoneStateTransition = specific(0xBF)

    static let unrecoveredReadError = media(0x81, dnr: false)
    static let compareFailure = media(0x85, dnr: false)              // no DNR, as QEMU
}

/// Everything the simulated controller knows. Lives inside the controller's mutex; every method runs with it held.
/// Side effects that must happen outside the lock (eventfd signals) are queued in `vectorsToSignal`.
struct ControllerState {
    var configuration: SimulatorConfiguration
    let bus: BusMemory

    // Registers.
    var cap: ControllerCapabilities
    var cc = ControllerConfiguration(rawValue: 0)
    var csts = ControllerStatus(rawValue: 0)
    var aqa = AdminQueueAttributes(rawValue: 0)
    var asq: UInt64 = 0
    var acq: UInt64 = 0
    /// CSTS.RDY becomes `readyTarget` once the monotonic clock passes `readyAt`.
    var readyTarget = false
    var readyAt: UInt64 = 0
    /// Registers read all ones (surprise removal).
    var disappeared = false
    /// The PCI function is in D3hot: memory space is not decoded (reads all ones, writes dropped) and the controller
    /// does not master the bus (PCIe Base 6.0 §5.3.1.4.1: only configuration and message requests are accepted).
    var inD3hot = false
    /// SMART Critical Warning bits set from outside (`SimulatedController.setCriticalWarning`), as QEMU's
    /// `smart_critical_warning` property; reported in the SMART / Health log together with the computed ones.
    var injectedCriticalWarning: UInt8 = 0

    // Queues, indexed by queue id.
    var sqs: [SimSubmissionQueue?]
    var cqs: [SimCompletionQueue?]
    /// Per CQ: completions waiting for a free slot (the CQ was full when they finished). Kept apart from
    /// `SimCompletionQueue` so that struct stays trivially copyable on the per-command path.
    var cqWaiting: [[PendingCompletion]]
    var ioQueuesCreated = false
    /// Shadow doorbell buffer (Doorbell Buffer Config): bus addresses of the doorbell and EventIdx pages.
    var shadowDoorbells: UInt64?
    var shadowEventIdx: UInt64?

    // Async events.
    var outstandingAERs: [UInt16] = []
    var pendingEvents: [AsyncEvent] = []
    /// Event types reported and not yet cleared by reading their log page (QEMU's `aer_mask`).
    var maskedEventTypes: UInt8 = 0

    // Features (current values) by feature identifier.
    var features: [UInt8: UInt32] = [:]
    /// Interrupt Vector Configuration: CD bit per vector.
    var vectorConfig: [Int: UInt32] = [:]
    /// Timestamp feature: milliseconds the host set, and when.
    var timestampBase: UInt64 = 0
    var timestampSetAt: UInt64 = 0
    /// Composite temperature set by the test (kelvin), replacing the configured one.
    var temperatureOverride: UInt16?
    /// NSIDs for the Changed Namespace List log.
    var changedNamespaces: Set<UInt32> = []

    // Namespaces by NSID (allocated ones; `attached` decides whether they are active).
    var namespaces: [UInt32: SimNamespace] = [:]

    // Logs and counters.
    var errorLog: [ErrorLogEntry] = []
    var errorCount: UInt64 = 0
    var smart = SMARTCounters()
    var firmware = FirmwareState()
    var sanitize = SanitizeState()
    var selfTest = SelfTestState()
    var statistics = SimulatorStatistics()
    var faults = FaultPlan()
    /// Completions (delay) and commands (delayExecution) held back by fault injection until their time comes.
    var delayed: [HeldCompletion] = []

    /// Which queues a doorbell write gave work to; inline mode processes them before the write returns.
    enum Kick { case none, sq(Int), all }
    var kick = Kick.none
    /// MSI-X vectors to signal once the lock is released.
    var vectorsToSignal: [Int] = []

    init(configuration: SimulatorConfiguration, bus: BusMemory) {
        self.configuration = configuration
        self.bus = bus
        self.cap = configuration.cap
        let queues = configuration.maxIOQueuePairs + 1
        sqs = Array(repeating: nil, count: queues)
        cqs = Array(repeating: nil, count: queues)
        cqWaiting = Array(repeating: [], count: queues)
        for ns in configuration.namespaces { namespaces[ns.nsid] = SimNamespace(configuration: ns) }
        firmware = FirmwareState(slots: configuration.firmwareSlots, revision: configuration.firmwareRevision)
        resetFeatures()
    }

    var doorbellStride: Int { 4 << Int(cap.dstrd) }
    var pageSize: Int { cc.pageSize }
    var isReady: Bool { csts.rdy && !csts.cfs && !disappeared && !inD3hot }
    /// Maximum data transfer in bytes, nil for no limit.
    var maxTransferBytes: Int? {
        configuration.mdts == 0 ? nil : cap.minimumPageSize << Int(configuration.mdts)
    }

    /// Size of the BAR: registers, then doorbells for every queue pair at the configured stride, rounded up to a
    /// power of two of at least 16 KiB (QEMU's BAR0).
    static func barLength(_ c: SimulatorConfiguration) -> Int {
        let end = ControllerRegister.doorbellBase + 2 * (c.maxIOQueuePairs + 1) * (4 << Int(c.cap.dstrd))
        var n = 0x4000
        while n < end { n <<= 1 }
        return n
    }

    // MARK: Time-dependent state

    /// Applies a pending CSTS.RDY transition and releases delayed completions whose time has come.
    mutating func advanceClock() {
        // The common case (ready, nothing delayed) must not read the clock: this runs on every doorbell.
        if csts.rdy == readyTarget && delayed.isEmpty { return }
        let now = MonotonicClock.nanoseconds()
        if csts.rdy != readyTarget && now >= readyAt && !csts.cfs { csts.rdy = readyTarget }
        if !delayed.isEmpty {
            var keep: [HeldCompletion] = []
            var due: [HeldCompletion] = []
            for d in delayed {
                if d.due <= now { due.append(d) } else { keep.append(d) }
            }
            delayed = keep
            for d in due {
                if let sqe = d.command { executeHeld(sqid: d.completion.sqid, cqid: d.cqid, sqe) }
                else { enqueueCompletion(cqid: d.cqid, d.completion) }
            }
        }
    }

    /// Runs a command a `delayExecution` fault held back, now: its data moves and its completion is posted. A queue
    /// deleted meanwhile completed it already (aborted); a reset dropped it.
    mutating func executeHeld(sqid: UInt16, cqid: UInt16, _ sqe: SQEWords) {
        guard isReady, Int(sqid) < sqs.count, sqs[Int(sqid)] != nil else { return }
        let outcome = sqid == 0 ? executeAdmin(sqe) : executeIO(sqid: sqid, sqe)
        guard case .complete(let status, let dw0, let dw1) = outcome else { return }
        if status.isError && sqid == 0 || status.isError && status.sct != 0 {
            recordError(sqid: sqid, cid: sqe.cid, status: status, parameter: 0xFFFF, nsid: sqe.nsid)
        }
        enqueueCompletion(cqid: cqid, PendingCompletion(sqid: sqid, cid: sqe.cid, status: status, dw0: dw0, dw1: dw1))
    }

    // MARK: Registers

    mutating func readRegister(_ offset: Int) -> UInt32 {
        if disappeared || inD3hot { return 0xFFFF_FFFF }
        switch offset {
        case 0x00: return UInt32(truncatingIfNeeded: cap.rawValue)
        case 0x04: return UInt32(truncatingIfNeeded: cap.rawValue >> 32)
        case 0x08: return configuration.version.rawValue
        case 0x0C, 0x10: return 0   // INTMS/INTMC: reserved while MSI-X is in use
        case 0x14: return cc.rawValue
        case 0x1C:
            advanceClock()
            return csts.rawValue
        case 0x20: return 0         // NSSR reads 0
        case 0x24: return aqa.rawValue
        case 0x28: return UInt32(truncatingIfNeeded: asq)
        case 0x2C: return UInt32(truncatingIfNeeded: asq >> 32)
        case 0x30: return UInt32(truncatingIfNeeded: acq)
        case 0x34: return UInt32(truncatingIfNeeded: acq >> 32)
        default: return 0           // CMB/BP/PMR absent; doorbells read 0
        }
    }

    mutating func writeRegister(_ value: UInt32, at offset: Int) {
        if disappeared || inD3hot { return }
        statistics.registerWrites += 1
        if offset >= ControllerRegister.doorbellBase {
            doorbellWrite(value, at: offset)
            return
        }
        switch offset {
        case 0x14: writeCC(ControllerConfiguration(rawValue: value))
        case 0x1C:
            // CSTS.NSSRO is RW1C; the other bits are read-only.
            if value & (1 << 4) != 0 { csts.nssro = false }
        case 0x20:
            // NSSR: "NVMe" (4E564D65h) starts an NVM Subsystem Reset when CAP.NSSRS is set; anything else is ignored.
            if cap.nssrs && value == 0x4E56_4D65 { subsystemReset() }
        case 0x24: aqa = AdminQueueAttributes(rawValue: value)
        case 0x28: asq = (asq & 0xFFFF_FFFF_0000_0000) | UInt64(value)
        case 0x2C: asq = (asq & 0xFFFF_FFFF) | UInt64(value) << 32
        case 0x30: acq = (acq & 0xFFFF_FFFF_0000_0000) | UInt64(value)
        case 0x34: acq = (acq & 0xFFFF_FFFF) | UInt64(value) << 32
        default: break              // read-only or absent registers ignore writes
        }
    }

    /// CC write semantics (Base §3.1.4.5, §3.5): EN 0→1 validates the admin queue setup and becomes ready after
    /// `readyDelay` (or sets CSTS.CFS when the setup is invalid, as QEMU does); EN 1→0 is a Controller Reset;
    /// SHN 0→non-zero completes a shutdown (CSTS.SHST = 2). While enabled, other field changes are ignored.
    mutating func writeCC(_ new: ControllerConfiguration) {
        advanceClock()
        let old = cc
        if !old.en && !new.en {
            cc = new
        } else if new.en && !old.en {
            cc = new
            csts.shst = 0
            if let problem = enableProblem() {
                statistics.lastEnableFailure = problem
                csts.cfs = true
                csts.rdy = false
                readyTarget = false
            } else {
                csts.cfs = false
                createAdminQueues()
                readyTarget = true
                readyAt = MonotonicClock.nanoseconds() &+ nanoseconds(configuration.readyDelay)
                if configuration.readyDelay == .zero { csts.rdy = true }
            }
        } else if !new.en && old.en {
            controllerReset()
            cc = new
            readyTarget = false
            readyAt = MonotonicClock.nanoseconds() &+ nanoseconds(configuration.readyDelay)
            if configuration.readyDelay == .zero { csts.rdy = false }
        }
        if new.shn != 0 && old.shn == 0 {
            cc.shn = new.shn
            csts.shst = 2
            statistics.shutdowns += 1
        } else if new.shn == 0 && old.shn != 0 {
            cc.shn = 0
            csts.shst = 0
        }
    }

    /// Why CC.EN = 1 cannot succeed, or nil (QEMU 7.2 `nvme_start_ctrl` checks, in its order).
    func enableProblem() -> String? {
        if asq == 0 || acq == 0 { return "ASQ or ACQ is zero" }
        let ps = UInt64(cc.pageSize)
        if asq & (ps - 1) != 0 { return "ASQ is not aligned to CC.MPS" }
        if acq & (ps - 1) != 0 { return "ACQ is not aligned to CC.MPS" }
        let css = cc.css
        let cssOK = (css == 0 && cap.css & 1 != 0) || (css == 6 && cap.css & 0x40 != 0) || (css == 7 && cap.css & 0x80 != 0)
        if !cssOK { return "CC.CSS \(css) is not supported by CAP.CSS" }
        if cc.mps < cap.mpsmin || cc.mps > cap.mpsmax { return "CC.MPS \(cc.mps) is outside CAP.MPSMIN...MPSMAX" }
        if aqa.asqs == 0 { return "AQA.ASQS is 0 (a queue needs at least 2 entries)" }
        if aqa.acqs == 0 { return "AQA.ACQS is 0 (a queue needs at least 2 entries)" }
        return nil
    }

    mutating func createAdminQueues() {
        cqs[0] = SimCompletionQueue(id: 0, base: acq, size: UInt32(aqa.acqs) + 1, vector: 0, interruptsEnabled: true,
                                    boundSQs: 1)
        cqWaiting[0].removeAll()
        sqs[0] = SimSubmissionQueue(id: 0, cqid: 0, base: asq, size: UInt32(aqa.asqs) + 1)
    }

    /// Controller Level Reset (Base §3.7.2): queues deleted, outstanding commands dropped, features to defaults.
    mutating func controllerReset() {
        for i in sqs.indices { sqs[i] = nil }
        for i in cqs.indices { cqs[i] = nil; cqWaiting[i].removeAll() }
        ioQueuesCreated = false
        shadowDoorbells = nil
        shadowEventIdx = nil
        outstandingAERs.removeAll()
        pendingEvents.removeAll()
        maskedEventTypes = 0
        delayed.removeAll()
        resetFeatures()
        firmware.activatePendingOnReset(subsystem: false)
        statistics.controllerResets += 1
    }

    /// NVM Subsystem Reset (Base §3.7.1): a controller reset that also sets CSTS.NSSRO and clears CC.
    mutating func subsystemReset() {
        controllerReset()
        cc = ControllerConfiguration(rawValue: 0)
        csts = ControllerStatus(rawValue: 0)
        csts.nssro = true
        readyTarget = false
        firmware.activatePendingOnReset(subsystem: true)
        statistics.subsystemResets += 1
    }

    /// PCI function reset or power cycle: every register back to its reset value.
    mutating func functionReset(powerCycle: Bool) {
        controllerReset()
        cc = ControllerConfiguration(rawValue: 0)
        csts = ControllerStatus(rawValue: 0)
        aqa = AdminQueueAttributes(rawValue: 0)
        asq = 0; acq = 0
        readyTarget = false
        disappeared = false
        firmware.activatePendingOnReset(subsystem: powerCycle)
        if powerCycle { smart.powerCycles += 1 }
    }

    mutating func resetFeatures() {
        features = Self.defaultFeatures(configuration)
        vectorConfig = [:]
    }

    static func defaultFeatures(_ configuration: SimulatorConfiguration) -> [UInt8: UInt32] {
        [
            0x01: 0,                                   // Arbitration
            0x02: 0,                                   // Power Management
            0x04: 0x157,                               // Temperature Threshold: over, composite = WCTEMP 343 K
            0x05: 0,                                   // Error Recovery
            0x06: 1,                                   // Volatile Write Cache: enabled (QEMU write-cache=on)
            0x08: 0,                                   // Interrupt Coalescing
            0x0A: 0,                                   // Write Atomicity Normal
            0x0B: 0,                                   // Asynchronous Event Configuration
        ]
    }

    // MARK: Doorbells (Base §3.1.4.23-24, §5.2.1 invalid doorbell events)

    mutating func doorbellWrite(_ value: UInt32, at offset: Int) {
        statistics.doorbellWrites += 1
        let rel = offset - ControllerRegister.doorbellBase
        let stride = doorbellStride
        // Accesses that are not on a doorbell boundary hit no register.
        guard rel % stride == 0 else { return }
        let index = rel / stride
        let qid = index / 2
        let isCQ = index % 2 == 1
        if isCQ {
            guard qid < cqs.count, var cq = cqs[qid] else {
                raiseInvalidDoorbell(AsyncEventType.invalidDoorbellRegister)
                return
            }
            let newHead = value & 0xFFFF
            guard newHead < cq.size, value >> 16 == 0 else {
                raiseInvalidDoorbell(AsyncEventType.invalidDoorbellValue)
                return
            }
            let blocked = cq.blockedSQs
            cq.head = newHead
            cq.blockedSQs = false
            cqs[qid] = cq
            if qid == 0, let shadow = cq.shadowDoorbell { bus.store32(newHead, at: shadow) }
            if !cqWaiting[qid].isEmpty { flushWaiting(cqid: UInt16(qid)) }
            if blocked { kick = .all }
        } else {
            guard qid < sqs.count, var sq = sqs[qid] else {
                raiseInvalidDoorbell(AsyncEventType.invalidDoorbellRegister)
                return
            }
            let newTail = value & 0xFFFF
            guard newTail < sq.size, value >> 16 == 0 else {
                raiseInvalidDoorbell(AsyncEventType.invalidDoorbellValue)
                return
            }
            sq.tail = newTail
            sqs[qid] = sq
            if qid == 0, let shadow = sq.shadowDoorbell { bus.store32(newTail, at: shadow) }
            switch kick {
            case .none: kick = .sq(qid)
            case .sq(let other) where other != qid: kick = .all
            default: break
            }
        }
    }

    /// An invalid doorbell write raises an Error Status event only when an AER is outstanding (Base §3.1.4.23,
    /// QEMU `nvme_process_db`), and is recorded in the Error Information log.
    mutating func raiseInvalidDoorbell(_ info: UInt8) {
        statistics.invalidDoorbellWrites += 1
        recordError(sqid: 0xFFFF, cid: 0xFFFF, status: .success, parameter: 0xFFFF, nsid: 0)
        guard !outstandingAERs.isEmpty else { return }
        enqueueEvent(AsyncEvent(type: AsyncEventType.errorStatus, info: info, logPage: LogPageID.errorInformation))
    }


    // MARK: Async events (Base §5.2)

    mutating func enqueueEvent(_ e: AsyncEvent) {
        if pendingEvents.count < 64 { pendingEvents.append(e) }
        processEvents()
    }

    /// Completes outstanding AERs with queued, unmasked events (LIFO over the outstanding commands, as QEMU).
    mutating func processEvents() {
        var i = 0
        while i < pendingEvents.count, !outstandingAERs.isEmpty {
            let e = pendingEvents[i]
            if maskedEventTypes & (1 << e.type) != 0 { i += 1; continue }
            pendingEvents.remove(at: i)
            maskedEventTypes |= 1 << e.type
            let cid = outstandingAERs.removeLast()
            enqueueCompletion(cqid: 0, PendingCompletion(sqid: 0, cid: cid, status: .success, dw0: e.dw0))
        }
    }

    /// Reading a log page without RAE clears the mask for the event type that points at it.
    mutating func clearEvents(type: UInt8) {
        maskedEventTypes &= ~(1 << type)
        processEvents()
    }

    // MARK: Error log

    mutating func recordError(sqid: UInt16, cid: UInt16, status: CompletionStatus, parameter: UInt16, nsid: UInt32,
                              lba: UInt64 = 0) {
        errorCount += 1
        errorLog.insert(ErrorLogEntry(count: errorCount, sqid: sqid, cid: cid, status: status, parameter: parameter,
                                      lba: lba, nsid: nsid), at: 0)
        if errorLog.count > 64 { errorLog.removeLast() }
    }

    // MARK: Completion posting

    /// Posts `c` to CQ `cqid`, or parks it until the host frees a slot. Records the vector to signal.
    mutating func enqueueCompletion(cqid: UInt16, _ c: PendingCompletion) {
        guard Int(cqid) < cqs.count, cqs[Int(cqid)] != nil else { return }
        if !cqWaiting[Int(cqid)].isEmpty || isFull(cqid: cqid) {
            cqWaiting[Int(cqid)].append(c)
            return
        }
        post(cqid: cqid, c)
    }

    mutating func flushWaiting(cqid: UInt16) {
        while cqs[Int(cqid)] != nil, !cqWaiting[Int(cqid)].isEmpty, !isFull(cqid: cqid) {
            let c = cqWaiting[Int(cqid)].removeFirst()
            post(cqid: cqid, c)
        }
    }

    /// Whether CQ `cqid` has no free slot, refreshing the head from the shadow doorbell first.
    mutating func isFull(cqid: UInt16) -> Bool {
        guard var cq = cqs[Int(cqid)] else { return true }
        if (cq.tail + 1) % cq.size != cq.head { return false }
        if let shadow = cq.shadowDoorbell, let h = bus.load32(at: shadow), h < cq.size, h != cq.head {
            cq.head = h
            cqs[Int(cqid)] = cq
        }
        return (cq.tail + 1) % cq.size == cq.head
    }

    mutating func post(cqid: UInt16, _ c: PendingCompletion) {
        guard var cq = cqs[Int(cqid)] else { return }
        let sqhd = sqs.indices.contains(Int(c.sqid)) ? UInt32(sqs[Int(c.sqid)]?.head ?? 0) : 0
        let phase = c.invertPhase ? !cq.phase : cq.phase
        let dw2 = sqhd | UInt32(c.sqid) << 16
        let dw3 = UInt32(c.cidOverride ?? c.cid) | (phase ? 1 << 16 : 0) | UInt32(c.status.rawValue) << 17
        let addr = cq.base &+ UInt64(cq.tail) * 16
        guard bus.writeCQE(at: addr, dw0: c.dw0, dw1: c.dw1, dw2: dw2, dw3: dw3) else {
            // A CQ the controller cannot write to is fatal (QEMU sets CSTS.CFS too).
            statistics.dmaFaults += 1
            csts.cfs = true
            return
        }
        cq.tail += 1
        if cq.tail == cq.size { cq.tail = 0; cq.phase.toggle() }
        if let ei = cq.eventIdx { bus.store32(cq.head, at: ei) }
        cqs[Int(cqid)] = cq
        statistics.completions += 1
        if cq.interruptsEnabled {
            let v = Int(cq.vector)
            if vectorsToSignal.last != v { vectorsToSignal.append(v) }
        }
    }

    // MARK: Submission processing

    /// Fetches and executes up to `limit` commands from SQ `qid`; returns how many were fetched.
    mutating func processSQ(_ qid: Int, limit: Int) -> Int {
        guard isReady, var sq = sqs[qid] else { return 0 }
        if let shadow = sq.shadowDoorbell, let t = bus.load32(at: shadow), t < sq.size { sq.tail = t; sqs[qid]!.tail = t }
        var done = 0
        while done < limit, sq.head != sq.tail, isReady {
            if isFull(cqid: sq.cqid) {
                cqs[Int(sq.cqid)]?.blockedSQs = true
                break
            }
            let addr = sq.base &+ UInt64(sq.head) * 64
            guard let sqe = bus.readSQE(at: addr) else {
                // An SQ the controller cannot read is fatal (QEMU: CSTS.CFS).
                statistics.dmaFaults += 1
                csts.cfs = true
                return done
            }
            sq.head = sq.head + 1 == sq.size ? 0 : sq.head + 1
            sqs[qid]!.head = sq.head
            done += 1
            statistics.commands += 1
            execute(sqid: UInt16(qid), cqid: sq.cqid, sqe)
            // The command may have deleted this queue (delete SQ of itself is invalid, but a reset fault is not).
            guard let current = sqs[qid] else { return done }
            sq = current
            if let ei = sq.eventIdx { bus.store32(sq.tail, at: ei) }
            if let shadow = sq.shadowDoorbell, let t = bus.load32(at: shadow), t < sq.size { sq.tail = t; sqs[qid]!.tail = t }
        }
        return done
    }

    /// Processes every SQ (admin first, then I/O queues round robin) until no work is left or `limit` commands
    /// ran. Returns the number of commands fetched.
    /// What inline mode runs after a register write: only the queues the write concerned.
    mutating func processKicked() {
        let k = kick
        kick = .none
        switch k {
        case .none: return
        case .sq(let q):
            advanceClock()
            _ = processSQ(q, limit: .max)
        case .all:
            _ = processAll()
        }
    }

    mutating func processAll(limit: Int = .max) -> Int {
        advanceClock()
        kick = .none
        var total = 0
        var progress = true
        while progress && total < limit {
            progress = false
            for qid in sqs.indices where sqs[qid] != nil {
                let n = processSQ(qid, limit: qid == 0 ? limit - total : min(limit - total, 32))
                if n > 0 { progress = true; total += n }
                if total >= limit { break }
            }
        }
        return total
    }

    /// Executes one fetched command: fault rules first, then the command set, then completion (maybe altered).
    mutating func execute(sqid: UInt16, cqid: UInt16, _ sqe: SQEWords) {
        let fault = faults.match(sqid: sqid, opcode: sqe.opc, commandNumber: statistics.commands)
        if let f = fault, let d = f.executionDelay {
            statistics.faultsInjected += 1
            delayed.append(HeldCompletion(due: MonotonicClock.nanoseconds() &+ nanoseconds(d), cqid: cqid,
                                          completion: PendingCompletion(sqid: sqid, cid: sqe.cid, status: .success),
                                          command: sqe))
            return
        }
        var outcome: CommandOutcome
        if let f = fault, let forced = f.replacesExecution {
            outcome = .complete(forced)
        } else if sqid == 0 {
            outcome = executeAdmin(sqe)
        } else {
            outcome = executeIO(sqid: sqid, sqe)
        }
        guard case .complete(let status, let dw0, let dw1) = outcome else { return }
        if status.isError && sqid == 0 || status.isError && status.sct != 0 {
            recordError(sqid: sqid, cid: sqe.cid, status: status, parameter: 0xFFFF, nsid: sqe.nsid)
        }
        var c = PendingCompletion(sqid: sqid, cid: sqe.cid, status: status, dw0: dw0, dw1: dw1)
        if let f = fault {
            switch applyFault(f, to: &c, cqid: cqid, sqe: sqe) {
            case .post: break
            case .held: return
            }
        }
        enqueueCompletion(cqid: cqid, c)
    }
}

@inline(__always) func nanoseconds(_ d: Duration) -> UInt64 {
    let (s, a) = d.components
    return s <= 0 && a <= 0 ? 0 : UInt64(max(0, s)) &* 1_000_000_000 &+ UInt64(max(0, a)) / 1_000_000_000
}

/// Counters the simulator keeps about itself (read with `SimulatedController.statistics`).
public struct SimulatorStatistics: Sendable, Hashable {
    public var commands: UInt64 = 0
    public var completions: UInt64 = 0
    public var registerWrites: UInt64 = 0
    public var doorbellWrites: UInt64 = 0
    public var invalidDoorbellWrites: UInt64 = 0
    /// DMA to or from a bus address no region maps (a real device would raise an IOMMU fault).
    public var dmaFaults: UInt64 = 0
    public var controllerResets: UInt64 = 0
    public var subsystemResets: UInt64 = 0
    public var shutdowns: UInt64 = 0
    /// Why the last CC.EN = 1 failed (CSTS.CFS), if it did.
    public var lastEnableFailure: String?
    /// Completions withheld by fault injection (dropped, or the controller died first).
    public var droppedCompletions: UInt64 = 0
    /// Fault rules that fired.
    public var faultsInjected: UInt64 = 0
}
