import NVMePlatform
import NVMeSpec

/// Which submission queues a fault rule watches.
public enum QueueSelector: Sendable, Hashable {
    case any
    case admin
    case io
    case queue(UInt16)

    func matches(_ sqid: UInt16) -> Bool {
        switch self {
        case .any: return true
        case .admin: return sqid == 0
        case .io: return sqid != 0
        case .queue(let q): return q == sqid
        }
    }
}

/// What an injected fault does to the command it hits.
public enum FaultAction: Sendable, Hashable {
    /// The command runs; its completion is posted `Duration` later.
    case delay(Duration)
    /// The command is fetched but runs only `Duration` later: its data moves then (a Read writes the host buffer, a
    /// Write reads it) and its completion is posted then — the late completion, DMA included, that a host which gave
    /// up on the command at its timeout must survive. An Abort or the deletion of its SQ before then completes it
    /// without running it; a controller reset drops it.
    case delayExecution(Duration)
    /// The command runs; its completion is never posted (the host sees a hang).
    case dropCompletion
    /// The command runs; its CQE carries the wrong phase tag (the host must not consume it).
    case wrongPhase
    /// The command runs; its CQE carries this CID instead of the command's (nil: the command's CID XOR 0x8000).
    case wrongCID(UInt16?)
    /// The command is not executed; it completes with this status.
    case status(CompletionStatus)
    /// The controller hits a fatal error: CSTS.CFS = 1, the command is not completed, processing stops.
    case controllerFatal
    /// The controller disappears: every register reads all ones, nothing is completed (surprise removal).
    case disappear
    /// The command runs and completes normally, but the controller also writes `length` bytes of `byte` just past
    /// the end of the command's data buffer (PRP/SGL as given), e.g. onto a canary the host put there.
    case clobberHostMemory(length: Int, byte: UInt8)
}

/// A scriptable fault: which commands it hits and what it does. `skip` matching commands pass first, then the
/// rule fires `times` times (nil: forever). "The N-th admin command" is `skip: N-1, times: 1`.
public struct FaultRule: Sendable, Hashable {
    public var queue: QueueSelector
    /// Opcode to match (admin opcodes on the admin queue, I/O opcodes on I/O queues); nil matches all.
    public var opcode: UInt8?
    public var skip: Int
    public var times: Int?
    public var action: FaultAction

    public init(queue: QueueSelector = .any, opcode: UInt8? = nil, skip: Int = 0, times: Int? = 1, action: FaultAction) {
        self.queue = queue; self.opcode = opcode; self.skip = skip; self.times = times; self.action = action
    }

    /// Fires on the `n`-th (1-based) command matching `queue` and `opcode`.
    public static func nth(_ n: Int, queue: QueueSelector = .any, opcode: UInt8? = nil, _ action: FaultAction) -> Self {
        FaultRule(queue: queue, opcode: opcode, skip: max(0, n - 1), times: 1, action: action)
    }

    /// Fires on every command with this admin opcode.
    public static func admin(_ opcode: AdminOpcode, times: Int? = nil, _ action: FaultAction) -> Self {
        FaultRule(queue: .admin, opcode: opcode.rawValue, times: times, action: action)
    }

    /// Fires on every command with this I/O opcode.
    public static func io(_ opcode: IOOpcode, times: Int? = nil, _ action: FaultAction) -> Self {
        FaultRule(queue: .io, opcode: opcode.rawValue, times: times, action: action)
    }
}

/// The armed rules and how many commands each has seen.
struct FaultPlan {
    var rules: [(rule: FaultRule, seen: Int, fired: Int)] = []

    var isEmpty: Bool { rules.isEmpty }

    mutating func match(sqid: UInt16, opcode: UInt8, commandNumber: UInt64) -> FaultAction? {
        if rules.isEmpty { return nil }
        var hit: FaultAction?
        for i in rules.indices {
            let r = rules[i].rule
            guard r.queue.matches(sqid), r.opcode == nil || r.opcode == opcode else { continue }
            rules[i].seen += 1
            if hit != nil { continue }
            if rules[i].seen > r.skip, r.times.map({ rules[i].fired < $0 }) ?? true {
                rules[i].fired += 1
                hit = r.action
            }
        }
        rules.removeAll { r in r.rule.times.map { r.fired >= $0 } ?? false }
        return hit
    }
}

enum FaultDisposition { case post, held }

extension FaultAction {
    /// The status that replaces execution, for `.status`.
    var replacesExecution: CompletionStatus? {
        if case .status(let s) = self { return s }
        return nil
    }

    /// How long the command waits before it runs, for `.delayExecution`.
    var executionDelay: Duration? {
        if case .delayExecution(let d) = self { return d }
        return nil
    }

    /// Whether the fault holds something back that the clock thread must release.
    var needsClock: Bool {
        switch self {
        case .delay, .delayExecution: return true
        default: return false
        }
    }
}

/// A completion held back by a `delay` fault, or a command held back by a `delayExecution` fault (`command`: it
/// runs when `due` comes, and its completion is posted then).
struct HeldCompletion {
    var due: UInt64
    var cqid: UInt16
    var completion: PendingCompletion
    var command: SQEWords? = nil
}

extension ControllerState {
    mutating func applyFault(_ f: FaultAction, to c: inout PendingCompletion, cqid: UInt16, sqe: SQEWords)
        -> FaultDisposition {
        statistics.faultsInjected += 1
        switch f {
        case .status:
            return .post
        case .delay(let d):
            delayed.append(HeldCompletion(due: MonotonicClock.nanoseconds() &+ nanoseconds(d), cqid: cqid, completion: c))
            return .held
        case .delayExecution:
            return .held   // never reached: `execute` holds the command before running it
        case .dropCompletion:
            statistics.droppedCompletions += 1
            return .held
        case .wrongPhase:
            c.invertPhase = true
            return .post
        case .wrongCID(let cid):
            c.cidOverride = cid ?? (c.cid ^ 0x8000)
            return .post
        case .controllerFatal:
            csts.cfs = true
            statistics.droppedCompletions += 1
            return .held
        case .disappear:
            disappeared = true
            statistics.droppedCompletions += 1
            return .held
        case .clobberHostMemory(let length, let byte):
            if let end = dataBufferEnd(sqid: c.sqid, sqe) {
                if !bus.fill(bus: end, length: length, byte: byte) { statistics.dmaFaults += 1 }
            }
            return .post
        }
    }

    /// Bus address just past the last byte of the command's data buffer (best effort: the mapped data pointer for
    /// the command's transfer length).
    func dataBufferEnd(sqid: UInt16, _ sqe: SQEWords) -> UInt64? {
        var length = 4096
        if sqid != 0, let ns = namespaces[sqe.nsid] {
            length = (Int(sqe.cdw12 & 0xFFFF) + 1) * ns.transferBlockSize
        }
        guard case .success(let segs) = mapDataPointer(sqe, length: length, allowSGL: sqid != 0) else { return nil }
        guard let last = segs.last(where: { $0.bus != nil }) else { return nil }
        return last.bus! &+ UInt64(last.length)
    }
}
