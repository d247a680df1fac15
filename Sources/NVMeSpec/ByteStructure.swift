/// A fixed-size on-the-wire data structure (Identify data, log pages) kept as its raw bytes, with spec-named
/// properties that read and write little-endian fields at their spec offsets. Reserved and vendor-specific bytes
/// survive a decode → encode round trip untouched.
public protocol ByteStructure: Hashable, Sendable {
    /// Size of the structure in bytes.
    static var size: Int { get }
    /// The wire bytes (always `size` long).
    var bytes: [UInt8] { get set }
    /// An all-zero structure.
    init()
}

extension ByteStructure {
    /// Decodes from at least `size` bytes (extra bytes are ignored); nil when shorter.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count >= Self.size else { return nil }
        self.init()
        self.bytes = Array(bytes.prefix(Self.size))
    }

    @inline(__always)
    public func le<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T { readLE(bytes, offset, as: T.self) }

    // Field accessors never trap: bytes outside the structure read as 0 and writes to them are dropped, so an
    // out-of-range index (`lbaf: 99`, `psd: -1`) gives zeroes instead of killing the process.

    /// Writes `value` little-endian at `offset`; bytes that fall outside the structure are dropped.
    @inline(__always)
    public mutating func setLE<T: FixedWidthInteger>(_ offset: Int, _ value: T) {
        for i in 0..<(T.bitWidth / 8) {
            let (o, overflow) = offset.addingReportingOverflow(i)
            if !overflow, o >= 0, o < bytes.count { bytes[o] = UInt8(truncatingIfNeeded: value >> (i * 8)) }
        }
    }

    /// An ASCII field as stored, up to the first NUL (trailing spaces kept, as nvme-cli prints them).
    public func ascii(_ offset: Int, _ length: Int) -> String {
        let slice = raw(offset, length)
        let end = slice.firstIndex(of: 0) ?? slice.endIndex
        return String(decoding: slice[..<end], as: UTF8.self)
    }

    /// Writes `string` into a `length`-byte field, truncated, padded with `pad` (spaces for SN/MN/FR, NUL for NQNs).
    public mutating func setASCII(_ offset: Int, _ length: Int, _ string: String, pad: UInt8 = 0x20) {
        let utf8 = Array(string.utf8.prefix(max(0, length)))
        setRaw(offset, length, utf8 + [UInt8](repeating: pad, count: max(0, length - utf8.count)))
    }

    /// Raw bytes `offset..<offset+length` (bytes outside the structure read as 0).
    public func raw(_ offset: Int, _ length: Int) -> [UInt8] {
        (0..<max(0, length)).map { i in
            let (o, overflow) = offset.addingReportingOverflow(i)
            return !overflow && o >= 0 && o < bytes.count ? bytes[o] : 0
        }
    }

    /// Writes `length` bytes of `value` (zero-padded) at `offset`; bytes outside the structure are dropped.
    public mutating func setRaw(_ offset: Int, _ length: Int, _ value: [UInt8]) {
        for i in 0..<max(0, length) {
            let (o, overflow) = offset.addingReportingOverflow(i)
            if !overflow, o >= 0, o < bytes.count { bytes[o] = i < value.count ? value[i] : 0 }
        }
    }
}

/// One named value of a decoded structure, for printing and JSON. Names are the spec mnemonics (or nvme-cli's JSON
/// keys where noted), in the structure's order.
public struct ReportField: Hashable, Sendable {
    public var name: String
    public var value: ReportValue
    public init(_ name: String, _ value: ReportValue) { self.name = name; self.value = value }
    public init(_ name: String, _ v: some BinaryInteger) { self.init(name, .int(Int(truncatingIfNeeded: v))) }
    public init(_ name: String, _ s: String) { self.init(name, .string(s)) }
    public init(_ name: String, _ b: Bool) { self.init(name, .int(b ? 1 : 0)) }
}

public indirect enum ReportValue: Hashable, Sendable, CustomStringConvertible {
    case int(Int)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case objects([[ReportField]])

    public var description: String {
        switch self {
        case .int(let v): "\(v)"
        case .uint(let v): "\(v)"
        case .double(let v): v == v.rounded() && abs(v) < 1e18 ? "\(Int64(v))" : "\(v)"
        case .string(let s): s
        case .objects(let o): "[\(o.count) entries]"
        }
    }
}

/// A decoded structure that can list its fields.
public protocol FieldReport {
    /// Every field in spec order, named by its spec mnemonic.
    var reportFields: [ReportField] { get }
}

/// Hex string of bytes in order (`0011aabb…`), as nvme-cli prints EUI64/NGUID.
public func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { hexDigits(UInt64($0), width: 2).lowercased() }.joined()
}

/// 16 bytes as a UUID string (`00112233-4455-6677-8899-aabbccddeeff`), as nvme-cli prints FGUID.
public func uuidString(_ b: [UInt8]) -> String {
    let h = hexString(b)
    guard h.count == 32 else { return h }
    let c = Array(h)
    return [c[0..<8], c[8..<12], c[12..<16], c[16..<20], c[20..<32]].map { String($0) }.joined(separator: "-")
}

/// A decoded structure that nvme-cli can also print: the same fields with nvme-cli's JSON names, order and value
/// formatting (so `nvmekit … --json` can be diffed against `nvme … -o json`).
public protocol NVMeCLIReport {
    var nvmeCLIFields: [ReportField] { get }
}

/// Renders fields as JSON in nvme-cli's layout (json-c pretty printing: two-space indent, `"key":value`, `/`
/// escaped), so output can be diffed against `nvme … -o json` byte for byte.
public func renderJSON(_ fields: [ReportField]) -> String {
    var out = ""
    appendJSONObject(fields, indent: 0, to: &out)
    return out + "\n"
}

func appendJSONObject(_ fields: [ReportField], indent: Int, to out: inout String) {
    let pad = String(repeating: "  ", count: indent + 1)
    out += "{\n"
    for (i, f) in fields.enumerated() {
        out += pad + jsonString(f.name) + ":"
        switch f.value {
        case .int(let v): out += "\(v)"
        case .uint(let v): out += "\(v)"
        case .double(let v): out += v == v.rounded() && abs(v) < 1e18 ? "\(Int64(v))" : "\(v)"
        case .string(let s): out += jsonString(s)
        case .objects(let list):
            out += "[\n"
            for (j, o) in list.enumerated() {
                out += pad + "  "
                appendJSONObject(o, indent: indent + 2, to: &out)
                out += j == list.count - 1 ? "\n" : ",\n"
            }
            out += pad + "]"
        }
        out += i == fields.count - 1 ? "\n" : ",\n"
    }
    out += String(repeating: "  ", count: indent) + "}"
}

/// A JSON string literal with json-c's escaping (including `\/`).
public func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "/": out += "\\/"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        default:
            if u.value < 0x20 { out += "\\u" + hexDigits(UInt64(u.value), width: 4).lowercased() } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

/// Renders fields for people: `name : value`, names padded to a column, nested lists indented.
public func renderText(_ fields: [ReportField], indent: Int = 0) -> String {
    let width = fields.map(\.name.count).max() ?? 0
    let pad = String(repeating: " ", count: indent)
    var out = ""
    for f in fields {
        let name = f.name + String(repeating: " ", count: width - f.name.count)
        if case .objects(let list) = f.value {
            for (i, o) in list.enumerated() {
                out += "\(pad)\(f.name)[\(i)]\n" + renderText(o, indent: indent + 2)
            }
        } else {
            out += "\(pad)\(name) : \(f.value)\n"
        }
    }
    return out
}
