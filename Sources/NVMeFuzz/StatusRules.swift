import NVMeSpec

/// Spec "shall fail" rules: for a command as posted, why the controller must not complete it successfully.
/// Only rules the base specification states as a requirement are here, so a success is a finding, not a matter of
/// taste. Each answer names the rule (it becomes the finding's `expected`).
public enum StatusRules {
    /// Commands that address LBAs through CDW10/11 (SLBA) and CDW12 bits 15:0 (NLB, 0's based).
    public static let lbaOpcodes: Set<UInt8> = [
        IOOpcode.read.rawValue, IOOpcode.write.rawValue, IOOpcode.compare.rawValue, IOOpcode.writeZeroes.rawValue,
        IOOpcode.writeUncorrectable.rawValue, IOOpcode.verify.rawValue,
    ]
    /// LBA commands that move data through PRP/SGL (NVM Command Set §3.3).
    public static let dataLBAOpcodes: Set<UInt8> = [IOOpcode.read.rawValue, IOOpcode.write.rawValue, IOOpcode.compare.rawValue]

    public static let knownAdmin: Set<UInt8> = Set(AdminOpcode.allCases.map(\.rawValue))
    public static let knownIO: Set<UInt8> = Set(IOOpcode.allCases.map(\.rawValue))

    public static func isReservedAdmin(_ opc: UInt8) -> Bool { !knownAdmin.contains(opc) && opc < 0xC0 }
    public static func isReservedIO(_ opc: UInt8) -> Bool { !knownIO.contains(opc) && opc < 0x80 }

    /// SLBA (CDW11:CDW10) and the number of blocks (NLB + 1) of an LBA command.
    public static func lbaRange(_ sqe: SubmissionQueueEntry) -> (slba: UInt64, blocks: UInt64) {
        (UInt64(sqe.cdw10) | UInt64(sqe.cdw11) << 32, UInt64(sqe.cdw12 & 0xFFFF) + 1)
    }

    /// Why `sqe` posted on an admin (`admin == true`) or I/O queue must not succeed; nil when it may.
    public static func mustFail(_ sqe: SubmissionQueueEntry, admin: Bool, environment env: FuzzEnvironment) -> String? {
        let opc = sqe.opc
        if admin, isReservedAdmin(opc) { return "reserved admin opcode \(hex(opc)) → Invalid Command Opcode (Base §5)" }
        if !admin, isReservedIO(opc) { return "reserved I/O opcode \(hex(opc)) → Invalid Command Opcode (NVM §3)" }
        if sqe.fuse == 3 { return "FUSE 11b is reserved → Invalid Field (Base §4.2 Figure 87)" }
        if admin { return adminRules(sqe, env) }

        guard lbaOpcodes.contains(opc) else { return nil }
        let nsid = sqe.nsid
        if nsid == 0 { return "NSID 0 on an LBA command → Invalid Namespace or Format (Base §3.2.1.2)" }
        if nsid == 0xFFFF_FFFF { return "broadcast NSID on an LBA command → Invalid Namespace or Format (Base §3.2.1.2)" }
        if !env.activeNamespaces.contains(nsid) { return "inactive or out-of-range NSID \(nsid) → Invalid Namespace or Format" }
        if dataLBAOpcodes.contains(opc), sqe.psdt == 3 { return "PSDT 11b is reserved → Invalid Field (Base Figure 87)" }
        if nsid == 1 {
            let (slba, blocks) = lbaRange(sqe)
            if slba >= env.blockCount || blocks > env.blockCount - slba {
                return "LBA \(slba)+\(blocks) beyond namespace size \(env.blockCount) → LBA Out of Range (NVM §3.3)"
            }
            if dataLBAOpcodes.contains(opc), let mdts = env.maximumTransferBytes,
               Int(blocks) * env.blockSize > mdts {
                return "transfer of \(Int(blocks) * env.blockSize) bytes beyond MDTS \(mdts) → Invalid Field (Base §5.17.2.1)"
            }
        }
        return nil
    }

    static func adminRules(_ sqe: SubmissionQueueEntry, _ env: FuzzEnvironment) -> String? {
        let qid = UInt16(sqe.cdw10 & 0xFFFF)
        let qsize = sqe.cdw10 >> 16
        switch sqe.opc {
        case AdminOpcode.createIOCompletionQueue.rawValue:
            if qid == 0 { return "Create I/O CQ with QID 0 → Invalid Queue Identifier (Base §5.4)" }
            if Int(qid) > env.grantedQueuePairs { return "Create I/O CQ QID \(qid) beyond granted queues → Invalid Queue Identifier" }
            if qid == env.ioQueueID { return "Create I/O CQ QID \(qid) already exists → Invalid Queue Identifier" }
            if qsize == 0 || qsize > UInt32(env.mqes) { return "Create I/O CQ QSIZE \(qsize) (0's based) outside 1...MQES → Invalid Queue Size" }
            if env.contiguousQueuesRequired, sqe.cdw11 & 1 == 0 { return "non-contiguous I/O CQ while CAP.CQR = 1 → Invalid Field" }
            if sqe.cdw11 & 2 != 0, Int(sqe.cdw11 >> 16) >= env.interruptVectors {
                return "Create I/O CQ IV \(sqe.cdw11 >> 16) beyond \(env.interruptVectors) vectors → Invalid Interrupt Vector"
            }
        case AdminOpcode.createIOSubmissionQueue.rawValue:
            if qid == 0 { return "Create I/O SQ with QID 0 → Invalid Queue Identifier (Base §5.5)" }
            if Int(qid) > env.grantedQueuePairs { return "Create I/O SQ QID \(qid) beyond granted queues → Invalid Queue Identifier" }
            if qid == env.ioQueueID { return "Create I/O SQ QID \(qid) already exists → Invalid Queue Identifier" }
            if qsize == 0 || qsize > UInt32(env.mqes) { return "Create I/O SQ QSIZE \(qsize) (0's based) outside 1...MQES → Invalid Queue Size" }
            if env.contiguousQueuesRequired, sqe.cdw11 & 1 == 0 { return "non-contiguous I/O SQ while CAP.CQR = 1 → Invalid Field" }
            if sqe.cdw11 >> 16 == 0 { return "Create I/O SQ bound to CQID 0 → Invalid Queue Identifier / Completion Queue Invalid" }
        case AdminOpcode.deleteIOSubmissionQueue.rawValue:
            if qid == 0 { return "Delete I/O SQ with QID 0 (the admin queue) → Invalid Queue Identifier (Base §5.7)" }
        case AdminOpcode.deleteIOCompletionQueue.rawValue:
            if qid == 0 { return "Delete I/O CQ with QID 0 (the admin queue) → Invalid Queue Identifier (Base §5.6)" }
        default: break
        }
        return nil
    }
}

func hex(_ v: UInt8) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return "0x" + (s.count == 1 ? "0" + s : s)
}

func hex<T: FixedWidthInteger>(_ v: T) -> String { "0x" + String(v, radix: 16, uppercase: true) }
