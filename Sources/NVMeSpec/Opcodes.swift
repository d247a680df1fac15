/// Admin Command Set opcodes — NVMe Base 2.0c §5, Figure 138.
public enum AdminOpcode: UInt8, Sendable, CaseIterable, Codable {
    case deleteIOSubmissionQueue = 0x00
    case createIOSubmissionQueue = 0x01
    case getLogPage = 0x02
    case deleteIOCompletionQueue = 0x04
    case createIOCompletionQueue = 0x05
    case identify = 0x06
    case abort = 0x08
    case setFeatures = 0x09
    case getFeatures = 0x0A
    case asynchronousEventRequest = 0x0C
    case namespaceManagement = 0x0D
    case firmwareCommit = 0x10
    case firmwareImageDownload = 0x11
    case deviceSelfTest = 0x14
    case namespaceAttachment = 0x15
    case keepAlive = 0x18
    case directiveSend = 0x19
    case directiveReceive = 0x1A
    case virtualizationManagement = 0x1C
    case nvmeMISend = 0x1D
    case nvmeMIReceive = 0x1E
    case capacityManagement = 0x20
    case lockdown = 0x24
    case doorbellBufferConfig = 0x7C
    case fabricsCommands = 0x7F
    case formatNVM = 0x80
    case securitySend = 0x81
    case securityReceive = 0x82
    case sanitize = 0x84
    case getLBAStatus = 0x86

    /// Bits 1:0 of every opcode give the data transfer direction (Figure 138): 0 none, 1 host→controller,
    /// 2 controller→host, 3 bidirectional.
    public var dataTransfer: DataTransferDirection { DataTransferDirection(opcode: rawValue) }
    /// Vendor specific admin opcodes are C0h-FFh.
    public static let vendorSpecificRange: ClosedRange<UInt8> = 0xC0...0xFF
}

/// NVM Command Set I/O opcodes — NVM Command Set 1.0c Figure 18, plus ZNS 1.1 Figure 28.
public enum IOOpcode: UInt8, Sendable, CaseIterable, Codable {
    case flush = 0x00
    case write = 0x01
    case read = 0x02
    case writeUncorrectable = 0x04
    case compare = 0x05
    case writeZeroes = 0x08
    case datasetManagement = 0x09
    case verify = 0x0C
    case reservationRegister = 0x0D
    case reservationReport = 0x0E
    case reservationAcquire = 0x11
    case reservationRelease = 0x15
    case copy = 0x19
    /// ZNS: Zone Management Send.
    case zoneManagementSend = 0x79
    /// ZNS: Zone Management Receive.
    case zoneManagementReceive = 0x7A
    /// ZNS: Zone Append.
    case zoneAppend = 0x7D

    public var dataTransfer: DataTransferDirection { DataTransferDirection(opcode: rawValue) }
    /// Vendor specific I/O opcodes are 80h-FFh.
    public static let vendorSpecificRange: ClosedRange<UInt8> = 0x80...0xFF
}

/// Opcode bits 1:0.
public enum DataTransferDirection: UInt8, Sendable, Codable {
    case none = 0, hostToController = 1, controllerToHost = 2, bidirectional = 3
    public init(opcode: UInt8) { self = DataTransferDirection(rawValue: opcode & 3)! }
}
