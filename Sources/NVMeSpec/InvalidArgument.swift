/// A caller passed a value outside what a function accepts. Every layer's public API throws this instead of
/// trapping, so a bad argument in a user's test fails that test, not the whole test process. The description names
/// the argument, the value given and the valid range: `depth = 0 is out of range: valid is 2...65536`.
public struct InvalidArgument: Error, Hashable, Sendable, CustomStringConvertible {
    /// The argument's label as the caller wrote it (`depth`, `blocks`, `index`, `step name`).
    public var name: String
    /// The value given, rendered.
    public var value: String
    /// The values accepted (`2...65536`, `0..<4096`, or a list).
    public var valid: String

    public init(name: String, value: String, valid: String) {
        self.name = name; self.value = value; self.valid = valid
    }

    public init(name: String, value: some BinaryInteger, valid: String) {
        self.init(name: name, value: String(value), valid: valid)
    }

    public var description: String { "\(name) = \(value) is out of range: valid is \(valid)" }

    /// Throws unless `range` contains `value`.
    @inlinable
    public static func check<T: BinaryInteger>(_ name: String, _ value: T, in range: ClosedRange<T>) throws {
        guard range.contains(value) else { throw InvalidArgument(name: name, value: value, valid: "\(range)") }
    }

    /// Throws unless `range` contains `value`.
    @inlinable
    public static func check<T: BinaryInteger>(_ name: String, _ value: T, in range: Range<T>) throws {
        guard range.contains(value) else {
            throw InvalidArgument(name: name, value: value,
                                  valid: range.isEmpty ? "nothing (the range is empty)" : "\(range)")
        }
    }
}

// MARK: Counts to 0's based wire values

extension SubmissionQueueEntry {
    /// The largest count a 16-bit 0's based field can carry (NLB, QSIZE, NSQR/NCQR): 65536.
    public static let maximumCount16 = 65536

    /// NLB (0's based, CDW12 15:0) for a transfer of `blocks` logical blocks: `blocks - 1`.
    /// Throws `InvalidArgument` unless `blocks` is in 1...65536. To send any raw NLB, set `nlb` directly.
    public static func nlb(blocks: Int) throws -> UInt16 {
        try InvalidArgument.check("blocks", blocks, in: 1...maximumCount16)
        return UInt16(blocks - 1)
    }

    /// QSIZE (0's based, CDW10 31:16 of Create I/O SQ/CQ) for a queue of `depth` entries: `depth - 1`.
    /// Throws `InvalidArgument` unless `depth` is in 1...65536 (depth 1, QSIZE 0, is encodable but invalid per
    /// §5.4/§5.5; the controller must reject it). To send any raw QSIZE, use the `qsize:` builders.
    public static func qsize(depth: Int) throws -> UInt16 {
        try InvalidArgument.check("depth", depth, in: 1...maximumCount16)
        return UInt16(depth - 1)
    }
}
