import Foundation
import NVMeSpec

/// Where a queue stood when a case began.
public struct QueueState: Hashable, Sendable, Codable {
    public var qid: UInt16
    public var depth: Int
    public var sqTail: UInt16
    public var sqHead: UInt16
    public var cqHead: UInt16
    public var cqPhase: Bool
}

/// A command exactly as posted.
public struct PostedCommand: Hashable, Sendable, Codable {
    public var qid: UInt16
    public var slot: Int
    public var cid: UInt16
    /// The 64 bytes written into the slot, hex.
    public var sqe: String
    /// The 16 bytes of its completion entry, hex (nil: none reaped).
    public var cqe: String?
    public var status: String?
}

/// A doorbell or register write exactly as performed.
public struct RegisterWrite: Hashable, Sendable, Codable {
    public var offset: Int
    public var value: UInt64
    public var what: String
}

/// Everything needed to reproduce one finding: written by the runner, read by `nvmekit fuzz --replay`.
public struct Repro: Hashable, Sendable, Codable {
    public static let currentFormat = "nvmekit-fuzz-repro/1"
    public var format = Repro.currentFormat
    public var seed: UInt64
    public var target: String
    public var oracle: OracleKind
    public var expected: String
    public var got: String
    public var caseIndex: UInt64
    public var label: String
    public var generator: GeneratorKind
    public var environment: FuzzEnvironment
    /// Queue positions when the first case below began.
    public var queueState: [QueueState]
    /// Cases run since the last re-initialisation before the failing one (oldest first), with the CIDs they used.
    public var history: [FuzzCase]
    /// The failing case, with the CIDs it used.
    public var failingCase: FuzzCase
    /// The failing case's commands and register writes as they reached the device.
    public var posted: [PostedCommand]
    public var registerWrites: [RegisterWrite]
    /// Other findings of the same case.
    public var alsoTripped: [String]

    /// Cases to run, in order.
    public var cases: [FuzzCase] { history + [failingCase] }

    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let d = try? e.encode(self) else { return "{}" }
        return String(decoding: d, as: UTF8.self)
    }

    /// Decodes a repro file; the error names the file and what is wrong with it.
    public static func load(path: String) throws -> Repro {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FuzzError.badInput("cannot read repro file \(path): check the path (repro files are written to the --out directory)")
        }
        do {
            let r = try JSONDecoder().decode(Repro.self, from: data)
            guard r.format == currentFormat else {
                throw FuzzError.badInput("\(path) is format \(r.format), this nvmekit reads \(currentFormat)")
            }
            if let problem = r.problems().first {
                throw FuzzError.badInput("\(path) is not a usable repro: \(problem)")
            }
            return r
        } catch let e as FuzzError {
            throw e
        } catch {
            throw FuzzError.badInput("\(path) is not an nvmekit fuzz repro (\(error)); repro files come from `nvmekit fuzz --out DIR`")
        }
    }

    /// Bounds of the values a repro may hold: far beyond what the generators write, close enough that the runner's
    /// arithmetic on them cannot overflow and no wait in a case can hang a replay.
    public static let offsetLimit = 1 << 40
    public static let doorbellPlusLimit = 1 << 32
    public static let waitReadyMillisecondsLimit = 60_000
    public static let waitMicrosecondsLimit = 60_000_000
    public static let entriesLimit = 65_536
    public static let casesLimit = 10_000

    /// What is wrong with a repro whose JSON decoded, one line each naming the field, its value and the range
    /// (empty when the runner can replay it).
    public func problems() -> [String] {
        var out: [String] = []
        func check(_ field: String, _ value: Int, _ range: ClosedRange<Int>) {
            if !range.contains(value) { out.append("\(field) must be \(range.lowerBound)…\(range.upperBound); got \(value)") }
        }
        check("history count", history.count, 0...Self.casesLimit)
        for (i, q) in queueState.enumerated() {
            check("queueState[\(i)].depth", q.depth, 2...65536)
            guard (2...65536).contains(q.depth) else { continue }
            check("queueState[\(i)].sqTail", Int(q.sqTail), 0...(q.depth - 1))
            check("queueState[\(i)].sqHead", Int(q.sqHead), 0...(q.depth - 1))
            check("queueState[\(i)].cqHead", Int(q.cqHead), 0...(q.depth - 1))
        }
        for (ci, c) in cases.enumerated() {
            let name = ci == history.count ? "failingCase" : "history[\(ci)]"
            check("\(name).actions count", c.actions.count, 0...Self.entriesLimit)
            for (ai, a) in c.actions.enumerated() {
                let at = "\(name).actions[\(ai)]"
                func pointer(_ field: String, _ p: Pointer?) {
                    switch p {
                    case .data(let o)?, .list(let o)?, .ring(_, _, let o)?:
                        check("\(at).\(field) offset", o, -Self.offsetLimit...Self.offsetLimit)
                    default: break
                    }
                }
                switch a {
                case .submit(let s):
                    check("\(at).submit dwords count", s.dwords.count, 16...16)
                    pointer("prp1", s.prp1); pointer("prp2", s.prp2); pointer("mptr", s.mptr)
                case .ringSubmissionTail(_, let v), .ringCompletionHead(_, let v):
                    switch v {
                    case .tail(let plus), .head(let plus):
                        check("\(at) doorbell plus", plus, -Self.doorbellPlusLimit...Self.doorbellPlusLimit)
                    case .raw: break
                    }
                case .writeRegister(let off, _):
                    check("\(at).writeRegister offset", off, 0...Self.offsetLimit)
                case .writeRegisterPointer(let off, let p):
                    check("\(at).writeRegisterPointer offset", off, 0...Self.offsetLimit)
                    pointer("pointer", p)
                case .writeList(let off, let entries):
                    check("\(at).writeList offset", off, -Self.offsetLimit...Self.offsetLimit)
                    check("\(at).writeList entries count", entries.count, 0...Self.entriesLimit)
                    for e in entries { pointer("writeList entry", e) }
                case .writeSGL(let off, let descriptors):
                    check("\(at).writeSGL offset", off, -Self.offsetLimit...Self.offsetLimit)
                    check("\(at).writeSGL descriptors count", descriptors.count, 0...Self.entriesLimit)
                    for d in descriptors { pointer("writeSGL address", d.address) }
                case .writeBytes(_, let off, let bytes):
                    check("\(at).writeBytes offset", off, -Self.offsetLimit...Self.offsetLimit)
                    check("\(at).writeBytes count", bytes.count, 0...(1 << 20))
                case .fill(_, let off, let count, _):
                    check("\(at).fill offset", off, -Self.offsetLimit...Self.offsetLimit)
                    check("\(at).fill count", count, -Self.offsetLimit...Self.offsetLimit)
                case .waitReady(_, let ms):
                    check("\(at).waitReady milliseconds", ms, 0...Self.waitReadyMillisecondsLimit)
                case .wait(let us):
                    check("\(at).wait microseconds", us, 0...Self.waitMicrosecondsLimit)
                }
            }
        }
        return out
    }

    /// File name: oracle, case index and opcode, unique within a run.
    public var fileName: String {
        let op = failingCase.submissions.first.map { FuzzSummary.opcodeKey(qid: $0.qid, opcode: $0.opcode).replacingOccurrences(of: " ", with: "-") } ?? "none"
        return "\(oracle.rawValue)-case\(caseIndex)-\(op).json"
    }
}

public enum FuzzError: Error, CustomStringConvertible, Sendable {
    case badInput(String)
    case target(String)

    public var description: String {
        switch self {
        case .badInput(let s), .target(let s): return s
        }
    }
}

func hexBytes(_ b: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8](); out.reserveCapacity(b.count * 2)
    for x in b { out.append(digits[Int(x >> 4)]); out.append(digits[Int(x & 15)]) }
    return String(decoding: out, as: UTF8.self)
}
