import NVMeSpec

extension ControllerState {
    /// NVM and ZNS I/O commands (NVM Command Set 1.0 §3, ZNS 1.1 §4). Checks follow QEMU 7.2's order: namespace,
    /// opcode, MDTS, LBA range, zone rules, data pointer.
    mutating func executeIO(sqid: UInt16, _ sqe: SQEWords) -> CommandOutcome {
        let opc = sqe.opc
        if configuration.nullIO && (opc == 0x01 || opc == 0x02 || opc == 0x00) { return .complete(.success) }
        if sqe.fuse != 0 { return .complete(Status.invalidField) }
        let nsid = sqe.nsid
        if opc == 0x00 && nsid == 0xFFFF_FFFF { return .complete(.success) }   // Flush to all namespaces
        guard nsid != 0, nsid <= Self.maxNamespaces else { return .complete(Status.invalidNamespace) }
        guard let ns = namespaces[nsid], ns.config.attached else { return .complete(Status.invalidField) }
        if sanitize.inProgress {
            advanceBackgroundOperations()
            if sanitize.inProgress { return .complete(Status.sanitizeInProgress) }
        }
        switch opc {
        case 0x00: return .complete(.success)
        case 0x01: return readWrite(ns, sqe, write: true)
        case 0x02: return readWrite(ns, sqe, write: false)
        case 0x04: return writeUncorrectable(ns, sqe)
        case 0x05: return compare(ns, sqe)
        case 0x08: return writeZeroes(ns, sqe)
        case 0x09: return datasetManagement(ns, sqe)
        case 0x0C: return verify(ns, sqe)
        case 0x19: return copy(ns, sqe)
        case 0x79 where ns.isZoned: return zoneManagementSend(ns, sqe)
        case 0x7A where ns.isZoned: return zoneManagementReceive(ns, sqe)
        case 0x7D where ns.isZoned: return zoneAppend(ns, sqe)
        default: return .complete(Status.invalidOpcode)
        }
    }

    /// SLBA (CDW11:CDW10) and NLB (CDW12 bits 15:0, 0's based) of an LBA-range command.
    @inline(__always) func lbaRange(_ sqe: SQEWords) -> (slba: UInt64, nlb: Int) {
        (UInt64(sqe.cdw10) | UInt64(sqe.cdw11) << 32, Int(sqe.cdw12 & 0xFFFF) + 1)
    }

    @inline(__always) func inRange(_ ns: SimNamespace, _ slba: UInt64, _ nlb: Int) -> Bool {
        let end = slba.addingReportingOverflow(UInt64(nlb))
        return !end.overflow && end.partialValue <= ns.blockCount
    }

    mutating func readWrite(_ ns: SimNamespace, _ sqe: SQEWords, write: Bool) -> CommandOutcome {
        let (slba, nlb) = lbaRange(sqe)
        let length = nlb * ns.transferBlockSize
        if let max = maxTransferBytes, length > max { return .complete(Status.invalidField) }
        if !inRange(ns, slba, nlb) { return .complete(Status.lbaOutOfRange) }
        if write, ns.isZoned, let s = zoneWriteCheck(ns, slba: slba, nlb: nlb) { return .complete(s) }
        if !write, !ns.uncorrectable.isEmpty, (0..<UInt64(nlb)).contains(where: { ns.uncorrectable.contains(slba + $0) }) {
            smart.mediaErrors += 1
            return .complete(Status.unrecoveredReadError)
        }
        let segs: [DataSegment]
        switch mapDataPointer(sqe, length: length, allowSGL: true, isWrite: write) {
        case .failure(let s): return .complete(s)
        case .success(let s): segs = s
        }
        let separateMetadata = ns.metadataSize > 0 && !ns.config.extendedMetadata
        let nsid = ns.nsid
        if write {
            guard let buf = copyFromHost(segs, length: length) else {
                statistics.dmaFaults += 1; return .complete(Status.dataTransferError)
            }
            var meta: [UInt8]?
            if separateMetadata {
                switch metadataTransfer(sqe, length: nlb * ns.metadataSize, fromHost: true, data: nil) {
                case .failure(let s): return .complete(s)
                case .success(let m): meta = m
                }
            }
            namespaces[nsid]!.writeBlocks(slba: slba, count: nlb, from: buf)
            if let meta { namespaces[nsid]!.writeSeparateMetadata(slba: slba, count: nlb, from: meta) }
            if ns.isZoned { zoneAdvance(nsid, slba: slba, nlb: nlb) }
            smart.countWrite(bytes: nlb * ns.blockSize)
        } else {
            let buf = ns.readBlocks(slba: slba, count: nlb)
            guard copyToHost(buf, segs) else { statistics.dmaFaults += 1; return .complete(Status.dataTransferError) }
            if separateMetadata {
                let m = ns.readSeparateMetadata(slba: slba, count: nlb)
                if case .failure(let s) = metadataTransfer(sqe, length: m.count, fromHost: false, data: m) {
                    return .complete(s)
                }
            }
            smart.countRead(bytes: nlb * ns.blockSize)
        }
        return .complete(.success)
    }

    enum MetadataResult { case success([UInt8]?), failure(CompletionStatus) }

    /// Separate-buffer metadata through MPTR: contiguous for PSDT 0/1, an SGL descriptor at MPTR for PSDT 2.
    func metadataTransfer(_ sqe: SQEWords, length: Int, fromHost: Bool, data: [UInt8]?) -> MetadataResult {
        var segs = [DataSegment(bus: sqe.mptr, length: length)]
        if sqe.psdt == 2 {
            guard let q = bus.loadQwords(at: sqe.mptr, count: 2) else { return .failure(Status.dataTransferError) }
            let d = SGLDescriptor(address: q[0], dword2: UInt32(truncatingIfNeeded: q[1]),
                                  dword3: UInt32(truncatingIfNeeded: q[1] >> 32))
            switch mapSGL(d, length: length, isWrite: fromHost) {
            case .failure(let s): return .failure(s == Status.dataSGLLengthInvalid ? Status.metadataSGLLengthInvalid : s)
            case .success(let s): segs = s
            }
        }
        if fromHost {
            guard let m = copyFromHost(segs, length: length) else { return .failure(Status.dataTransferError) }
            return .success(m)
        }
        guard copyToHost(data ?? [], segs) else { return .failure(Status.dataTransferError) }
        return .success(nil)
    }

    mutating func compare(_ ns: SimNamespace, _ sqe: SQEWords) -> CommandOutcome {
        let (slba, nlb) = lbaRange(sqe)
        let length = nlb * ns.transferBlockSize
        if let max = maxTransferBytes, length > max { return .complete(Status.invalidField) }
        if !inRange(ns, slba, nlb) { return .complete(Status.lbaOutOfRange) }
        let (received, status) = receiveData(sqe, length: length, allowSGL: true, isWrite: true)
        guard let host = received else { return .complete(status) }
        if host != ns.readBlocks(slba: slba, count: nlb) { return .complete(Status.compareFailure) }
        if ns.metadataSize > 0 && !ns.config.extendedMetadata {
            switch metadataTransfer(sqe, length: nlb * ns.metadataSize, fromHost: true, data: nil) {
            case .failure(let s): return .complete(s)
            case .success(let m):
                if m != ns.readSeparateMetadata(slba: slba, count: nlb) { return .complete(Status.compareFailure) }
            }
        }
        return .complete(.success)
    }

    mutating func writeZeroes(_ ns: SimNamespace, _ sqe: SQEWords) -> CommandOutcome {
        let (slba, nlb) = lbaRange(sqe)
        if !inRange(ns, slba, nlb) { return .complete(Status.lbaOutOfRange) }
        if ns.isZoned, let s = zoneWriteCheck(ns, slba: slba, nlb: nlb) { return .complete(s) }
        namespaces[ns.nsid]!.zero(slba: slba, count: UInt64(nlb))
        if ns.isZoned { zoneAdvance(ns.nsid, slba: slba, nlb: nlb) }
        return .complete(.success)
    }

    mutating func writeUncorrectable(_ ns: SimNamespace, _ sqe: SQEWords) -> CommandOutcome {
        let (slba, nlb) = lbaRange(sqe)
        if !inRange(ns, slba, nlb) { return .complete(Status.lbaOutOfRange) }
        for i in 0..<UInt64(nlb) { namespaces[ns.nsid]!.uncorrectable.insert(slba + i) }
        return .complete(.success)
    }

    mutating func verify(_ ns: SimNamespace, _ sqe: SQEWords) -> CommandOutcome {
        let (slba, nlb) = lbaRange(sqe)
        if !inRange(ns, slba, nlb) { return .complete(Status.lbaOutOfRange) }
        if (0..<UInt64(nlb)).contains(where: { ns.uncorrectable.contains(slba + $0) }) {
            smart.mediaErrors += 1
            return .complete(Status.unrecoveredReadError)
        }
        return .complete(.success)
    }

    /// Dataset Management: ranges of 16 bytes (context attributes, length in LBAs, SLBA); Deallocate (CDW11 bit 2)
    /// makes the blocks read as zeroes (DLFEAT 001b).
    mutating func datasetManagement(_ ns: SimNamespace, _ sqe: SQEWords) -> CommandOutcome {
        let nr = Int(sqe.cdw10 & 0xFF) + 1
        let deallocate = sqe.cdw11 & 4 != 0
        let length = nr * 16
        let (received, status) = receiveData(sqe, length: length, allowSGL: true, isWrite: true)
        guard let d = received else { return .complete(status) }
        var ranges: [(UInt64, UInt64)] = []
        for i in 0..<nr {
            let o = i * 16
            let len = (0..<4).reduce(UInt64(0)) { $0 | UInt64(d[o + 4 + $1]) << (8 * UInt64($1)) }
            let slba = (0..<8).reduce(UInt64(0)) { $0 | UInt64(d[o + 8 + $1]) << (8 * UInt64($1)) }
            let end = slba.addingReportingOverflow(len)
            if end.overflow || end.partialValue > ns.blockCount { return .complete(Status.lbaOutOfRange) }
            ranges.append((slba, len))
        }
        if deallocate && !ns.isZoned { for (s, l) in ranges { namespaces[ns.nsid]!.zero(slba: s, count: l) } }
        return .complete(.success)
    }

    // MARK: Zoned Namespace (ZNS 1.1 §2.1, §4)

    /// Why a write of `nlb` blocks at `slba` violates the zone rules, or nil.
    func zoneWriteCheck(_ ns: SimNamespace, slba: UInt64, nlb: Int) -> CompletionStatus? {
        guard let zi = ns.zoneIndex(of: slba) else { return Status.lbaOutOfRange }
        let z = ns.zones[zi]
        switch z.state {
        case .full: return Status.zoneIsFull
        case .readOnly: return Status.zoneIsReadOnly
        case .offline: return Status.zoneIsOffline
        default: break
        }
        if slba != z.writePointer { return Status.zoneInvalidWrite }
        if slba + UInt64(nlb) > z.start + z.capacity { return Status.zoneBoundaryError }
        if !z.state.isOpen { return zoneResourceCheck(ns, opening: z) }
        return nil
    }

    func zoneResourceCheck(_ ns: SimNamespace, opening z: Zone) -> CompletionStatus? {
        guard let cfg = ns.config.zoned else { return nil }
        let active = ns.zones.filter { $0.state.isActive }.count
        let open = ns.zones.filter { $0.state.isOpen }.count
        if z.state == .empty, cfg.maxActive != 0, active >= Int(cfg.maxActive) { return Status.tooManyActiveZones }
        if cfg.maxOpen != 0, open >= Int(cfg.maxOpen) { return Status.tooManyOpenZones }
        return nil
    }

    mutating func zoneAdvance(_ nsid: UInt32, slba: UInt64, nlb: Int) {
        guard let zi = namespaces[nsid]!.zoneIndex(of: slba) else { return }
        var z = namespaces[nsid]!.zones[zi]
        z.writePointer = slba + UInt64(nlb)
        if z.state == .empty || z.state == .closed { z.state = .implicitlyOpened }
        if z.writePointer >= z.start + z.capacity { z.state = .full }
        namespaces[nsid]!.zones[zi] = z
    }

    mutating func zoneAppend(_ ns: SimNamespace, _ sqe: SQEWords) -> CommandOutcome {
        let (zslba, nlb) = lbaRange(sqe)
        guard let zi = ns.zoneIndex(of: zslba), ns.zones[zi].start == zslba else { return .complete(Status.invalidField) }
        let wp = ns.zones[zi].writePointer
        // Zone Append writes at the write pointer; reuse the write path with SLBA replaced.
        var patched = sqe
        patched.words.10 = UInt32(truncatingIfNeeded: wp)
        patched.words.11 = UInt32(truncatingIfNeeded: wp >> 32)
        if ns.zones[zi].state == .full { return .complete(Status.zoneIsFull) }
        let outcome = readWrite(ns, patched, write: true)
        if case .complete(let s, _, _) = outcome, s.isSuccess {
            return .complete(.success, dw0: UInt32(truncatingIfNeeded: wp), dw1: UInt32(truncatingIfNeeded: wp >> 32))
        }
        _ = nlb
        return outcome
    }

    mutating func zoneManagementSend(_ ns: SimNamespace, _ sqe: SQEWords) -> CommandOutcome {
        let slba = UInt64(sqe.cdw10) | UInt64(sqe.cdw11) << 32
        let zsa = UInt8(sqe.cdw13 & 0xFF)
        let all = sqe.cdw13 & (1 << 8) != 0
        let nsid = ns.nsid
        var targets: [Int]
        if all {
            targets = Array(ns.zones.indices)
        } else {
            guard let zi = ns.zoneIndex(of: slba), ns.zones[zi].start == slba else { return .complete(Status.invalidField) }
            targets = [zi]
        }
        for zi in targets {
            var z = namespaces[nsid]!.zones[zi]
            let s = z.state
            switch zsa {
            case 0x01: // Close
                if all && !s.isOpen { continue }
                guard s.isOpen || s == .closed else { return .complete(Status.invalidZoneStateTransition) }
                z.state = z.writePointer == z.start ? .empty : .closed
            case 0x02: // Finish
                if all && !(s.isActive) { continue }
                guard s.isActive || s == .empty || s == .full else { return .complete(Status.invalidZoneStateTransition) }
                z.state = .full; z.writePointer = z.start + z.capacity
            case 0x03: // Open
                if all && s != .closed { continue }
                if s == .explicitlyOpened { continue }
                guard s == .empty || s == .implicitlyOpened || s == .closed else {
                    return .complete(Status.invalidZoneStateTransition)
                }
                if s != .implicitlyOpened, let err = zoneResourceCheck(namespaces[nsid]!, opening: z) { return .complete(err) }
                z.state = .explicitlyOpened
            case 0x04: // Reset
                if all && !(s.isActive || s == .full) { continue }
                guard s != .readOnly && s != .offline else { return .complete(Status.invalidZoneStateTransition) }
                namespaces[nsid]!.zero(slba: z.start, count: z.capacity)
                z.state = .empty; z.writePointer = z.start
            case 0x05: // Offline
                if all && s != .readOnly { continue }
                guard s == .readOnly || s == .offline else { return .complete(Status.invalidZoneStateTransition) }
                z.state = .offline
            default:
                return .complete(Status.invalidField)
            }
            namespaces[nsid]!.zones[zi] = z
        }
        return .complete(.success)
    }

    mutating func zoneManagementReceive(_ ns: SimNamespace, _ sqe: SQEWords) -> CommandOutcome {
        let slba = UInt64(sqe.cdw10) | UInt64(sqe.cdw11) << 32
        let length = (Int(sqe.cdw12) + 1) * 4
        let zra = UInt8(sqe.cdw13 & 0xFF)
        let filter = UInt8((sqe.cdw13 >> 8) & 0xFF)
        let partial = sqe.cdw13 & (1 << 16) != 0
        guard zra == 0 else { return .complete(Status.invalidField) }   // no zone descriptor extensions
        guard filter <= 7 else { return .complete(Status.invalidField) }
        guard let first = ns.zoneIndex(of: slba) else { return .complete(Status.lbaOutOfRange) }
        let wanted: [ZoneState]? = [nil, [.empty], [.implicitlyOpened], [.explicitlyOpened], [.closed], [.full],
                                    [.readOnly], [.offline]][Int(filter)]
        let matching = ns.zones[first...].filter { wanted == nil || wanted!.contains($0.state) }
        let fits = max(0, (length - 64) / 64)
        var w = ByteWriter(count: max(64, 64 + min(fits, matching.count) * 64))
        w.u64(UInt64(partial ? min(fits, matching.count) : matching.count), at: 0)
        for (i, z) in matching.prefix(fits).enumerated() {
            let o = 64 + 64 * i
            w.u8(0x2, at: o)                       // ZT: sequential write required
            w.u8(z.state.rawValue << 4, at: o + 1)
            w.u8(z.attributes, at: o + 2)
            w.u64(z.capacity, at: o + 8)
            w.u64(z.start, at: o + 16)
            w.u64(z.writePointer, at: o + 24)
        }
        switch mapDataPointer(sqe, length: length, allowSGL: true) {
        case .failure(let s): return .complete(s)
        case .success(let segs):
            var d = w.bytes
            if d.count < length { d += [UInt8](repeating: 0, count: length - d.count) }
            if d.count > length { d.removeLast(d.count - length) }
            guard copyToHost(d, segs) else { statistics.dmaFaults += 1; return .complete(Status.dataTransferError) }
            return .complete(.success)
        }
    }
}
