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

    func run() throws {
        let c = try target.openController()
        defer { target.finish(c) }
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
        let fields: [(String, IdentifyValue)]
        switch cns.value {
        case 1: fields = IdentifyFields.controller(data)
        case 0: fields = IdentifyFields.namespace(data)
        case 2:
            var ids: [IdentifyValue] = []
            for i in 0..<1024 {
                let v = data.le32(4 * i); if v == 0 { break }; ids.append(.number(UInt64(v)))
            }
            fields = [("nsid_list", .list(ids))]
        default:
            print(Hexdump.format(data)); return
        }
        print(json ? IdentifyFields.json(fields) : IdentifyFields.text(fields))
    }
}

enum IdentifyValue {
    case number(UInt64), string(String), list([IdentifyValue]), object([(String, IdentifyValue)])
}

/// Identify decoders with nvme-cli's JSON field names (NVMe Base 2.0c Figure 275 and NVM Command Set Figure 97).
enum IdentifyFields {
    static func controller(_ d: [UInt8]) -> [(String, IdentifyValue)] {
        var psds: [IdentifyValue] = []
        let npss = Int(d[263])
        for i in 0...min(npss, 31) {
            let o = 2048 + 32 * i
            psds.append(.object([("max_power", .number(UInt64(d.le16(o)))), ("flags", .number(UInt64(d[o + 3]))),
                                 ("entry_lat", .number(UInt64(d.le32(o + 4)))), ("exit_lat", .number(UInt64(d.le32(o + 8))))]))
        }
        return [
            ("vid", .number(UInt64(d.le16(0)))), ("ssvid", .number(UInt64(d.le16(2)))),
            ("sn", .string(d.ascii(4, 20))), ("mn", .string(d.ascii(24, 40))), ("fr", .string(d.ascii(64, 8))),
            ("rab", .number(UInt64(d[72]))),
            ("ieee", .number(UInt64(d[73]) | UInt64(d[74]) << 8 | UInt64(d[75]) << 16)),
            ("cmic", .number(UInt64(d[76]))), ("mdts", .number(UInt64(d[77]))), ("cntlid", .number(UInt64(d.le16(78)))),
            ("ver", .number(UInt64(d.le32(80)))), ("rtd3r", .number(UInt64(d.le32(84)))), ("rtd3e", .number(UInt64(d.le32(88)))),
            ("oaes", .number(UInt64(d.le32(92)))), ("ctratt", .number(UInt64(d.le32(96)))), ("rrls", .number(UInt64(d.le16(100)))),
            ("cntrltype", .number(UInt64(d[111]))), ("crdt1", .number(UInt64(d.le16(128)))),
            ("crdt2", .number(UInt64(d.le16(130)))), ("crdt3", .number(UInt64(d.le16(132)))),
            ("oacs", .number(UInt64(d.le16(256)))), ("acl", .number(UInt64(d[258]))), ("aerl", .number(UInt64(d[259]))),
            ("frmw", .number(UInt64(d[260]))), ("lpa", .number(UInt64(d[261]))), ("elpe", .number(UInt64(d[262]))),
            ("npss", .number(UInt64(d[263]))), ("avscc", .number(UInt64(d[264]))), ("apsta", .number(UInt64(d[265]))),
            ("wctemp", .number(UInt64(d.le16(266)))), ("cctemp", .number(UInt64(d.le16(268)))),
            ("mtfa", .number(UInt64(d.le16(270)))), ("hmpre", .number(UInt64(d.le32(272)))), ("hmmin", .number(UInt64(d.le32(276)))),
            ("tnvmcap", .number(d.le64(280))), ("unvmcap", .number(d.le64(296))),
            ("rpmbs", .number(UInt64(d.le32(312)))), ("edstt", .number(UInt64(d.le16(316)))), ("dsto", .number(UInt64(d[318]))),
            ("fwug", .number(UInt64(d[319]))), ("kas", .number(UInt64(d.le16(320)))), ("hctma", .number(UInt64(d.le16(322)))),
            ("mntmt", .number(UInt64(d.le16(324)))), ("mxtmt", .number(UInt64(d.le16(326)))), ("sanicap", .number(UInt64(d.le32(328)))),
            ("sqes", .number(UInt64(d[512]))), ("cqes", .number(UInt64(d[513]))), ("maxcmd", .number(UInt64(d.le16(514)))),
            ("nn", .number(UInt64(d.le32(516)))), ("oncs", .number(UInt64(d.le16(520)))), ("fuses", .number(UInt64(d.le16(522)))),
            ("fna", .number(UInt64(d[524]))), ("vwc", .number(UInt64(d[525]))), ("awun", .number(UInt64(d.le16(526)))),
            ("awupf", .number(UInt64(d.le16(528)))), ("icsvscc", .number(UInt64(d[530]))), ("nwpc", .number(UInt64(d[531]))),
            ("acwu", .number(UInt64(d.le16(532)))), ("ocfs", .number(UInt64(d.le16(534)))), ("sgls", .number(UInt64(d.le32(536)))),
            ("mnan", .number(UInt64(d.le32(540)))), ("subnqn", .string(d.ascii(768, 256))),
            ("psds", .list(psds)),
        ]
    }

    static func namespace(_ d: [UInt8]) -> [(String, IdentifyValue)] {
        let nlbaf = Int(d[25])
        var lbafs: [IdentifyValue] = []
        for i in 0...min(nlbaf, 63) {
            let o = 128 + 4 * i
            lbafs.append(.object([("ms", .number(UInt64(d.le16(o)))), ("ds", .number(UInt64(d[o + 2]))),
                                  ("rp", .number(UInt64(d[o + 3] & 3)))]))
        }
        return [
            ("nsze", .number(d.le64(0))), ("ncap", .number(d.le64(8))), ("nuse", .number(d.le64(16))),
            ("nsfeat", .number(UInt64(d[24]))), ("nlbaf", .number(UInt64(d[25]))), ("flbas", .number(UInt64(d[26]))),
            ("mc", .number(UInt64(d[27]))), ("dpc", .number(UInt64(d[28]))), ("dps", .number(UInt64(d[29]))),
            ("nmic", .number(UInt64(d[30]))), ("rescap", .number(UInt64(d[31]))), ("fpi", .number(UInt64(d[32]))),
            ("dlfeat", .number(UInt64(d[33]))), ("nawun", .number(UInt64(d.le16(34)))), ("nawupf", .number(UInt64(d.le16(36)))),
            ("nacwu", .number(UInt64(d.le16(38)))), ("nabsn", .number(UInt64(d.le16(40)))), ("nabo", .number(UInt64(d.le16(42)))),
            ("nabspf", .number(UInt64(d.le16(44)))), ("noiob", .number(UInt64(d.le16(46)))),
            ("nvmcap", .number(d.le64(48))), ("mssrl", .number(UInt64(d.le16(74)))), ("mcl", .number(UInt64(d.le32(76)))),
            ("msrc", .number(UInt64(d[80]))), ("anagrpid", .number(UInt64(d.le32(92)))), ("nsattr", .number(UInt64(d[99]))),
            ("nvmsetid", .number(UInt64(d.le16(100)))), ("endgid", .number(UInt64(d.le16(102)))),
            ("nguid", .string(d[104..<120].map { String(format: "%02x", $0) }.joined())),
            ("eui64", .string(d[120..<128].map { String(format: "%02x", $0) }.joined())),
            ("lbafs", .list(lbafs)),
        ]
    }

    static func render(_ v: IdentifyValue) -> String {
        switch v {
        case .number(let n): return String(n)
        case .string(let s): return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .list(let l): return "[" + l.map(render).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.map { "\"\($0.0)\":\(render($0.1))" }.joined(separator: ",") + "}"
        }
    }

    static func json(_ fields: [(String, IdentifyValue)]) -> String {
        "{\n" + fields.map { "  \"\($0.0)\" : \(render($0.1))" }.joined(separator: ",\n") + "\n}"
    }

    static func text(_ fields: [(String, IdentifyValue)]) -> String {
        var out = ""
        for (k, v) in fields {
            switch v {
            case .number(let n): out += k.padding(toLength: 10, withPad: " ", startingAt: 0) + ": " + (n > 9 ? "0x" + String(n, radix: 16) : String(n)) + "\n"
            case .string(let s): out += k.padding(toLength: 10, withPad: " ", startingAt: 0) + ": " + s + "\n"
            case .list(let l):
                for (i, e) in l.enumerated() { out += "\(k)[\(i)]".padding(toLength: 10, withPad: " ", startingAt: 0) + ": " + render(e) + "\n" }
            case .object: out += k + ": " + render(v) + "\n"
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
