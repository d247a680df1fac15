import NVMeDriver
import NVMeSpec

/// One command the runner posted in a case, and what became of it.
struct ExecutedCommand {
    var qid: UInt16
    var cid: UInt16
    var opcode: UInt8
    var expect: Expectation
    /// Whether the tail doorbell was rung past the command.
    var rang: Bool
    /// Index into `CaseOutcome.posted`.
    var postedIndex: Int
    /// Guard windows painted around the command's buffer, as arena ranges.
    var guards: [(offset: Int, count: Int)]
    var done = false
    var status: CompletionStatus?
    /// The first guard window around the buffer the controller wrote into (checked once the command completed).
    var damagedGuard: GuardDamage?
}

/// A byte outside a command's buffer that changed, in data-area offsets.
struct GuardDamage: Hashable {
    var dataOffset: Int
    var value: UInt8
    var guardOffset: Int
    var guardCount: Int
}

/// A fixed canary page of host memory the controller wrote into (the page is painted again afterwards).
struct CanaryDamage: Hashable {
    /// Arena offset of the page and of the first changed byte.
    var page: Int
    var offset: Int
    var value: UInt8
    /// Up to 16 bytes from `offset`, as found.
    var bytes: [UInt8]
}

/// A completion entry reaped during a case, with what it answered.
struct ObservedCompletion {
    enum Match {
        /// An outstanding command of this case (as it stood once this entry completed it).
        case command(ExecutedCommand)
        /// A command left outstanding by an earlier case (an AER) that may complete late.
        case lingering
        /// Nothing outstanding has this CID.
        case unknown
    }
    /// The queue whose completion queue held the entry.
    var qid: UInt16
    var sqDepth: Int
    var cqe: CQE
    var match: Match
}

/// A command that had to complete and did not by the deadline, with the completion slot it would have used.
struct UnansweredCommand {
    var command: ExecutedCommand
    var cqHead: Int
    /// The phase tag the host expects at `cqHead`.
    var expectedPhase: Bool
    /// The entry found at `cqHead`.
    var entryAtHead: CQE
    /// CSTS as read when the command was given up (nil: not read, the entry at the head is the command's).
    var csts: UInt32?
}

/// DMA faults that arrived during a case.
struct FaultObservation {
    var count: Int
    var lastMessage: String?
}

/// What happened when a case ran: everything the oracles judge, and what a repro records. Produced by
/// `FuzzRunner.execute(_:)`; judged by `Oracles.judge(_:_:)`.
struct CaseOutcome {
    /// The case with CIDs and doorbell values as actually used.
    var resolvedCase: FuzzCase
    var posted: [PostedCommand] = []
    var writes: [RegisterWrite] = []
    /// Every command the case posted, in order.
    var commands: [ExecutedCommand] = []
    /// Every completion entry reaped, in order.
    var completions: [ObservedCompletion] = []
    var unanswered: [UnansweredCommand] = []
    /// CSTS at the end of the case.
    var csts = ControllerStatus(rawValue: 0)
    var canaryDamage: [CanaryDamage] = []
    /// nil: the target has no fault monitor.
    var faults: FaultObservation?
    var queueTrouble = false
    /// A command's PRP points into a queue ring: whatever the device then writes over the ring is what it was
    /// told to do, not a bad completion entry or phase.
    var aimedAtQueues = false

    var caseIndex: UInt64 { resolvedCase.index }
}
