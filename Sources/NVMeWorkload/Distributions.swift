/// xoshiro256** (Blackman, Vigna 2018) seeded through splitmix64: fast, allocation-free, and the same seed gives
/// the same workload — a run that found a bug can be replayed.
public struct WorkloadRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func mix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = mix(); s1 = mix(); s2 = mix(); s3 = mix()
    }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in `0..<bound` (Lemire's multiply-shift; the tiny bias is irrelevant for load generation).
    @inlinable @inline(__always)
    public mutating func below(_ bound: UInt64) -> UInt64 {
        bound <= 1 ? 0 : next().multipliedFullWidth(by: bound).high
    }

    /// Uniform in `0..<100`, for percentages.
    @inlinable @inline(__always)
    public mutating func percent() -> Int { Int(below(100)) }
}

/// IO size in logical blocks: fixed, a list (each size equally likely), or weighted (size: weight).
public enum IOSizeDistribution: Sendable, Hashable, Codable, CustomStringConvertible {
    case fixed(Int)
    case list([Int])
    case weighted([SizeWeight])

    public struct SizeWeight: Sendable, Hashable, Codable {
        public var blocks: Int
        public var weight: Int
        public init(blocks: Int, weight: Int) { self.blocks = blocks; self.weight = weight }
    }

    /// Every (size, weight) pair; `.fixed` and `.list` as weight 1.
    public var entries: [SizeWeight] {
        switch self {
        case .fixed(let n): return [SizeWeight(blocks: n, weight: 1)]
        case .list(let l): return l.map { SizeWeight(blocks: $0, weight: 1) }
        case .weighted(let w): return w
        }
    }

    public var maxBlocks: Int { entries.map(\.blocks).max() ?? 0 }
    public var minBlocks: Int { entries.map(\.blocks).min() ?? 0 }

    /// Problems that would make the distribution unusable, one line each (empty when valid).
    public func validate(maxTransferBlocks: Int? = nil) -> [String] {
        var out: [String] = []
        let e = entries
        if e.isEmpty { out.append("the IO size distribution is empty: give at least one size, e.g. --io-size 8") }
        for s in e where s.blocks < 1 || s.blocks > 65536 {
            out.append("IO size \(s.blocks) blocks is outside 1...65536 (NLB is a 16-bit 0's based field)")
        }
        for s in e where s.weight < 0 { out.append("IO size weight \(s.weight) is negative") }
        if !e.isEmpty && e.allSatisfy({ $0.weight == 0 }) { out.append("every IO size weight is zero") }
        if let m = maxTransferBlocks, m > 0, let big = e.first(where: { $0.blocks > m }) {
            out.append("IO size \(big.blocks) blocks exceeds the controller's MDTS (\(m) blocks): use a smaller size")
        }
        return out
    }

    /// `8`, `1,8,64` (list), `8:70,64:30` (weighted), also with byte suffixes when `blockSize` is given (`4k`).
    public static func parse(_ text: String, blockSize: Int) throws(WorkloadConfigurationError) -> IOSizeDistribution {
        let parts = text.split(separator: ",").map { $0.trimmingWhitespace() }
        guard !parts.isEmpty else { throw .invalid("empty IO size: use e.g. --io-size 8 or --io-size 4k,64k or --io-size 4k:70,128k:30") }
        if parts.contains(where: { $0.contains(":") }) {
            var w: [SizeWeight] = []
            for p in parts {
                let kv = p.split(separator: ":", maxSplits: 1).map(String.init)
                guard kv.count == 2, let weight = Int(kv[1]) else {
                    throw .invalid("IO size entry '\(p)' is not SIZE:WEIGHT (e.g. 4k:70)")
                }
                guard (0...maximumWeight).contains(weight) else {
                    throw .invalid("IO size weight must be 0…\(maximumWeight); got \(weight) in '\(p)'")
                }
                w.append(SizeWeight(blocks: try parseBlocks(kv[0], blockSize: blockSize), weight: weight))
            }
            return .weighted(w)
        }
        let sizes = try parts.map { p throws(WorkloadConfigurationError) in try parseBlocks(p, blockSize: blockSize) }
        return sizes.count == 1 ? .fixed(sizes[0]) : .list(sizes)
    }

    /// The largest weight `parse` accepts, so the weights of a list add up without overflow.
    public static let maximumWeight = 1_000_000

    /// A block count (`8`) or a byte size with a k/m suffix (`4k`, `128K`, `1m`) converted to blocks.
    public static func parseBlocks(_ text: String, blockSize: Int) throws(WorkloadConfigurationError) -> Int {
        let t = text.lowercased()
        var mult = 0
        var digits = t
        for (suffix, m) in [("kib", 1024), ("kb", 1024), ("k", 1024), ("mib", 1 << 20), ("mb", 1 << 20), ("m", 1 << 20)]
        where t.hasSuffix(suffix) {
            mult = m
            digits = String(t.dropLast(suffix.count))
            break
        }
        guard let n = Int(digits), n > 0 else { throw .invalid("IO size '\(text)' is not a block count or a size like 4k") }
        if mult == 0 { return n }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: mult)
        guard !overflow else { throw .invalid("IO size '\(text)' is too large: at most 65536 blocks") }
        guard blockSize > 0, bytes % blockSize == 0 else {
            throw .invalid("IO size \(text) is not a multiple of the \(blockSize)-byte logical block")
        }
        return bytes / blockSize
    }

    public var description: String {
        switch self {
        case .fixed(let n): return "\(n)"
        case .list(let l): return l.map(String.init).joined(separator: ",")
        case .weighted(let w): return w.map { "\($0.blocks):\($0.weight)" }.joined(separator: ",")
        }
    }
}

/// The NVM commands an IOWorker issues.
public enum WorkloadOperation: String, Sendable, Hashable, Codable, CaseIterable {
    case read, write, trim, flush, writeZeroes = "write-zeroes", compare, verify

    public var opcode: UInt8 {
        switch self {
        case .flush: return 0x00
        case .write: return 0x01
        case .read: return 0x02
        case .compare: return 0x05
        case .writeZeroes: return 0x08
        case .trim: return 0x09
        case .verify: return 0x0C
        }
    }
    @usableFromInline var index: Int {
        switch self { case .read: 0; case .write: 1; case .trim: 2; case .flush: 3; case .writeZeroes: 4; case .compare: 5; case .verify: 6 }
    }
    /// Whether the command moves data through the worker's buffer.
    public var transfersData: Bool { self == .read || self == .write || self == .compare || self == .trim }
    /// Whether the command addresses an LBA range.
    public var hasRange: Bool { self != .flush }
    /// Whether it changes what the LBAs hold.
    public var modifies: Bool { self == .write || self == .trim || self == .writeZeroes }
}

/// Relative weights of the operations. `read(percent:)` is the common read/write split.
public struct OperationMix: Sendable, Hashable, Codable, CustomStringConvertible {
    public var weights: [WorkloadOperation: Int]
    public init(_ weights: [WorkloadOperation: Int]) { self.weights = weights }
    /// `percent`% reads, the rest writes.
    public static func read(percent: Int) -> OperationMix {
        OperationMix([.read: max(0, min(100, percent)), .write: 100 - max(0, min(100, percent))])
    }
    public static let readOnly = OperationMix([.read: 1])
    public static let writeOnly = OperationMix([.write: 1])

    /// `read:70,write:20,trim:5,flush:5`.
    public static func parse(_ text: String) throws(WorkloadConfigurationError) -> OperationMix {
        var w: [WorkloadOperation: Int] = [:]
        for p in text.split(separator: ",") {
            let kv = p.split(separator: ":", maxSplits: 1).map { String($0).trimmingWhitespace() }
            guard kv.count == 2, let op = WorkloadOperation(rawValue: kv[0]), let n = Int(kv[1]) else {
                let names = WorkloadOperation.allCases.map(\.rawValue).joined(separator: ", ")
                throw .invalid("op mix entry '\(p)' is not OP:WEIGHT with OP one of \(names) (e.g. read:70,write:30)")
            }
            guard (0...IOSizeDistribution.maximumWeight).contains(n) else {
                throw .invalid("op mix weight must be 0…\(IOSizeDistribution.maximumWeight); got \(n) in '\(p)'")
            }
            w[op, default: 0] += n
        }
        let mix = OperationMix(w)
        if let problem = mix.validate().first { throw .invalid(problem) }
        return mix
    }

    public func validate() -> [String] {
        var out: [String] = []
        if weights.values.contains(where: { $0 < 0 }) { out.append("op mix weights must not be negative") }
        if weights.values.reduce(0, +) <= 0 { out.append("the op mix has no operation with a positive weight (e.g. --mix read:100)") }
        return out
    }

    /// Operations with a positive weight, in a fixed order.
    public var active: [WorkloadOperation] { WorkloadOperation.allCases.filter { (weights[$0] ?? 0) > 0 } }
    public var modifies: Bool { active.contains { $0.modifies } }

    public var description: String {
        active.map { "\($0.rawValue):\(weights[$0]!)" }.joined(separator: ",")
    }
}

/// Samples from integer weights in O(1) through a precomputed alias-free table (weights are scaled to 1024 slots),
/// so the IO path neither allocates nor loops.
public struct WeightedTable<Value: Sendable>: Sendable {
    @usableFromInline let table: [Value]
    /// Throws `WorkloadConfigurationError.invalid` when no weight is positive (nothing to sample), or `slots` is
    /// outside 1...2^20.
    public init(_ pairs: [(Value, Int)], slots: Int = 4096) throws {
        guard let last = pairs.last(where: { $0.1 > 0 }) else {
            throw WorkloadConfigurationError.invalid("weights must add up to more than zero (got \(pairs.map(\.1)))")
        }
        guard (1...(1 << 20)).contains(slots) else {
            throw WorkloadConfigurationError.invalid("slots \(slots) is outside 1...\(1 << 20)")
        }
        // Doubles: weights near Int.max must not overflow the sum.
        let total = pairs.reduce(0.0) { $0 + Double(max(0, $1.1)) }
        var t: [Value] = []
        t.reserveCapacity(slots)
        var acc = 0.0
        for (v, w) in pairs where w > 0 {
            acc += Double(w)
            let upTo = min(slots, Int((acc / total * Double(slots)).rounded()))
            while t.count < upTo { t.append(v) }
        }
        while t.count < slots { t.append(last.0) }
        table = t
    }
    @inlinable @inline(__always)
    public func sample(_ rng: inout WorkloadRandom) -> Value { table[Int(rng.below(UInt64(table.count)))] }
}

public enum WorkloadConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalid(String)
    public var description: String { if case .invalid(let s) = self { return s }; return "" }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
