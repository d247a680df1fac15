import Synchronization
import NVMeSpec

/// A decoded Asynchronous Event Request completion — NVMe Base 2.0c §5.2, Figures 146-151 (DW0: Asynchronous
/// Event Type 2:0, Asynchronous Event Information 15:8, Log Page Identifier 23:16).
public struct AsyncEvent: Sendable, Hashable, CustomStringConvertible {
    public var sequence: Int
    public var dw0: UInt32
    public var type: UInt8 { UInt8(dw0 & 7) }
    public var info: UInt8 { UInt8((dw0 >> 8) & 0xFF) }
    public var logPage: UInt8 { UInt8((dw0 >> 16) & 0xFF) }
    /// The log page read (and cleared) for this event, when the handler reads log pages.
    public var log: [UInt8] = []

    public init(sequence: Int, dw0: UInt32) { self.sequence = sequence; self.dw0 = dw0 }

    public var typeName: String {
        switch type {
        case 0: return "error"
        case 1: return "smart"
        case 2: return "notice"
        case 3: return "immediate"
        case 4: return "one-shot"
        case 6: return "io-command-set"
        case 7: return "vendor"
        default: return "reserved"
        }
    }

    public var infoName: String {
        switch (type, info) {
        case (0, 0): return "write to invalid doorbell register"
        case (0, 1): return "invalid doorbell write value"
        case (0, 2): return "diagnostic failure"
        case (0, 3): return "persistent internal error"
        case (0, 4): return "transient internal error"
        case (0, 5): return "firmware image load error"
        case (1, 0): return "NVM subsystem reliability"
        case (1, 1): return "temperature threshold"
        case (1, 2): return "spare below threshold"
        case (2, 0): return "namespace attribute changed"
        case (2, 1): return "firmware activation starting"
        case (2, 2): return "telemetry log changed"
        case (2, 3): return "asymmetric namespace access change"
        case (2, 4): return "predictable latency event aggregate log change"
        case (2, 5): return "LBA status information alert"
        case (2, 6): return "endurance group event aggregate log page change"
        case (2, 7): return "normal NVM subsystem shutdown"
        case (2, 0xF0): return "discovery log page change"
        case (6, 0): return "reservation log page available"
        case (6, 1): return "sanitize operation completed"
        case (6, 2): return "sanitize operation completed with unexpected deallocation"
        default: return "information \(hexByte(info))h"
        }
    }

    /// `error / invalid doorbell write value (log page 01h)`.
    public var description: String { "\(typeName) / \(infoName) (log page \(hexByte(logPage))h)" }
}

/// Keeps AERs outstanding, decodes their completions and (by default) re-arms them and reads the log page each event
/// names. Set `autoRearm = false` to post AER commands yourself: `controller.postAsyncEventRequest()`, or
/// `admin.submit(DriverCommand.asynchronousEventRequest(), timeout: .none)` on `controller.adminQueue`. Every AER on
/// the admin queue, however posted, counts in `outstanding` and its completion lands in `events` (and still reaches
/// the submitter's callback or `poll` handler).
public final class AsyncEventHandler: @unchecked Sendable {
    struct State {
        var events: [AsyncEvent] = []
        var unserviced: [AsyncEvent] = []
        var sequence = 0
        var outstanding = 0
        var aborted = 0
    }
    let state = Mutex(State())
    /// Re-post an AER after each event (default). Off: the user owns the AER commands.
    public var autoRearm = true
    /// Read the log page named in each event (which also clears the event's condition).
    public var readsLogPages = true
    /// Called for each event as it is decoded (on the thread that polled the admin queue).
    public var onEvent: (@Sendable (AsyncEvent) -> Void)?

    /// AER commands posted and not completed.
    public var outstanding: Int {
        get { state.withLock { $0.outstanding } }
        set { state.withLock { $0.outstanding = newValue } }
    }
    public var hasEvents: Bool { state.withLock { !$0.events.isEmpty } }
    /// Events so far, without clearing them.
    public var events: [AsyncEvent] { state.withLock { $0.events } }

    /// Returns and clears the events received so far.
    public func take() -> [AsyncEvent] { state.withLock { s in defer { s.events.removeAll() }; return s.events } }

    /// One AER was submitted on the admin queue.
    func posted() { state.withLock { $0.outstanding += 1 } }

    /// Handles one AER completion (called from the admin queue's poll).
    func received(_ c: Completion) {
        var event: AsyncEvent?
        state.withLock { s in
            s.outstanding = max(0, s.outstanding - 1)
            guard c.origin == .device, c.status.isSuccess else { s.aborted += 1; return }
            s.sequence += 1
            let e = AsyncEvent(sequence: s.sequence, dw0: c.dw0)
            s.events.append(e); s.unserviced.append(e)
            event = e
        }
        if let event { onEvent?(event) }
    }

    func takeUnserviced() -> AsyncEvent? {
        state.withLock { s in s.unserviced.isEmpty ? nil : s.unserviced.removeFirst() }
    }

    func attachLog(to sequence: Int, bytes: [UInt8]) {
        state.withLock { s in
            if let i = s.events.firstIndex(where: { $0.sequence == sequence }) { s.events[i].log = bytes }
        }
    }

    func resetOutstanding() { state.withLock { $0.outstanding = 0 } }
}
