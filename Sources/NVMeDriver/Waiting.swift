import NVMePlatform
import NVMeSpec
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// How a wait on a completion queue pauses between looks. With an armed interrupt vector it sleeps on the vector's
/// eventfd (at most `interruptSlice` at a time, so a masked or lost interrupt costs one slice, not the deadline);
/// without one it looks `spins` times, then sleeps `minimumSleep`, doubling up to `maximumSleep`. Never past the
/// deadline.
public struct WaitBackoff: Sendable, Hashable {
    /// Looks before the first sleep (a completion is often microseconds away).
    public var spins: Int
    public var minimumSleep: Duration
    public var maximumSleep: Duration
    /// Longest single sleep on an interrupt eventfd before looking at the ring again.
    public var interruptSlice: Duration
    var looks = 0
    var sleep: Duration

    public init(spins: Int = 64, minimumSleep: Duration = .microseconds(2), maximumSleep: Duration = .milliseconds(1),
                interruptSlice: Duration = .milliseconds(10)) {
        self.spins = max(0, spins); self.minimumSleep = max(.zero, minimumSleep)
        self.maximumSleep = max(self.minimumSleep, maximumSleep); self.interruptSlice = max(.microseconds(1), interruptSlice)
        self.sleep = self.minimumSleep
    }

    /// Pauses once: sleeps on `vector`'s eventfd when `interrupts` has it armed, else spins or sleeps by the
    /// schedule. Returns the interrupt signals consumed (0 when it did not sleep on an eventfd).
    @discardableResult
    public mutating func wait(vector: UInt16?, interrupts: (any InterruptSource)?, until deadline: Deadline) throws -> UInt64 {
        if let vector, let interrupts, interrupts.enabledVectors > Int(vector) {
            return try interrupts.wait(vector: Int(vector), timeout: min(deadline.remaining, interruptSlice))
        }
        looks += 1
        if looks <= spins { return 0 }
        let d = min(sleep, deadline.remaining)
        if d > .zero {
            let (s, atto) = d.components
            var ts = timespec(tv_sec: Int(s), tv_nsec: Int(atto / 1_000_000_000))
            _ = nanosleep(&ts, nil)
        }
        sleep = min(maximumSleep, sleep * 2)
        return 0
    }
}

/// A wait asked for something the queue cannot give.
public enum WaitError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `slot` is not in `0..<depth`.
    case slotOutOfRange(qid: UInt16, slot: Int, depth: Int)
    /// `count` is not in `1..<depth` (a CQ never holds more than depth - 1 new entries).
    case countOutOfRange(qid: UInt16, count: Int, depth: Int)
    /// The CQ was created without an interrupt vector (IEN = 0), or its vector is not armed.
    case noInterruptVector(qid: UInt16)

    public var description: String {
        switch self {
        case .slotOutOfRange(let q, let s, let d): return "slot \(s) is outside CQ \(q): valid slots are 0...\(d - 1)"
        case .countOutOfRange(let q, let c, let d): return "cannot wait for \(c) entries on CQ \(q): valid counts are 1...\(d - 1)"
        case .noInterruptVector(let q): return "CQ \(q) has no armed interrupt vector (created with IEN = 0, or interrupts not enabled): poll it instead"
        }
    }
}

extension CompletionQueue {
    /// Waits until the entry in `slot` carries phase tag `phase` (the controller wrote it on the pass that expects
    /// that phase), or `deadline` passes. Independent of `head`: for tests that ring by hand and know where the
    /// controller will write. Returns the entry, nil on timeout. Consumes nothing.
    public func waitForEntry(at slot: Int, phase: Bool, until deadline: Deadline, interrupts: (any InterruptSource)?,
                             backoff: WaitBackoff = .init()) throws(WaitError) -> CQE? {
        guard slot >= 0 && slot < depth else { throw .slotOutOfRange(qid: qid, slot: slot, depth: depth) }
        var pause = backoff
        while true {
            if rmem.loadCQEDword3(at: slot &* entrySize) >> 16 & 1 == (phase ? 1 : 0) {
                Barrier.dmaRmb()
                return try? entry(at: slot)   // slot is in range: checked above
            }
            if deadline.hasPassed { return nil }
            do { try pause.wait(vector: vector, interrupts: interrupts, until: deadline) } catch {
                // The eventfd could not be read: fall back to looking without it.
                _ = try? pause.wait(vector: nil, interrupts: nil, until: deadline)
            }
        }
    }

    /// New entries visible from `head` on (by phase tag), without consuming them.
    public var visibleEntries: Int {
        var n = 0, slot = Int(head), phase: UInt32 = self.phase ? 1 : 0
        while n < depth - 1, rmem.loadCQEDword3(at: slot &* entrySize) >> 16 & 1 == phase {
            n += 1; slot += 1
            if slot == depth { slot = 0; phase ^= 1 }
        }
        return n
    }

    /// Waits until at least `count` new entries are visible from `head`, or `deadline` passes. Returns the number
    /// visible (less than `count` on timeout). Consumes nothing: `reap` them after.
    public func waitForEntries(_ count: Int, until deadline: Deadline, interrupts: (any InterruptSource)?,
                               backoff: WaitBackoff = .init()) throws(WaitError) -> Int {
        guard count >= 1 && count < depth else { throw .countOutOfRange(qid: qid, count: count, depth: depth) }
        var pause = backoff
        while true {
            let n = visibleEntries
            if n >= count || deadline.hasPassed { return n }
            do { try pause.wait(vector: vector, interrupts: interrupts, until: deadline) } catch {
                _ = try? pause.wait(vector: nil, interrupts: nil, until: deadline)
            }
        }
    }
}

extension QueuePair {
    /// Waits until the CQ's interrupt vector fires or `deadline` passes; returns the signals consumed (0 on
    /// timeout). Throws when the CQ has no armed vector.
    public func waitForInterrupt(until deadline: Deadline) throws -> UInt64 {
        guard let v = cq.vector, let interrupts, interrupts.enabledVectors > Int(v) else {
            throw WaitError.noInterruptVector(qid: cq.qid)
        }
        return try interrupts.wait(vector: Int(v), until: deadline)
    }

    /// Polls until `count` completions were delivered (to their callbacks, or returned here for commands submitted
    /// without one) or `deadline` passes, sleeping between polls (`WaitBackoff`). Returns the completions of
    /// commands submitted without a callback, in completion order.
    public func waitForCompletions(_ count: Int, until deadline: Deadline,
                                   backoff: WaitBackoff = .init()) -> [Completion] {
        var got: [Completion] = []
        var delivered = 0
        var pause = backoff
        while delivered < count {
            let n = poll { got.append($0) }
            delivered += n
            if n > 0 { continue }
            delivered += checkHealth { got.append($0) }
            if deadline.hasPassed { break }
            if (try? pause.wait(vector: cq.vector, interrupts: interrupts, until: deadline)) == nil {
                _ = try? pause.wait(vector: nil, interrupts: nil, until: deadline)
            }
        }
        return got
    }
}
