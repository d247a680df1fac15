import ArgumentParser
import Foundation
import NVMeSpec

/// What a blob is. Names follow nvme-cli's subcommands where one exists.
enum DecodeKind: String, ExpressibleByArgument, CaseIterable, Sendable {
    case sqe, cqe
    case idCtrl = "id-ctrl", idNs = "id-ns", nsList = "ns-list"
    case znsIdCtrl = "zns-id-ctrl", znsIdNs = "zns-id-ns"
    case errorLog = "error-log", smart, fwSlot = "fw-slot", effects, changedNs = "changed-ns"

    /// Size in bytes (nil: any multiple of 64 for the error log).
    var size: Int? {
        switch self {
        case .sqe: 64
        case .cqe: 16
        case .smart, .fwSlot: 512
        case .errorLog: nil
        default: 4096
        }
    }

    var label: String {
        switch self {
        case .sqe: "an SQE"
        case .cqe: "a CQE"
        case .idCtrl: "Identify Controller"
        case .idNs: "Identify Namespace"
        case .nsList: "a namespace list"
        case .znsIdCtrl: "ZNS Identify Controller"
        case .znsIdNs: "ZNS Identify Namespace"
        case .errorLog: "the Error Information log"
        case .smart: "the SMART / Health log"
        case .fwSlot: "the Firmware Slot log"
        case .effects: "the Commands Supported and Effects log"
        case .changedNs: "the Changed Namespace List"
        }
    }

    /// The kind a size alone identifies, or nil when several kinds share it.
    static func guess(size: Int) -> DecodeKind? {
        switch size {
        case 64: .sqe
        case 16: .cqe
        case 512, 4096: nil
        case let n where n > 0 && n % 64 == 0: .errorLog
        default: nil
        }
    }

    static func candidates(size: Int) -> [DecodeKind] { allCases.filter { $0.size == size } }
}

enum QueueChoice: String, ExpressibleByArgument, Sendable {
    case admin, io
    var kind: CommandQueueKind { self == .admin ? .admin : .io }
}

/// Bad input: one line that says what is wrong and how to fix it.
struct DecodeError: Error, CustomStringConvertible, Equatable {
    var description: String
    init(_ d: String) { description = d }
}

struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Pretty-print an SQE, CQE, Identify structure or log page given as hex or a file.",
        discussion: """
            Examples:
              nvmekit decode 06000100 00000000 ... (64 bytes)   an SQE, fields by the command's layout
              nvmekit decode --kind cqe 0000000000000000 0100 0000 0100 0300
              nvmekit decode --kind id-ctrl --file id-ctrl.bin --json
            Hex may contain spaces, commas and 0x prefixes. The kind is guessed from the size when only one kind has it
            (64 bytes: sqe, 16: cqe, other multiples of 64: error-log); 512 and 4096 bytes need --kind.
            """)

    @Argument(help: "The bytes as hex, in wire order (spaces allowed).")
    var hex: [String] = []

    @Option(name: .long, help: "Read the raw bytes from this file instead.")
    var file: String?

    @Option(name: .long, help: "What the bytes are: \(DecodeKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: DecodeKind?

    @Option(name: .long, help: "For an SQE: the queue it was posted to (opcodes differ): admin or io.")
    var queue: QueueChoice = .admin

    @Flag(name: .long, help: "Print JSON (nvme-cli's keys for id-ctrl, id-ns, smart and error-log).")
    var json = false

    mutating func run() throws {
        do {
            print(try output(), terminator: "")
        } catch let e as DecodeError {
            FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// The text `run` prints; throws `DecodeError` for bad input.
    func output() throws -> String {
        let bytes = try input()
        let kind = try resolveKind(bytes.count)
        if let size = kind.size, bytes.count != size {
            throw DecodeError("expected \(size) bytes for \(kind.label), got \(bytes.count): pass \(2 * size) hex digits or --file")
        }
        if kind == .errorLog && bytes.count % 64 != 0 {
            throw DecodeError("the Error Information log is a whole number of 64-byte entries, got \(bytes.count) bytes: pass a multiple of 128 hex digits")
        }
        if kind == .errorLog && bytes.count > 256 * 64 {
            throw DecodeError("the Error Information log has at most 256 entries (ELPE is 8 bits), got \(bytes.count / 64): pass at most 16384 bytes")
        }
        let (title, fields, nvmeCLI) = decode(kind, bytes)
        if json { return renderJSON(nvmeCLI ?? fields) }
        var out = title + "\n" + renderText(fields, indent: 2)
        if kind == .sqe, let sqe = SubmissionQueueEntry(bytes: bytes) {
            let findings = sqe.validate(queue: queue.kind)
            out += findings.isEmpty ? "  validation: no findings\n"
                : "  validation:\n" + findings.map { "    \($0)\n" }.joined()
            if queue == .admin && CommandLayout.io[sqe.opc] != nil {
                out += "  (opcode read as an admin command; pass --queue io for the I/O command set)\n"
            }
        }
        return out
    }

    func input() throws -> [UInt8] {
        if let file {
            guard hex.isEmpty else { throw DecodeError("give the bytes either as hex or with --file, not both") }
            do {
                return [UInt8](try Check.readFile("--file", file, maxBytes: Self.maximumInput))
            } catch let e as OptionError {
                throw DecodeError(e.description)
            }
        }
        guard !hex.isEmpty else { throw DecodeError("no input: pass the bytes as hex (e.g. nvmekit decode 0600…) or --file PATH") }
        let text = hex.joined(separator: " ")
        guard text.utf8.count <= 2 * Self.maximumInput + 4096 else {
            throw DecodeError("\(text.utf8.count) characters of hex is more than any structure nvmekit decodes (at most \(Self.maximumInput) bytes)")
        }
        return try Self.parseHex(text)
    }

    /// The most bytes decode reads: far more than the largest structure (a 16 KiB error log), little enough to be quick.
    static let maximumInput = 1 << 20

    /// Hex digits with optional whitespace, commas, colons and `0x` prefixes.
    static func parseHex(_ text: String) throws -> [UInt8] {
        var digits: [UInt8] = []
        for token in text.split(whereSeparator: { " \t\n\r,:".contains($0) }) {
            var t = Substring(token)
            if t.hasPrefix("0x") || t.hasPrefix("0X") { t = t.dropFirst(2) }
            for c in t {
                guard c.isASCII, let v = c.hexDigitValue else {
                    throw DecodeError("'\(c)' is not a hex digit: use 0-9 and a-f only (spaces and 0x prefixes are fine)")
                }
                digits.append(UInt8(v))
            }
        }
        guard digits.count % 2 == 0 else {
            throw DecodeError("odd number of hex digits (\(digits.count)): every byte needs two digits")
        }
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    func resolveKind(_ size: Int) throws -> DecodeKind {
        if let kind { return kind }
        if let k = DecodeKind.guess(size: size) { return k }
        // A near miss of the two queue entries: say which size was meant.
        if size > 0 && size < 16 { return .cqe }
        if size > 16 && size < 64 { return .sqe }
        let c = DecodeKind.candidates(size: size)
        if c.isEmpty {
            throw DecodeError("\(size) bytes is not the size of any structure nvmekit decodes (SQE 64, CQE 16, logs 512 or 4096): check the input or pass --kind")
        }
        throw DecodeError("\(size) bytes could be \(c.map(\.rawValue).joined(separator: ", ")): pass --kind")
    }

    /// Title, spec-named fields, and nvme-cli's fields where nvme-cli has a JSON form.
    func decode(_ kind: DecodeKind, _ b: [UInt8]) -> (String, [ReportField], [ReportField]?) {
        switch kind {
        case .sqe:
            let s = SubmissionQueueEntry(bytes: b)!
            return ("Submission Queue Entry: \(s.commandName(queue: queue.kind))", s.reportFields(queue: queue.kind), nil)
        case .cqe:
            let c = CompletionQueueEntry(bytes: b)!
            return ("Completion Queue Entry: \(c.status)", c.reportFields, nil)
        case .idCtrl:
            let c = IdentifyController(bytes: b)!
            return ("Identify Controller", c.reportFields, c.nvmeCLIFields)
        case .idNs:
            let n = IdentifyNamespace(bytes: b)!
            var f = n.reportFields
            f.insert(ReportField("in use", "LBA format \(n.formatIndex): \(n.lbaDataSize) B data + \(n.metadataSize) B metadata, PI type \(n.pit)"), at: 0)
            return ("Identify Namespace", f, n.nvmeCLIFields)
        case .nsList:
            let l = NamespaceList(bytes: b)!
            return ("Namespace List (\(l.nsids.count) entries)", l.reportFields, nil)
        case .znsIdCtrl:
            let z = ZonedIdentifyController(bytes: b)!
            return ("ZNS Identify Controller", z.reportFields, z.nvmeCLIFields)
        case .znsIdNs:
            let z = ZonedIdentifyNamespace(bytes: b)!
            let last = (0..<64).last { z[lbafe: $0].zsze != 0 } ?? 0
            return ("ZNS Identify Namespace", z.reportFields(nlbaf: last), z.nvmeCLIFields(nlbaf: last))
        case .errorLog:
            let log = ErrorInformationLog(bytes: b)
            return ("Error Information log (\(log.entries.count) entries)",
                    [ReportField("errors", .objects(log.entries.map(\.reportFields)))],
                    [ReportField("errors", .objects(log.entries.map(\.nvmeCLIFields)))])
        case .smart:
            let s = SMARTHealthLog(bytes: b)!
            return ("SMART / Health Information log", s.reportFields, s.nvmeCLIFields)
        case .fwSlot:
            let f = FirmwareSlotLog(bytes: b)!
            return ("Firmware Slot Information log", f.reportFields, nil)
        case .effects:
            let e = CommandsSupportedAndEffectsLog(bytes: b)!
            return ("Commands Supported and Effects log", e.reportFields, nil)
        case .changedNs:
            let l = NamespaceList(bytes: b)!
            return ("Changed Namespace List\(l.overflowed ? " (more than 1024 changed)" : "")", l.reportFields, nil)
        }
    }
}
