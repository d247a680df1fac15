import NVMePlatform
import NVMeSpec

/// How long a command may stay outstanding.
public enum CommandTimeout: Sendable, Hashable {
    /// The pair's `defaultTimeout`.
    case `default`
    /// Never times out (Asynchronous Event Requests).
    case none
    case after(Duration)
}

/// What happens when a command's deadline passes. In every case the command first completes locally with
/// `.timedOut`, its CID is quarantined (never reused) and its buffers stay alive until the controller answers or
/// the queue is re-created.
public enum TimeoutPolicy: Sendable, Hashable {
    /// Only the local completion.
    case completeLocally
    /// Also send an Admin Abort (SQID, CID) for it.
    case abort
}

/// A submission queue and its completion queue, with command identifiers, per-command context (callback, buffers,
/// deadline), a command log, and the conveniences `submit`/`poll`/`execute` — all built from the raw steps
/// `sq.post`, `sq.ring`, `cq.reap`, `cq.ringHead`.
///
/// Owned by one thread at a time: no locks, no allocation on the submit/poll path (a callback closure the caller
/// creates is the caller's allocation). `@unchecked Sendable` only to hand it to a worker thread.
public final class QueuePair: @unchecked Sendable {
    public let sq: SubmissionQueue
    public let cq: CompletionQueue
    public var qid: UInt16 { sq.qid }
    // Single-owner state read on every submit/complete (see the type's doc): no dynamic exclusivity check, which
    // cost about a quarter of QueuePair's per-command instructions.
    @exclusivity(unchecked) public var log: CommandLog
    public var defaultTimeout: Duration {
        didSet { defaultTimeoutTicks = TickClock.ticks(defaultTimeout) }
    }
    @usableFromInline @exclusivity(unchecked) var defaultTimeoutTicks: UInt64 = 0
    public var timeoutPolicy: TimeoutPolicy = .completeLocally
    /// Interrupts of the device, used by `execute` to sleep on the CQ's vector.
    public let interrupts: (any InterruptSource)?
    /// Commands submitted and not yet completed (timed-out commands are not counted; see `quarantined`).
    public var outstanding: Int { outstandingCount }
    @usableFromInline @exclusivity(unchecked) var outstandingCount = 0
    /// CIDs held by timed-out commands the controller has not answered.
    public private(set) var quarantined = 0
    /// CQEs whose CID matched no outstanding command (a controller bug, or a command posted by hand with `sq.post`).
    public private(set) var unexpectedCompletions: [CQE] = []
    public enum State: Sendable, Hashable { case ready, unavailable, removed }
    /// Settable so a test can take a queue out of service by hand.
    @exclusivity(unchecked) public var state: State = .ready

    /// Reads the controller's presence (CSTS not all ones); set by the controller.
    var isPresent: (@Sendable () -> Bool)?
    /// Called after a command timed out (the controller implements `.abort` here).
    var onTimeout: ((QueuePair, UInt16) -> Void)?
    /// Called when the controller finally answers a command that had timed out: `poll` consumed its CQE, released
    /// its quarantined CID and dropped its buffers. The completion carries the controller's CQE (origin `.device`);
    /// the command's local `.timedOut` completion went to its callback or handler earlier, so this is the moment
    /// whatever the command's data pointed at is the caller's again. Not called for quarantined CIDs that `failAll`
    /// releases (reset, deletion, removal): the queue is gone then, and so is any DMA.
    public var onLateCompletion: ((Completion) -> Void)?

    /// Set on a controller's admin queue: every Asynchronous Event Request submitted on it — by the driver or by
    /// hand with `submit` — is counted in `asyncEvents.outstanding` and its completion decoded into `asyncEvents`.
    var asyncEventHandler: AsyncEventHandler?

    @usableFromInline struct Slot {
        @usableFromInline var state: UInt8 = 0       // 0 free, 1 outstanding, 2 quarantined (timed out)
        @usableFromInline var sqe = SQE()
        @usableFromInline var submitTicks: UInt64 = 0
        @usableFromInline var deadlineTicks: UInt64 = 0
        @usableFromInline var callback: ((Completion) -> Void)?
        @usableFromInline var data: [DMARegion] = []
        /// An Asynchronous Event Request on the admin queue, accounted in `asyncEventHandler`.
        @usableFromInline var isAsyncEventRequest = false
    }
    // Single-owner state (see the type's doc): exclusivity is not checked at run time on the per-command path.
    @usableFromInline @exclusivity(unchecked) var slots: [Slot]
    @usableFromInline @exclusivity(unchecked) var freeCIDs: [UInt16]
    @usableFromInline @exclusivity(unchecked) var idlePolls = 0
    @usableFromInline @exclusivity(unchecked) var earliestDeadline: UInt64 = .max
    /// `poll` writes the CQ head doorbell only once at least this many entries were consumed since the last write
    /// (1: after every poll that reaped something, as Linux does). Larger values need a CQ deeper than the most
    /// commands that can be outstanding: with at most `q` outstanding, `headDoorbellBatch <= cq.depth - q` keeps the
    /// controller from ever seeing the CQ full. `cq.ringHead()` flushes by hand.
    /// Valid values are 1..<cq.depth: assigning one outside is clamped into that range; `setHeadDoorbellBatch(_:)`
    /// throws instead.
    public var headDoorbellBatch: Int = 1 {
        didSet { headDoorbellBatch = min(max(headDoorbellBatch, 1), cq.depth - 1) }
    }

    /// Sets `headDoorbellBatch`; throws `InvalidArgument` unless `n` is in 1..<cq.depth.
    public func setHeadDoorbellBatch(_ n: Int) throws {
        try InvalidArgument.check("headDoorbellBatch", n, in: 1..<cq.depth)
        headDoorbellBatch = n
    }

    public init(sq: SubmissionQueue, cq: CompletionQueue, interrupts: (any InterruptSource)?,
                logCapacity: Int = 256, defaultTimeout: Duration = .seconds(5)) {
        self.sq = sq; self.cq = cq; self.interrupts = interrupts
        self.log = CommandLog(capacity: logCapacity)
        self.defaultTimeout = defaultTimeout
        self.defaultTimeoutTicks = TickClock.ticks(defaultTimeout)
        let cids = min(65535, max(sq.depth * 2, 4))
        slots = Array(repeating: Slot(), count: cids)
        freeCIDs = (0..<UInt16(cids)).reversed()
    }

    /// Allocates a CID, stamps it into CDW0.CID, posts the entry and rings the tail (unless `ring` is false:
    /// post several, then `sq.ring()` once). `data` is kept alive until the command completes. `now` (TickClock
    /// ticks) stamps the submission when the caller already read the clock for a batch; nil reads it here.
    @discardableResult @inlinable
    public func submit(_ sqe: SQE, data: [DMARegion] = [], timeout: CommandTimeout = .default, ring: Bool = true,
                       now: UInt64? = nil,
                       onCompletion: ((Completion) -> Void)? = nil) throws(SubmitError) -> UInt16 {
        guard state == .ready else { throw state == .removed ? .deviceRemoved : .queueUnavailable(qid: sq.qid) }
        guard !sq.isFull else { throw .queueFull(qid: sq.qid) }
        guard let cid = freeCIDs.popLast() else { throw .noFreeCommandIdentifier(qid: sq.qid) }
        var entry = sqe
        entry.cid = cid
        let now = now ?? TickClock.now()
        var deadline: UInt64 = 0
        switch timeout {
        case .none: deadline = 0
        case .default: deadline = now &+ defaultTimeoutTicks
        case .after(let d): deadline = now &+ TickClock.ticks(d)
        }
        if deadline != 0 && deadline < earliestDeadline { earliestDeadline = deadline }
        let i = Int(cid)
        slots[i].state = 1
        slots[i].sqe = entry
        slots[i].submitTicks = now
        slots[i].deadlineTicks = deadline
        slots[i].callback = onCompletion
        slots[i].data = data
        slots[i].isAsyncEventRequest = false
        if sq.qid == 0 { noteAdminSubmission(slot: i) }
        outstandingCount &+= 1
        sq.post(entry)
        if ring { sq.ring() }
        return cid
    }

    /// Reaps up to `max` CQEs, matches each to its command, records it in the log, runs its callback (or `handler`
    /// for commands submitted without one), and writes the CQ head doorbell once for the batch. Expires commands
    /// past their deadline: when nothing arrived, now and then (also checking that the device is still there); when
    /// entries arrived, as soon as the earliest deadline has passed, so a stuck command is noticed on a busy queue
    /// too. Returns completions delivered (local `.timedOut` ones included).
    /// The clock is read once per poll that found entries: every CQE seen in one poll was seen at that time.
    @discardableResult @inlinable
    public func poll(max: Int = .max, handler: (Completion) -> Void = { _ in }) -> Int {
        var n = 0
        var now: UInt64 = 0
        while n < max, let cqe = cq.reap() {
            if now == 0 { now = TickClock.now() }
            sq.noteHead(cqe.sqhd)
            if complete(cqe, now: now, handler: handler) { n &+= 1 }
        }
        if now >= earliestDeadline && now != 0 { n &+= checkHealth(handler: handler) }
        if headDoorbellBatch == 1 ? (n > 0 || cq.head != UInt16(truncatingIfNeeded: cq.lastRungHead))
                                  : cq.unrungEntries >= headDoorbellBatch {
            cq.ringHead()
        } else if n == 0 {
            idlePolls &+= 1
            if idlePolls & 1023 == 0 { n &+= checkHealth(handler: handler) }
        }
        return n
    }

    /// Accounts an Asynchronous Event Request posted on the admin queue (by the driver or by hand).
    @usableFromInline func noteAdminSubmission(slot i: Int) {
        guard slots[i].sqe.opc == AdminOpcode.asynchronousEventRequest.rawValue, let aer = asyncEventHandler else { return }
        slots[i].isAsyncEventRequest = true
        aer.posted()
    }

    @usableFromInline func complete(_ cqe: CQE, now: UInt64 = TickClock.now(), handler: (Completion) -> Void) -> Bool {
        let cid = Int(cqe.cid)
        guard cid < slots.count, slots[cid].state != 0 else {
            unexpectedCompletions.append(cqe)
            log.record(.init(qid: sq.qid, sqe: SQE(), cqe: cqe, origin: .device, submitTicks: TickClock.now(),
                             completeTicks: TickClock.now()))
            return false
        }
        let wasQuarantined = slots[cid].state == 2
        let sqe = slots[cid].sqe
        let submitTicks = slots[cid].submitTicks
        if log.capacity > 0 {
            log.record(.init(qid: sq.qid, sqe: sqe, cqe: cqe, origin: .device, submitTicks: submitTicks, completeTicks: now))
        }
        let callback = slots[cid].callback
        slots[cid].callback = nil
        slots[cid].data = []
        slots[cid].state = 0
        freeCIDs.append(UInt16(cid))
        if wasQuarantined {   // its local .timedOut completion was already delivered
            quarantined -= 1
            onLateCompletion?(Completion(origin: .device, sqe: sqe, cqe: cqe,
                                         latencyNanoseconds: TickClock.nanoseconds(ticks: now &- submitTicks)))
            return false
        }
        outstandingCount &-= 1
        let c = Completion(origin: .device, sqe: sqe, cqe: cqe,
                           latencyNanoseconds: TickClock.nanoseconds(ticks: now &- submitTicks))
        if slots[cid].isAsyncEventRequest { slots[cid].isAsyncEventRequest = false; asyncEventHandler?.received(c) }
        if let callback { callback(c) } else { handler(c) }
        return true
    }

    /// Expires commands past their deadline and fails everything when the device is gone. Returns local completions.
    @discardableResult
    public func checkHealth(handler: (Completion) -> Void = { _ in }) -> Int {
        guard outstanding > 0 else { earliestDeadline = .max; return 0 }   // no deadline is left to expire
        if let isPresent, !isPresent() {
            state = .removed
            return failAll(.deviceRemoved, handler: handler)
        }
        let now = TickClock.now()
        guard now >= earliestDeadline else { return 0 }
        var n = 0
        var next: UInt64 = .max
        for cid in slots.indices where slots[cid].state == 1 && slots[cid].deadlineTicks != 0 {
            if slots[cid].deadlineTicks <= now {
                slots[cid].state = 2
                outstandingCount -= 1; quarantined += 1
                deliverLocal(cid: cid, origin: .timedOut, handler: handler, release: false)
                onTimeout?(self, UInt16(cid))
                n += 1
            } else {
                next = Swift.min(next, slots[cid].deadlineTicks)
            }
        }
        earliestDeadline = next
        return n
    }

    func deliverLocal(cid: Int, origin: CompletionOrigin, handler: (Completion) -> Void, release: Bool) {
        let now = TickClock.now()
        var cqe = CQE(sqhd: sq.head, sqid: sq.qid, cid: UInt16(cid), phase: false, status: Completion.localStatus(for: origin))
        cqe.dw0 = 0
        let sqe = slots[cid].sqe
        log.record(.init(qid: sq.qid, sqe: sqe, cqe: cqe, origin: origin, submitTicks: slots[cid].submitTicks, completeTicks: now))
        let callback = slots[cid].callback
        slots[cid].callback = nil
        if release {
            slots[cid].data = []
            slots[cid].state = 0
            freeCIDs.append(UInt16(cid))
        }
        let c = Completion(origin: origin, sqe: sqe, cqe: cqe,
                           latencyNanoseconds: TickClock.nanoseconds(ticks: now &- slots[cid].submitTicks))
        if slots[cid].isAsyncEventRequest { slots[cid].isAsyncEventRequest = false; asyncEventHandler?.received(c) }
        if let callback { callback(c) } else { handler(c) }
    }

    /// Takes the completions the controller posted before it stopped (after a disable or reset, as Linux's
    /// `nvme_reap_pending_cqes`): they are real completions. Writes no doorbell (the controller is not enabled).
    @discardableResult
    public func reapPending(handler: (Completion) -> Void = { _ in }) -> Int {
        var n = 0
        while let cqe = cq.reap() {
            sq.noteHead(cqe.sqhd)
            if complete(cqe, handler: handler) { n += 1 }
        }
        return n
    }

    /// Completes every outstanding command locally with `origin`, releases quarantined CIDs and every buffer.
    /// Call only when the controller can no longer touch this queue's commands (disabled, reset, or gone).
    @discardableResult
    public func failAll(_ origin: CompletionOrigin, handler: (Completion) -> Void = { _ in }) -> Int {
        var n = 0
        for cid in slots.indices where slots[cid].state != 0 {
            if slots[cid].state == 1 {
                outstandingCount -= 1
                deliverLocal(cid: cid, origin: origin, handler: handler, release: true)
                n += 1
            } else {
                quarantined -= 1
                slots[cid].data = []; slots[cid].state = 0; freeCIDs.append(UInt16(cid))
            }
        }
        earliestDeadline = .max
        return n
    }

    /// After the controller re-created this queue: empty rings, head/tail 0, phase 1.
    public func resetRings() {
        sq.resetState(); cq.resetState()
        unexpectedCompletions.removeAll()
    }

    /// Whether `cid` is outstanding.
    public func isOutstanding(_ cid: UInt16) -> Bool { Int(cid) < slots.count && slots[Int(cid)].state == 1 }

    // MARK: Waiting

    /// Submits and waits (sleeping on the CQ's vector when it has one, polling otherwise) until the command
    /// completes — by the device, by timeout, or because the device is gone.
    public func execute(_ sqe: SQE, data: [DMARegion] = [], timeout: CommandTimeout = .default) -> Completion {
        let box = CompletionBox()
        let giveUp = Deadline.after(defaultTimeout)
        while true {
            do {
                try submit(sqe, data: data, timeout: timeout) { box.value = $0 }
                break
            } catch .queueFull, .noFreeCommandIdentifier {
                // Make room: reap what the controller has finished, then try again.
                if poll() == 0 { checkHealth(); Thread_yield() }
                if giveUp.hasPassed { return submitFailure(sqe, .queueFull(qid: sq.qid)) }
            } catch {
                return submitFailure(sqe, error)
            }
        }
        wait(until: { box.value != nil })
        return box.value!
    }

    /// Submits and awaits the completion, polling cooperatively (yielding between polls).
    public func execute(_ sqe: SQE, data: [DMARegion] = [], timeout: CommandTimeout = .default) async -> Completion {
        let box = CompletionBox()
        do {
            try submit(sqe, data: data, timeout: timeout) { box.value = $0 }
        } catch {
            return submitFailure(sqe, error)
        }
        var spins = 0
        while box.value == nil {
            if poll() == 0 {
                spins += 1
                if spins & 63 == 0 { checkHealth() }
                await Task.yield()
            }
        }
        return box.value!
    }

    /// Polls (and sleeps on the vector between polls when there is one) until `done()` or nothing can progress.
    public func wait(until done: () -> Bool) {
        var spins = 0
        while !done() {
            if poll() > 0 { continue }
            spins += 1
            if spins & 15 == 0 { checkHealth() }
            if done() { break }
            if let v = cq.vector, let interrupts, interrupts.enabledVectors > Int(v), spins > 64 {
                _ = try? interrupts.wait(vector: Int(v), timeout: .milliseconds(1))
            } else if spins & 255 == 0 {
                Thread_yield()
            }
        }
    }

    func submitFailure(_ sqe: SQE, _ error: SubmitError) -> Completion {
        let origin: CompletionOrigin
        switch error {
        case .deviceRemoved: origin = .deviceRemoved
        case .queueFull, .noFreeCommandIdentifier: origin = .timedOut
        case .queueUnavailable: origin = .abortedByReset
        }
        let cqe = CQE(sqhd: sq.head, sqid: sq.qid, cid: sqe.cid, phase: false, status: Completion.localStatus(for: origin))
        return Completion(origin: origin, sqe: sqe, cqe: cqe, latencyNanoseconds: 0)
    }
}

final class CompletionBox: @unchecked Sendable { var value: Completion? }

#if canImport(Glibc)
import Glibc
func Thread_yield() { sched_yield() }
#else
import Darwin
func Thread_yield() { sched_yield() }
#endif
