import Foundation
import NVMeSpec

/// The external oracle: nvme-cli decodes the same bytes we decode, and its `-o json` keys are our field names.
/// Every key nvme-cli prints must exist in our decoding and carry the same value; fields only we decode are fine.
enum NVMeCLIOracle {
    /// Human-readable disagreements between our fields and nvme-cli's JSON object (empty: they agree).
    static func disagreements(ours: [ReportField], nvmeCLI: [String: Any], path: String = "") -> [String] {
        var problems: [String] = []
        let byName = Dictionary(ours.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        for key in nvmeCLI.keys.sorted() {
            let theirs = nvmeCLI[key]!
            guard let mine = byName[key] else {
                problems.append("\(path)\(key): nvme-cli prints \(theirs), we decode no field of that name")
                continue
            }
            problems += compare(mine, theirs, path: "\(path)\(key)")
        }
        return problems
    }

    static func compare(_ mine: ReportValue, _ theirs: Any, path: String) -> [String] {
        switch (mine, theirs) {
        case (.string(let s), let t as String):
            return s == t ? [] : ["\(path): ours \"\(s)\", nvme-cli \"\(t)\""]
        case (.int(let v), let n as NSNumber):
            return n.int64Value == Int64(v) && n.doubleValue == Double(v) ? [] : ["\(path): ours \(v), nvme-cli \(n)"]
        case (.uint(let v), let n as NSNumber):
            return n.uint64Value == v && n.doubleValue == Double(v) ? [] : ["\(path): ours \(v), nvme-cli \(n)"]
        case (.double(let v), let n as NSNumber):
            return n.doubleValue == v ? [] : ["\(path): ours \(v), nvme-cli \(n)"]
        // nvme-cli prints 128-bit counters (tnvmcap, maxdna, SMART data units …) as decimal strings.
        case (.int(let v), let t as String):
            return t == "\(v)" ? [] : ["\(path): ours \(v), nvme-cli \"\(t)\""]
        case (.uint(let v), let t as String):
            return t == "\(v)" ? [] : ["\(path): ours \(v), nvme-cli \"\(t)\""]
        case (.double(let v), let t as String):
            return Double(t) == v ? [] : ["\(path): ours \(v), nvme-cli \"\(t)\""]
        case (.objects(let list), let array as [Any]):
            guard list.count == array.count else {
                return ["\(path): ours \(list.count) entries, nvme-cli \(array.count)"]
            }
            var problems: [String] = []
            for (i, (entry, other)) in zip(list, array).enumerated() {
                guard let object = other as? [String: Any] else {
                    problems.append("\(path)[\(i)]: nvme-cli entry is not an object: \(other)"); continue
                }
                problems += disagreements(ours: entry, nvmeCLI: object, path: "\(path)[\(i)].")
            }
            return problems
        default:
            return ["\(path): ours \(mine) (\(mine.kind)), nvme-cli \(theirs) (\(type(of: theirs)))"]
        }
    }

    /// Parses nvme-cli's `-o json` output into an object.
    static func object(_ json: Data) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw OracleError("nvme-cli's JSON is not an object: \(String(decoding: json.prefix(200), as: UTF8.self))")
        }
        return object
    }

    struct OracleError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// One structure nvme-cli prints both raw and as JSON, and our decoder for it.
    struct Case: Sendable, CustomStringConvertible {
        /// Test label, e.g. `id-ctrl`, `id-ns 2`.
        var name: String
        /// nvme-cli arguments; the device path is appended, then the output flag.
        var arguments: [String]
        /// Raw-output flag (`-b`; the zns plugin wants `-o binary`).
        var rawFlag: [String] = ["-b"]
        /// Our decoding (nvme-cli's field names and order); nil when the bytes do not decode.
        var decode: @Sendable ([UInt8]) -> [ReportField]?
        var description: String { name }
    }
}

extension ReportValue {
    var kind: String {
        switch self {
        case .int: "int"
        case .uint: "uint"
        case .double: "double"
        case .string: "string"
        case .objects: "objects"
        }
    }
}
