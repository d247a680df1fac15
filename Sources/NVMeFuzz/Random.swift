/// The fuzzer's own random numbers: every case is a pure function of (seed, case index), on every platform and
/// Swift version. Nothing here uses the system generator or the standard library's `random(in:)` algorithms,
/// whose exact output is not promised to stay the same.

/// SplitMix64 (Steele, Lea, Flood 2014): seeds xoshiro and derives per-case seeds.
public struct SplitMix64: Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman, Vigna 2018).
public struct FuzzRandom: Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
    }

    /// The generator for case `index` of a run seeded with `seed`: cases are independent, so any one can be
    /// regenerated without the ones before it.
    public init(seed: UInt64, case index: UInt64) {
        var sm = SplitMix64(seed: seed ^ (index &* 0xD1B5_4A32_D192_ED03))
        self.init(seed: sm.next())
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// Uniform in `0..<bound` (Lemire's multiply-shift with rejection); 0 when `bound` is 0.
    public mutating func below(_ bound: UInt64) -> UInt64 {
        guard bound > 0 else { return 0 }
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return m.high
    }

    public mutating func int(_ range: Range<Int>) -> Int {
        precondition(!range.isEmpty, "empty range")
        return range.lowerBound + Int(below(UInt64(range.count)))
    }

    public mutating func int(_ range: ClosedRange<Int>) -> Int { int(range.lowerBound..<(range.upperBound + 1)) }

    /// True with probability `numerator / denominator`.
    public mutating func chance(_ numerator: UInt64, in denominator: UInt64) -> Bool { below(denominator) < numerator }

    public mutating func bool() -> Bool { next() & 1 == 1 }

    public mutating func u8() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    public mutating func u16() -> UInt16 { UInt16(truncatingIfNeeded: next()) }
    public mutating func u32() -> UInt32 { UInt32(truncatingIfNeeded: next()) }

    public mutating func pick<T>(_ items: [T]) -> T {
        precondition(!items.isEmpty, "pick from an empty list")
        return items[Int(below(UInt64(items.count)))]
    }

    /// Index chosen with probability proportional to its weight.
    public mutating func weighted(_ weights: [Int]) -> Int {
        let total = weights.reduce(0) { $0 + max(0, $1) }
        precondition(total > 0, "weights sum to zero")
        var r = Int(below(UInt64(total)))
        for (i, w) in weights.enumerated() where w > 0 {
            if r < w { return i }
            r -= w
        }
        return weights.count - 1
    }

    /// A 32-bit value biased towards the edges mutators care about: 0, all ones, single bits, small numbers,
    /// boundary values, and plain random.
    public mutating func interesting32() -> UInt32 {
        switch below(8) {
        case 0: return 0
        case 1: return 0xFFFF_FFFF
        case 2: return 1 << UInt32(below(32))
        case 3: return UInt32(below(16))
        case 4: return pick([0x7FFF_FFFF, 0x8000_0000, 0xFFFF, 0x1_0000, 0xFF, 0x100, 0xFFFF_FFFE])
        default: return u32()
        }
    }
}
