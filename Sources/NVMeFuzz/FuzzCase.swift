import NVMeSpec

/// Where a pointer in a command (PRP entry, SGL address, metadata pointer, ASQ/ACQ) points. Kept symbolic so a case
/// means the same thing on any target and in any run; the runner resolves it to a bus address when it runs the case
/// and records the exact bytes it wrote.
public enum Pointer: Hashable, Sendable, Codable {
    /// Byte `offset` of the fuzzer's data area (the pages commands may legitimately read and write).
    case data(offset: Int)
    /// Byte `offset` of the list area (PRP lists and SGL segments the case builds).
    case list(offset: Int)
    /// Bus address space no mapping covers: a DMA here must fault.
    case unmapped(offset: UInt64)
    /// Byte `offset` of queue `qid`'s ring memory (submission ring, or completion ring when `completion`).
    case ring(qid: UInt16, completion: Bool, offset: Int)
    /// A literal bus address.
    case absolute(UInt64)
}

/// A doorbell value, literal or relative to the runner's view of the queue when the action runs.
public enum DoorbellValue: Hashable, Sendable, Codable {
    case raw(UInt32)
    /// The queue's local tail plus `plus` (not wrapped: may land past the queue's end).
    case tail(plus: Int)
    /// The completion queue's local head plus `plus` (not wrapped).
    case head(plus: Int)
}

/// One SGL descriptor written into the list area: the address is symbolic, the rest raw.
public struct SGLEntry: Hashable, Sendable, Codable {
    public var address: Pointer
    public var length: UInt32
    /// Byte 15: type in bits 7:4, sub type in bits 3:0.
    public var identifier: UInt8
    /// Bytes 14:12 (reserved for data block / segment descriptors).
    public var reserved: UInt32

    public init(address: Pointer, length: UInt32, identifier: UInt8, reserved: UInt32 = 0) {
        self.address = address; self.length = length; self.identifier = identifier; self.reserved = reserved
    }

    public static func dataBlock(_ p: Pointer, _ length: UInt32) -> Self { .init(address: p, length: length, identifier: 0x00) }
    public static func segment(_ p: Pointer, _ length: UInt32) -> Self { .init(address: p, length: length, identifier: 0x20) }
    public static func lastSegment(_ p: Pointer, _ length: UInt32) -> Self { .init(address: p, length: length, identifier: 0x30) }
}

/// What the generator knows about the command it built — the input of the status oracle.
public struct Expectation: Hashable, Sendable, Codable {
    /// The controller must post a completion (false for Asynchronous Event Requests, commands posted into a queue
    /// whose doorbell is never rung validly, commands cut off by a disable).
    public var completes: Bool
    /// Why the spec requires this command to fail (nil: any status is acceptable).
    public var mustFail: String?
    /// The command's data pointers are deliberately broken: a DMA fault is the expected outcome.
    public var wildPointers: Bool

    public init(completes: Bool = true, mustFail: String? = nil, wildPointers: Bool = false) {
        self.completes = completes; self.mustFail = mustFail; self.wildPointers = wildPointers
    }
}

/// A command to place into a submission queue slot.
public struct Submission: Hashable, Sendable, Codable {
    public var qid: UInt16
    /// Slot to write; nil = the queue's current tail.
    public var slot: Int?
    /// The 16 dwords as generated; pointer fields are overwritten from `prp1`/`prp2`/`mptr` when those are set,
    /// and CDW0.CID is stamped by the runner unless `cid` is set.
    public var dwords: [UInt32]
    public var cid: UInt16?
    public var prp1: Pointer?
    public var prp2: Pointer?
    public var mptr: Pointer?
    /// Advance the tail and write the SQ tail doorbell after posting.
    public var ring: Bool
    public var expect: Expectation

    public init(qid: UInt16, sqe: SubmissionQueueEntry, slot: Int? = nil, cid: UInt16? = nil, prp1: Pointer? = nil,
                prp2: Pointer? = nil, mptr: Pointer? = nil, ring: Bool = true, expect: Expectation = .init()) {
        self.qid = qid; self.slot = slot; self.cid = cid; self.prp1 = prp1; self.prp2 = prp2; self.mptr = mptr
        self.ring = ring; self.expect = expect
        self.dwords = (0..<16).map { sqe[dword: $0] }
    }

    public var sqe: SubmissionQueueEntry {
        get {
            var e = SubmissionQueueEntry()
            for (i, d) in dwords.prefix(16).enumerated() { e[dword: i] = d }
            return e
        }
        set { dwords = (0..<16).map { newValue[dword: $0] } }
    }

    public var opcode: UInt8 { UInt8(truncatingIfNeeded: dwords.first ?? 0) }
}

/// Memory areas a case may fill before it posts commands.
public enum MemoryArea: String, Hashable, Sendable, Codable { case data, list }

/// One step of a case. A case is a small program: the runner executes the actions in order, then waits for the
/// completions the submissions expect, then asks the oracles.
public enum Action: Hashable, Sendable, Codable {
    case submit(Submission)
    /// Writes the SQ `qid` tail doorbell with `value` (no local tail change: the value may be anything).
    case ringSubmissionTail(qid: UInt16, value: DoorbellValue)
    /// Writes the CQ `qid` head doorbell with `value`.
    case ringCompletionHead(qid: UInt16, value: DoorbellValue)
    /// A 32-bit controller register write.
    case writeRegister(offset: Int, value: UInt32)
    /// A 64-bit controller register write with a symbolic value (ASQ, ACQ, CMBMSC…).
    case writeRegisterPointer(offset: Int, pointer: Pointer)
    /// 8-byte entries (a PRP list) at `offset` of the list area.
    case writeList(offset: Int, entries: [Pointer])
    /// 16-byte SGL descriptors at `offset` of the list area.
    case writeSGL(offset: Int, descriptors: [SGLEntry])
    /// Raw bytes at `offset` of an area (Dataset Management ranges, controller lists).
    case writeBytes(area: MemoryArea, offset: Int, bytes: [UInt8])
    /// Fills `count` bytes of an area with `byte`.
    case fill(area: MemoryArea, offset: Int, count: Int, byte: UInt8)
    /// Polls CSTS.RDY until it equals `ready` or `milliseconds` pass (no oracle: init cases observe, recovery judges).
    case waitReady(ready: Bool, milliseconds: Int)
    case wait(microseconds: Int)
}

/// Which family of malformations produced a case.
public enum GeneratorKind: String, Hashable, Sendable, Codable, CaseIterable {
    /// Every opcode value, admin and I/O, including reserved and vendor ranges.
    case opcodes
    /// Valid commands with one field, dword or reserved bit mutated.
    case fields
    /// Namespace identifiers: 0, inactive, broadcast, out of range.
    case namespaces
    /// PRP entries: misaligned offsets, PRP2/list confusion, lists that cross pages, chain badly, point outside mapped
    /// memory or at the queues themselves.
    case prp
    /// Malformed SGLs.
    case sgl
    /// Transfer sizes beyond MDTS and LBA ranges beyond the namespace.
    case transferSize
    /// Doorbell abuse: tail past the queue, tail not moving, head beyond what was consumed, doorbells of queues that
    /// were deleted or never created.
    case doorbells
    /// Create/Delete I/O queue commands with invalid size, identifier, vector or contiguity.
    case queueCreation
    /// Initialisation mutations: CC fields, AQA sizes, enable without admin queues, disable mid-command.
    case initSequence
}

/// A generated case.
public struct FuzzCase: Hashable, Sendable, Codable {
    public var index: UInt64
    public var generator: GeneratorKind
    /// A short human description ("read nsid=0xFFFFFFFF").
    public var label: String
    public var actions: [Action]
    /// The case leaves the controller in a state the next case cannot start from (queues created or corrupted,
    /// registers rewritten): the runner re-initialises it afterwards. Planned resets are not recoveries.
    public var requiresReset: Bool
    /// Oracles that do not apply to this case (e.g. the completion-entry oracle when a backwards tail makes the
    /// controller legitimately re-execute stale slots; controller-fatal for init mutations the spec leaves undefined).
    public var exempt: Set<OracleKind>

    public init(index: UInt64, generator: GeneratorKind, label: String, actions: [Action], requiresReset: Bool = false,
                exempt: Set<OracleKind> = []) {
        self.index = index; self.generator = generator; self.label = label; self.actions = actions
        self.requiresReset = requiresReset; self.exempt = exempt
    }

    public var submissions: [Submission] {
        actions.compactMap { if case .submit(let s) = $0 { return s } else { return nil } }
    }
}
