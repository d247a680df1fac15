/// Picks the starting LBA of each IO inside `[regionStart, regionEnd)`: with probability `randomPercent` a uniform
/// random LBA aligned down to `alignment` blocks, otherwise the block after the previous IO (sequential, wrapping to
/// the region start). An IO never crosses `regionEnd`.
public struct AddressGenerator: Sendable {
    public let regionStart: UInt64
    public let regionEnd: UInt64
    public let alignment: UInt64
    public let randomPercent: Int
    @usableFromInline var cursor: UInt64

    /// An empty or inverted region becomes the one block at `regionStart`; alignment below 1 counts as 1 and the
    /// random percentage is clamped to 0...100.
    public init(regionStart: UInt64, regionEnd: UInt64, alignment: Int = 1, randomPercent: Int = 100) {
        let regionStart = min(regionStart, UInt64.max - 1)
        self.regionStart = regionStart
        self.regionEnd = max(regionEnd, regionStart + 1)
        self.alignment = UInt64(max(1, alignment))
        self.randomPercent = max(0, min(100, randomPercent))
        self.cursor = regionStart
    }

    /// Starting LBA for an IO of `blocks` blocks (a negative count counts as 0).
    @inlinable
    public mutating func next(blocks: Int, _ rng: inout WorkloadRandom) -> UInt64 {
        let n = UInt64(clamping: blocks)
        let span = regionEnd - regionStart
        if randomPercent == 100 || (randomPercent > 0 && rng.percent() < randomPercent) {
            let slots = span >= n ? (span - n) / alignment + 1 : 1
            let lba = regionStart + rng.below(slots) * alignment
            cursor = lba &+ n
            return lba
        }
        var lba = cursor
        if lba < regionStart || lba > regionEnd || n > regionEnd - lba { lba = regionStart }
        cursor = lba &+ n
        return lba
    }

    /// The sequential position (the block after the last IO).
    public var position: UInt64 { cursor }
}
