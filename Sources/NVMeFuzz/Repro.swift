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
            return r
        } catch let e as FuzzError {
            throw e
        } catch {
            throw FuzzError.badInput("\(path) is not an nvmekit fuzz repro (\(error)); repro files come from `nvmekit fuzz --out DIR`")
        }
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
