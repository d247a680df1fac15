// Comparing a completion's status by what identifies it — SCT and SC (NVMe Base 2.0c §4.6.1, Figure 92) — and not
// by the modifier bits a controller may set on the same status (DNR, More, CRD). QEMU, for one, sets DNR on most
// errors, so `status == GenericStatus.invalidFieldInCommand.status` is false there while
// `status.is(.invalidFieldInCommand)` is true.
//
// Which to use:
// - `status.is(.invalidFieldInCommand)`, `status.is(any: [...])`, `status.matches(other)`: SCT/SC only. Use these
//   in tests and in code that decides what happened. To branch: `switch status.generic { case .invalidFieldInCommand?: … }`
//   (`generic`, `commandSpecific`, `mediaAndDataIntegrity`, `path` in StatusNames.swift).
// - `status == other`: every bit of the 15-bit Status Field, DNR/M/CRD included. Use it only to pin the exact
//   field a controller posted.

/// A named status code of one Status Code Type: `GenericStatus`, `CommandSpecificStatus`,
/// `MediaAndDataIntegrityStatus`, `PathStatus`.
public protocol StatusCode: Sendable, CustomStringConvertible {
    /// The status with CRD/M/DNR clear.
    var status: CompletionStatus { get }
}

extension GenericStatus: StatusCode {}
extension CommandSpecificStatus: StatusCode {}
extension MediaAndDataIntegrityStatus: StatusCode {}
extension PathStatus: StatusCode {}

extension CompletionStatus {
    /// Whether SCT and SC equal `other`'s, whatever DNR, More and CRD say.
    public func matches(_ other: CompletionStatus) -> Bool { code == other.code }

    /// Whether this is `code` (SCT/SC only; DNR, More and CRD are ignored): `status.is(.invalidFieldInCommand)`.
    public func `is`(_ code: GenericStatus) -> Bool { matches(code.status) }
    /// Whether this is `code` (SCT/SC only): `status.is(.invalidQueueIdentifier)`.
    public func `is`(_ code: CommandSpecificStatus) -> Bool { matches(code.status) }
    /// Whether this is `code` (SCT/SC only): `status.is(.unrecoveredReadError)`.
    public func `is`(_ code: MediaAndDataIntegrityStatus) -> Bool { matches(code.status) }
    /// Whether this is `code` (SCT/SC only): `status.is(.commandAbortedByHost)`.
    public func `is`(_ code: PathStatus) -> Bool { matches(code.status) }
    /// Whether this is `code`, any Status Code Type (SCT/SC only).
    public func `is`(_ code: any StatusCode) -> Bool { matches(code.status) }

    /// Whether this is any of `codes` (SCT/SC only), for commands a spec allows to fail in more than one way:
    /// `status.is(any: [GenericStatus.invalidFieldInCommand, CommandSpecificStatus.invalidQueueSize])`.
    public func `is`(any codes: [any StatusCode]) -> Bool { codes.contains { matches($0.status) } }

    /// `SCT 0h SC 02h Invalid Field in Command`: the identifying part, without the modifier bits.
    public var codeDescription: String {
        "SCT \(String(sct, radix: 16, uppercase: true))h SC \(hex2(sc))h \(name)"
    }
}

extension CompletionStatus: CustomDebugStringConvertible {
    /// Every field: `CompletionStatus(sct: 0h, sc: 02h Invalid Field in Command, crd: 0, m: 0, dnr: 1)`.
    public var debugDescription: String {
        "CompletionStatus(sct: \(String(sct, radix: 16, uppercase: true))h, sc: \(hex2(sc))h \(name), crd: \(crd), m: \(m ? 1 : 0), dnr: \(dnr ? 1 : 0))"
    }
}
