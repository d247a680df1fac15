import NVMePlatform
import NVMeSpec

/// One Error Information log entry — Base §5.16.1.2, Figure 205 (64 bytes).
struct ErrorLogEntry {
    var count: UInt64
    var sqid: UInt16
    var cid: UInt16
    var status: CompletionStatus
    var parameter: UInt16
    var lba: UInt64
    var nsid: UInt32

    var bytes: [UInt8] {
        var w = ByteWriter(count: 64)
        w.u64(count, at: 0)
        w.u16(sqid, at: 8)
        w.u16(cid, at: 10)
        w.u16(status.rawValue << 1, at: 12)   // bit 0 is the phase tag, bits 15:1 the status field
        w.u16(parameter, at: 14)
        w.u64(lba, at: 16)
        w.u32(nsid, at: 24)
        return w.bytes
    }
}

/// SMART / Health counters — Base §5.16.1.3, Figure 207.
struct SMARTCounters {
    var dataUnitsRead: UInt64 = 0      // thousands of 512-byte units, rounded up
    var dataUnitsWritten: UInt64 = 0
    var bytesRead: UInt64 = 0
    var bytesWritten: UInt64 = 0
    var hostReadCommands: UInt64 = 0
    var hostWriteCommands: UInt64 = 0
    var powerCycles: UInt64 = 1
    var unsafeShutdowns: UInt64 = 0
    var mediaErrors: UInt64 = 0
    var criticalWarning: UInt8 = 0

    mutating func countRead(bytes: Int) {
        hostReadCommands += 1; bytesRead += UInt64(bytes)
        dataUnitsRead = (bytesRead / 512 + 999) / 1000
    }
    mutating func countWrite(bytes: Int) {
        hostWriteCommands += 1; bytesWritten += UInt64(bytes)
        dataUnitsWritten = (bytesWritten / 512 + 999) / 1000
    }
    mutating func recomputeDataUnits() {
        dataUnitsRead = (bytesRead / 512 + 999) / 1000
        dataUnitsWritten = (bytesWritten / 512 + 999) / 1000
    }
}

/// Firmware slots and pending activation — Base §5.11/§5.12, Firmware Slot log Figure 209.
struct FirmwareState {
    var slots: [String?]
    /// Active slot, 1-based.
    var active = 1
    /// Slot to activate at the next reset, if any.
    var pendingActivation: Int?
    /// Bytes received by Firmware Image Download since the last commit.
    var image: [UInt8] = []

    init(slots: Int = 3, revision: String = "1.0") {
        self.slots = Array(repeating: nil, count: max(1, min(7, slots)))
        self.slots[0] = revision
    }

    var activeRevision: String { slots[active - 1] ?? "" }

    /// A Controller Level Reset activates a pending image (CA 001b/010b); NSSR and power cycles do too.
    mutating func activatePendingOnReset(subsystem: Bool) {
        if let p = pendingActivation, slots.indices.contains(p - 1), slots[p - 1] != nil { active = p }
        pendingActivation = nil
    }
}

/// Sanitize operation state — Base §5.24 and the Sanitize Status log (Figure 291).
struct SanitizeState {
    /// SSTAT bits 2:0: 0 never sanitized, 1 completed, 2 in progress, 3 failed.
    var status: UInt8 = 0
    var cdw10: UInt32 = 0
    var startedAt: UInt64 = 0
    var duration: UInt64 = 0
    var globalDataErased = true
    /// OVRPAT (CDW11) of the running overwrite.
    var overwritePattern: UInt32 = 0
    var inProgress: Bool { status == 2 }

    /// SPROG: fraction complete in units of 1/65536.
    func progress(now: UInt64) -> UInt16 {
        guard inProgress else { return 0xFFFF }
        guard duration > 0 else { return 0xFFFF }
        let done = min(duration, now &- startedAt)
        return UInt16(min(65_535, done * 65_536 / duration))
    }
}

/// Device self-test state — Base §5.9 and the Device Self-test log (Figure 211).
struct SelfTestState {
    struct Result { var code: UInt8; var result: UInt8; var nsid: UInt32; var powerOnHours: UInt64 }
    /// Current operation: 0 none, 1 short, 2 extended.
    var current: UInt8 = 0
    var nsid: UInt32 = 0
    var startedAt: UInt64 = 0
    var duration: UInt64 = 0
    /// Newest first, at most 20 (the log holds 20).
    var results: [Result] = []

    func percent(now: UInt64) -> UInt8 {
        guard current != 0, duration > 0 else { return 0 }
        return UInt8(min(99, (now &- startedAt) * 100 / duration))
    }

    mutating func finish(result: UInt8) {
        results.insert(Result(code: current, result: result, nsid: nsid, powerOnHours: 0), at: 0)
        if results.count > 20 { results.removeLast() }
        current = 0
    }
}

extension ControllerState {
    /// Background operations (sanitize, self-test) advance with time; called under the lock before anything
    /// reads their state.
    mutating func advanceBackgroundOperations(now: UInt64 = MonotonicClock.nanoseconds()) {
        if sanitize.inProgress && now &- sanitize.startedAt >= sanitize.duration { finishSanitize() }
        if selfTest.current != 0 && now &- selfTest.startedAt >= selfTest.duration { selfTest.finish(result: 0) }
    }

    mutating func finishSanitize() {
        let action = sanitize.cdw10 & 7
        for k in namespaces.keys {
            namespaces[k]!.eraseAll()
            if action == 3 {
                // Overwrite: fill with the pattern; represented as zero-pattern storage unless the pattern is non-zero.
                let pattern = sanitize.overwritePattern
                if pattern != 0 {
                    let ns = namespaces[k]!
                    var bytes = [UInt8](); bytes.reserveCapacity(4)
                    for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: pattern >> (8 * UInt32(i)))) }
                    let total = Int(clamping: ns.capacityBytes)
                    // Bound the work for huge namespaces: overwrite the first 16 MiB with the pattern.
                    let n = min(total, 16 << 20)
                    var buf = [UInt8](repeating: 0, count: n)
                    for i in 0..<n { buf[i] = bytes[i % 4] }
                    namespaces[k]!.data.write(offset: 0, from: buf)
                }
            }
        }
        sanitize.status = 1
        sanitize.globalDataErased = true
    }
}
