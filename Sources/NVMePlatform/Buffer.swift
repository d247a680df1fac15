import NVMeSpec

/// A window onto DMA memory with the conveniences a test writer wants (in the spirit of pynvme's `Buffer`):
/// fill patterns, byte subscripts, slices, compare with a readable diff, hexdump, and the bus-address runs that PRP
/// and SGL building consume.
///
/// A `Buffer` holds its `DMARegion`, so the memory outlives every command that points at it. Slices share the
/// region. Writes are visible to the device (and to other slices) at once; there is no copy.
public struct Buffer: Sendable {
    public let region: DMARegion
    /// Offset of byte 0 of this buffer inside `region`.
    public let offset: Int
    public let count: Int

    /// The whole region.
    public init(_ region: DMARegion) { self.region = region; self.offset = 0; self.count = region.length }

    /// `count` bytes of `region` from `offset`. Throws `InvalidArgument` unless the range lies inside the region.
    public init(_ region: DMARegion, offset: Int, count: Int) throws {
        try Self.checkRange("offset", offset, count, within: region.length, of: "the DMA region")
        self.region = region; self.offset = offset; self.count = count
    }

    /// Allocates `count` zeroed bytes from `allocator`, aligned to `alignment` (a page by default).
    public init(count: Int, alignment: Int = 4096, from allocator: any DMAAllocator) throws {
        self.init(try allocator.allocate(length: count, alignment: alignment))
    }

    /// Throws `InvalidArgument` unless `index..<index+n` lies inside `0..<size` (no overflow for any input).
    static func checkRange(_ name: String, _ index: Int, _ n: Int, within size: Int, of what: String) throws {
        guard n >= 0 else { throw InvalidArgument(name: "count", value: n, valid: "0...\(max(0, size))") }
        guard index >= 0, index <= size, n <= size - index else {
            throw InvalidArgument(name: name, value: "\(index) (with count \(n))",
                                  valid: "0...\(max(0, size - n)) for \(n) byte(s) in \(what) of \(size) bytes")
        }
    }

    /// Throws `InvalidArgument` unless `index..<index+n` lies inside the buffer.
    func check(_ name: String, _ index: Int, _ n: Int) throws {
        try Self.checkRange(name, index, n, within: count, of: "the buffer")
    }

    // MARK: Addresses

    /// Bus address of byte 0 — what goes into PRP1 or an SGL descriptor.
    public func busAddress() -> UInt64 { region.busAddress(at: offset) }

    /// Bus address of byte `index` (0...count). Throws `InvalidArgument` outside that.
    public func busAddress(at index: Int) throws -> UInt64 {
        try InvalidArgument.check("index", index, in: 0...count)
        return region.busAddress(at: offset + index)
    }

    /// Bus-contiguous runs covering the buffer, in order: the input of PRP/SGL math.
    public var busRuns: [(address: UInt64, length: Int)] { region.busRuns(offset: offset, count: count) }

    // MARK: Bytes

    /// The byte at `index` (0..<count). Throws `InvalidArgument` outside that. To write a byte:
    /// `try buffer.store(UInt8(v), at: index)`.
    public subscript(index: Int) -> UInt8 {
        get throws {
            try InvalidArgument.check("index", index, in: 0..<count)
            return region.load(at: offset + index)
        }
    }

    /// The byte subscript with a setter, as it was before reads threw: kept so tests written as `buf[i] = v` still
    /// build. A write outside the buffer still stops the process here; `try buf.store(v, at: i)` throws instead.
    @available(*, deprecated, message: "write bytes with `try buffer.store(UInt8(v), at: i)`, which throws InvalidArgument instead of trapping")
    public subscript<I: BinaryInteger>(index: I) -> UInt8 {
        get {
            guard let i = Int(exactly: index), i >= 0, i < count else {
                preconditionFailure("index \(index) outside buffer of \(count) bytes; use `try buffer.load(at:)`, which throws")
            }
            return region.load(at: offset + i)
        }
        nonmutating set {
            guard let i = Int(exactly: index), i >= 0, i < count else {
                preconditionFailure("index \(index) outside buffer of \(count) bytes; use `try buffer.store(_:at:)`, which throws")
            }
            region.store(newValue, at: offset + i)
        }
    }

    /// A slice sharing the same memory; indices restart at 0. Throws `InvalidArgument` unless `range` is inside
    /// the buffer.
    public subscript(range: Range<Int>) -> Buffer {
        get throws { try slice(offset: range.lowerBound, count: range.count) }
    }

    /// A slice sharing the same memory; indices restart at 0. Throws `InvalidArgument` unless
    /// `offset..<offset+count` is inside the buffer.
    public func slice(offset: Int, count: Int) throws -> Buffer {
        try check("offset", offset, count)
        return try Buffer(region, offset: self.offset + offset, count: count)
    }

    /// Little-endian integer at `index`. Throws `InvalidArgument` unless all its bytes are inside the buffer.
    public func load<T: FixedWidthInteger>(at index: Int, as type: T.Type = T.self) throws -> T {
        try check("index", index, MemoryLayout<T>.size)
        return region.load(at: offset + index, as: T.self)
    }

    /// Stores `value` little-endian at `index`. Throws `InvalidArgument` unless all its bytes are inside the buffer.
    public func store<T: FixedWidthInteger>(_ value: T, at index: Int) throws {
        try check("index", index, MemoryLayout<T>.size)
        region.store(value, at: offset + index)
    }

    /// A copy of the bytes.
    public var bytes: [UInt8] { region.bytes(at: offset, count: count) }

    /// A copy of `n` bytes from `index`. Throws `InvalidArgument` unless they are inside the buffer.
    public func bytes(at index: Int, count n: Int) throws -> [UInt8] {
        try check("index", index, n)
        return region.bytes(at: offset + index, count: n)
    }

    /// Copies `source` in at `index`. Throws `InvalidArgument` unless it fits inside the buffer.
    public func write(_ source: some Collection<UInt8>, at index: Int = 0) throws {
        try check("index", index, source.count)
        region.copyBytes(from: source, to: offset + index)
    }

    // MARK: Patterns

    /// What `fill` writes and `verify` expects.
    public enum Pattern: Sendable, Hashable, CustomStringConvertible {
        case zeroes
        case ones
        case byte(UInt8)
        /// A deterministic pseudo-random stream (splitmix64) from `seed`: the same seed gives the same bytes.
        case random(seed: UInt64)
        /// Per logical block of `lbaSize` bytes: bytes 0..<8 the LBA, 8..<16 `token`, the rest a pseudo-random
        /// stream seeded by both — a block read back from the wrong LBA, or from an older write, is recognisable.
        case lbaStamped(firstLBA: UInt64, lbaSize: Int, token: UInt64)

        /// Throws `InvalidArgument` for an `.lbaStamped` LBA size that is not a multiple of 8 of at least 16.
        public func validate() throws {
            if case .lbaStamped(_, let size, _) = self, size < 16 || size % 8 != 0 {
                throw InvalidArgument(name: "lbaSize", value: size, valid: "a multiple of 8, at least 16")
            }
        }

        public var description: String {
            switch self {
            case .zeroes: return "zeroes"
            case .ones: return "ones (0xff)"
            case .byte(let b): return "byte 0x\(hex(b, width: 2))"
            case .random(let seed): return "random(seed: \(seed))"
            case .lbaStamped(let lba, let size, let token):
                return "LBA-stamped(first LBA \(lba), \(size)-byte blocks, token 0x\(String(token, radix: 16)))"
            }
        }
    }

    /// Fills the whole buffer with `pattern`. Throws `InvalidArgument` for an `.lbaStamped` LBA size that is not a
    /// multiple of 8 of at least 16.
    public func fill(_ pattern: Pattern) throws {
        try pattern.validate()
        switch pattern {
        case .zeroes: region.fill(0, offset: offset, count: count)
        case .ones: region.fill(0xFF, offset: offset, count: count)
        case .byte(let b): region.fill(b, offset: offset, count: count)
        case .random, .lbaStamped:
            var gen = PatternGenerator(pattern)
            var i = 0
            while i + 8 <= count { region.store(gen.nextWord(at: i), at: offset + i); i += 8 }
            if i < count {
                let w = gen.nextWord(at: i)
                for k in 0..<(count - i) { region.store(UInt8(truncatingIfNeeded: w >> (8 * UInt64(k))), at: offset + i + k) }
            }
        }
    }

    /// The bytes `pattern` would put in a buffer of this size (for comparing a device-written buffer).
    /// Throws `InvalidArgument` for a negative count or an invalid `.lbaStamped` LBA size.
    public static func expectedBytes(_ pattern: Pattern, count: Int) throws -> [UInt8] {
        try InvalidArgument.check("count", count, in: 0...Int.max)
        try pattern.validate()
        switch pattern {
        case .zeroes: return [UInt8](repeating: 0, count: count)
        case .ones: return [UInt8](repeating: 0xFF, count: count)
        case .byte(let b): return [UInt8](repeating: b, count: count)
        case .random, .lbaStamped:
            var out = [UInt8](); out.reserveCapacity(count)
            var gen = PatternGenerator(pattern)
            var i = 0
            while i < count {
                let w = gen.nextWord(at: i)
                for k in 0..<min(8, count - i) { out.append(UInt8(truncatingIfNeeded: w >> (8 * UInt64(k)))) }
                i += 8
            }
            return out
        }
    }

    /// nil when the buffer holds exactly `pattern`, else where it differs.
    /// Throws `InvalidArgument` for an invalid `.lbaStamped` LBA size.
    public func verify(_ pattern: Pattern) throws -> BufferDifference? {
        BufferDifference(expected: try Buffer.expectedBytes(pattern, count: count), actual: bytes, what: pattern.description)
    }

    /// nil when both buffers hold the same bytes, else where they differ (`other` is the expectation).
    public func compare(to other: Buffer) -> BufferDifference? {
        BufferDifference(expected: other.bytes, actual: bytes, what: "the other buffer")
    }

    /// nil when the buffer holds `expected`, else where it differs.
    public func compare(to expected: [UInt8]) -> BufferDifference? {
        BufferDifference(expected: expected, actual: bytes, what: "the expected bytes")
    }

    /// `(lba, token)` stamped in logical block `block` by `.lbaStamped`.
    /// Throws `InvalidArgument` when the block is outside the buffer.
    public func stamp(ofBlock block: Int, lbaSize: Int) throws -> (lba: UInt64, token: UInt64) {
        try InvalidArgument.check("lbaSize", lbaSize, in: 16...Int.max)
        let blocks = count / lbaSize
        try InvalidArgument.check("block", block, in: 0..<blocks)
        return (try load(at: block * lbaSize, as: UInt64.self), try load(at: block * lbaSize + 8, as: UInt64.self))
    }

    /// `hexdump -C`-style dump of the whole buffer: offset, 16 bytes, ASCII; repeated lines collapse to `*`.
    public func hexdump() -> String { Hexdump.format(bytes, baseOffset: 0) }

    /// `hexdump -C`-style dump of `count` bytes (default: to the end) from `offset`. Throws `InvalidArgument`
    /// unless they are inside the buffer.
    public func hexdump(offset start: Int = 0, count n: Int? = nil) throws -> String {
        try InvalidArgument.check("offset", start, in: 0...count)
        let n = n ?? (count - start)
        return Hexdump.format(try bytes(at: start, count: n), baseOffset: start)
    }
}

/// Where two byte sequences differ, printed as a readable diff.
public struct BufferDifference: Sendable, Hashable, CustomStringConvertible {
    /// A run of consecutive differing bytes.
    public struct Run: Sendable, Hashable {
        public var offset: Int
        public var length: Int
    }
    public let expected: [UInt8]
    public let actual: [UInt8]
    /// Runs of differing bytes (a length mismatch is a run at the shorter length).
    public let runs: [Run]
    public let what: String

    /// nil when equal.
    init?(expected: [UInt8], actual: [UInt8], what: String) {
        var runs: [Run] = []
        let common = min(expected.count, actual.count)
        var i = 0
        while i < common {
            if expected[i] != actual[i] {
                let start = i
                while i < common && expected[i] != actual[i] { i += 1 }
                runs.append(Run(offset: start, length: i - start))
            } else { i += 1 }
        }
        if expected.count != actual.count {
            runs.append(Run(offset: common, length: max(expected.count, actual.count) - common))
        }
        guard !runs.isEmpty else { return nil }
        self.expected = expected; self.actual = actual; self.runs = runs; self.what = what
    }

    public var firstOffset: Int { runs[0].offset }
    public var differingBytes: Int { runs.reduce(0) { $0 + $1.length } }

    public var description: String {
        var lines: [String] = []
        var head = "\(differingBytes) byte(s) differ from \(what) in \(runs.count) run(s); first at 0x\(String(firstOffset, radix: 16))"
        if expected.count != actual.count { head += "; lengths differ: expected \(expected.count), actual \(actual.count)" }
        lines.append(head)
        // Up to 4 rows of 16 bytes around the first differences: expected, actual, and ^^ under each difference.
        var shownRows = Set<Int>()
        for run in runs {
            var row = run.offset / 16 * 16
            while row < run.offset + run.length && shownRows.count < 4 {
                if shownRows.insert(row).inserted {
                    let e = Array(expected[min(row, expected.count)..<min(row + 16, expected.count)])
                    let a = Array(actual[min(row, actual.count)..<min(row + 16, actual.count)])
                    let marks = (0..<16).map { k -> String in
                        let x = row + k < expected.count ? expected[row + k] : nil
                        let y = row + k < actual.count ? actual[row + k] : nil
                        return x == nil && y == nil ? "  " : (x == y ? "  " : "^^")
                    }.joined(separator: " ")
                    let off = hex(UInt64(row), width: 8)
                    lines.append("  \(off)  expected \(Hexdump.hexColumns(e))")
                    lines.append("  \(off)  actual   \(Hexdump.hexColumns(a))")
                    lines.append("  \(String(repeating: " ", count: 8))           \(marks)")
                }
                row += 16
            }
            if shownRows.count >= 4 { break }
        }
        if runs.count > 1 {
            let more = runs.prefix(8).map { "0x\(String($0.offset, radix: 16))+\($0.length)" }.joined(separator: ", ")
            lines.append("  runs: \(more)\(runs.count > 8 ? ", …" : "")")
        }
        return lines.joined(separator: "\n")
    }
}

/// `hexdump -C` formatting, shared by `Buffer` and the CLI.
public enum Hexdump {
    public static func format(_ bytes: [UInt8], baseOffset: Int = 0) -> String {
        var out: [String] = []
        var previous: ArraySlice<UInt8>?
        var starred = false
        var i = 0
        while i < bytes.count {
            let row = bytes[i..<min(i + 16, bytes.count)]
            if let p = previous, p.elementsEqual(row), row.count == 16 {
                if !starred { out.append("*"); starred = true }
            } else {
                starred = false
                let ascii = String(row.map { (0x20...0x7E).contains($0) ? Character(UnicodeScalar($0)) : "." })
                out.append("\(hex(UInt64(baseOffset + i), width: 8))  \(hexColumns(Array(row)).padding(to: 50))|\(ascii)|")
            }
            previous = row
            i += 16
        }
        out.append(hex(UInt64(baseOffset + bytes.count), width: 8))
        return out.joined(separator: "\n")
    }

    /// `de ad be ef 00 …` with an extra space after the 8th byte.
    static func hexColumns(_ row: [UInt8]) -> String {
        var s = ""
        for (k, b) in row.enumerated() {
            s += hex(b, width: 2)
            s += k == 7 ? "  " : " "
        }
        return s
    }
}

/// Lower-case hex, zero-padded to `width`.
func hex<T: BinaryInteger>(_ v: T, width: Int) -> String {
    let s = String(v, radix: 16)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

extension String {
    func padding(to n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and every 64-bit state gives a well-mixed output.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Produces the 8-byte words of a `.random` or `.lbaStamped` pattern, in order.
struct PatternGenerator {
    let pattern: Buffer.Pattern
    var rng: SplitMix64
    init(_ pattern: Buffer.Pattern) {
        self.pattern = pattern
        if case .random(let seed) = pattern { rng = SplitMix64(state: seed) } else { rng = SplitMix64(state: 0) }
    }

    /// The word at byte `index` (called with index 0, 8, 16, … in order).
    mutating func nextWord(at index: Int) -> UInt64 {
        switch pattern {
        case .lbaStamped(let first, let size, let token):
            // `Pattern.validate()` (called by every public entry) guarantees size >= 16 and a multiple of 8.
            let block = index / size, within = index % size
            let lba = first &+ UInt64(block)
            switch within {
            case 0:
                rng = SplitMix64(state: lba ^ (token &* 0x9E37_79B9_7F4A_7C15))
                return lba
            case 8: return token
            default: return rng.next()
            }
        default:
            return rng.next()
        }
    }
}
