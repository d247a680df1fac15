import NVMeSpec

extension Completion: CustomStringConvertible, CustomDebugStringConvertible {
    /// Whether the controller completed it with `code` (SCT/SC only; DNR, More, CRD ignored):
    /// `c.is(.invalidFieldInCommand)`. False for a command the driver completed locally unless `code` is the
    /// host-side status it carries (`PathStatus.commandAbortedByHost`, `.hostPathingError`).
    public func `is`(_ code: GenericStatus) -> Bool { status.is(code) }
    /// `c.is(.invalidQueueIdentifier)` (SCT/SC only).
    public func `is`(_ code: CommandSpecificStatus) -> Bool { status.is(code) }
    /// `c.is(.unrecoveredReadError)` (SCT/SC only).
    public func `is`(_ code: MediaAndDataIntegrityStatus) -> Bool { status.is(code) }
    /// `c.is(.commandAbortedByHost)` (SCT/SC only).
    public func `is`(_ code: PathStatus) -> Bool { status.is(code) }
    /// Whether the status is any of `codes` (SCT/SC only).
    public func `is`(any codes: [any StatusCode]) -> Bool { status.is(any: codes) }

    /// `Completion(opc: 06h, cid: 7, sqid: 0, status: SCT 0h SC 02h Invalid Field in Command, dnr: 1, dw0: 0x0,
    /// origin: device, latency: 12345 ns)`.
    public var description: String {
        var f: [(String, String)] = [("opc", hex2(sqe.opc) + "h"), ("cid", "\(sqe.cid)"), ("sqid", "\(cqe.sqid)"),
                                     ("status", status.codeDescription)]
        if status.crd != 0 { f.append(("crd", "\(status.crd)")) }
        if status.m { f.append(("m", "1")) }
        f += [("dnr", status.dnr ? "1" : "0"), ("dw0", "0x" + String(cqe.dw0, radix: 16, uppercase: true)),
              ("origin", origin.rawValue), ("latency", "\(latencyNanoseconds) ns")]
        return "Completion(" + f.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + ")"
    }

    /// The whole command and entry: `Completion(origin: device, latency: 12345 ns, sqe: SQE(…), cqe: CQE(…))`.
    public var debugDescription: String {
        "Completion(origin: \(origin.rawValue), latency: \(latencyNanoseconds) ns, sqe: \(sqe.debugDescription), cqe: \(cqe.debugDescription))"
    }
}
