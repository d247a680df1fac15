import NVMePlatform
import NVMeSpec

extension ControllerState {
    /// Controller ID (CNTLID) — 0, as QEMU's single controller without a subsystem.
    static let controllerID: UInt16 = 0
    /// Largest NSID the controller supports (Identify Controller NN; QEMU's NVME_MAX_NAMESPACES).
    static let maxNamespaces: UInt32 = 256

    /// Admin commands allowed while a sanitize operation runs (Base §8.21: others get Sanitize In Progress).
    static let allowedDuringSanitize: Set<UInt8> = [0x02, 0x06, 0x08, 0x0A, 0x0C, 0x18, 0x84]

    mutating func executeAdmin(_ sqe: SQEWords) -> CommandOutcome {
        advanceBackgroundOperations()
        if sqe.fuse != 0 { return .complete(Status.invalidField) }
        if sanitize.inProgress && !Self.allowedDuringSanitize.contains(sqe.opc) {
            return .complete(Status.sanitizeInProgress)
        }
        switch sqe.opc {
        case 0x00: return deleteIOSQ(sqe)
        case 0x01: return createIOSQ(sqe)
        case 0x02: return getLogPage(sqe)
        case 0x04: return deleteIOCQ(sqe)
        case 0x05: return createIOCQ(sqe)
        case 0x06: return identify(sqe)
        case 0x08: return abort(sqe)
        case 0x09: return setFeatures(sqe)
        case 0x0A: return getFeatures(sqe)
        case 0x0C: return asyncEventRequest(sqe)
        case 0x0D: return namespaceManagement(sqe)
        case 0x10: return firmwareCommit(sqe)
        case 0x11: return firmwareDownload(sqe)
        case 0x14: return deviceSelfTest(sqe)
        case 0x15: return namespaceAttachment(sqe)
        case 0x18: return .complete(.success)                   // Keep Alive
        case 0x7C: return doorbellBufferConfig(sqe)
        case 0x80: return formatNVM(sqe)
        case 0x84: return sanitizeCommand(sqe)
        default: return .complete(Status.invalidOpcode)
        }
    }

    // MARK: Queues (Base §5.4, §5.5, §5.6, §5.7) — checks in QEMU 7.2's order.

    mutating func createIOCQ(_ sqe: SQEWords) -> CommandOutcome {
        let qid = Int(sqe.cdw10 & 0xFFFF)
        let qsize = sqe.cdw10 >> 16
        let pc = sqe.cdw11 & 1 != 0
        let ien = sqe.cdw11 & 2 != 0
        let iv = UInt16(sqe.cdw11 >> 16)
        if qid == 0 || qid > configuration.maxIOQueuePairs || cqs[qid] != nil { return .complete(Status.invalidQueueIdentifier) }
        if qsize == 0 || qsize > UInt32(cap.mqes) { return .complete(Status.invalidQueueSize) }
        if sqe.prp1 & UInt64(pageSize - 1) != 0 { return .complete(Status.invalidPRPOffset) }
        if Int(iv) >= configuration.interruptVectors { return .complete(Status.invalidInterruptVector) }
        if !pc { return .complete(Status.invalidField) }
        var cq = SimCompletionQueue(id: UInt16(qid), base: sqe.prp1, size: qsize + 1, vector: iv, interruptsEnabled: ien)
        cqWaiting[qid].removeAll()
        if let dbs = shadowDoorbells, let eis = shadowEventIdx {
            let off = UInt64((2 * qid + 1) * doorbellStride)
            cq.shadowDoorbell = dbs + off
            cq.eventIdx = eis + off
        }
        cqs[qid] = cq
        ioQueuesCreated = true
        return .complete(.success)
    }

    mutating func createIOSQ(_ sqe: SQEWords) -> CommandOutcome {
        let qid = Int(sqe.cdw10 & 0xFFFF)
        let qsize = sqe.cdw10 >> 16
        let pc = sqe.cdw11 & 1 != 0
        let qprio = UInt8((sqe.cdw11 >> 1) & 3)
        let cqid = Int(sqe.cdw11 >> 16)
        if cqid == 0 || cqid >= cqs.count || cqs[cqid] == nil { return .complete(Status.invalidCompletionQueue) }
        if qid == 0 || qid > configuration.maxIOQueuePairs || sqs[qid] != nil { return .complete(Status.invalidQueueIdentifier) }
        if qsize == 0 || qsize > UInt32(cap.mqes) { return .complete(Status.invalidQueueSize) }
        if sqe.prp1 & UInt64(pageSize - 1) != 0 { return .complete(Status.invalidPRPOffset) }
        if !pc { return .complete(Status.invalidField) }
        var sq = SimSubmissionQueue(id: UInt16(qid), cqid: UInt16(cqid), base: sqe.prp1, size: qsize + 1, priority: qprio)
        if let dbs = shadowDoorbells, let eis = shadowEventIdx {
            let off = UInt64(2 * qid * doorbellStride)
            sq.shadowDoorbell = dbs + off
            sq.eventIdx = eis + off
        }
        sqs[qid] = sq
        cqs[cqid]!.boundSQs += 1
        ioQueuesCreated = true
        return .complete(.success)
    }

    mutating func deleteIOSQ(_ sqe: SQEWords) -> CommandOutcome {
        let qid = Int(sqe.cdw10 & 0xFFFF)
        guard qid != 0, qid < sqs.count, let sq = sqs[qid] else { return .complete(Status.invalidQueueIdentifier) }
        // Commands held back (delay faults) for this queue complete as aborted by the deletion (never run).
        var keep: [HeldCompletion] = []
        for d in delayed {
            if d.completion.sqid == UInt16(qid) {
                var c = d.completion; c.status = Status.abortedSQDeletion
                enqueueCompletion(cqid: d.cqid, c)
            } else { keep.append(d) }
        }
        delayed = keep
        sqs[qid] = nil
        if cqs[Int(sq.cqid)] != nil { cqs[Int(sq.cqid)]!.boundSQs -= 1 }
        return .complete(.success)
    }

    mutating func deleteIOCQ(_ sqe: SQEWords) -> CommandOutcome {
        let qid = Int(sqe.cdw10 & 0xFFFF)
        // Base 2.0c §5.6: a QID that is 0 or names no CQ is Invalid Queue Identifier (QEMU 7.2 answers Completion
        // Queue Invalid instead: Fixtures/conformance/qemu-7.2-deviations.json).
        guard qid != 0, qid < cqs.count, let cq = cqs[qid] else { return .complete(Status.invalidQueueIdentifier) }
        if cq.boundSQs > 0 { return .complete(Status.invalidQueueDeletion) }
        cqs[qid] = nil
        cqWaiting[qid].removeAll()
        return .complete(.success)
    }

    // MARK: Doorbell Buffer Config (Base §5.8) — QEMU semantics: both pages page aligned, existing queues pick up
    // their slots and the controller writes their current tail/head into the shadow doorbells.

    mutating func doorbellBufferConfig(_ sqe: SQEWords) -> CommandOutcome {
        let dbs = sqe.prp1, eis = sqe.prp2
        let mask = UInt64(pageSize - 1)
        if dbs & mask != 0 || eis & mask != 0 || dbs == 0 || eis == 0 { return .complete(Status.invalidField) }
        shadowDoorbells = dbs
        shadowEventIdx = eis
        for qid in sqs.indices {
            if sqs[qid] != nil {
                let off = UInt64(2 * qid * doorbellStride)
                sqs[qid]!.shadowDoorbell = dbs + off
                sqs[qid]!.eventIdx = eis + off
                bus.store32(sqs[qid]!.tail, at: dbs + off)
            }
            if cqs[qid] != nil {
                let off = UInt64((2 * qid + 1) * doorbellStride)
                cqs[qid]!.shadowDoorbell = dbs + off
                cqs[qid]!.eventIdx = eis + off
                bus.store32(cqs[qid]!.head, at: dbs + off)
            }
        }
        return .complete(.success)
    }

    // MARK: Asynchronous Event Request (Base §5.2) and Abort (§5.1)

    mutating func asyncEventRequest(_ sqe: SQEWords) -> CommandOutcome {
        if outstandingAERs.count > Int(configuration.aerl) { return .complete(Status.asyncEventRequestLimitExceeded) }
        outstandingAERs.append(sqe.cid)
        processEvents()
        return .deferred
    }

    mutating func abort(_ sqe: SQEWords) -> CommandOutcome {
        let sqid = UInt16(sqe.cdw10 & 0xFFFF)
        let cid = UInt16(sqe.cdw10 >> 16)
        if Int(sqid) >= sqs.count || sqs[Int(sqid)] == nil { return .complete(Status.invalidField, dw0: 1) }
        if sqid == 0, let i = outstandingAERs.firstIndex(of: cid) {
            outstandingAERs.remove(at: i)
            enqueueCompletion(cqid: 0, PendingCompletion(sqid: 0, cid: cid, status: Status.abortRequested))
            return .complete(.success, dw0: 0)
        }
        if let i = delayed.firstIndex(where: { $0.completion.sqid == sqid && $0.completion.cid == cid }) {
            let d = delayed.remove(at: i)
            var c = d.completion; c.status = Status.abortRequested; c.dw0 = 0; c.dw1 = 0
            enqueueCompletion(cqid: d.cqid, c)
            return .complete(.success, dw0: 0)
        }
        // Bit 0 of DW0 set: the command was not aborted (it already completed or was never seen).
        return .complete(.success, dw0: 1)
    }

    // MARK: Features (Base §5.21, §5.27)

    static let changeableFeatures: Set<UInt8> = [0x01, 0x02, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0E]

    mutating func setFeatures(_ sqe: SQEWords) -> CommandOutcome {
        let fid = UInt8(sqe.cdw10 & 0xFF)
        let sv = sqe.cdw10 >> 31 != 0
        let v = sqe.cdw11
        guard Self.changeableFeatures.contains(fid) else { return .complete(Status.invalidField) }
        if sv { return .complete(Status.featureNotSaveable) }
        switch fid {
        case 0x02:
            if v & 0x1F != 0 { return .complete(Status.invalidField) }   // NPSS is 0: only power state 0
            features[fid] = v
        case 0x04:
            let tmpsel = (v >> 16) & 0xF, thsel = (v >> 20) & 3
            guard tmpsel == 0, thsel <= 1 else { return .complete(Status.invalidField) }
            features[thsel == 0 ? 0x04 : 0xF4] = v & 0xFFFF
            checkTemperature()
        case 0x05:
            if v & (1 << 16) != 0 { return .complete(Status.invalidField) }  // DULBE unsupported
            features[fid] = v
        case 0x07:
            if ioQueuesCreated { return .complete(Status.commandSequenceError) }
            if v & 0xFFFF == 0xFFFF || v >> 16 == 0xFFFF { return .complete(Status.invalidField) }
            let n = UInt32(configuration.maxIOQueuePairs - 1)
            return .complete(.success, dw0: n | n << 16)
        case 0x09:
            let iv = Int(v & 0xFFFF)
            guard iv < configuration.interruptVectors else { return .complete(Status.invalidField) }
            features[0x90] = v   // last configured vector (Get Features reads per vector)
            vectorConfig[iv] = v >> 16 & 1
        case 0x0E:
            let (d, s) = receiveData(sqe, length: 8)
            guard let d else { return .complete(s) }
            var ms: UInt64 = 0
            for i in 0..<6 { ms |= UInt64(d[i]) << (8 * UInt64(i)) }
            timestampBase = ms
            timestampSetAt = MonotonicClock.nanoseconds()
        default:
            features[fid] = v
        }
        return .complete(.success)
    }

    mutating func getFeatures(_ sqe: SQEWords) -> CommandOutcome {
        let fid = UInt8(sqe.cdw10 & 0xFF)
        let sel = (sqe.cdw10 >> 8) & 7
        guard Self.changeableFeatures.contains(fid) else { return .complete(Status.invalidField) }
        switch sel {
        case 0, 1, 2: break
        case 3: return .complete(.success, dw0: 1 << 2)        // changeable, not saveable, not namespace specific
        default: return .complete(Status.invalidField)
        }
        let useDefault = sel != 0
        switch fid {
        case 0x04:
            let thsel = (sqe.cdw11 >> 20) & 3, tmpsel = (sqe.cdw11 >> 16) & 0xF
            guard tmpsel == 0, thsel <= 1 else { return .complete(Status.invalidField) }
            if thsel == 1 { return .complete(.success, dw0: useDefault ? 0 : (features[0xF4] ?? 0)) }
            let def: UInt32 = 0x157
            return .complete(.success, dw0: useDefault ? def : (features[0x04] ?? def))
        case 0x07:
            let n = UInt32(configuration.maxIOQueuePairs - 1)
            return .complete(.success, dw0: n | n << 16)
        case 0x09:
            let iv = Int(sqe.cdw11 & 0xFFFF)
            guard iv < configuration.interruptVectors else { return .complete(Status.invalidField) }
            return .complete(.success, dw0: UInt32(iv) | (useDefault ? 0 : (vectorConfig[iv] ?? 0)) << 16)
        case 0x0E:
            var w = ByteWriter(count: 8)
            let ms = timestampBase &+ (MonotonicClock.nanoseconds() &- timestampSetAt) / 1_000_000
            for i in 0..<6 { w.u8(UInt8(truncatingIfNeeded: ms >> (8 * UInt64(i))), at: i) }
            w.u8(timestampSetAt == 0 ? 0 : 0x02, at: 6)   // Timestamp Origin: 1 = set by host (bits 3:1)
            return returnData(w.bytes, sqe, length: 8)
        default:
            if useDefault { return .complete(.success, dw0: Self.defaultFeatures(configuration)[fid] ?? 0) }
            return .complete(.success, dw0: features[fid] ?? 0)
        }
    }

    /// Raises a SMART temperature event when the composite temperature crosses a threshold (Base §5.27.1.3),
    /// if Asynchronous Event Configuration enables it (bit 1).
    mutating func checkTemperature() {
        let t = UInt32(smartTemperature)
        let over = features[0x04] ?? 0x157
        let under = features[0xF4] ?? 0
        let crossed = t > over || (under != 0 && t < under)
        if crossed {
            smart.criticalWarning |= 0x02
            if (features[0x0B] ?? 0) & 0x02 != 0 {
                enqueueEvent(AsyncEvent(type: AsyncEventType.smartHealth, info: 0x01, logPage: LogPageID.smartHealth))
            }
        } else {
            smart.criticalWarning &= ~0x02
        }
    }

    // MARK: Identify (Base §5.17)

    mutating func identify(_ sqe: SQEWords) -> CommandOutcome {
        let cns = UInt8(sqe.cdw10 & 0xFF)
        let cntid = UInt16(sqe.cdw10 >> 16)
        let csi = UInt8(sqe.cdw11 >> 24)
        let nsid = sqe.nsid
        let data: [UInt8]
        switch cns {
        case 0x00, 0x11:
            // Identify Namespace (active, or allocated for CNS 11h).
            if nsid == 0 || (nsid > Self.maxNamespaces && nsid != 0xFFFF_FFFF) { return .complete(Status.invalidNamespace) }
            if nsid == 0xFFFF_FFFF { data = identifyNamespaceCommon(); break }
            guard let ns = namespaces[nsid], ns.config.attached || cns == 0x11 else { data = []; break }
            data = identifyNamespace(ns)
        case 0x01:
            data = identifyController()
        case 0x02, 0x07, 0x10:
            if nsid >= 0xFFFF_FFFE { return .complete(Status.invalidNamespace) }
            if cns == 0x07 && csi != 0 && csi != 2 { return .complete(Status.invalidField) }
            let ids = namespaces.values
                .filter { $0.nsid > nsid && (cns == 0x10 || $0.config.attached) && (cns != 0x07 || $0.csi == csi) }
                .map(\.nsid).sorted().prefix(1024)
            var w = ByteWriter(count: 4096)
            for (i, id) in ids.enumerated() { w.u32(id, at: i * 4) }
            data = w.bytes
        case 0x03:
            if nsid == 0 || nsid >= 0xFFFF_FFFE { return .complete(Status.invalidNamespace) }
            guard let ns = namespaces[nsid], ns.config.attached else { return .complete(Status.invalidField) }
            var w = ByteWriter(count: 4096)
            // NGUID (type 2, 16 bytes), then CSI (type 4, 1 byte).
            w.u8(2, at: 0); w.u8(16, at: 1)
            for (i, b) in namespaceGUID(ns.nsid).enumerated() { w.u8(b, at: 4 + i) }
            w.u8(4, at: 20); w.u8(1, at: 21); w.u8(ns.csi, at: 24)
            data = w.bytes
        case 0x05:
            if nsid == 0 || nsid >= 0xFFFF_FFFE { return .complete(Status.invalidNamespace) }
            guard let ns = namespaces[nsid], ns.config.attached else { data = []; break }
            switch csi {
            case 0: data = [UInt8](repeating: 0, count: 4096)
            case 2:
                guard ns.isZoned else { return .complete(Status.invalidField) }
                data = identifyZonedNamespace(ns)
            default: return .complete(Status.invalidField)
            }
        case 0x06:
            switch csi {
            case 0: data = [UInt8](repeating: 0, count: 4096)
            case 2:
                var w = ByteWriter(count: 4096)
                w.u8(0, at: 0)   // ZASL 0: zone append size limited by MDTS
                data = w.bytes
            default: return .complete(Status.invalidField)
            }
        case 0x08:
            if nsid == 0 || nsid >= 0xFFFF_FFFE { return .complete(Status.invalidNamespace) }
            guard let ns = namespaces[nsid], ns.config.attached else { data = []; break }
            var w = ByteWriter(count: 4096)
            w.u8(0, at: 0)            // NSFEAT
            w.u8(0, at: 1)            // NMIC
            w.u16(0, at: 6)           // ANAGRPID
            w.u8(0, at: 9)            // NSATTR
            w.u8(ns.isZoned ? 0 : 0, at: 13)
            data = w.bytes
        case 0x12, 0x13:
            // Controller lists: ours is the only controller; CNS 12h lists it when the namespace is attached.
            if cns == 0x12 {
                if nsid == 0 || nsid >= 0xFFFF_FFFE { return .complete(Status.invalidNamespace) }
            }
            var w = ByteWriter(count: 4096)
            let attached = cns == 0x13 || (namespaces[nsid]?.config.attached ?? false)
            if attached && Self.controllerID >= cntid { w.u16(1, at: 0); w.u16(Self.controllerID, at: 2) }
            data = w.bytes
        case 0x1C:
            // I/O Command Set data structure: vector 0 = NVM (bit 0) + Zoned Namespace (bit 2).
            var w = ByteWriter(count: 4096)
            w.u64(0b101, at: 0)
            data = w.bytes
        default:
            return .complete(Status.invalidField)
        }
        return returnData(data, sqe, length: 4096)
    }

    func namespaceGUID(_ nsid: UInt32) -> [UInt8] {
        var w = ByteWriter(count: 16)
        w.ascii("NVMEKITS", at: 0, width: 8)
        w.u32(nsid, at: 12)
        return w.bytes
    }

    func identifyController() -> [UInt8] {
        var w = ByteWriter(count: 4096)
        w.u16(0x1B36, at: 0)                       // VID (Red Hat, as QEMU)
        w.u16(0x1AF4, at: 2)                       // SSVID
        w.ascii(configuration.serialNumber, at: 4, width: 20)
        w.ascii(configuration.modelNumber, at: 24, width: 40)
        w.ascii(firmware.activeRevision, at: 64, width: 8)
        w.u8(6, at: 72)                            // RAB
        w.u8(0x00, at: 73); w.u8(0x54, at: 74); w.u8(0x52, at: 75)   // IEEE OUI 52:54:00 (LSB first)
        w.u8(configuration.cmic, at: 76)
        w.u8(configuration.mdts, at: 77)
        w.u16(Self.controllerID, at: 78)
        w.u32(configuration.version.rawValue, at: 80)
        w.u32(0x0300, at: 92)                      // OAES: namespace attribute + firmware activation notices
        w.u8(1, at: 111)                           // CNTRLTYPE: I/O controller
        // OACS: format, firmware download/commit, namespace management, device self-test, doorbell buffer config.
        w.u16(0x011E, at: 256)
        w.u8(3, at: 258)                           // ACL (0's based)
        w.u8(configuration.aerl, at: 259)
        w.u8(UInt8(firmware.slots.count) << 1 | 1, at: 260)  // FRMW: NOFS, slot 1 read-only
        w.u8(0x07, at: 261)                        // LPA: per-namespace SMART, CSE log, extended data (offsets)
        w.u8(63, at: 262)                          // ELPE: 64 error log entries (0's based)
        w.u16(0x0157, at: 266)                     // WCTEMP 343 K
        w.u16(0x0175, at: 268)                     // CCTEMP 373 K
        let total = namespaces.values.reduce(UInt64(0)) { $0.addingReportingOverflow($1.capacityBytes).overflow ? .max : $0 + $1.capacityBytes }
        w.u128(max(configuration.totalCapacityBytes, total), at: 280)                   // TNVMCAP
        w.u128(configuration.totalCapacityBytes > total ? configuration.totalCapacityBytes - total : 0, at: 296)  // UNVMCAP
        w.u16(1, at: 316)                          // EDSTT: extended self-test takes about a minute
        w.u8(1, at: 318)                           // DSTO: one self-test at a time
        w.u32(0x0000_0003, at: 328)                // SANICAP: crypto erase + block erase (+ overwrite below)
        w.u8(0x66, at: 512)                        // SQES: 64 bytes
        w.u8(0x44, at: 513)                        // CQES: 16 bytes
        w.u32(Self.maxNamespaces, at: 516)         // NN
        w.u16(0x019F, at: 520)                     // ONCS: compare, write uncorrectable, DSM, write zeroes, select, verify, copy
        w.u16(0x0001, at: 534)                     // OCFS: Copy Descriptor Format 0h
        w.u8(0x07, at: 525)                        // VWC: present, flush with NSID FFFFFFFFh supported
        w.u32(0x0001_0001, at: 536)                // SGLS: SGLs without alignment, bit bucket
        w.asciiZ("nqn.2026-11.dev.nvmekit:sim:\(configuration.serialNumber)", at: 768, width: 256)
        w.u16(2500, at: 2048)                      // PSD0 MP: 25 W
        var sanicap = UInt32(0x3)
        sanicap |= 0x4                             // overwrite
        w.u32(sanicap, at: 328)
        return w.bytes
    }

    func identifyNamespace(_ ns: SimNamespace) -> [UInt8] {
        var w = ByteWriter(count: 4096)
        w.u64(ns.blockCount, at: 0)                // NSZE
        w.u64(ns.blockCount, at: 8)                // NCAP
        w.u64(ns.blockCount, at: 16)               // NUSE = NCAP: no thin provisioning (NSFEAT bit 0 clear)
        w.u8(0x00, at: 24)                         // NSFEAT
        w.u8(UInt8(ns.config.lbaFormats.count - 1), at: 25)   // NLBAF (0's based)
        let fi = UInt8(ns.config.formatIndex)
        w.u8((fi & 0xF) | (ns.config.extendedMetadata ? 0x10 : 0) | ((fi >> 4) & 3) << 5, at: 26)  // FLBAS
        w.u8(0x03, at: 27)                         // MC: extended LBA and separate buffer
        w.u8(0x09, at: 33)                         // DLFEAT: deallocated blocks read zero, write zeroes can dealloc
        w.u128(ns.capacityBytes, at: 48)  // NVMCAP
        w.u16(ns.config.mssrl, at: 74)             // MSSRL
        w.u32(ns.config.mcl, at: 76)               // MCL
        w.u8(ns.config.msrc, at: 80)               // MSRC (0's based)
        for (i, b) in namespaceGUID(ns.nsid).enumerated() { w.u8(b, at: 104 + i) }   // NGUID
        for (i, f) in ns.config.lbaFormats.prefix(64).enumerated() {
            w.u32(UInt32(f.metadataSize & 0xFFFF) | UInt32(f.lbads) << 16, at: 128 + 4 * i)
        }
        return w.bytes
    }

    /// Identify Namespace for NSID FFFFFFFFh: the capabilities common to all namespaces (formats, MC, DLFEAT).
    func identifyNamespaceCommon() -> [UInt8] {
        var w = ByteWriter(count: 4096)
        let formats = NamespaceConfiguration.qemuLBAFormats
        w.u8(UInt8(formats.count - 1), at: 25)
        w.u8(0x03, at: 27)
        w.u8(0x09, at: 33)
        for (i, f) in formats.enumerated() { w.u32(UInt32(f.metadataSize) | UInt32(f.lbads) << 16, at: 128 + 4 * i) }
        return w.bytes
    }

    func identifyZonedNamespace(_ ns: SimNamespace) -> [UInt8] {
        var w = ByteWriter(count: 4096)
        let z = ns.config.zoned!
        w.u16(0, at: 0)                                       // ZOC
        w.u16(0, at: 2)                                       // OZCS
        w.u32(z.maxActive == 0 ? 0xFFFF_FFFF : z.maxActive - 1, at: 4)   // MAR (0's based, FFFFFFFFh = no limit)
        w.u32(z.maxOpen == 0 ? 0xFFFF_FFFF : z.maxOpen - 1, at: 8)       // MOR
        for i in ns.config.lbaFormats.indices.prefix(64) {
            w.u64(z.zoneSize, at: 2816 + 16 * i)              // ZSZE
        }
        return w.bytes
    }

    // MARK: Get Log Page (Base §5.16)

    mutating func getLogPage(_ sqe: SQEWords) -> CommandOutcome {
        advanceBackgroundOperations()
        let lid = UInt8(sqe.cdw10 & 0xFF)
        let rae = sqe.cdw10 & (1 << 15) != 0
        let numd = Int((sqe.cdw10 >> 16) | (sqe.cdw11 & 0xFFFF) << 16) + 1
        let length = numd * 4
        let offset = UInt64(sqe.cdw12) | UInt64(sqe.cdw13) << 32
        if offset & 3 != 0 { return .complete(Status.invalidField) }
        let page: [UInt8]
        var clears: UInt8?
        switch lid {
        case LogPageID.errorInformation:
            var b: [UInt8] = []
            for e in errorLog { b += e.bytes }
            if b.count < 64 { b += [UInt8](repeating: 0, count: 64 - b.count) }
            page = b
            clears = AsyncEventType.errorStatus
        case LogPageID.smartHealth:
            if sqe.nsid != 0 && sqe.nsid != 0xFFFF_FFFF && namespaces[sqe.nsid] == nil {
                return .complete(Status.invalidField)
            }
            page = smartLog()
            clears = AsyncEventType.smartHealth
        case LogPageID.firmwareSlot:
            var w = ByteWriter(count: 512)
            w.u8(UInt8(firmware.active) | UInt8(firmware.pendingActivation ?? 0) << 4, at: 0)
            for (i, r) in firmware.slots.enumerated() { if let r { w.ascii(r, at: 8 + 8 * i, width: 8) } }
            page = w.bytes
        case LogPageID.changedNamespaceList:
            var w = ByteWriter(count: 4096)
            let list = changedNamespaces.sorted()
            if list.count > 1024 { w.u32(0xFFFF_FFFF, at: 0) } else {
                for (i, id) in list.enumerated() { w.u32(id, at: 4 * i) }
            }
            page = w.bytes
            if !rae { changedNamespaces.removeAll() }
            clears = AsyncEventType.notice
        case LogPageID.commandsSupportedAndEffects:
            page = commandEffectsLog()
        case LogPageID.deviceSelfTest:
            var w = ByteWriter(count: 564)
            let now = MonotonicClock.nanoseconds()
            w.u8(selfTest.current, at: 0)
            w.u8(selfTest.percent(now: now), at: 1)
            for i in 0..<20 {
                if i < selfTest.results.count {
                    let r = selfTest.results[i]
                    w.u8(r.code << 4 | r.result, at: 4 + 28 * i)
                    w.u8(0, at: 5 + 28 * i)                  // segment number
                    w.u8(0x01, at: 6 + 28 * i)               // valid: NSID field
                    w.u64(r.powerOnHours, at: 8 + 28 * i)
                    w.u32(r.nsid, at: 16 + 28 * i)
                } else {
                    w.u8(0x0F, at: 4 + 28 * i)               // entry not used
                }
            }
            page = w.bytes
        case LogPageID.sanitizeStatus:
            var w = ByteWriter(count: 512)
            let now = MonotonicClock.nanoseconds()
            w.u16(sanitize.progress(now: now), at: 0)
            w.u16(UInt16(sanitize.status) | (sanitize.globalDataErased ? 0x100 : 0), at: 2)
            w.u32(sanitize.cdw10, at: 4)
            let est = UInt32(max(1, sanitize.duration / 1_000_000_000))
            w.u32(est, at: 8); w.u32(est, at: 12); w.u32(est, at: 16)
            page = w.bytes
            clears = AsyncEventType.notice
        default:
            return .complete(Status.invalidLogPage)
        }
        if offset > UInt64(page.count) { return .complete(Status.invalidField) }
        let slice = Array(page[Int(offset)...])
        let outcome = returnData(slice, sqe, length: length)
        if case .complete(let s, _, _) = outcome, s.isSuccess, !rae, let t = clears { clearEvents(type: t) }
        return outcome
    }

    var smartTemperature: UInt16 { temperatureOverride ?? configuration.temperatureKelvin }

    func smartLog() -> [UInt8] {
        var w = ByteWriter(count: 512)
        w.u8(smart.criticalWarning | injectedCriticalWarning, at: 0)
        w.u16(smartTemperature, at: 1)
        w.u8(100, at: 3)                           // available spare
        w.u8(10, at: 4)                            // available spare threshold
        w.u8(0, at: 5)                             // percentage used
        w.u128(smart.dataUnitsRead, at: 32)
        w.u128(smart.dataUnitsWritten, at: 48)
        w.u128(smart.hostReadCommands, at: 64)
        w.u128(smart.hostWriteCommands, at: 80)
        w.u128(smart.powerCycles, at: 112)
        w.u128(smart.unsafeShutdowns, at: 144)
        w.u128(smart.mediaErrors, at: 160)
        w.u128(errorCount, at: 176)
        w.u16(smartTemperature, at: 200)           // temperature sensor 1
        return w.bytes
    }

    func commandEffectsLog() -> [UInt8] {
        var w = ByteWriter(count: 4096)
        // CSUPP (bit 0), LBCC (bit 1), NCC (bit 2), NIC (bit 3), CCC (bit 4), CSE bits 18:16.
        let admin: [UInt8: UInt32] = [
            0x00: 1, 0x01: 1, 0x02: 1, 0x04: 1, 0x05: 1, 0x06: 1, 0x08: 1, 0x09: 1 | 1 << 4, 0x0A: 1, 0x0C: 1,
            0x0D: 1 | 1 << 2 | 1 << 3, 0x10: 1 | 1 << 1 | 1 << 4, 0x11: 1, 0x14: 1, 0x15: 1 | 1 << 2 | 1 << 3,
            0x18: 1, 0x7C: 1, 0x80: 1 | 1 << 1 | 1 << 2 | 1 << 3 | 1 << 17, 0x84: 1 | 1 << 1 | 1 << 17,
        ]
        for (op, v) in admin { w.u32(v, at: 4 * Int(op)) }
        let io: [UInt8: UInt32] = [0x00: 1, 0x01: 1 | 1 << 1, 0x02: 1, 0x04: 1 | 1 << 1, 0x05: 1,
                                   0x08: 1 | 1 << 1, 0x09: 1 | 1 << 1, 0x0C: 1,
                                   0x79: 1 | 1 << 1, 0x7A: 1, 0x7D: 1 | 1 << 1]
        for (op, v) in io { w.u32(v, at: 1024 + 4 * Int(op)) }
        return w.bytes
    }

    // MARK: Format NVM (NVM Command Set §4.1.1 / Base §5.14)

    mutating func formatNVM(_ sqe: SQEWords) -> CommandOutcome {
        let lbaf = Int(sqe.cdw10 & 0xF) | Int((sqe.cdw10 >> 12) & 3) << 4
        let mset = sqe.cdw10 & (1 << 4) != 0
        let pi = (sqe.cdw10 >> 5) & 7
        let ses = (sqe.cdw10 >> 9) & 7
        if ses > 2 { return .complete(Status.invalidField) }
        if pi != 0 { return .complete(Status.invalidFormat) }   // no end-to-end protection in the model
        let targets: [UInt32]
        if sqe.nsid == 0xFFFF_FFFF {
            targets = namespaces.values.filter { $0.config.attached }.map(\.nsid)
        } else {
            guard sqe.nsid != 0, sqe.nsid <= Self.maxNamespaces else { return .complete(Status.invalidNamespace) }
            guard let ns = namespaces[sqe.nsid], ns.config.attached else { return .complete(Status.invalidField) }
            targets = [ns.nsid]
        }
        for id in targets where lbaf >= namespaces[id]!.config.lbaFormats.count { return .complete(Status.invalidFormat) }
        for id in targets {
            namespaces[id]!.config.formatIndex = lbaf
            namespaces[id]!.config.extendedMetadata = mset
            namespaces[id]!.eraseAll()
        }
        return .complete(.success)
    }

    // MARK: Sanitize (Base §5.24) — simulator-only: QEMU 7.2 has none.

    mutating func sanitizeCommand(_ sqe: SQEWords) -> CommandOutcome {
        let sanact = sqe.cdw10 & 7
        if sanitize.inProgress { return .complete(Status.sanitizeInProgress) }
        switch sanact {
        case 1:
            // Exit Failure Mode.
            if sanitize.status == 3 { sanitize.status = 1 }
            return .complete(.success)
        case 2, 3, 4:
            sanitize.status = 2
            sanitize.cdw10 = sqe.cdw10
            sanitize.overwritePattern = sqe.cdw11
            sanitize.startedAt = MonotonicClock.nanoseconds()
            sanitize.duration = nanoseconds(configuration.sanitizeDuration)
            sanitize.globalDataErased = false
            if sanitize.duration == 0 { finishSanitize() }
            return .complete(.success)
        default:
            return .complete(Status.invalidField)
        }
    }

    // MARK: Firmware (Base §5.11, §5.12) — simulator-only: QEMU 7.2 has none.

    mutating func firmwareDownload(_ sqe: SQEWords) -> CommandOutcome {
        let numd = Int(sqe.cdw10) + 1
        let ofst = Int(sqe.cdw11)
        guard numd <= 1 << 20, ofst <= 1 << 24 else { return .complete(Status.invalidField) }
        let (d, s) = receiveData(sqe, length: numd * 4)
        guard let d else { return .complete(s) }
        let start = ofst * 4
        if firmware.image.count < start + d.count {
            firmware.image += [UInt8](repeating: 0, count: start + d.count - firmware.image.count)
        }
        firmware.image.replaceSubrange(start..<(start + d.count), with: d)
        return .complete(.success)
    }

    /// Firmware Commit. A simulated image carries its revision in bytes 0-7 (ASCII); an image shorter than 8
    /// bytes or whose first byte is zero is rejected as Invalid Firmware Image.
    mutating func firmwareCommit(_ sqe: SQEWords) -> CommandOutcome {
        var fs = Int(sqe.cdw10 & 7)
        let ca = (sqe.cdw10 >> 3) & 7
        let nofs = firmware.slots.count
        if fs > nofs { return .complete(Status.invalidFirmwareSlot) }
        let replaces = ca == 0 || ca == 1 || ca == 3
        if replaces {
            if fs == 0 { fs = nofs >= 2 ? 2 : 1 }
            if fs == 1 { return .complete(Status.invalidFirmwareSlot) }   // slot 1 is read-only
            guard firmware.image.count >= 8, firmware.image[0] != 0 else { return .complete(Status.invalidFirmwareImage) }
            let rev = String(decoding: firmware.image.prefix(8).filter { $0 != 0 }, as: UTF8.self)
            firmware.slots[fs - 1] = rev
            firmware.image = []
        } else if ca == 2 {
            if fs == 0 { return .complete(Status.invalidFirmwareSlot) }
            if firmware.slots[fs - 1] == nil { return .complete(Status.invalidFirmwareImage) }
        } else {
            return .complete(Status.invalidField)
        }
        switch ca {
        case 0: return .complete(.success)
        case 1, 2:
            firmware.pendingActivation = fs
            return .complete(.success)
        default:
            // CA 3: activate now, without a reset; a Firmware Activation Starting notice if enabled.
            firmware.active = fs
            firmware.pendingActivation = nil
            if (features[0x0B] ?? 0) & (1 << 9) != 0 {
                enqueueEvent(AsyncEvent(type: AsyncEventType.notice, info: AsyncEventType.firmwareActivationStarting,
                                        logPage: LogPageID.firmwareSlot))
            }
            return .complete(.success)
        }
    }

    // MARK: Device Self-test (Base §5.9)

    mutating func deviceSelfTest(_ sqe: SQEWords) -> CommandOutcome {
        let stc = UInt8(sqe.cdw10 & 0xF)
        switch stc {
        case 1, 2:
            if selfTest.current != 0 { return .complete(Status.deviceSelfTestInProgress) }
            if sqe.nsid != 0 && sqe.nsid != 0xFFFF_FFFF && namespaces[sqe.nsid]?.config.attached != true {
                return .complete(Status.invalidNamespace)
            }
            selfTest.current = stc
            selfTest.nsid = sqe.nsid
            selfTest.startedAt = MonotonicClock.nanoseconds()
            selfTest.duration = nanoseconds(stc == 1 ? configuration.selfTestDuration : configuration.selfTestDuration * 4)
            if selfTest.duration == 0 { selfTest.finish(result: 0) }
            return .complete(.success)
        case 0xF:
            if selfTest.current != 0 { selfTest.finish(result: 1) }   // aborted by a Device Self-test command
            return .complete(.success)
        default:
            return .complete(Status.invalidField)
        }
    }

    // MARK: Namespace Management / Attachment (Base §5.22, §5.23)

    mutating func namespaceManagement(_ sqe: SQEWords) -> CommandOutcome {
        let sel = sqe.cdw10 & 0xF
        switch sel {
        case 0:
            let csi = UInt8(sqe.cdw11 >> 24)
            guard csi == 0 || csi == 2 else { return .complete(Status.invalidField) }
            let (d, s) = receiveData(sqe, length: 4096)
            guard let d else { return .complete(s) }
            func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(d[o + $1]) << (8 * UInt64($1)) } }
            let nsze = u64(0), ncap = u64(8)
            let flbas = d[26]
            let fi = Int(flbas & 0xF) | Int((flbas >> 5) & 3) << 4
            let formats = NamespaceConfiguration.qemuLBAFormats
            if nsze == 0 || ncap > nsze { return .complete(Status.invalidField) }
            if ncap != nsze { return .complete(Status.invalidField) }       // no thin provisioning
            if fi >= formats.count { return .complete(Status.invalidFormat) }
            let bytes = nsze.multipliedReportingOverflow(by: UInt64(formats[fi].dataSize))
            let used = namespaces.values.reduce(UInt64(0)) { $0.addingReportingOverflow($1.capacityBytes).overflow ? .max : $0 + $1.capacityBytes }
            if bytes.overflow || used.addingReportingOverflow(bytes.partialValue).overflow
                || used + bytes.partialValue > configuration.totalCapacityBytes {
                return .complete(Status.namespaceInsufficientCapacity)
            }
            guard let id = (1...Self.maxNamespaces).first(where: { namespaces[$0] == nil }) else {
                return .complete(Status.namespaceIdentifierUnavailable)
            }
            let cfg = NamespaceConfiguration(nsid: id, blockCount: nsze, formatIndex: fi, lbaFormats: formats,
                                             extendedMetadata: flbas & 0x10 != 0,
                                             zoned: csi == 2 ? .init() : nil, attached: false)
            namespaces[id] = SimNamespace(configuration: cfg)
            return .complete(.success, dw0: id)
        case 1:
            let targets: [UInt32]
            if sqe.nsid == 0xFFFF_FFFF { targets = Array(namespaces.keys) } else {
                guard sqe.nsid != 0, sqe.nsid <= Self.maxNamespaces else { return .complete(Status.invalidNamespace) }
                guard namespaces[sqe.nsid] != nil else { return .complete(Status.invalidField) }
                targets = [sqe.nsid]
            }
            for id in targets {
                if namespaces[id]!.config.attached { namespaceChanged(id) }
                namespaces[id] = nil
            }
            return .complete(.success)
        default:
            return .complete(Status.invalidField)
        }
    }

    mutating func namespaceAttachment(_ sqe: SQEWords) -> CommandOutcome {
        let sel = sqe.cdw10 & 0xF
        guard sel <= 1 else { return .complete(Status.invalidField) }
        guard sqe.nsid != 0, sqe.nsid <= Self.maxNamespaces else { return .complete(Status.invalidNamespace) }
        guard let ns = namespaces[sqe.nsid] else { return .complete(Status.invalidField) }
        let (d, s) = receiveData(sqe, length: 4096)
        guard let d else { return .complete(s) }
        let count = Int(d[0]) | Int(d[1]) << 8
        guard count > 0 && count <= 2047 else { return .complete(Status.controllerListInvalid) }
        var ids: [UInt16] = []
        for i in 0..<count { ids.append(UInt16(d[2 + 2 * i]) | UInt16(d[3 + 2 * i]) << 8) }
        guard ids.allSatisfy({ $0 == Self.controllerID }) else { return .complete(Status.controllerListInvalid) }
        if sel == 0 {
            if ns.config.attached { return .complete(Status.namespaceAlreadyAttached) }
            namespaces[sqe.nsid]!.config.attached = true
        } else {
            if !ns.config.attached { return .complete(Status.namespaceNotAttached) }
            namespaces[sqe.nsid]!.config.attached = false
        }
        namespaceChanged(sqe.nsid)
        return .complete(.success)
    }

    /// Records a Changed Namespace List entry and raises a Namespace Attribute Changed notice when Asynchronous
    /// Event Configuration bit 8 enables it.
    mutating func namespaceChanged(_ nsid: UInt32) {
        changedNamespaces.insert(nsid)
        if (features[0x0B] ?? 0) & (1 << 8) != 0 {
            enqueueEvent(AsyncEvent(type: AsyncEventType.notice, info: AsyncEventType.namespaceAttributeChanged,
                                    logPage: LogPageID.changedNamespaceList))
        }
    }
}
