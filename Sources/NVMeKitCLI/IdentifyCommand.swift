import ArgumentParser
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// `nvmekit identify`: Identify Controller / Namespace / any CNS, decoded (nvme-cli field names with --json) or raw.
struct IdentifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identify",
        abstract: "Send Identify and decode the data structure (Identify Controller by default).")

    @OptionGroup var target: TargetOptions
    @Option(help: "CNS value (1 controller, 0 namespace, 2 active namespace list, ...).") var cns: Number<UInt8> = Number(1)
    @Option(help: "Namespace ID (CNS 0 and 3 need one).") var nsid: Number<UInt32> = Number(0)
    @Option(help: "Controller ID (CNTID) for CNS 12h/13h.") var cntid: Number<UInt16> = Number(0)
    @Flag(help: "Print JSON with nvme-cli's field names.") var json = false
    @Flag(help: "Print the 4096 bytes as a hexdump.") var raw = false

    func validate() throws {
        try target.validate()
        if raw && json { throw Check.unused("--json", "with --raw (the hexdump is printed)") }
    }

    func run() throws {
        try target.withController(run(on:))
    }

    /// Identify on an open controller.
    func run(on c: Controller) throws {
        let data: [UInt8]
        do {
            data = try c.identify(cns: cns.value, nsid: nsid.value, cntid: cntid.value)
        } catch let e as CommandError {
            printError(e.description)
            throw ExitCode(2)
        }
        if raw {
            print(Hexdump.format(data))
            return
        }
        switch cns.value {
        case 1:
            let id = IdentifyController(bytes: data)!
            print(json ? Report.json(id.nvmeCLIFields) : Report.text(id.reportFields))
        case 0:
            let ns = IdentifyNamespace(bytes: data)!
            print(json ? Report.json(ns.nvmeCLIFields) : Report.text(ns.reportFields))
        case 2:
            let list = NamespaceList(bytes: data)!
            print(json ? Report.json(list.reportFields) : Report.text(list.reportFields))
        default:
            print(Hexdump.format(data))
        }
    }
}

/// Prints the spec module's decoded fields as nvme-cli does: JSON with its key names, or `name : value` lines.
enum Report {
    static func render(_ v: ReportValue) -> String {
        switch v {
        case .int(let n): return String(n)
        case .uint(let n): return String(n)
        case .double(let d): return d == d.rounded() && abs(d) < 1e18 ? String(Int64(d)) : String(d)
        case .string(let s): return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .objects(let list): return "[" + list.map { "{" + $0.map { "\"\($0.name)\":\(render($0.value))" }.joined(separator: ",") + "}" }.joined(separator: ",") + "]"
        }
    }

    static func json(_ fields: [ReportField]) -> String {
        "{\n" + fields.map { "  \"\($0.name)\" : \(render($0.value))" }.joined(separator: ",\n") + "\n}"
    }

    static func text(_ fields: [ReportField]) -> String {
        var out = ""
        for f in fields {
            let key = f.name.padding(toLength: 10, withPad: " ", startingAt: 0)
            switch f.value {
            case .int(let n) where n > 9: out += "\(key): 0x\(String(n, radix: 16))\n"
            case .uint(let n) where n > 9: out += "\(key): 0x\(String(n, radix: 16))\n"
            case .objects(let list):
                for (i, o) in list.enumerated() {
                    out += "\(f.name)[\(i)]".padding(toLength: 10, withPad: " ", startingAt: 0) + ": "
                        + o.map { "\($0.name):\($0.value)" }.joined(separator: " ") + "\n"
                }
            default: out += "\(key): \(f.value)\n"
            }
        }
        return out
    }
}

extension Array where Element == UInt8 {
    func le16(_ o: Int) -> UInt16 { UInt16(self[o]) | UInt16(self[o + 1]) << 8 }
    func le32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(self[o + $1]) << (8 * UInt32($1)) } }
    func le64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(self[o + $1]) << (8 * UInt64($1)) } }
    /// Space-padded ASCII field, trailing spaces and NULs trimmed.
    func ascii(_ o: Int, _ n: Int) -> String {
        String(decoding: self[o..<(o + n)].map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }
}
