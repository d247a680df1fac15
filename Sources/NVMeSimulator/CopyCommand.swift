import NVMeSpec

extension ControllerState {
    /// Copy (19h), NVM Command Set 1.0 §3.2.2, Source Range Entries in Descriptor Format 0h only (OCFS = 1). Checks in
    /// QEMU 7.2's order: a Descriptor Format the controller does not support (OCFS) is Invalid Field in Command; more
    /// ranges than MSRC+1, a range longer than MSSRL, or ranges longer than MCL in total are Command Size Limit
    /// Exceeded; a source range or the destination past the namespace is LBA Out of Range. The ranges are read first,
    /// then written to consecutive LBAs from SDLBA, so overlapping source and destination copy the old data.
    mutating func copy(_ ns: SimNamespace, _ sqe: SQEWords) -> CommandOutcome {
        let cdw12 = sqe.cdw12
        let nr = Int(cdw12 & 0xFF) + 1
        let desfmt = Int((cdw12 >> 8) & 0xF)
        guard desfmt == 0 else { return .complete(Status.invalidField) }             // OCFS: format 0h only
        guard nr <= Int(ns.config.msrc) + 1 else { return .complete(Status.commandSizeLimitExceeded) }
        let length = nr * CopySourceRangeFormat0.size
        let (received, status) = receiveData(sqe, length: length, allowSGL: true, isWrite: true)
        guard let d = received else { return .complete(status) }
        var ranges: [CopySourceRangeFormat0] = []
        var total = 0
        for i in 0..<nr {
            guard let r = CopySourceRangeFormat0(bytes: d[(i * 32)..<(i * 32 + 32)]) else { return .complete(Status.invalidField) }
            if r.blockCount > Int(ns.config.mssrl) { return .complete(Status.commandSizeLimitExceeded) }
            total += r.blockCount
            if total > Int(ns.config.mcl) { return .complete(Status.commandSizeLimitExceeded) }
            ranges.append(r)
        }
        for r in ranges where !inRange(ns, r.slba, r.blockCount) { return .complete(Status.lbaOutOfRange) }
        let sdlba = UInt64(sqe.cdw10) | UInt64(sqe.cdw11) << 32
        if !inRange(ns, sdlba, total) { return .complete(Status.lbaOutOfRange) }
        if ns.isZoned, let s = zoneWriteCheck(ns, slba: sdlba, nlb: total) { return .complete(s) }
        var data: [UInt8] = []
        var metadata: [UInt8] = []
        let separate = ns.metadataSize > 0 && !ns.config.extendedMetadata
        for r in ranges {
            data += ns.readBlocks(slba: r.slba, count: r.blockCount)
            if separate { metadata += ns.readSeparateMetadata(slba: r.slba, count: r.blockCount) }
        }
        namespaces[ns.nsid]!.writeBlocks(slba: sdlba, count: total, from: data)
        if separate { namespaces[ns.nsid]!.writeSeparateMetadata(slba: sdlba, count: total, from: metadata) }
        if ns.isZoned { zoneAdvance(ns.nsid, slba: sdlba, nlb: total) }
        return .complete(.success)
    }
}
