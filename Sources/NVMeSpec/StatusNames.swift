/// Names for every status code the spec defines — NVMe Base 2.0c §4.6.1.2.1-2.4 (Figures 94-103) and the NVM / ZNS
/// command set specifications' command-specific and media statuses. The values live in `GenericStatus`,
/// `CommandSpecificStatus`, `MediaAndDataIntegrityStatus` and `PathStatus`.
public enum StatusNames {
    public static func name(sct: UInt8, sc: UInt8) -> String {
        switch StatusCodeType(rawValue: sct) {
        case .generic: return GenericStatus(rawValue: sc)?.name ?? reserved(sc)
        case .commandSpecific: return CommandSpecificStatus(rawValue: sc)?.name ?? reserved(sc)
        case .mediaAndDataIntegrity: return MediaAndDataIntegrityStatus(rawValue: sc)?.name ?? reserved(sc)
        case .path: return PathStatus(rawValue: sc)?.name ?? reserved(sc)
        case .vendorSpecific: return "Vendor Specific"
        case nil: return "Reserved Status Code Type"
        }
    }

    /// Undefined codes: C0h-FFh are vendor specific in every type; 80h-BFh belong to I/O command sets.
    static func reserved(_ sc: UInt8) -> String {
        if sc >= 0xC0 { return "Vendor Specific" }
        if sc >= 0x80 { return "Reserved (I/O Command Set Specific)" }
        return "Reserved"
    }
}

extension CompletionStatus {
    public init(_ s: GenericStatus, dnr: Bool = false) { self.init(sct: GenericStatus.sct, sc: s.rawValue, dnr: dnr) }
    public init(_ s: CommandSpecificStatus, dnr: Bool = false) {
        self.init(sct: CommandSpecificStatus.sct, sc: s.rawValue, dnr: dnr)
    }
    public init(_ s: MediaAndDataIntegrityStatus, dnr: Bool = false) {
        self.init(sct: MediaAndDataIntegrityStatus.sct, sc: s.rawValue, dnr: dnr)
    }
    public init(_ s: PathStatus, dnr: Bool = false) { self.init(sct: PathStatus.sct, sc: s.rawValue, dnr: dnr) }

    /// The generic status, when SCT is 0 and SC is defined.
    public var generic: GenericStatus? { sct == GenericStatus.sct ? GenericStatus(rawValue: sc) : nil }
    public var commandSpecific: CommandSpecificStatus? {
        sct == CommandSpecificStatus.sct ? CommandSpecificStatus(rawValue: sc) : nil
    }
    public var mediaAndDataIntegrity: MediaAndDataIntegrityStatus? {
        sct == MediaAndDataIntegrityStatus.sct ? MediaAndDataIntegrityStatus(rawValue: sc) : nil
    }
    public var pathRelated: PathStatus? { sct == PathStatus.sct ? PathStatus(rawValue: sc) : nil }

    /// Same SCT/SC, whatever CRD/M/DNR say. For a switch, use `status.generic`, `status.commandSpecific`…
    public func matches(_ s: GenericStatus) -> Bool { code == s.status.code }
    public func matches(_ s: CommandSpecificStatus) -> Bool { code == s.status.code }
    public func matches(_ s: MediaAndDataIntegrityStatus) -> Bool { code == s.status.code }
    public func matches(_ s: PathStatus) -> Bool { code == s.status.code }
}
