#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// Executing a case: interprets its actions on the fuzzer's queues and registers, waits for what must complete, and
/// returns a `CaseOutcome` for the oracles. Bookkeeping only (counters, lingering CIDs, canary repainting): no
/// judgement here.
extension FuzzRunner {
    /// Whether the 4 KiB page at `address` overlaps the memory of any queue ring.
    func pointsIntoQueues(_ address: UInt64) -> Bool {
        let page = address & ~UInt64(pageSize - 1)
        let queues = ([controller.adminQueue].compactMap { $0 } + controller.ioQueues)
        for q in queues {
            for mem in [q.sq.memory, q.cq.memory] {
                var o = 0
                while o < mem.length {
                    if mem.busAddress(at: o) & ~UInt64(pageSize - 1) == page { return true }
                    o += pageSize
                }
            }
        }
        return false
    }

    func cidForNext() -> UInt16 {
        let c = nextCID
        nextCID = nextCID == 0xFFFF ? 0x8000 : nextCID + 1
        return c
    }

    /// Whether `offset ..< offset + count + extra` lies within `0 ..< size`, without overflowing on any input (a
    /// repro file's offsets and counts are whatever the file says).
    static func fits(_ offset: Int, _ count: Int, within size: Int) -> Bool {
        guard offset >= 0, count >= 0 else { return false }
        let (end, overflow) = offset.addingReportingOverflow(count)
        return !overflow && end <= size
    }

    func resolve(_ p: Pointer) -> UInt64 {
        func inArena(_ base: Int, _ o: Int) -> UInt64 {
            let (x, overflow) = base.addingReportingOverflow(o)
            if !overflow && x >= 0 && x <= arena.length { return arena.busAddress(at: x) }
            return arena.busAddress(at: 0) &+ UInt64(bitPattern: Int64(base)) &+ UInt64(bitPattern: Int64(o))
        }
        switch p {
        case .data(let o): return inArena(dataStart, o)
        case .list(let o): return inArena(listStart, o)
        case .unmapped(let o): return Self.unmappedBase &+ o
        case .absolute(let v): return v
        case .ring(let qid, let completion, let o):
            guard let q = queue(qid) else { return Self.unmappedBase }
            let mem = completion ? q.cq.memory : q.sq.memory
            return o >= 0 && o <= mem.length ? mem.busAddress(at: o) : mem.busAddress(at: 0) &+ UInt64(bitPattern: Int64(o))
        }
    }

    func doorbellValue(_ v: DoorbellValue, qid: UInt16, completion: Bool) -> UInt32 {
        switch v {
        case .raw(let x): return x
        case .tail(let plus):
            guard let q = queue(qid) else { return UInt32(truncatingIfNeeded: plus) }
            var x = Int(q.sq.tail) &+ plus
            if x < 0 { x &+= q.sq.depth }
            return UInt32(truncatingIfNeeded: x)
        case .head(let plus):
            guard let q = queue(qid) else { return UInt32(truncatingIfNeeded: plus) }
            var x = Int(q.cq.head) &+ plus
            if x < 0 { x &+= q.cq.depth }
            return UInt32(truncatingIfNeeded: x)
        }
    }

    func areaOffset(_ a: MemoryArea) -> (Int, Int) {
        a == .data ? (dataStart, environment.dataBytes) : (listStart, environment.listPages * pageSize)
    }

    func execute(_ c: FuzzCase) -> CaseOutcome {
        var out = CaseOutcome(resolvedCase: c)
        var pending: [ExecutedCommand] = []
        let regs = target.device.bar0
        let dstrd = controller.cap.dstrd
        var resolvedActions = c.actions
        let faultsBefore = target.faults?.faultCount() ?? 0
        if faultsBefore != lastFaultCount {
            // Faults that arrived between cases belong to the previous case; count them, attribute nothing new.
            summary.dmaFaults += faultsBefore - lastFaultCount
            lastFaultCount = faultsBefore
        }

        for (ai, action) in c.actions.enumerated() {
            switch action {
            case .submit(var s):
                guard let q = queue(s.qid) else {
                    out.queueTrouble = true
                    continue
                }
                if s.ring && s.slot == nil && q.sq.freeSlots == 0 { out.queueTrouble = true; continue }
                var sqe = s.sqe
                let cid = s.cid ?? cidForNext()
                sqe.cid = cid
                s.cid = cid
                if let p = s.prp1 { sqe.prp1 = resolve(p) }
                if let p = s.prp2 { sqe.prp2 = resolve(p) }
                if let p = s.mptr { sqe.mptr = resolve(p) }
                if sqe.psdt == 0 && (pointsIntoQueues(sqe.prp1) || pointsIntoQueues(sqe.prp2)) { out.aimedAtQueues = true }
                let slot = s.slot.map { (($0 % q.sq.depth) + q.sq.depth) % q.sq.depth } ?? Int(q.sq.tail)
                var guards: [(Int, Int)] = []
                if !s.expect.wildPointers, let extent = dataExtent(s) { guards = placeGuards(around: extent) }
                _ = try? q.sq.post(sqe, at: slot)   // slot is reduced modulo the depth above: always in range
                out.posted.append(PostedCommand(qid: s.qid, slot: slot, cid: cid, sqe: hexBytes(sqe.bytes), cqe: nil, status: nil))
                summary.commands += 1
                summary.perOpcode[FuzzSummary.opcodeKey(qid: s.qid, opcode: sqe.opc), default: 0] += 1
                if s.ring && s.slot == nil {
                    q.sq.setTail(UInt16((slot + 1) % q.sq.depth))
                    q.sq.ring()
                    summary.doorbellWrites += 1
                    out.writes.append(RegisterWrite(offset: q.sq.doorbellOffset, value: UInt64(q.sq.tail), what: "SQ\(s.qid) tail"))
                }
                pending.append(ExecutedCommand(qid: s.qid, cid: cid, opcode: sqe.opc, expect: s.expect, rang: s.ring,
                                       postedIndex: out.posted.count - 1, guards: guards))
                resolvedActions[ai] = .submit(s)
            case .ringSubmissionTail(let qid, let v):
                let value = doorbellValue(v, qid: qid, completion: false)
                let off = queue(qid)?.sq.doorbellOffset ?? Doorbell.sqTailOffset(qid: qid, dstrd: dstrd)
                if Self.fits(off, 4, within: regs.length) { regs.write32(value, at: off) }
                summary.doorbellWrites += 1
                out.writes.append(RegisterWrite(offset: off, value: UInt64(value), what: "SQ\(qid) tail"))
                resolvedActions[ai] = .ringSubmissionTail(qid: qid, value: .raw(value))
            case .ringCompletionHead(let qid, let v):
                let value = doorbellValue(v, qid: qid, completion: true)
                let off = queue(qid)?.cq.doorbellOffset ?? Doorbell.cqHeadOffset(qid: qid, dstrd: dstrd)
                if Self.fits(off, 4, within: regs.length) { regs.write32(value, at: off) }
                summary.doorbellWrites += 1
                out.writes.append(RegisterWrite(offset: off, value: UInt64(value), what: "CQ\(qid) head"))
                resolvedActions[ai] = .ringCompletionHead(qid: qid, value: .raw(value))
            case .writeRegister(let off, let value):
                if Self.fits(off, 4, within: regs.length) { regs.write32(value, at: off) }
                out.writes.append(RegisterWrite(offset: off, value: UInt64(value), what: "register"))
            case .writeRegisterPointer(let off, let p):
                let value = resolve(p)
                if Self.fits(off, 8, within: regs.length) { regs.write64(value, at: off) }
                out.writes.append(RegisterWrite(offset: off, value: value, what: "register (64-bit)"))
            case .writeList(let off, let entries):
                let (base, size) = areaOffset(.list)
                for (i, e) in entries.enumerated() {
                    let (o, overflow) = off.addingReportingOverflow(8 * i)
                    if !overflow && Self.fits(o, 8, within: size) { arena.store(resolve(e), at: base + o) }
                }
            case .writeSGL(let off, let descs):
                let (base, size) = areaOffset(.list)
                for (i, d) in descs.enumerated() {
                    let (rel, overflow) = off.addingReportingOverflow(16 * i)
                    guard !overflow && Self.fits(rel, 16, within: size) else { continue }
                    let o = base + rel
                    arena.store(resolve(d.address), at: o)
                    arena.store(d.length, at: o + 8)
                    arena.store(UInt32(d.identifier) << 24 | (d.reserved & 0xFF_FFFF), at: o + 12)
                }
            case .writeBytes(let area, let off, let bytes):
                let (base, size) = areaOffset(area)
                if Self.fits(off, bytes.count, within: size) { arena.copyBytes(from: bytes, to: base + off) }
            case .fill(let area, let off, let count, let byte):
                let (base, size) = areaOffset(area)
                let lo = max(0, off), hi = min(size, off.addingReportingOverflow(count).overflow ? (count > 0 ? size : 0) : off + count)
                if hi > lo { arena.fill(byte, offset: base + lo, count: hi - lo) }
            case .waitReady(let ready, let ms):
                let d = Deadline.after(.milliseconds(ms))
                while !d.hasPassed {
                    let csts = regs.csts
                    if csts.isAllOnes || csts.rdy == ready || csts.cfs { break }
                    sched_yield()
                }
            case .wait(let us):
                let d = Deadline.after(.microseconds(us))
                while !d.hasPassed { reapAll(&pending, &out); sched_yield() }
            }
        }
        out.resolvedCase.actions = resolvedActions

        // Wait for what must complete.
        let deadline = Deadline.after(options.deadline)
        var spins = 0
        var stop = false
        while !stop {
            reapAll(&pending, &out)
            if !pending.contains(where: { !$0.done && $0.expect.completes }) { break }
            spins += 1
            if spins & 15 == 0 {
                let csts = regs.csts
                if csts.isAllOnes || csts.cfs { stop = true }
                if deadline.hasPassed { stop = true }
                sched_yield()
            }
        }
        if pending.contains(where: { !$0.done && $0.expect.completes }) {
            reapAll(&pending, &out)
        }

        // Commands that had to complete and did not: the completion slot each would have used.
        for p in pending where !p.done && p.expect.completes {
            guard let q = queue(p.qid) else { continue }
            guard let slot = try? q.cq.entry(at: Int(q.cq.head)) else { continue }   // head < depth always
            var u = UnansweredCommand(command: p, cqHead: Int(q.cq.head), expectedPhase: q.cq.phase, entryAtHead: slot)
            // CSTS for the hang's description, read only when the entry at the head does not explain the missing
            // completion: a register read is part of the run (a simulated controller advances its clock on it).
            if !PhaseOracle.explains(u) { u.csts = regs.read32(at: ControllerRegister.csts.rawValue) }
            out.unanswered.append(u)
        }
        // Lingering commands (AERs) stay known to the CID oracle until the next reset.
        for p in pending where !p.done && !p.expect.completes && p.rang {
            lingering[p.qid, default: []].insert(p.cid)
        }

        // Controller state.
        out.csts = regs.csts

        // Host memory canaries: fixed pages (painted again once seen), then the windows around each well-formed buffer.
        for page in canaryPages {
            if let bad = firstMismatch(offset: page, count: pageSize, byte: Self.canaryByte) {
                out.canaryDamage.append(CanaryDamage(page: page, offset: bad.offset, value: bad.value,
                                                     bytes: arena.bytes(at: bad.offset, count: min(16, arena.length - bad.offset))))
                arena.fill(Self.canaryByte, offset: page, count: pageSize)
            }
        }
        for i in pending.indices where pending[i].done {
            for g in pending[i].guards {
                if let bad = firstMismatch(offset: g.offset, count: g.count, byte: Self.guardByte) {
                    pending[i].damagedGuard = GuardDamage(dataOffset: bad.offset - dataStart, value: bad.value,
                                                          guardOffset: g.offset - dataStart, guardCount: g.count)
                    break
                }
            }
        }

        // DMA faults.
        if let mon = target.faults {
            if c.submissions.contains(where: { $0.expect.wildPointers }) { settleFaults() }
            let now = mon.faultCount()
            let delta = now - lastFaultCount
            lastFaultCount = now
            summary.dmaFaults += max(0, delta)
            out.faults = FaultObservation(count: delta, lastMessage: delta > 0 ? mon.recentMessages.last : nil)
        }

        // LBA canary bookkeeping: a successful command that may have written the canary blocks makes them stale.
        for p in pending where p.done && p.status?.isSuccess == true {
            if mayTouchCanaryLBAs(p, resolved: out.resolvedCase) { lbaCanaryStale = true }
        }
        // Leave no list the next case could follow by accident.
        arena.fill(0, offset: listStart, count: environment.listPages * pageSize)
        for i in pending.indices where pending[i].done {
            out.posted[pending[i].postedIndex].status = pending[i].status.map { "\($0)" }
        }
        out.commands = pending
        return out
    }

    /// Under TCG the IOMMU's fault interrupt reaches the guest's log a little after the completion: give it a moment.
    func settleFaults() {
        guard DeviceBackend(rawValue: target.device.backend) != nil else { return }   // the simulator has no IOMMU
        let d = Deadline.after(.milliseconds(2))
        while !d.hasPassed { sched_yield() }
    }

    /// Reaps every visible completion on the fuzzer's queues and records what each entry answered.
    func reapAll(_ pending: inout [ExecutedCommand], _ out: inout CaseOutcome) {
        for qp in [controller.adminQueue] + controller.ioQueues.map({ Optional($0) }) {
            guard let qp else { continue }
            var reaped = 0
            while reaped < qp.cq.depth, let cqe = qp.cq.reap() {
                reaped += 1
                observe(cqe, queue: qp, &pending, &out)
            }
            if reaped > 0 { qp.cq.ringHead() }
        }
    }

    /// Moves the queue's SQ head (when CQE.SQHD is inside the queue), counts the status, completes the command the
    /// entry names (or forgets a lingering one), and appends the entry to the outcome.
    func observe(_ cqe: CQE, queue qp: QueuePair, _ pending: inout [ExecutedCommand], _ out: inout CaseOutcome) {
        let qid = qp.qid
        if Int(cqe.sqhd) < qp.sq.depth { qp.sq.noteHead(cqe.sqhd) }
        let st = cqe.status
        summary.statuses["\(hex2(st.sct))/\(hex2(st.sc)) \(st.name)", default: 0] += 1
        let match: ObservedCompletion.Match
        if let i = pending.firstIndex(where: { $0.qid == qid && $0.cid == cqe.cid && !$0.done }) {
            pending[i].done = true
            pending[i].status = st
            out.posted[pending[i].postedIndex].cqe = hexBytes(cqe.bytes)
            match = .command(pending[i])
        } else if lingering[qid]?.remove(cqe.cid) != nil {
            match = .lingering
        } else {
            match = .unknown
        }
        out.completions.append(ObservedCompletion(qid: qid, sqDepth: qp.sq.depth, cqe: cqe, match: match))
    }

    /// The data-area bytes a well-formed command transfers (PRP1 in the data area, NLB from CDW12), nil otherwise.
    func dataExtent(_ s: Submission) -> (offset: Int, count: Int)? {
        guard case .data(let off)? = s.prp1, s.qid != 0, StatusRules.dataLBAOpcodes.contains(s.opcode),
              s.sqe.psdt == 0 || s.sqe.psdt == 1 else { return nil }
        guard s.dwords.count == 16 else { return nil }
        let bytes = (Int(s.dwords[12] & 0xFFFF) + 1) * environment.blockSize
        guard Self.fits(off, bytes, within: environment.dataBytes) else { return nil }
        return (off, bytes)
    }

    /// Paints guard windows just before and after a buffer (inside the data area); returns them as arena ranges.
    func placeGuards(around e: (offset: Int, count: Int)) -> [(offset: Int, count: Int)] {
        var out: [(Int, Int)] = []
        let before = max(0, e.offset - Self.guardWindow)
        if e.offset > before { out.append((dataStart + before, e.offset - before)) }
        let after = min(environment.dataBytes, e.offset + e.count + Self.guardWindow)
        if after > e.offset + e.count { out.append((dataStart + e.offset + e.count, after - e.offset - e.count)) }
        for g in out { arena.fill(Self.guardByte, offset: g.0, count: g.1) }
        return out
    }

    func firstMismatch(offset: Int, count: Int, byte: UInt8) -> (offset: Int, value: UInt8)? {
        arena.withUnsafeMutableBytes { raw -> (Int, UInt8)? in
            let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
            var i = offset
            let end = offset + count
            while i + 8 <= end {
                if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) != pattern { break }
                i += 8
            }
            while i < end {
                if raw[i] != byte { return (i, raw[i]) }
                i += 1
            }
            return nil
        }
    }

    func mayTouchCanaryLBAs(_ p: ExecutedCommand, resolved c: FuzzCase) -> Bool {
        if p.qid == 0 {
            return [AdminOpcode.formatNVM.rawValue, AdminOpcode.sanitize.rawValue, AdminOpcode.namespaceAttachment.rawValue,
                    AdminOpcode.namespaceManagement.rawValue].contains(p.opcode) || p.opcode >= 0xC0
        }
        switch p.opcode {
        case IOOpcode.write.rawValue, IOOpcode.writeZeroes.rawValue, IOOpcode.writeUncorrectable.rawValue:
            guard let s = c.submissions.first(where: { $0.qid == p.qid && $0.cid == p.cid }) else { return true }
            let e = s.sqe
            if e.nsid != 1 && e.nsid != 0xFFFF_FFFF { return false }
            let (slba, blocks) = StatusRules.lbaRange(e)
            let end = slba.addingReportingOverflow(blocks)
            return end.overflow || end.partialValue > environment.firstCanaryBlock
        case IOOpcode.datasetManagement.rawValue, IOOpcode.copy.rawValue, IOOpcode.zoneManagementSend.rawValue,
             IOOpcode.zoneAppend.rawValue:
            return true
        default:
            return p.opcode >= 0x80
        }
    }
}
