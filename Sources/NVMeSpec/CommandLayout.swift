/// One named field of a command's dwords, in spec notation: `QSIZE` is CDW10 bits 31:16.
/// A field with `hi >= 32` spans two dwords (`dword` holds bits 31:0, `dword + 1` bits 63:32), e.g. SLBA.
public struct CommandField: Hashable, Sendable, CustomStringConvertible {
    /// The spec's mnemonic.
    public let name: String
    /// First dword (0...15) the field lives in.
    public let dword: Int
    public let hi: Int
    public let lo: Int

    public init(_ name: String, _ dword: Int, _ hi: Int, _ lo: Int) {
        self.name = name; self.dword = dword; self.hi = hi; self.lo = lo
    }

    public var width: Int { hi - lo + 1 }

    public func get(_ sqe: SubmissionQueueEntry) -> UInt64 {
        if hi >= 32 { return (UInt64(sqe[dword: dword]) | UInt64(sqe[dword: dword + 1]) << 32).bits(hi, lo) }
        return UInt64(sqe[dword: dword].bits(hi, lo))
    }

    /// Writes `value` truncated to the field width; never validates.
    public func set(_ sqe: inout SubmissionQueueEntry, _ value: UInt64) {
        if hi >= 32 {
            var v = UInt64(sqe[dword: dword]) | UInt64(sqe[dword: dword + 1]) << 32
            v.setBits(hi, lo, value)
            sqe[dword: dword] = UInt32(truncatingIfNeeded: v); sqe[dword: dword + 1] = UInt32(truncatingIfNeeded: v >> 32)
        } else {
            var d = sqe[dword: dword]; d.setBits(hi, lo, UInt32(truncatingIfNeeded: value)); sqe[dword: dword] = d
        }
    }

    /// Mask of the bits this field covers in dword `d`.
    func mask(inDword d: Int) -> UInt32 {
        let full: UInt64 = fieldMask(hi, lo) << UInt64(lo)
        if d == dword { return UInt32(truncatingIfNeeded: full) }
        if d == dword + 1 && hi >= 32 { return UInt32(truncatingIfNeeded: full >> 32) }
        return 0
    }

    /// `CDW10[31:16] QSIZE`.
    public var description: String {
        hi >= 32 ? "CDW\(dword + 1):CDW\(dword)[\(hi):\(lo)] \(name)" : "CDW\(dword)[\(hi):\(lo)] \(name)"
    }
}

/// How a command uses the NSID field — NVMe Base 2.0c Figure 138/Figure 18 "Namespace Identifier Used" columns.
public enum NSIDUse: Sendable, Hashable {
    /// NSID is reserved and should be 0.
    case unused
    /// A valid active NSID is required (not 0, not FFFFFFFFh).
    case required
    /// A valid NSID or FFFFFFFFh (all namespaces).
    case requiredOrBroadcast
    /// 0, an NSID or FFFFFFFFh depending on the command's other fields.
    case optional
}

/// Which queue a command goes to.
public enum CommandQueueKind: Sendable, Hashable {
    case admin
    case io
}

/// The field layout of one command: used by `validate()` (bits outside every field are reserved) and by decoders
/// that print an SQE field by field.
public struct CommandLayout: Sendable {
    /// The spec's command name, e.g. "Create I/O Submission Queue".
    public let name: String
    public let fields: [CommandField]
    public let nsid: NSIDUse
    /// Whether DPTR (PRP1/PRP2 or SGL1) is used.
    public let usesDataPointer: Bool
    /// Whether MPTR is used.
    public let usesMetadataPointer: Bool

    public init(_ name: String, nsid: NSIDUse, data: Bool = false, metadata: Bool = false, _ fields: [CommandField]) {
        self.name = name; self.fields = fields; self.nsid = nsid
        self.usesDataPointer = data; self.usesMetadataPointer = metadata
    }

    /// Bits of dword `d` (2, 3 or 10...15) covered by some field; every other bit of those dwords is reserved.
    public func definedMask(dword d: Int) -> UInt32 {
        fields.reduce(0) { $0 | $1.mask(inDword: d) }
    }

    public func field(_ name: String) -> CommandField? { fields.first { $0.name == name } }

    public static func layout(for opcode: UInt8, queue: CommandQueueKind) -> CommandLayout? {
        queue == .admin ? admin[opcode] : io[opcode]
    }

    // Shared pieces.
    private static let slba = CommandField("SLBA", 10, 63, 0)
    private static let protection: [CommandField] = [
        CommandField("CDW2", 2, 31, 0), CommandField("CDW3", 3, 31, 0),   // LBST / upper ILBRT bits (16b/32b/64b guard)
        CommandField("ILBRT", 14, 31, 0), CommandField("LBATM", 15, 31, 16), CommandField("LBAT", 15, 15, 0),
    ]
    private static func rw(_ extra: [CommandField]) -> [CommandField] {
        [slba, CommandField("LR", 12, 31, 31), CommandField("FUA", 12, 30, 30), CommandField("PRINFO", 12, 29, 26),
         CommandField("STC", 12, 24, 24), CommandField("NLB", 12, 15, 0)] + extra + protection
    }
    private static let uuidIndex = CommandField("UIDX", 14, 6, 0)

    /// Admin commands — NVMe Base 2.0c §5.
    public static let admin: [UInt8: CommandLayout] = [
        0x00: CommandLayout("Delete I/O Submission Queue", nsid: .unused, [CommandField("QID", 10, 15, 0)]),
        0x01: CommandLayout("Create I/O Submission Queue", nsid: .unused, data: true, [
            CommandField("QSIZE", 10, 31, 16), CommandField("QID", 10, 15, 0),
            CommandField("CQID", 11, 31, 16), CommandField("QPRIO", 11, 2, 1), CommandField("PC", 11, 0, 0),
            CommandField("NVMSETID", 12, 15, 0)]),
        0x02: CommandLayout("Get Log Page", nsid: .optional, data: true, [
            CommandField("NUMDL", 10, 31, 16), CommandField("RAE", 10, 15, 15), CommandField("LSP", 10, 14, 8),
            CommandField("LID", 10, 7, 0), CommandField("LSI", 11, 31, 16), CommandField("NUMDU", 11, 15, 0),
            CommandField("LPO", 12, 63, 0), CommandField("CSI", 14, 31, 24), CommandField("OT", 14, 23, 23),
            uuidIndex]),
        0x04: CommandLayout("Delete I/O Completion Queue", nsid: .unused, [CommandField("QID", 10, 15, 0)]),
        0x05: CommandLayout("Create I/O Completion Queue", nsid: .unused, data: true, [
            CommandField("QSIZE", 10, 31, 16), CommandField("QID", 10, 15, 0),
            CommandField("IV", 11, 31, 16), CommandField("IEN", 11, 1, 1), CommandField("PC", 11, 0, 0)]),
        0x06: CommandLayout("Identify", nsid: .optional, data: true, [
            CommandField("CNTID", 10, 31, 16), CommandField("CNS", 10, 7, 0),
            CommandField("CSI", 11, 31, 24), CommandField("CNSSID", 11, 15, 0), uuidIndex]),
        0x08: CommandLayout("Abort", nsid: .unused, [CommandField("CID", 10, 31, 16), CommandField("SQID", 10, 15, 0)]),
        0x09: CommandLayout("Set Features", nsid: .optional, data: true, [
            CommandField("SV", 10, 31, 31), CommandField("FID", 10, 7, 0), CommandField("CDW11", 11, 31, 0),
            CommandField("CDW12", 12, 31, 0), CommandField("CDW13", 13, 31, 0), uuidIndex,
            CommandField("CDW15", 15, 31, 0)]),
        0x0A: CommandLayout("Get Features", nsid: .optional, data: true, [
            CommandField("SEL", 10, 10, 8), CommandField("FID", 10, 7, 0), CommandField("CDW11", 11, 31, 0),
            uuidIndex]),
        0x0C: CommandLayout("Asynchronous Event Request", nsid: .unused, []),
        0x0D: CommandLayout("Namespace Management", nsid: .optional, data: true, [
            CommandField("SEL", 10, 3, 0), CommandField("CSI", 11, 31, 24)]),
        0x10: CommandLayout("Firmware Commit", nsid: .unused, [
            CommandField("BPID", 10, 31, 31), CommandField("CA", 10, 5, 3), CommandField("FS", 10, 2, 0)]),
        0x11: CommandLayout("Firmware Image Download", nsid: .unused, data: true, [
            CommandField("NUMD", 10, 31, 0), CommandField("OFST", 11, 31, 0)]),
        0x14: CommandLayout("Device Self-test", nsid: .optional, [CommandField("STC", 10, 3, 0)]),
        0x15: CommandLayout("Namespace Attachment", nsid: .required, data: true, [CommandField("SEL", 10, 3, 0)]),
        0x18: CommandLayout("Keep Alive", nsid: .unused, []),
        0x7C: CommandLayout("Doorbell Buffer Config", nsid: .unused, data: true, []),
        0x80: CommandLayout("Format NVM", nsid: .requiredOrBroadcast, [
            CommandField("LBAFU", 10, 13, 12), CommandField("SES", 10, 11, 9), CommandField("PIL", 10, 8, 8),
            CommandField("PI", 10, 7, 5), CommandField("MSET", 10, 4, 4), CommandField("LBAFL", 10, 3, 0)]),
        0x84: CommandLayout("Sanitize", nsid: .unused, [
            CommandField("NDAS", 10, 9, 9), CommandField("OIPBP", 10, 8, 8), CommandField("OWPASS", 10, 7, 4),
            CommandField("AUSE", 10, 3, 3), CommandField("SANACT", 10, 2, 0), CommandField("OVRPAT", 11, 31, 0)]),
    ]

    /// NVM Command Set I/O commands (NVM Command Set 1.0c §3) and ZNS 1.1 (§3.4).
    public static let io: [UInt8: CommandLayout] = [
        0x00: CommandLayout("Flush", nsid: .requiredOrBroadcast, []),
        0x01: CommandLayout("Write", nsid: .required, data: true, metadata: true, rw([
            CommandField("DTYPE", 12, 23, 20), CommandField("DSPEC", 13, 31, 16), CommandField("DSM", 13, 7, 0)])),
        0x02: CommandLayout("Read", nsid: .required, data: true, metadata: true, rw([CommandField("DSM", 13, 7, 0)])),
        0x04: CommandLayout("Write Uncorrectable", nsid: .required, [slba, CommandField("NLB", 12, 15, 0)]),
        0x05: CommandLayout("Compare", nsid: .required, data: true, metadata: true, rw([])),
        0x08: CommandLayout("Write Zeroes", nsid: .required, rw([CommandField("DEAC", 12, 25, 25)])),
        0x09: CommandLayout("Dataset Management", nsid: .required, data: true, [
            CommandField("NR", 10, 7, 0), CommandField("AD", 11, 2, 2), CommandField("IDW", 11, 1, 1),
            CommandField("IDR", 11, 0, 0)]),
        0x0C: CommandLayout("Verify", nsid: .required, rw([])),
        0x79: CommandLayout("Zone Management Send", nsid: .required, data: true, [
            slba, CommandField("ZSASO", 13, 9, 9), CommandField("SELECT_ALL", 13, 8, 8),
            CommandField("ZSA", 13, 7, 0)]),
        0x7A: CommandLayout("Zone Management Receive", nsid: .required, data: true, [
            slba, CommandField("NUMD", 12, 31, 0), CommandField("PR", 13, 16, 16), CommandField("ZRASF", 13, 15, 8),
            CommandField("ZRA", 13, 7, 0)]),
        0x7D: CommandLayout("Zone Append", nsid: .required, data: true, metadata: true,
                            rw([CommandField("PIREMAP", 12, 25, 25)])),
    ]
}

extension SubmissionQueueEntry {
    /// Reads a named field of this command's layout (nil when the opcode or field is unknown).
    public func field(_ name: String, queue: CommandQueueKind) -> UInt64? {
        CommandLayout.layout(for: opc, queue: queue)?.field(name)?.get(self)
    }
}

extension SubmissionQueueEntry {
    /// The spec's name for this entry's opcode on `queue` ("Identify", "Read", "Vendor Specific"…).
    public func commandName(queue: CommandQueueKind) -> String {
        if let l = CommandLayout.layout(for: opc, queue: queue) { return l.name }
        let vendor = queue == .admin ? AdminOpcode.vendorSpecificRange : IOOpcode.vendorSpecificRange
        if vendor.contains(opc) { return "Vendor Specific" }
        if queue == .admin, let a = AdminOpcode(rawValue: opc) { return "\(a)" }
        if queue == .io, let i = IOOpcode(rawValue: opc) { return "\(i)" }
        return "Unknown Opcode"
    }

    /// Every dword, then the command's named fields (per its layout), for printing.
    public func reportFields(queue: CommandQueueKind) -> [ReportField] {
        func h32(_ v: UInt32) -> ReportValue { .string("0x" + hexDigits(UInt64(v), width: 8)) }
        func h64(_ v: UInt64) -> ReportValue { .string("0x" + hexDigits(v, width: 16)) }
        var f: [ReportField] = [
            ReportField("command", "\(commandName(queue: queue)) (\(hexDigits(UInt64(opc), width: 2))h, \(queue == .admin ? "admin" : "I/O"))"),
            ReportField("OPC", opc), ReportField("FUSE", fuse), ReportField("PSDT", psdt), ReportField("CID", cid),
            ReportField("NSID", h32(nsid)), ReportField("CDW2", h32(cdw2)), ReportField("CDW3", h32(cdw3)),
            ReportField("MPTR", h64(mptr)),
        ]
        if psdt == 0 {
            f += [ReportField("PRP1", h64(prp1)), ReportField("PRP2", h64(prp2))]
        } else {
            let d = sgl1
            f += [ReportField("SGL1", "\(d.type.map { "\($0)" } ?? "reserved type \(d.typeRaw)") address=0x\(hexDigits(d.address, width: 16)) length=\(d.length)")]
        }
        for d in 10...15 { f.append(ReportField("CDW\(d)", h32(self[dword: d]))) }
        if let layout = CommandLayout.layout(for: opc, queue: queue) {
            for field in layout.fields where !(field.name == "CDW2" || field.name == "CDW3") {
                let v = field.get(self)
                var text = "\(v)"
                switch field.name {
                case "CNS": text += " (\(IdentifyCNS(rawValue: UInt8(v)).name ?? "Reserved"))"
                case "FID": text += " (\(FeatureIdentifier(rawValue: UInt8(v)).name ?? "Reserved"))"
                case "LID": text += " (\(LogPageIdentifier(rawValue: UInt8(v)).name ?? "Reserved"))"
                case "SEL" where opc == AdminOpcode.getFeatures.rawValue && queue == .admin:
                    text += " (\(FeatureSelect(rawValue: UInt8(v)).name ?? "Reserved"))"
                case "SANACT": text += " (\(SanitizeAction(rawValue: UInt8(v)).name ?? "Reserved"))"
                case "ZSA": text += " (\(ZoneSendAction(rawValue: UInt8(v)).name ?? "Reserved"))"
                case "ZRA": text += " (\(ZoneReceiveAction(rawValue: UInt8(v)).name ?? "Reserved"))"
                case "SLBA", "LPO": text = "0x" + hexDigits(v, width: 1)
                case "NLB": text += " (\(v + 1) blocks)"
                default: break
                }
                f.append(ReportField(field.description, text))
            }
        }
        return f
    }
}

extension CompletionQueueEntry: FieldReport {
    public var reportFields: [ReportField] {
        [ReportField("DW0", .string("0x" + hexDigits(UInt64(dw0), width: 8))),
         ReportField("DW1", .string("0x" + hexDigits(UInt64(dw1), width: 8))),
         ReportField("SQHD", sqhd), ReportField("SQID", sqid), ReportField("CID", cid), ReportField("P", p),
         ReportField("SCT", status.sct), ReportField("SC", status.sc), ReportField("CRD", status.crd),
         ReportField("M", status.m), ReportField("DNR", status.dnr), ReportField("status", status.description)]
    }
}
