/// The unflushed set of an `IntegrityMap`: LBA → `IntegrityMap.Pending`, as a Dictionary would hold it, but on the
/// IO path's terms. A write with a volatile write cache notes each of its blocks here; `Dictionary` hashes every key
/// with SipHash (twice for a lookup-then-store), which cost more than the rest of the write's bookkeeping. This is
/// one flat open-addressing array (linear probing, Fibonacci hashing of the LBA, at most 3/4 full): one probe
/// sequence per block, no per-entry allocation. Equality and hashing ignore the layout, as a Dictionary's do.
@usableFromInline struct PendingTable: Sendable, Hashable, Sequence {
    @usableFromInline struct Slot: Sendable, Hashable {
        var key: UInt64 = 0
        var value = IntegrityMap.Pending(durable: 0, sequence: 0, several: false)
        var used = false
    }
    @usableFromInline var slots: [Slot] = []
    @usableFromInline var count = 0
    /// 64 − log2(slots.count).
    @usableFromInline var shift: UInt64 = 64
    /// Mixed into the key before hashing, different for every capacity: a table filled in another table's slot
    /// order (merge, subrange, filter, growth) sees its keys in scrambled order instead of sorted by home slot,
    /// which would pack them into one long probe run.
    @usableFromInline var salt: UInt64 = 0

    @usableFromInline init() {}

    @inline(__always) func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: ((key ^ salt) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    @usableFromInline var isEmpty: Bool { count == 0 }

    @usableFromInline subscript(key: UInt64) -> IntegrityMap.Pending? {
        get {
            guard count > 0 else { return nil }
            let mask = slots.count - 1
            var i = home(key)
            while slots[i].used {
                if slots[i].key == key { return slots[i].value }
                i = (i &+ 1) & mask
            }
            return nil
        }
        set {
            if let v = newValue { insert(key, v) } else { remove(key) }
        }
    }

    /// Notes a modification of `key`: an entry there becomes `several` at `sequence`; otherwise, below `limit`
    /// entries, a new one holds `durable`. Returns false when a new entry was needed and `limit` was reached.
    @inline(__always) @usableFromInline
    mutating func noteModified(_ key: UInt64, sequence: UInt64, durable: UInt64, limit: Int) -> Bool {
        if !slots.isEmpty {
            let mask = slots.count - 1
            var i = home(key)
            while slots[i].used {
                if slots[i].key == key {
                    slots[i].value.several = true
                    slots[i].value.sequence = sequence
                    return true
                }
                i = (i &+ 1) & mask
            }
            if count >= limit { return false }
            if (count + 1) * 4 <= slots.count * 3 {
                slots[i] = Slot(key: key, value: .init(durable: durable, sequence: sequence, several: false), used: true)
                count += 1
                return true
            }
        } else if count >= limit {
            return false
        }
        insert(key, .init(durable: durable, sequence: sequence, several: false))
        return true
    }

    @usableFromInline mutating func insert(_ key: UInt64, _ value: IntegrityMap.Pending) {
        if (count + 1) * 4 > slots.count * 3 { resize(Swift.max(16, slots.count * 2)) }
        let mask = slots.count - 1
        var i = home(key)
        while slots[i].used {
            if slots[i].key == key { slots[i].value = value; return }
            i = (i &+ 1) & mask
        }
        slots[i] = Slot(key: key, value: value, used: true)
        count += 1
    }

    /// Removes `key` and closes the gap (backward-shift deletion keeps every probe sequence unbroken).
    @usableFromInline mutating func remove(_ key: UInt64) {
        guard count > 0 else { return }
        let mask = slots.count - 1
        var i = home(key)
        while slots[i].used {
            if slots[i].key == key { break }
            i = (i &+ 1) & mask
        }
        guard slots[i].used else { return }
        var hole = i
        var j = (i &+ 1) & mask
        while slots[j].used {
            let h = home(slots[j].key)
            // Move j into the hole unless its home lies cyclically in (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange { slots[hole] = slots[j]; hole = j }
            j = (j &+ 1) & mask
        }
        slots[hole] = Slot()
        count -= 1
    }

    mutating func resize(_ capacity: Int) {
        let old = slots
        slots = [Slot](repeating: Slot(), count: capacity)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        salt = (shift &* 0xD6E8_FEB8_6659_FD93) ^ (shift &* 0xA076_1D64_78BD_642F) >> 17
        count = 0
        let mask = capacity - 1
        for s in old where s.used {
            var i = home(s.key)
            while slots[i].used { i = (i &+ 1) & mask }
            slots[i] = s
            count += 1
        }
    }

    @usableFromInline mutating func removeAll() { slots = []; count = 0; shift = 64; salt = 0 }

    @usableFromInline func filter(_ isIncluded: ((key: UInt64, value: IntegrityMap.Pending)) -> Bool) -> PendingTable {
        var t = PendingTable()
        for e in self where isIncluded(e) { t.insert(e.key, e.value) }
        return t
    }

    @usableFromInline struct Iterator: IteratorProtocol {
        let slots: [Slot]
        var i = 0
        @usableFromInline mutating func next() -> (key: UInt64, value: IntegrityMap.Pending)? {
            while i < slots.count {
                let s = slots[i]
                i += 1
                if s.used { return (s.key, s.value) }
            }
            return nil
        }
    }
    @usableFromInline func makeIterator() -> Iterator { Iterator(slots: slots) }
    @usableFromInline var underestimatedCount: Int { count }

    @usableFromInline static func == (a: PendingTable, b: PendingTable) -> Bool {
        guard a.count == b.count else { return false }
        for (k, v) in a where b[k] != v { return false }
        return true
    }

    @usableFromInline func hash(into hasher: inout Hasher) {
        // Order-independent, as Dictionary's: the entries' own hashes are combined commutatively.
        var acc = 0
        for (k, v) in self {
            var h = Hasher()
            h.combine(k); h.combine(v)
            acc ^= h.finalize()
        }
        hasher.combine(count)
        hasher.combine(acc)
    }
}
