/// One thing `validate()` found wrong (or suspicious) about a command. Findings are data: nothing throws.
public struct ValidationFinding: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: Int, Hashable, Sendable, Comparable, CustomStringConvertible {
        /// Out of spec: a conforming controller should reject or mishandle it.
        case error = 2
        /// Allowed by the spec, but probably not what was meant (or outside what this controller advertises).
        case warning = 1
        /// Worth knowing (e.g. an opcode this library has no layout for).
        case note = 0
        public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
        public var description: String {
            switch self { case .error: "error"; case .warning: "warning"; case .note: "note" }
        }
    }

    public var severity: Severity
    /// Where: `CDW10[31:16] QSIZE`, `NSID`, `CDW0[13:10]`…
    public var field: String
    public var message: String

    public init(_ severity: Severity, _ field: String, _ message: String) {
        self.severity = severity; self.field = field; self.message = message
    }

    public var description: String { "\(severity): \(field): \(message)" }
}

/// What the validator may know about the controller and namespace. Every member is optional: checks that need a
/// missing value are skipped.
public struct ValidationContext: Sendable, Hashable {
    /// Which queue the command is meant for (selects the opcode table).
    public var queue: CommandQueueKind
    /// Maximum data transfer size in bytes (from Identify Controller MDTS and CAP.MPSMIN); nil = no limit known.
    public var maxTransferBytes: Int?
    /// Logical block data size of the namespace in bytes.
    public var lbaDataSize: Int?
    /// CAP.MQES (0's based maximum queue entries).
    public var mqes: UInt16?
    /// CAP.CQR: queues must be physically contiguous.
    public var contiguousQueuesRequired: Bool?
    /// Number of namespaces (Identify Controller NN); an NSID above it is invalid.
    public var nn: UInt32?

    public init(queue: CommandQueueKind, maxTransferBytes: Int? = nil, lbaDataSize: Int? = nil, mqes: UInt16? = nil,
                contiguousQueuesRequired: Bool? = nil, nn: UInt32? = nil) {
        self.queue = queue; self.maxTransferBytes = maxTransferBytes; self.lbaDataSize = lbaDataSize
        self.mqes = mqes; self.contiguousQueuesRequired = contiguousQueuesRequired; self.nn = nn
    }

    /// MDTS from Identify Controller is a power of two in units of CAP.MPSMIN; 0 means no limit.
    public static func maxTransferBytes(mdts: UInt8, mpsminBytes: Int) -> Int? {
        mdts == 0 ? nil : mpsminBytes << Int(mdts)
    }
}

extension SubmissionQueueEntry {
    /// Lists everything out of spec about this command; never throws and never changes the command.
    public func validate(_ context: ValidationContext) -> [ValidationFinding] {
        CommandValidation.validate(self, context)
    }

    /// Same, knowing only which queue the command is for.
    public func validate(queue: CommandQueueKind) -> [ValidationFinding] {
        validate(ValidationContext(queue: queue))
    }
}

/// The checks behind `SubmissionQueueEntry.validate`.
public enum CommandValidation {
    public static func validate(_ sqe: SubmissionQueueEntry, _ ctx: ValidationContext) -> [ValidationFinding] {
        var out: [ValidationFinding] = []
        // CDW0 — Figure 87.
        if sqe.cdw0Reserved != 0 { out.append(.init(.error, "CDW0[13:10]", "reserved bits set (\(sqe.cdw0Reserved))")) }
        if sqe.fuse == 3 { out.append(.init(.error, "CDW0[9:8] FUSE", "value 3 is reserved")) }
        if sqe.psdt == 3 { out.append(.init(.error, "CDW0[15:14] PSDT", "value 3 is reserved")) }
        if ctx.queue == .admin && sqe.psdt != 0 {
            out.append(.init(.error, "CDW0[15:14] PSDT", "admin commands use PRPs (PSDT 0) on PCIe controllers"))
        }
        if ctx.queue == .admin && sqe.fuse != 0 {
            out.append(.init(.warning, "CDW0[9:8] FUSE", "fused operations are defined for I/O commands (Compare and Write)"))
        }
        if sqe.psdt == 0 && sqe.prp1 & 3 != 0 {
            out.append(.init(.error, "PRP1", "bits 1:0 must be 0 (dword aligned)"))
        }

        let vendorRange = ctx.queue == .admin ? AdminOpcode.vendorSpecificRange : IOOpcode.vendorSpecificRange
        guard let layout = CommandLayout.layout(for: sqe.opc, queue: ctx.queue) else {
            let what = vendorRange.contains(sqe.opc) ? "vendor specific opcode" : "opcode with no known layout"
            out.append(.init(.note, "CDW0[7:0] OPC", "\(hexDigits(UInt64(sqe.opc), width: 2))h: \(what); fields not checked"))
            return out
        }

        // Reserved bits: any bit of CDW2, CDW3, CDW10-15 outside the command's fields.
        for d in [2, 3, 10, 11, 12, 13, 14, 15] {
            let stray = sqe[dword: d] & ~layout.definedMask(dword: d)
            if stray != 0 {
                out.append(.init(.error, "CDW\(d)", "reserved bits set: 0x\(hexDigits(UInt64(stray), width: 8)) (\(layout.name))"))
            }
        }
        if !layout.usesMetadataPointer && sqe.mptr != 0 {
            out.append(.init(.warning, "MPTR", "set, but \(layout.name) does not use a metadata pointer"))
        }
        if !layout.usesDataPointer && (sqe.prp1 != 0 || sqe.prp2 != 0) && sqe.opc != AdminOpcode.doorbellBufferConfig.rawValue {
            out.append(.init(.warning, "DPTR", "set, but \(layout.name) transfers no data"))
        }

        checkNSID(sqe, layout, ctx, &out)
        if ctx.queue == .admin { checkAdmin(sqe, ctx, &out) } else { checkIO(sqe, ctx, &out) }
        return out
    }

    static func checkNSID(_ sqe: SubmissionQueueEntry, _ layout: CommandLayout, _ ctx: ValidationContext,
                          _ out: inout [ValidationFinding]) {
        let nsid = sqe.nsid
        var use = layout.nsid
        // Identify: the CNS value decides (Figure 273).
        if ctx.queue == .admin && sqe.opc == AdminOpcode.identify.rawValue {
            let cns = IdentifyCNS(rawValue: UInt8(sqe.cdw10 & 0xFF))
            if cns.isDefined && !cns.usesNSID { use = .unused }
        }
        switch use {
        case .unused:
            if nsid != 0 { out.append(.init(.error, "NSID", "must be 0 for \(layout.name), is \(nsid)")) }
        case .required:
            if nsid == 0 { out.append(.init(.error, "NSID", "0 is not a valid namespace for \(layout.name)")) }
            if nsid == 0xFFFF_FFFF { out.append(.init(.error, "NSID", "FFFFFFFFh (all namespaces) is not allowed for \(layout.name)")) }
        case .requiredOrBroadcast:
            if nsid == 0 { out.append(.init(.error, "NSID", "0 is not a valid namespace for \(layout.name)")) }
        case .optional:
            break
        }
        if let nn = ctx.nn, nsid != 0, nsid != 0xFFFF_FFFF, nsid > nn, use != .unused {
            out.append(.init(.error, "NSID", "\(nsid) is above the controller's namespace count NN=\(nn)"))
        }
    }

    static func checkAdmin(_ sqe: SubmissionQueueEntry, _ ctx: ValidationContext, _ out: inout [ValidationFinding]) {
        let qid = UInt16(sqe.cdw10 & 0xFFFF), qsize = UInt16(sqe.cdw10 >> 16)
        switch AdminOpcode(rawValue: sqe.opc) {
        case .createIOSubmissionQueue, .createIOCompletionQueue:
            if qid == 0 { out.append(.init(.error, "CDW10[15:0] QID", "0 is the admin queue; I/O queue ids start at 1")) }
            if qsize == 0 { out.append(.init(.error, "CDW10[31:16] QSIZE", "0's based size 0 (one entry) is invalid; the minimum is 1 (two entries)")) }
            if let mqes = ctx.mqes, qsize > mqes {
                out.append(.init(.error, "CDW10[31:16] QSIZE", "\(qsize) exceeds CAP.MQES=\(mqes)"))
            }
            if ctx.contiguousQueuesRequired == true && !sqe.cdw11.bit(0) {
                out.append(.init(.error, "CDW11[0] PC", "CAP.CQR is set: queues must be physically contiguous"))
            }
            if sqe.prp1 == 0 { out.append(.init(.warning, "PRP1", "queue base address is 0 (the driver fills it)")) }
            else if sqe.prp1 & 0xFFF != 0 { out.append(.init(.error, "PRP1", "queue base must be memory page aligned (offset 0)")) }
            if sqe.opc == AdminOpcode.createIOSubmissionQueue.rawValue && sqe.cdw11 >> 16 == 0 {
                out.append(.init(.error, "CDW11[31:16] CQID", "0 is the admin completion queue"))
            }
            if sqe.opc == AdminOpcode.createIOCompletionQueue.rawValue && !sqe.cdw11.bit(1) && sqe.cdw11 >> 16 != 0 {
                out.append(.init(.warning, "CDW11[31:16] IV", "interrupt vector set while IEN is 0"))
            }
        case .deleteIOSubmissionQueue, .deleteIOCompletionQueue:
            if qid == 0 { out.append(.init(.error, "CDW10[15:0] QID", "the admin queue cannot be deleted")) }
        case .getLogPage:
            if sqe.cdw12 & 3 != 0 && !sqe.cdw14.bit(23) {
                out.append(.init(.error, "CDW12 LPOL", "log page offset must be dword aligned"))
            }
        case .getFeatures:
            if sqe.cdw10.bits(10, 8) > 3 { out.append(.init(.error, "CDW10[10:8] SEL", "values 4-7 are reserved")) }
            checkFID(sqe, &out)
        case .setFeatures:
            checkFID(sqe, &out)
        case .identify:
            let cns = IdentifyCNS(rawValue: UInt8(sqe.cdw10 & 0xFF))
            if !cns.isDefined { out.append(.init(.warning, "CDW10[7:0] CNS", "\(cns) is not defined by NVMe 2.0c")) }
        case .firmwareCommit:
            if !FirmwareCommitAction(rawValue: UInt8(sqe.cdw10.bits(5, 3))).isDefined {
                out.append(.init(.error, "CDW10[5:3] CA", "commit action \(sqe.cdw10.bits(5, 3)) is reserved"))
            }
        case .sanitize:
            if !SanitizeAction(rawValue: UInt8(sqe.cdw10.bits(2, 0))).isDefined {
                out.append(.init(.error, "CDW10[2:0] SANACT", "sanitize action \(sqe.cdw10.bits(2, 0)) is reserved"))
            }
        case .deviceSelfTest:
            if !SelfTestCode(rawValue: UInt8(sqe.cdw10.bits(3, 0))).isDefined {
                out.append(.init(.error, "CDW10[3:0] STC", "self-test code \(sqe.cdw10.bits(3, 0)) is reserved"))
            }
        case .namespaceManagement:
            let sel = sqe.cdw10.bits(3, 0)
            if sel > 1 { out.append(.init(.error, "CDW10[3:0] SEL", "value \(sel) is reserved")) }
            if sel == 0 && sqe.nsid != 0 { out.append(.init(.error, "NSID", "must be 0 for a create operation")) }
            if sel == 1 && sqe.nsid == 0 { out.append(.init(.error, "NSID", "0 is not a valid namespace to delete")) }
        case .namespaceAttachment:
            if sqe.cdw10.bits(3, 0) > 1 { out.append(.init(.error, "CDW10[3:0] SEL", "value \(sqe.cdw10.bits(3, 0)) is reserved")) }
        case .doorbellBufferConfig:
            if sqe.prp1 & 0xFFF != 0 || sqe.prp2 & 0xFFF != 0 {
                out.append(.init(.error, "PRP1/PRP2", "shadow doorbell and EventIdx buffers must be memory page aligned"))
            }
            if sqe.prp1 == 0 || sqe.prp2 == 0 { out.append(.init(.warning, "PRP1/PRP2", "a buffer address is 0")) }
        default:
            break
        }
    }

    static func checkFID(_ sqe: SubmissionQueueEntry, _ out: inout [ValidationFinding]) {
        let fid = FeatureIdentifier(rawValue: UInt8(sqe.cdw10 & 0xFF))
        if fid.rawValue == 0 { out.append(.init(.error, "CDW10[7:0] FID", "00h is reserved")) }
        else if !fid.isDefined && fid.rawValue < 0xC0 {
            out.append(.init(.warning, "CDW10[7:0] FID", "\(fid) is not defined by NVMe 2.0c"))
        }
    }

    static func checkIO(_ sqe: SubmissionQueueEntry, _ ctx: ValidationContext, _ out: inout [ValidationFinding]) {
        guard let op = IOOpcode(rawValue: sqe.opc) else { return }
        switch op {
        case .read, .write, .compare, .zoneAppend:
            if let lba = ctx.lbaDataSize, let mdts = ctx.maxTransferBytes {
                let bytes = (Int(sqe.nlb) + 1) * lba
                if bytes > mdts {
                    out.append(.init(.error, "CDW12[15:0] NLB",
                                     "\(Int(sqe.nlb) + 1) blocks x \(lba) B = \(bytes) B exceeds MDTS (\(mdts) B)"))
                }
            }
        case .writeZeroes, .verify, .writeUncorrectable:
            break   // no data transfer: MDTS does not apply (limits come from other Identify fields)
        case .datasetManagement:
            if sqe.cdw11 & 0x7 == 0 { out.append(.init(.warning, "CDW11", "no attribute set: the command has no effect")) }
        case .zoneManagementSend:
            if !ZoneSendAction(rawValue: UInt8(sqe.cdw13 & 0xFF)).isDefined {
                out.append(.init(.error, "CDW13[7:0] ZSA", "zone send action \(sqe.cdw13 & 0xFF) is reserved"))
            }
        case .zoneManagementReceive:
            if !ZoneReceiveAction(rawValue: UInt8(sqe.cdw13 & 0xFF)).isDefined {
                out.append(.init(.error, "CDW13[7:0] ZRA", "zone receive action \(sqe.cdw13 & 0xFF) is reserved"))
            }
        default:
            break
        }
        if sqe.fuse != 0 && op != .compare && op != .write {
            out.append(.init(.error, "CDW0[9:8] FUSE", "only Compare (first) and Write (second) can be fused"))
        }
    }
}
