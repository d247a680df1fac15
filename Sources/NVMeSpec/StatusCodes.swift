// Every status the spec names — NVMe Base 2.0c §4.6.1.2 (Figures 94-103), NVM Command Set 1.0c §4.1.1 (Figures
// 30-31) and ZNS Command Set 1.1 §4.1.1 (Figure 31). Swift names are the spec names in lowerCamelCase:
// `GenericStatus.invalidFieldInCommand`, `CommandSpecificStatus.zoneIsFull`, `PathStatus.hostPathingError`.


/// Generic Command Status (SCT 0h) — Base Figure 94; 80h-84h from the NVM Command Set (Figure 30).
public enum GenericStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// 00h — Successful Completion.
    case successfulCompletion = 0x00
    /// 01h — Invalid Command Opcode.
    case invalidCommandOpcode = 0x01
    /// 02h — Invalid Field in Command.
    case invalidFieldInCommand = 0x02
    /// 03h — Command ID Conflict.
    case commandIDConflict = 0x03
    /// 04h — Data Transfer Error.
    case dataTransferError = 0x04
    /// 05h — Commands Aborted due to Power Loss Notification.
    case commandsAbortedDueToPowerLossNotification = 0x05
    /// 06h — Internal Error.
    case internalError = 0x06
    /// 07h — Command Abort Requested.
    case commandAbortRequested = 0x07
    /// 08h — Command Aborted due to SQ Deletion.
    case commandAbortedDueToSQDeletion = 0x08
    /// 09h — Command Aborted due to Failed Fused Command.
    case commandAbortedDueToFailedFusedCommand = 0x09
    /// 0Ah — Command Aborted due to Missing Fused Command.
    case commandAbortedDueToMissingFusedCommand = 0x0A
    /// 0Bh — Invalid Namespace or Format.
    case invalidNamespaceOrFormat = 0x0B
    /// 0Ch — Command Sequence Error.
    case commandSequenceError = 0x0C
    /// 0Dh — Invalid SGL Segment Descriptor.
    case invalidSGLSegmentDescriptor = 0x0D
    /// 0Eh — Invalid Number of SGL Descriptors.
    case invalidNumberOfSGLDescriptors = 0x0E
    /// 0Fh — Data SGL Length Invalid.
    case dataSGLLengthInvalid = 0x0F
    /// 10h — Metadata SGL Length Invalid.
    case metadataSGLLengthInvalid = 0x10
    /// 11h — SGL Descriptor Type Invalid.
    case sglDescriptorTypeInvalid = 0x11
    /// 12h — Invalid Use of Controller Memory Buffer.
    case invalidUseOfControllerMemoryBuffer = 0x12
    /// 13h — PRP Offset Invalid.
    case prpOffsetInvalid = 0x13
    /// 14h — Atomic Write Unit Exceeded.
    case atomicWriteUnitExceeded = 0x14
    /// 15h — Operation Denied.
    case operationDenied = 0x15
    /// 16h — SGL Offset Invalid.
    case sglOffsetInvalid = 0x16
    /// 18h — Host Identifier Inconsistent Format.
    case hostIdentifierInconsistentFormat = 0x18
    /// 19h — Keep Alive Timer Expired.
    case keepAliveTimerExpired = 0x19
    /// 1Ah — Keep Alive Timeout Invalid.
    case keepAliveTimeoutInvalid = 0x1A
    /// 1Bh — Command Aborted due to Preempt and Abort.
    case commandAbortedDueToPreemptAndAbort = 0x1B
    /// 1Ch — Sanitize Failed.
    case sanitizeFailed = 0x1C
    /// 1Dh — Sanitize In Progress.
    case sanitizeInProgress = 0x1D
    /// 1Eh — SGL Data Block Granularity Invalid.
    case sglDataBlockGranularityInvalid = 0x1E
    /// 1Fh — Command Not Supported for Queue in CMB.
    case commandNotSupportedForQueueInCMB = 0x1F
    /// 20h — Namespace is Write Protected.
    case namespaceIsWriteProtected = 0x20
    /// 21h — Command Interrupted.
    case commandInterrupted = 0x21
    /// 22h — Transient Transport Error.
    case transientTransportError = 0x22
    /// 23h — Command Prohibited by Command and Feature Lockdown.
    case commandProhibitedByCommandAndFeatureLockdown = 0x23
    /// 24h — Admin Command Media Not Ready.
    case adminCommandMediaNotReady = 0x24
    /// 80h — LBA Out of Range.
    case lbaOutOfRange = 0x80
    /// 81h — Capacity Exceeded.
    case capacityExceeded = 0x81
    /// 82h — Namespace Not Ready.
    case namespaceNotReady = 0x82
    /// 83h — Reservation Conflict.
    case reservationConflict = 0x83
    /// 84h — Format In Progress.
    case formatInProgress = 0x84

    /// The spec's name.
    public var name: String {
        switch self {
        case .successfulCompletion: "Successful Completion"
        case .invalidCommandOpcode: "Invalid Command Opcode"
        case .invalidFieldInCommand: "Invalid Field in Command"
        case .commandIDConflict: "Command ID Conflict"
        case .dataTransferError: "Data Transfer Error"
        case .commandsAbortedDueToPowerLossNotification: "Commands Aborted due to Power Loss Notification"
        case .internalError: "Internal Error"
        case .commandAbortRequested: "Command Abort Requested"
        case .commandAbortedDueToSQDeletion: "Command Aborted due to SQ Deletion"
        case .commandAbortedDueToFailedFusedCommand: "Command Aborted due to Failed Fused Command"
        case .commandAbortedDueToMissingFusedCommand: "Command Aborted due to Missing Fused Command"
        case .invalidNamespaceOrFormat: "Invalid Namespace or Format"
        case .commandSequenceError: "Command Sequence Error"
        case .invalidSGLSegmentDescriptor: "Invalid SGL Segment Descriptor"
        case .invalidNumberOfSGLDescriptors: "Invalid Number of SGL Descriptors"
        case .dataSGLLengthInvalid: "Data SGL Length Invalid"
        case .metadataSGLLengthInvalid: "Metadata SGL Length Invalid"
        case .sglDescriptorTypeInvalid: "SGL Descriptor Type Invalid"
        case .invalidUseOfControllerMemoryBuffer: "Invalid Use of Controller Memory Buffer"
        case .prpOffsetInvalid: "PRP Offset Invalid"
        case .atomicWriteUnitExceeded: "Atomic Write Unit Exceeded"
        case .operationDenied: "Operation Denied"
        case .sglOffsetInvalid: "SGL Offset Invalid"
        case .hostIdentifierInconsistentFormat: "Host Identifier Inconsistent Format"
        case .keepAliveTimerExpired: "Keep Alive Timer Expired"
        case .keepAliveTimeoutInvalid: "Keep Alive Timeout Invalid"
        case .commandAbortedDueToPreemptAndAbort: "Command Aborted due to Preempt and Abort"
        case .sanitizeFailed: "Sanitize Failed"
        case .sanitizeInProgress: "Sanitize In Progress"
        case .sglDataBlockGranularityInvalid: "SGL Data Block Granularity Invalid"
        case .commandNotSupportedForQueueInCMB: "Command Not Supported for Queue in CMB"
        case .namespaceIsWriteProtected: "Namespace is Write Protected"
        case .commandInterrupted: "Command Interrupted"
        case .transientTransportError: "Transient Transport Error"
        case .commandProhibitedByCommandAndFeatureLockdown: "Command Prohibited by Command and Feature Lockdown"
        case .adminCommandMediaNotReady: "Admin Command Media Not Ready"
        case .lbaOutOfRange: "LBA Out of Range"
        case .capacityExceeded: "Capacity Exceeded"
        case .namespaceNotReady: "Namespace Not Ready"
        case .reservationConflict: "Reservation Conflict"
        case .formatInProgress: "Format In Progress"
        }
    }
    public static let sct: UInt8 = 0
    /// This status with CRD/M/DNR clear.
    public var status: CompletionStatus { CompletionStatus(sct: Self.sct, sc: rawValue) }
    /// `Invalid Field in Command (00/02)`.
    public var description: String { status.description }
}

/// Command Specific Status (SCT 1h) — Base Figure 95; 80h-83h NVM Command Set (Figure 31); B6h-BFh ZNS.
public enum CommandSpecificStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// 00h — Completion Queue Invalid.
    case completionQueueInvalid = 0x00
    /// 01h — Invalid Queue Identifier.
    case invalidQueueIdentifier = 0x01
    /// 02h — Invalid Queue Size.
    case invalidQueueSize = 0x02
    /// 03h — Abort Command Limit Exceeded.
    case abortCommandLimitExceeded = 0x03
    /// 05h — Asynchronous Event Request Limit Exceeded.
    case asynchronousEventRequestLimitExceeded = 0x05
    /// 06h — Invalid Firmware Slot.
    case invalidFirmwareSlot = 0x06
    /// 07h — Invalid Firmware Image.
    case invalidFirmwareImage = 0x07
    /// 08h — Invalid Interrupt Vector.
    case invalidInterruptVector = 0x08
    /// 09h — Invalid Log Page.
    case invalidLogPage = 0x09
    /// 0Ah — Invalid Format.
    case invalidFormat = 0x0A
    /// 0Bh — Firmware Activation Requires Conventional Reset.
    case firmwareActivationRequiresConventionalReset = 0x0B
    /// 0Ch — Invalid Queue Deletion.
    case invalidQueueDeletion = 0x0C
    /// 0Dh — Feature Identifier Not Saveable.
    case featureIdentifierNotSaveable = 0x0D
    /// 0Eh — Feature Not Changeable.
    case featureNotChangeable = 0x0E
    /// 0Fh — Feature Not Namespace Specific.
    case featureNotNamespaceSpecific = 0x0F
    /// 10h — Firmware Activation Requires NVM Subsystem Reset.
    case firmwareActivationRequiresNVMSubsystemReset = 0x10
    /// 11h — Firmware Activation Requires Controller Level Reset.
    case firmwareActivationRequiresControllerLevelReset = 0x11
    /// 12h — Firmware Activation Requires Maximum Time Violation.
    case firmwareActivationRequiresMaximumTimeViolation = 0x12
    /// 13h — Firmware Activation Prohibited.
    case firmwareActivationProhibited = 0x13
    /// 14h — Overlapping Range.
    case overlappingRange = 0x14
    /// 15h — Namespace Insufficient Capacity.
    case namespaceInsufficientCapacity = 0x15
    /// 16h — Namespace Identifier Unavailable.
    case namespaceIdentifierUnavailable = 0x16
    /// 18h — Namespace Already Attached.
    case namespaceAlreadyAttached = 0x18
    /// 19h — Namespace Is Private.
    case namespaceIsPrivate = 0x19
    /// 1Ah — Namespace Not Attached.
    case namespaceNotAttached = 0x1A
    /// 1Bh — Thin Provisioning Not Supported.
    case thinProvisioningNotSupported = 0x1B
    /// 1Ch — Controller List Invalid.
    case controllerListInvalid = 0x1C
    /// 1Dh — Device Self-test In Progress.
    case deviceSelfTestInProgress = 0x1D
    /// 1Eh — Boot Partition Write Prohibited.
    case bootPartitionWriteProhibited = 0x1E
    /// 1Fh — Invalid Controller Identifier.
    case invalidControllerIdentifier = 0x1F
    /// 20h — Invalid Secondary Controller State.
    case invalidSecondaryControllerState = 0x20
    /// 21h — Invalid Number of Controller Resources.
    case invalidNumberOfControllerResources = 0x21
    /// 22h — Invalid Resource Identifier.
    case invalidResourceIdentifier = 0x22
    /// 23h — Sanitize Prohibited While Persistent Memory Region is Enabled.
    case sanitizeProhibitedWhilePersistentMemoryRegionIsEnabled = 0x23
    /// 24h — ANA Group Identifier Invalid.
    case anaGroupIdentifierInvalid = 0x24
    /// 25h — ANA Attach Failed.
    case anaAttachFailed = 0x25
    /// 26h — Insufficient Capacity.
    case insufficientCapacity = 0x26
    /// 27h — Namespace Attachment Limit Exceeded.
    case namespaceAttachmentLimitExceeded = 0x27
    /// 28h — Prohibition of Command Execution Not Supported.
    case prohibitionOfCommandExecutionNotSupported = 0x28
    /// 29h — I/O Command Set Not Supported.
    case ioCommandSetNotSupported = 0x29
    /// 2Ah — I/O Command Set Not Enabled.
    case ioCommandSetNotEnabled = 0x2A
    /// 2Bh — I/O Command Set Combination Rejected.
    case ioCommandSetCombinationRejected = 0x2B
    /// 2Ch — Invalid I/O Command Set.
    case invalidIOCommandSet = 0x2C
    /// 2Dh — Identifier Unavailable.
    case identifierUnavailable = 0x2D
    /// 80h — Conflicting Attributes.
    case conflictingAttributes = 0x80
    /// 81h — Invalid Protection Information.
    case invalidProtectionInformation = 0x81
    /// 82h — Attempted Write to Read Only Range.
    case attemptedWriteToReadOnlyRange = 0x82
    /// 83h — Command Size Limit Exceeded.
    case commandSizeLimitExceeded = 0x83
    /// B6h — Invalid Zone Operation Request.
    case invalidZoneOperationRequest = 0xB6
    /// B7h — ZRWA Resources Unavailable.
    case zrwaResourcesUnavailable = 0xB7
    /// B8h — Zone Boundary Error.
    case zoneBoundaryError = 0xB8
    /// B9h — Zone Is Full.
    case zoneIsFull = 0xB9
    /// BAh — Zone Is Read Only.
    case zoneIsReadOnly = 0xBA
    /// BBh — Zone Is Offline.
    case zoneIsOffline = 0xBB
    /// BCh — Zone Invalid Write.
    case zoneInvalidWrite = 0xBC
    /// BDh — Too Many Active Zones.
    case tooManyActiveZones = 0xBD
    /// BEh — Too Many Open Zones.
    case tooManyOpenZones = 0xBE
    /// BFh — Invalid Zone State Transition.
    case invalidZoneStateTransition = 0xBF

    /// The spec's name.
    public var name: String {
        switch self {
        case .completionQueueInvalid: "Completion Queue Invalid"
        case .invalidQueueIdentifier: "Invalid Queue Identifier"
        case .invalidQueueSize: "Invalid Queue Size"
        case .abortCommandLimitExceeded: "Abort Command Limit Exceeded"
        case .asynchronousEventRequestLimitExceeded: "Asynchronous Event Request Limit Exceeded"
        case .invalidFirmwareSlot: "Invalid Firmware Slot"
        case .invalidFirmwareImage: "Invalid Firmware Image"
        case .invalidInterruptVector: "Invalid Interrupt Vector"
        case .invalidLogPage: "Invalid Log Page"
        case .invalidFormat: "Invalid Format"
        case .firmwareActivationRequiresConventionalReset: "Firmware Activation Requires Conventional Reset"
        case .invalidQueueDeletion: "Invalid Queue Deletion"
        case .featureIdentifierNotSaveable: "Feature Identifier Not Saveable"
        case .featureNotChangeable: "Feature Not Changeable"
        case .featureNotNamespaceSpecific: "Feature Not Namespace Specific"
        case .firmwareActivationRequiresNVMSubsystemReset: "Firmware Activation Requires NVM Subsystem Reset"
        case .firmwareActivationRequiresControllerLevelReset: "Firmware Activation Requires Controller Level Reset"
        case .firmwareActivationRequiresMaximumTimeViolation: "Firmware Activation Requires Maximum Time Violation"
        case .firmwareActivationProhibited: "Firmware Activation Prohibited"
        case .overlappingRange: "Overlapping Range"
        case .namespaceInsufficientCapacity: "Namespace Insufficient Capacity"
        case .namespaceIdentifierUnavailable: "Namespace Identifier Unavailable"
        case .namespaceAlreadyAttached: "Namespace Already Attached"
        case .namespaceIsPrivate: "Namespace Is Private"
        case .namespaceNotAttached: "Namespace Not Attached"
        case .thinProvisioningNotSupported: "Thin Provisioning Not Supported"
        case .controllerListInvalid: "Controller List Invalid"
        case .deviceSelfTestInProgress: "Device Self-test In Progress"
        case .bootPartitionWriteProhibited: "Boot Partition Write Prohibited"
        case .invalidControllerIdentifier: "Invalid Controller Identifier"
        case .invalidSecondaryControllerState: "Invalid Secondary Controller State"
        case .invalidNumberOfControllerResources: "Invalid Number of Controller Resources"
        case .invalidResourceIdentifier: "Invalid Resource Identifier"
        case .sanitizeProhibitedWhilePersistentMemoryRegionIsEnabled: "Sanitize Prohibited While Persistent Memory Region is Enabled"
        case .anaGroupIdentifierInvalid: "ANA Group Identifier Invalid"
        case .anaAttachFailed: "ANA Attach Failed"
        case .insufficientCapacity: "Insufficient Capacity"
        case .namespaceAttachmentLimitExceeded: "Namespace Attachment Limit Exceeded"
        case .prohibitionOfCommandExecutionNotSupported: "Prohibition of Command Execution Not Supported"
        case .ioCommandSetNotSupported: "I/O Command Set Not Supported"
        case .ioCommandSetNotEnabled: "I/O Command Set Not Enabled"
        case .ioCommandSetCombinationRejected: "I/O Command Set Combination Rejected"
        case .invalidIOCommandSet: "Invalid I/O Command Set"
        case .identifierUnavailable: "Identifier Unavailable"
        case .conflictingAttributes: "Conflicting Attributes"
        case .invalidProtectionInformation: "Invalid Protection Information"
        case .attemptedWriteToReadOnlyRange: "Attempted Write to Read Only Range"
        case .commandSizeLimitExceeded: "Command Size Limit Exceeded"
        case .invalidZoneOperationRequest: "Invalid Zone Operation Request"
        case .zrwaResourcesUnavailable: "ZRWA Resources Unavailable"
        case .zoneBoundaryError: "Zone Boundary Error"
        case .zoneIsFull: "Zone Is Full"
        case .zoneIsReadOnly: "Zone Is Read Only"
        case .zoneIsOffline: "Zone Is Offline"
        case .zoneInvalidWrite: "Zone Invalid Write"
        case .tooManyActiveZones: "Too Many Active Zones"
        case .tooManyOpenZones: "Too Many Open Zones"
        case .invalidZoneStateTransition: "Invalid Zone State Transition"
        }
    }
    public static let sct: UInt8 = 1
    /// This status with CRD/M/DNR clear.
    public var status: CompletionStatus { CompletionStatus(sct: Self.sct, sc: rawValue) }
    /// `Invalid Field in Command (00/02)`.
    public var description: String { status.description }
}

/// Media and Data Integrity Errors (SCT 2h) — Base Figure 101 / NVM Command Set Figure 32.
public enum MediaAndDataIntegrityStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// 80h — Write Fault.
    case writeFault = 0x80
    /// 81h — Unrecovered Read Error.
    case unrecoveredReadError = 0x81
    /// 82h — End-to-end Guard Check Error.
    case endToEndGuardCheckError = 0x82
    /// 83h — End-to-end Application Tag Check Error.
    case endToEndApplicationTagCheckError = 0x83
    /// 84h — End-to-end Reference Tag Check Error.
    case endToEndReferenceTagCheckError = 0x84
    /// 85h — Compare Failure.
    case compareFailure = 0x85
    /// 86h — Access Denied.
    case accessDenied = 0x86
    /// 87h — Deallocated or Unwritten Logical Block.
    case deallocatedOrUnwrittenLogicalBlock = 0x87
    /// 88h — End-to-end Storage Tag Check Error.
    case endToEndStorageTagCheckError = 0x88

    /// The spec's name.
    public var name: String {
        switch self {
        case .writeFault: "Write Fault"
        case .unrecoveredReadError: "Unrecovered Read Error"
        case .endToEndGuardCheckError: "End-to-end Guard Check Error"
        case .endToEndApplicationTagCheckError: "End-to-end Application Tag Check Error"
        case .endToEndReferenceTagCheckError: "End-to-end Reference Tag Check Error"
        case .compareFailure: "Compare Failure"
        case .accessDenied: "Access Denied"
        case .deallocatedOrUnwrittenLogicalBlock: "Deallocated or Unwritten Logical Block"
        case .endToEndStorageTagCheckError: "End-to-end Storage Tag Check Error"
        }
    }
    public static let sct: UInt8 = 2
    /// This status with CRD/M/DNR clear.
    public var status: CompletionStatus { CompletionStatus(sct: Self.sct, sc: rawValue) }
    /// `Invalid Field in Command (00/02)`.
    public var description: String { status.description }
}

/// Path Related Status (SCT 3h) — Base Figure 103.
public enum PathStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// 00h — Internal Path Error.
    case internalPathError = 0x00
    /// 01h — Asymmetric Access Persistent Loss.
    case asymmetricAccessPersistentLoss = 0x01
    /// 02h — Asymmetric Access Inaccessible.
    case asymmetricAccessInaccessible = 0x02
    /// 03h — Asymmetric Access Transition.
    case asymmetricAccessTransition = 0x03
    /// 60h — Controller Pathing Error.
    case controllerPathingError = 0x60
    /// 70h — Host Pathing Error.
    case hostPathingError = 0x70
    /// 71h — Command Aborted By Host.
    case commandAbortedByHost = 0x71

    /// The spec's name.
    public var name: String {
        switch self {
        case .internalPathError: "Internal Path Error"
        case .asymmetricAccessPersistentLoss: "Asymmetric Access Persistent Loss"
        case .asymmetricAccessInaccessible: "Asymmetric Access Inaccessible"
        case .asymmetricAccessTransition: "Asymmetric Access Transition"
        case .controllerPathingError: "Controller Pathing Error"
        case .hostPathingError: "Host Pathing Error"
        case .commandAbortedByHost: "Command Aborted By Host"
        }
    }
    public static let sct: UInt8 = 3
    /// This status with CRD/M/DNR clear.
    public var status: CompletionStatus { CompletionStatus(sct: Self.sct, sc: rawValue) }
    /// `Invalid Field in Command (00/02)`.
    public var description: String { status.description }
}
