/// Circular queue index arithmetic — NVMe Base 2.0c §3.3.1 (Figures 97-100 of the queue model). `size` entries
/// (1's based); the queue is empty when head == tail and full when head == tail + 1 (mod size), so it holds at most
/// size - 1 entries. The phase tag expected of new completion entries starts at 1 and flips each time the
/// consumer's head wraps; the producer's phase flips each time the tail wraps.
public struct QueueRing: Hashable, Sendable {
    public let size: Int
    public private(set) var head: UInt16
    public private(set) var tail: UInt16
    /// Phase tag the consumer expects at `head` (flips when head wraps).
    public private(set) var phase: Bool
    /// Phase tag the producer writes at `tail` (flips when tail wraps).
    public private(set) var tailPhase: Bool

    /// Throws `InvalidArgument` unless `size` is in 2...65536 (§3.3.1: a queue has at least 2 entries).
    public init(size: Int, head: UInt16 = 0, tail: UInt16 = 0, phase: Bool = true, tailPhase: Bool = true) throws {
        try InvalidArgument.check("size", size, in: 2...65536)
        self.size = size; self.head = head; self.tail = tail; self.phase = phase; self.tailPhase = tailPhase
    }

    public var isEmpty: Bool { head == tail }
    public var isFull: Bool { Int(next(tail)) == Int(head) }
    /// Entries between head and tail.
    public var count: Int { (Int(tail) - Int(head) + size) % size }
    /// Entries that can still be produced before the ring is full.
    public var freeSlots: Int { size - 1 - count }

    /// The index after `i`, wrapping at `size`.
    public func next(_ i: UInt16) -> UInt16 { UInt16((Int(i) + 1) % size) }
    /// `i + n` modulo size.
    public func index(_ i: UInt16, offsetBy n: Int) -> UInt16 { UInt16(((Int(i) + n % size) % size + size) % size) }
    /// Entries from `from` up to (excluding) `to`, walking forward with wrap.
    public func distance(from: UInt16, to: UInt16) -> Int { (Int(to) - Int(from) + size) % size }
    /// The slot indexes between head and tail, in order.
    public var occupied: [UInt16] { (0..<count).map { index(head, offsetBy: $0) } }

    /// Advances the tail by `n` (producer; n <= 0 does nothing). Flips `tailPhase` on each wrap. Never checks fullness.
    public mutating func advanceTail(by n: Int = 1) {
        for _ in 0..<max(0, n) { tail = next(tail); if tail == 0 { tailPhase.toggle() } }
    }

    /// Advances the head by `n` (consumer; n <= 0 does nothing). Flips `phase` on each wrap.
    public mutating func advanceHead(by n: Int = 1) {
        for _ in 0..<max(0, n) { head = next(head); if head == 0 { phase.toggle() } }
    }

    /// Moves the head to `newHead` (e.g. an SQHD from a CQE), flipping `phase` if it wrapped.
    public mutating func moveHead(to newHead: UInt16) {
        advanceHead(by: distance(from: head, to: newHead))
    }

    /// Moves the tail to `newTail` (e.g. a doorbell value seen by a controller), flipping `tailPhase` if it wrapped.
    public mutating func moveTail(to newTail: UInt16) {
        advanceTail(by: distance(from: tail, to: newTail))
    }

    /// Whether `value` is a valid doorbell index for this ring (less than size).
    public func isValidIndex(_ value: UInt32) -> Bool { value < UInt32(size) }
}
