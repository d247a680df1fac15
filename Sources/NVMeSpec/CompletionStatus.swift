/// Status Code Type — NVMe Base 2.0c §4.6.1.2, Figure 93.
public enum StatusCodeType: UInt8, Sendable, CaseIterable {
    case generic = 0x0
    case commandSpecific = 0x1
    case mediaAndDataIntegrity = 0x2
    case path = 0x3
    case vendorSpecific = 0x7
}

/// The 15-bit Status Field of a CQE (DW3 bits 31:17) — NVMe Base 2.0c §4.6.1, Figure 92. Bit 0 of `rawValue` is
/// SC bit 0; the Phase Tag is not part of it.
///
/// A completion error is data, not an exception: the driver hands this value back and the caller decides.
///
/// To ask *which* status a command ended with, compare SCT/SC only: `status.is(.invalidFieldInCommand)`,
/// `status.matches(other)` or `switch status.generic { case .invalidFieldInCommand?: … }`.
/// `==` compares every bit, DNR/More/CRD included.
public struct CompletionStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x7FFF }

    public init(sct: UInt8, sc: UInt8, crd: UInt8 = 0, m: Bool = false, dnr: Bool = false) {
        var r: UInt16 = 0
        r.setBits(7, 0, UInt16(sc)); r.setBits(10, 8, UInt16(sct)); r.setBits(12, 11, UInt16(crd))
        r.setBit(13, m); r.setBit(14, dnr)
        self.rawValue = r
    }

    public static let success = CompletionStatus(rawValue: 0)

    /// Exact comparison of the whole Status Field: SCT, SC **and** CRD, More, DNR. A controller may set DNR or CRD
    /// on any error (QEMU sets DNR), so `status == GenericStatus.invalidFieldInCommand.status` can be false for an
    /// Invalid Field in Command. To ask which status it is, use `status.is(.invalidFieldInCommand)` or
    /// `status.matches(other)`, which compare SCT/SC only.
    public static func == (a: CompletionStatus, b: CompletionStatus) -> Bool { a.rawValue == b.rawValue }

    /// Bits 7:0 — Status Code.
    public var sc: UInt8 { get { UInt8(rawValue.bits(7, 0)) } set { rawValue.setBits(7, 0, UInt16(newValue)) } }
    /// Bits 10:8 — Status Code Type (raw; see `type`).
    public var sct: UInt8 { get { UInt8(rawValue.bits(10, 8)) } set { rawValue.setBits(10, 8, UInt16(newValue)) } }
    /// Bits 12:11 — Command Retry Delay.
    public var crd: UInt8 { get { UInt8(rawValue.bits(12, 11)) } set { rawValue.setBits(12, 11, UInt16(newValue)) } }
    /// Bit 13 — More.
    public var m: Bool { get { rawValue.bit(13) } set { rawValue.setBit(13, newValue) } }
    /// Bit 14 — Do Not Retry.
    public var dnr: Bool { get { rawValue.bit(14) } set { rawValue.setBit(14, newValue) } }

    public var type: StatusCodeType? { StatusCodeType(rawValue: sct) }
    /// SCT and SC only, without CRD/M/DNR: what identifies the status.
    public var code: UInt16 { rawValue & 0x7FF }
    public var isSuccess: Bool { code == 0 }
    public var isError: Bool { !isSuccess }

    /// The spec's name for this SCT/SC pair, or a description of the reserved/vendor range it falls in.
    public var name: String { StatusNames.name(sct: sct, sc: sc) }

    /// `Invalid Field in Command (00/02)`, with ` DNR`/` M`/` CRD=n` appended when set.
    public var description: String {
        var s = "\(name) (\(hex2(sct))/\(hex2(sc)))"
        if crd != 0 { s += " CRD=\(crd)" }
        if m { s += " M" }
        if dnr { s += " DNR" }
        return s
    }
}

@inline(__always)
func hex2(_ v: UInt8) -> String {
    let h = String(v, radix: 16, uppercase: true)
    return h.count == 1 ? "0" + h : h
}
