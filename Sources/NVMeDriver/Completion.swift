import Logging
import NVMeSpec

/// How a command ended. Anything but `.device` was completed locally by the driver, never by the controller.
public enum CompletionOrigin: String, Sendable, Codable, Hashable {
    /// The controller posted a CQE.
    case device
    /// A reset (controller, subsystem, function, shutdown) happened while the command was outstanding.
    case abortedByReset
    /// The command's deadline passed; its CID stays quarantined until the controller answers or the queue is re-created.
    case timedOut
    /// The device disappeared (registers read all ones).
    case deviceRemoved
}

/// The result of one command: a value, never an exception unless the caller asks with `check(.throwing)`.
public struct Completion: Sendable, Hashable {
    public var origin: CompletionOrigin
    public var sqe: SQE
    /// The controller's CQE; for local completions a synthesized one carrying `status`, the CID and the SQ id.
    public var cqe: CQE
    /// Submission to completion, nanoseconds.
    public var latencyNanoseconds: UInt64

    public init(origin: CompletionOrigin, sqe: SQE, cqe: CQE, latencyNanoseconds: UInt64) {
        self.origin = origin; self.sqe = sqe; self.cqe = cqe; self.latencyNanoseconds = latencyNanoseconds
    }

    /// The status of the CQE. Local completions use the spec's host-side path statuses: 03/71 Command Aborted By
    /// Host (reset, timeout) and 03/70 Host Pathing Error (device removed); `origin` tells them apart.
    public var status: CompletionStatus { cqe.status }
    public var isSuccess: Bool { origin == .device && status.isSuccess }
    /// Command specific DW0 of the CQE (e.g. the value of Get Features).
    public var dw0: UInt32 { cqe.dw0 }
    public var cid: UInt16 { sqe.cid }

    /// Status a locally completed command carries.
    public static func localStatus(for origin: CompletionOrigin) -> CompletionStatus {
        switch origin {
        case .device: return .success
        case .abortedByReset, .timedOut: return CompletionStatus(sct: 3, sc: 0x71, dnr: false)
        case .deviceRemoved: return CompletionStatus(sct: 3, sc: 0x70, dnr: true)
        }
    }

    /// `ERROR status: 00/02 Invalid Field in Command` (pynvme's line), with the origin for local completions.
    public var statusLine: String {
        let s = status
        var line = "ERROR status: \(hex2(s.sct))/\(hex2(s.sc)) \(s.name)"
        if origin != .device { line += " [\(origin.rawValue), completed by the driver]" }
        return line
    }

    /// Applies a per-call-site policy to a failed completion: throw, log a warning line, or stay silent.
    /// Returns self when it does not throw.
    @discardableResult
    public func check(_ policy: StatusPolicy = .throwing, logger: Logger? = nil) throws(CommandError) -> Completion {
        if isSuccess { return self }
        switch policy {
        case .throwing: throw CommandError(completion: self)
        case .logging: (logger ?? DriverLog.logger).warning("\(statusLine)")
        case .silent: break
        }
        return self
    }
}

/// What to do with a failed completion at a call site.
public enum StatusPolicy: Sendable, Hashable {
    /// Throw `CommandError`.
    case throwing
    /// Log `ERROR status: sct/sc name` as a warning and go on (pynvme's default).
    case logging
    /// Return the completion; the caller inspects it.
    case silent
}

/// A failed command, thrown only where the caller chose `.throwing`.
public struct CommandError: Error, Sendable, Hashable, CustomStringConvertible {
    public var completion: Completion
    /// The last command-log entries of the command's queue at the time of the failure, rendered.
    public var recentCommands: String = ""
    public init(completion: Completion, recentCommands: String = "") {
        self.completion = completion; self.recentCommands = recentCommands
    }
    public var description: String {
        let op = String(completion.sqe.opc, radix: 16)
        var s = "\(completion.statusLine) (opcode \(op)h, cid \(completion.sqe.cid), sq \(completion.cqe.sqid))"
        if !recentCommands.isEmpty { s += "\nrecent commands:\n" + recentCommands }
        return s
    }
}

/// Why a command could not be submitted.
public enum SubmitError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No free slot: the controller has not consumed enough entries (reap completions first).
    case queueFull(qid: UInt16)
    /// Every command identifier is outstanding or quarantined by a timeout.
    case noFreeCommandIdentifier(qid: UInt16)
    /// The device is gone (registers read all ones).
    case deviceRemoved
    /// The queue was deleted or the controller is resetting.
    case queueUnavailable(qid: UInt16)

    public var description: String {
        switch self {
        case .queueFull(let q): return "SQ \(q) is full: reap completions (poll) before posting more"
        case .noFreeCommandIdentifier(let q): return "SQ \(q) has no free command identifier: reap completions, or recreate the queue to release CIDs quarantined by timeouts"
        case .deviceRemoved: return "the device is gone (CSTS reads FFFFFFFFh): re-bind it and open it again"
        case .queueUnavailable(let q): return "queue \(q) is not usable (deleted, or the controller is resetting)"
        }
    }
}

/// The driver's logger (`nvmekit.driver`).
public enum DriverLog {
    public static let logger = Logger(label: "nvmekit.driver")
}

@inline(__always)
func hex2(_ v: UInt8) -> String {
    let h = String(v, radix: 16, uppercase: true)
    return h.count == 1 ? "0" + h : h
}
