import NVMeSpec

/// Builds cases deterministically: `generate(index:)` is a pure function of (seed, index, generator selection,
/// environment).
public struct CaseGenerator: Sendable {
    public var seed: UInt64
    public var kinds: [GeneratorKind]
    public var weights: [Int]
    public var environment: FuzzEnvironment

    /// Relative frequency of each family when all are selected: command-level families dominate because they cost
    /// no reset; doorbell and init families force a re-initialisation.
    public static let defaultWeights: [GeneratorKind: Int] = [
        .opcodes: 12, .fields: 20, .namespaces: 8, .prp: 12, .sgl: 10, .transferSize: 8,
        .doorbells: 5, .queueCreation: 5, .initSequence: 2,
    ]

    public init(seed: UInt64, kinds: [GeneratorKind] = GeneratorKind.allCases, environment: FuzzEnvironment = .init()) {
        precondition(!kinds.isEmpty, "select at least one generator")
        self.seed = seed
        self.kinds = kinds
        self.weights = kinds.map { Self.defaultWeights[$0] ?? 1 }
        self.environment = environment
    }

    public func generate(index: UInt64) -> FuzzCase {
        var rng = FuzzRandom(seed: seed, case: index)
        let kind = kinds[rng.weighted(weights)]
        var b = CaseBuilder(index: index, kind: kind, env: environment)
        switch kind {
        case .opcodes: b.opcodes(&rng)
        case .fields: b.fields(&rng)
        case .namespaces: b.namespaces(&rng)
        case .prp: b.prp(&rng)
        case .sgl: b.sgl(&rng)
        case .transferSize: b.transferSize(&rng)
        case .doorbells: b.doorbells(&rng)
        case .queueCreation: b.queueCreation(&rng)
        case .initSequence: b.initSequence(&rng)
        }
        return b.finish()
    }
}

/// A command before its pointers are resolved.
struct Draft {
    var sqe: SubmissionQueueEntry
    var qid: UInt16
    var prp1: Pointer?
    var prp2: Pointer?
    var setup: [Action] = []
    var transferBytes = 0
    var label: String
    var wild = false
    var completes = true
    /// A rule the generator knows the command breaks that `StatusRules` cannot see (e.g. in SGL segments).
    var mustFailOverride: String?
}

struct CaseBuilder {
    let index: UInt64
    let kind: GeneratorKind
    let env: FuzzEnvironment
    var label = ""
    var actions: [Action] = []
    var requiresReset = false
    var exempt: Set<OracleKind> = []

    init(index: UInt64, kind: GeneratorKind, env: FuzzEnvironment) {
        self.index = index; self.kind = kind; self.env = env
    }

    var ps: Int { env.pageSize }
    var io: UInt16 { env.ioQueueID }

    func finish() -> FuzzCase {
        FuzzCase(index: index, generator: kind, label: label, actions: actions, requiresReset: requiresReset, exempt: exempt)
    }

    // MARK: Building blocks

    /// Appends a draft's setup and its submission; the status expectation comes from the spec rules.
    mutating func submit(_ d: Draft, ring: Bool = true, slot: Int? = nil) {
        actions += d.setup
        let admin = d.qid == 0
        var exp = Expectation(completes: d.completes,
                              mustFail: d.mustFailOverride ?? StatusRules.mustFail(d.sqe, admin: admin, environment: env),
                              wildPointers: d.wild)
        if d.sqe.opc == AdminOpcode.asynchronousEventRequest.rawValue && admin { exp.completes = false }
        if !ring { exp.completes = false }
        actions.append(.submit(Submission(qid: d.qid, sqe: d.sqe, slot: slot, prp1: d.prp1, prp2: d.prp2, ring: ring, expect: exp)))
        if label.isEmpty { label = d.label }
        if admin { adminSideEffects(d.sqe) }
    }

    /// Admin commands that change what later cases rely on force a re-initialisation afterwards.
    mutating func adminSideEffects(_ sqe: SubmissionQueueEntry) {
        switch sqe.opc {
        case AdminOpcode.deleteIOSubmissionQueue.rawValue, AdminOpcode.deleteIOCompletionQueue.rawValue,
             AdminOpcode.createIOSubmissionQueue.rawValue, AdminOpcode.createIOCompletionQueue.rawValue,
             AdminOpcode.doorbellBufferConfig.rawValue, AdminOpcode.formatNVM.rawValue, AdminOpcode.sanitize.rawValue,
             AdminOpcode.namespaceAttachment.rawValue, AdminOpcode.namespaceManagement.rawValue,
             AdminOpcode.setFeatures.rawValue, AdminOpcode.virtualizationManagement.rawValue:
            requiresReset = true
        default:
            if sqe.opc >= 0xC0 { requiresReset = true }
        }
    }

    /// A well-formed PRP description of `bytes` bytes at data-area offset `offset`.
    func prpPointers(offset: Int, bytes: Int) -> (Pointer, Pointer?, [Action]) {
        let first = ps - offset % ps
        if bytes <= first { return (.data(offset: offset), nil, []) }
        let page0 = offset - offset % ps
        if bytes <= first + ps { return (.data(offset: offset), .data(offset: page0 + ps), []) }
        let pages = (bytes - first + ps - 1) / ps
        let entries = (1...pages).map { Pointer.data(offset: (page0 + $0 * ps) % env.dataBytes) }
        return (.data(offset: offset), .list(offset: 0), [.writeList(offset: 0, entries: entries)])
    }

    /// A page-aligned data offset with room for `bytes`.
    func dataOffset(_ rng: inout FuzzRandom, bytes: Int) -> Int {
        let pages = max(1, env.dataPages - (bytes + ps - 1) / ps)
        return rng.int(0..<pages) * ps
    }

    // MARK: Well-formed commands

    func baseAdmin(_ rng: inout FuzzRandom) -> Draft {
        var sqe: SubmissionQueueEntry
        var bytes = 0
        var label: String
        switch rng.below(7) {
        case 0:
            let cns = rng.pick([0, 1, 2, 3] as [UInt32])
            sqe = SubmissionQueueEntry(opcode: AdminOpcode.identify.rawValue, nsid: cns == 0 || cns == 3 ? 1 : 0)
            sqe.cdw10 = cns; bytes = 4096; label = "identify cns=\(cns)"
        case 1:
            let lid = rng.pick([1, 2, 3] as [UInt32])
            bytes = rng.pick([64, 512, 4096, 8192])
            sqe = SubmissionQueueEntry(opcode: AdminOpcode.getLogPage.rawValue, nsid: 0xFFFF_FFFF)
            sqe.cdw10 = lid | UInt32(bytes / 4 - 1) << 16; label = "get log page lid=\(lid)"
        case 2:
            let fid = rng.pick([1, 2, 4, 5, 6, 7, 8, 9, 0xA, 0xB] as [UInt32])
            sqe = SubmissionQueueEntry(opcode: AdminOpcode.getFeatures.rawValue)
            sqe.cdw10 = fid; label = "get features fid=\(fid)"
        case 3:
            sqe = SubmissionQueueEntry(opcode: AdminOpcode.keepAlive.rawValue); label = "keep alive"
        case 4:
            sqe = SubmissionQueueEntry(opcode: AdminOpcode.abort.rawValue)
            sqe.cdw10 = UInt32(rng.pick([0, 1] as [UInt16])) | UInt32(rng.u16()) << 16; label = "abort"
        case 5:
            // Set Features on features whose effect stays inside the controller: temperature threshold,
            // error recovery, interrupt coalescing, async event configuration.
            let fid = rng.pick([4, 5, 8, 0xB] as [UInt32])
            sqe = SubmissionQueueEntry(opcode: AdminOpcode.setFeatures.rawValue)
            sqe.cdw10 = fid; sqe.cdw11 = fid == 4 ? 0x0157 : 0; label = "set features fid=\(fid)"
        default:
            sqe = SubmissionQueueEntry(opcode: AdminOpcode.identify.rawValue, nsid: 0)
            sqe.cdw10 = 1; bytes = 4096; label = "identify controller"
        }
        var d = Draft(sqe: sqe, qid: 0, label: label)
        if bytes > 0 {
            let off = dataOffset(&rng, bytes: bytes)
            let (p1, p2, setup) = prpPointers(offset: off, bytes: bytes)
            d.prp1 = p1; d.prp2 = p2; d.setup = setup; d.transferBytes = bytes
        }
        return d
    }

    func baseIO(_ rng: inout FuzzRandom) -> Draft {
        let maxBlocks = max(1, min(env.dataBytes, env.maximumTransferBytes ?? env.dataBytes) / env.blockSize)
        let blocks = rng.int(1...min(maxBlocks, 16))
        let slba = env.usableBlocks > UInt64(blocks) ? rng.below(env.usableBlocks - UInt64(blocks)) : 0
        var sqe: SubmissionQueueEntry
        var bytes = 0
        let label: String
        switch rng.below(8) {
        case 0, 1:
            sqe = SubmissionQueueEntry(opcode: IOOpcode.read.rawValue, nsid: 1); bytes = blocks * env.blockSize; label = "read"
        case 2, 3:
            sqe = SubmissionQueueEntry(opcode: IOOpcode.write.rawValue, nsid: 1); bytes = blocks * env.blockSize; label = "write"
        case 4:
            sqe = SubmissionQueueEntry(opcode: IOOpcode.compare.rawValue, nsid: 1); bytes = blocks * env.blockSize; label = "compare"
        case 5:
            sqe = SubmissionQueueEntry(opcode: IOOpcode.writeZeroes.rawValue, nsid: 1); label = "write zeroes"
        case 6:
            sqe = SubmissionQueueEntry(opcode: IOOpcode.verify.rawValue, nsid: 1); label = "verify"
        default:
            sqe = SubmissionQueueEntry(opcode: IOOpcode.flush.rawValue, nsid: 1)
            var d = Draft(sqe: sqe, qid: io, label: "flush")
            d.transferBytes = 0
            return d
        }
        sqe.cdw10 = UInt32(truncatingIfNeeded: slba); sqe.cdw11 = UInt32(truncatingIfNeeded: slba >> 32)
        sqe.cdw12 = UInt32(blocks - 1)
        var d = Draft(sqe: sqe, qid: io, label: label)
        if bytes > 0 {
            let off = dataOffset(&rng, bytes: bytes)
            let (p1, p2, setup) = prpPointers(offset: off, bytes: bytes)
            d.prp1 = p1; d.prp2 = p2; d.setup = setup; d.transferBytes = bytes
        }
        return d
    }

    func base(_ rng: inout FuzzRandom) -> Draft { rng.chance(1, in: 3) ? baseAdmin(&rng) : baseIO(&rng) }

    // MARK: Families

    /// Every opcode value on either queue, with plausible dwords and a PRP list covering the whole data area, so
    /// most transfers land in memory the fuzzer owns.
    mutating func opcodes(_ rng: inout FuzzRandom) {
        let admin = rng.bool()
        let opc = rng.u8()
        var sqe = SubmissionQueueEntry(opcode: opc, nsid: rng.chance(3, in: 4) ? 1 : rng.pick([0, 0xFFFF_FFFF, 2]))
        for i in 10...15 { sqe[dword: i] = rng.chance(1, in: 2) ? UInt32(rng.below(16)) : rng.interesting32() }
        if !admin, StatusRules.lbaOpcodes.contains(opc) {
            sqe.cdw10 = UInt32(rng.below(env.usableBlocks)); sqe.cdw11 = 0; sqe.cdw12 = UInt32(rng.below(8))
        }
        if admin && (opc == AdminOpcode.formatNVM.rawValue || opc == AdminOpcode.sanitize.rawValue) {
            // Format keeps LBA format 0 (the geometry every later case is built for); Sanitize gets the reserved
            // action 000b: a real sanitize would outlive every reset and wipe the canary blocks.
            sqe.cdw10 = 0
        }
        var d = Draft(sqe: sqe, qid: admin ? 0 : io, label: "\(admin ? "admin" : "io") opcode \(hex(opc))")
        let (p1, p2, setup) = prpPointers(offset: 0, bytes: env.dataBytes)
        d.prp1 = p1; d.prp2 = p2; d.setup = setup
        // Contents of memory a command may interpret (controller lists, DSM ranges, copy descriptors): zeroes.
        d.setup.append(.fill(area: .data, offset: 0, count: ps, byte: 0))
        d.wild = true
        submit(d)
    }

    /// A well-formed command with 1-3 fields mutated: any dword, any bit, reserved bits, FUSE, PSDT.
    mutating func fields(_ rng: inout FuzzRandom) {
        var d = base(&rng)
        var notes: [String] = []
        for _ in 0..<rng.int(1...3) {
            switch rng.below(7) {
            case 0:
                let dw = rng.int(0..<16), bit = rng.int(0..<32)
                if dw == 0 && bit >= 16 { continue }  // CID is the runner's
                d.sqe[dword: dw] ^= 1 << UInt32(bit); notes.append("dw\(dw) bit \(bit)")
                touched(&d, dw)
            case 1:
                let dw = rng.int(1..<16)
                d.sqe[dword: dw] = rng.interesting32(); notes.append("dw\(dw)=\(hex(d.sqe[dword: dw]))")
                touched(&d, dw)
            case 2:
                d.sqe.cdw0Reserved = UInt8(rng.int(1...15)); notes.append("cdw0 rsvd")
            case 3:
                let dw = rng.pick([2, 3, 4, 5]); d.sqe[dword: dw] = rng.u32(); notes.append("rsvd dw\(dw)")
                touched(&d, dw)
            case 4:
                d.sqe.fuse = UInt8(rng.int(1...3)); notes.append("fuse=\(d.sqe.fuse)")
            case 5:
                d.sqe.psdt = UInt8(rng.int(1...3)); notes.append("psdt=\(d.sqe.psdt)"); d.wild = true
            default:
                d.sqe.cdw15 = rng.interesting32(); notes.append("dw15"); touched(&d, 15)
            }
        }
        d.label += " [" + notes.joined(separator: ", ") + "]"
        submit(d)
    }

    /// A mutated dword can change what the command transfers: its pointers are then no longer a promise.
    func touched(_ d: inout Draft, _ dw: Int) {
        switch dw {
        case 0, 4...15: d.wild = true
        default: break
        }
        if (6...7).contains(dw) { d.prp1 = nil }
        if (8...9).contains(dw) { d.prp2 = nil }
    }

    mutating func namespaces(_ rng: inout FuzzRandom) {
        let inactive = (1...max(1, env.namespaceCount)).first { !env.activeNamespaces.contains($0) }
        var choices: [UInt32] = [0, 0xFFFF_FFFF, env.namespaceCount &+ 1, 0xFFFF_FFFE, rng.u32() | 0x8000_0000]
        if let inactive { choices.append(inactive) }
        let nsid = rng.pick(choices)
        var d: Draft
        if rng.chance(1, in: 3) {
            d = baseAdmin(&rng)
            if rng.bool() {
                d = Draft(sqe: SubmissionQueueEntry(opcode: AdminOpcode.identify.rawValue), qid: 0, label: "identify ns")
                let (p1, p2, s) = prpPointers(offset: 0, bytes: 4096); d.prp1 = p1; d.prp2 = p2; d.setup = s
            }
        } else {
            d = baseIO(&rng)
        }
        d.sqe.nsid = nsid
        d.label += " nsid=\(hex(nsid))"
        submit(d)
    }

    /// Broken PRP descriptions on an otherwise valid read or write.
    mutating func prp(_ rng: inout FuzzRandom) {
        let pages = rng.int(1...8)
        let blocksPerPage = ps / env.blockSize
        var d = Draft(sqe: SubmissionQueueEntry(opcode: rng.bool() ? IOOpcode.read.rawValue : IOOpcode.write.rawValue, nsid: 1),
                      qid: io, label: "")
        let blocks = pages * blocksPerPage
        let slba = rng.below(max(1, env.usableBlocks - UInt64(blocks)))
        d.sqe.cdw10 = UInt32(truncatingIfNeeded: slba); d.sqe.cdw11 = UInt32(truncatingIfNeeded: slba >> 32)
        d.sqe.cdw12 = UInt32(blocks - 1)
        let bytes = blocks * env.blockSize
        let off = dataOffset(&rng, bytes: bytes + ps)
        let op = d.sqe.opc == IOOpcode.read.rawValue ? "read" : "write"
        switch rng.below(9) {
        case 0:
            // PRP1 offset not dword aligned, or page-offset that leaves the rest to PRP2/list.
            let mis = rng.pick([1, 2, 3, 0x7FF, 0xFFF, 0x800 + 1])
            let (p1, p2, s) = prpPointers(offset: off + (mis & ~3), bytes: bytes)
            _ = p1
            d.prp1 = .data(offset: off + mis); d.prp2 = p2; d.setup = s; d.label = "\(op) PRP1 offset +\(hex(mis))"
            d.wild = mis & 3 != 0
        case 1:
            // A list is needed (≥ 3 pages) but PRP2 points at a data page: the controller reads data as a list.
            d.setup = [.fill(area: .data, offset: off + ps, count: ps, byte: 0)]
            d.prp1 = .data(offset: off); d.prp2 = .data(offset: off + ps)
            d.label = "\(op) \(pages) pages, PRP2 direct where a list is required"; d.wild = pages > 2
        case 2:
            // Two pages: PRP2 should point at the second page directly, but points at a list.
            d.prp1 = .data(offset: off); d.prp2 = .list(offset: 0)
            d.setup = [.writeList(offset: 0, entries: [.data(offset: off + ps)])]
            d.label = "\(op) PRP2 list where a direct pointer is required"; d.wild = true
        case 3:
            // The list starts near a page end and runs across it without a chain entry.
            let start = ps - 8 * rng.int(1...3)
            let entries = (1..<max(pages, 5)).map { Pointer.data(offset: (off + $0 * ps) % env.dataBytes) }
            d.setup = [.fill(area: .data, offset: 0, count: env.dataBytes, byte: 0),
                       .writeList(offset: start, entries: entries)]
            d.prp1 = .data(offset: off); d.prp2 = .list(offset: start)
            d.sqe.cdw12 = UInt32(max(pages, 5) * blocksPerPage - 1)
            d.label = "\(op) PRP list crossing a page without chaining"; d.wild = true
        case 4:
            // The chain entry points at itself, at an unmapped page, or at a misaligned address.
            let target: Pointer = rng.pick([.list(offset: 0), .unmapped(offset: 0), .list(offset: 4)])
            var entries = (1..<(ps / 8)).map { Pointer.data(offset: ($0 * ps) % env.dataBytes) }
            entries.append(target)
            d.setup = [.writeList(offset: 0, entries: entries)]
            d.prp1 = .data(offset: 0); d.prp2 = .list(offset: 0)
            let maxBlocks = (env.maximumTransferBytes ?? 1 << 20) / env.blockSize
            d.sqe.cdw10 = 0; d.sqe.cdw11 = 0
            d.sqe.cdw12 = UInt32(min(maxBlocks, (ps / 8 + 2) * blocksPerPage) - 1)
            d.label = "\(op) PRP list chain → \(target)"; d.wild = true
        case 5:
            d.prp1 = .unmapped(offset: UInt64(rng.int(0..<16) * ps)); d.prp2 = .unmapped(offset: 0x10_0000)
            d.label = "\(op) PRP1 outside mapped memory"; d.wild = true
        case 6:
            let (p1, _, _) = prpPointers(offset: off, bytes: bytes)
            d.prp1 = p1; d.prp2 = .unmapped(offset: 0)
            d.label = "\(op) PRP2 outside mapped memory"; d.wild = pages > 1
        case 7:
            // Data pointer overlapping the queues themselves.
            let completion = rng.bool()
            let target: Pointer = .ring(qid: rng.bool() ? io : 0, completion: completion, offset: 0)
            d.prp1 = target; d.prp2 = target
            d.sqe.cdw12 = UInt32(blocksPerPage - 1)
            d.label = "\(op) PRP1 on a queue ring"; d.wild = true
            requiresReset = true
            exempt.formUnion([.completionEntry, .phase, .deadline])
        default:
            // PRP entries in the list that are not page aligned (only PRP1 may carry an offset).
            let entries = (1..<max(pages, 3)).map { Pointer.data(offset: (off + $0 * ps + 0x200) % env.dataBytes) }
            d.setup = [.writeList(offset: 0, entries: entries)]
            d.prp1 = .data(offset: off); d.prp2 = .list(offset: 0)
            d.sqe.cdw12 = UInt32(max(pages, 3) * blocksPerPage - 1)
            d.label = "\(op) PRP list entries with a page offset"; d.wild = true
        }
        d.transferBytes = bytes
        submit(d)
    }

    /// SGLs on reads and writes: valid, short, reserved types, keyed (not on PCIe), broken segments.
    mutating func sgl(_ rng: inout FuzzRandom) {
        let blocks = rng.int(1...8)
        let bytes = blocks * env.blockSize
        var d = Draft(sqe: SubmissionQueueEntry(opcode: rng.bool() ? IOOpcode.read.rawValue : IOOpcode.write.rawValue, nsid: 1),
                      qid: io, label: "")
        let slba = rng.below(max(1, env.usableBlocks - UInt64(blocks)))
        d.sqe.cdw10 = UInt32(truncatingIfNeeded: slba); d.sqe.cdw11 = UInt32(truncatingIfNeeded: slba >> 32)
        d.sqe.cdw12 = UInt32(blocks - 1)
        d.sqe.psdt = rng.chance(4, in: 5) ? 1 : 2
        let off = dataOffset(&rng, bytes: bytes)
        let op = d.sqe.opc == IOOpcode.read.rawValue ? "read" : "write"
        func inline(_ e: SGLEntry) -> (Pointer, UInt32, UInt32) { (e.address, e.length, UInt32(e.identifier) << 24 | (e.reserved & 0xFF_FFFF)) }
        var first: SGLEntry
        switch rng.below(10) {
        case 0:
            first = .dataBlock(.data(offset: off), UInt32(bytes)); d.label = "\(op) SGL data block"
        case 1:
            first = .dataBlock(.data(offset: off), UInt32(bytes - rng.int(1...min(bytes, 511))))
            d.label = "\(op) SGL data block shorter than the transfer"
            d.mustFailOverride = "SGL describes less data than the transfer → Data SGL Length Invalid (Base §4.3.2)"
        case 2:
            let t = UInt8(rng.int(6...14))
            first = SGLEntry(address: .data(offset: off), length: UInt32(bytes), identifier: t << 4)
            d.label = "\(op) SGL reserved descriptor type \(t)"
            d.mustFailOverride = "reserved SGL descriptor type \(t) → SGL Descriptor Type Invalid (Base Figure 116)"
        case 3:
            first = SGLEntry(address: .data(offset: off), length: UInt32(bytes), identifier: 0x40)
            d.label = "\(op) keyed SGL data block on PCIe"
            d.mustFailOverride = "Keyed SGL Data Block is not valid over PCIe → SGL Descriptor Type Invalid"
        case 4:
            // Last segment holding data blocks that together describe the transfer.
            let n = rng.int(1...4)
            let chunk = (bytes + n - 1) / n
            var descs: [SGLEntry] = []
            var left = bytes, o = off
            while left > 0 { let c = min(chunk, left); descs.append(.dataBlock(.data(offset: o), UInt32(c))); o += c; left -= c }
            d.setup = [.writeSGL(offset: 0, descriptors: descs)]
            let len = rng.chance(1, in: 3) ? UInt32(descs.count * 16 + rng.int(1...15)) : UInt32(descs.count * 16)
            first = .lastSegment(.list(offset: 0), len)
            d.label = "\(op) SGL last segment of \(descs.count) data blocks, length \(len)"; d.wild = len % 16 != 0
        case 5:
            // A segment that points at itself (an endless chain).
            d.setup = [.writeSGL(offset: 0, descriptors: [.segment(.list(offset: 0), 16)])]
            first = .segment(.list(offset: 0), 16)
            d.label = "\(op) SGL segment chain looping on itself"; d.wild = true
        case 6:
            first = .dataBlock(.unmapped(offset: 0), UInt32(bytes)); d.label = "\(op) SGL data block outside mapped memory"
            d.wild = true
        case 7:
            d.setup = [.writeSGL(offset: 0, descriptors: [.dataBlock(.data(offset: off), UInt32(bytes)),
                                                           .lastSegment(.list(offset: 0), 32)])]
            first = .segment(.list(offset: 0), 32)
            d.label = "\(op) SGL segment whose last descriptor is a segment back to itself"; d.wild = true
        case 8:
            first = SGLEntry(address: .data(offset: off), length: UInt32(bytes), identifier: 0x10)
            d.label = "\(op) SGL bit bucket as the only descriptor"; d.wild = true
        default:
            first = .dataBlock(.data(offset: off), UInt32(bytes)); first.identifier = UInt8(rng.int(1...15))
            d.label = "\(op) SGL data block with sub type \(first.identifier)"; d.wild = true
        }
        let (p, len, id) = inline(first)
        d.prp1 = p
        d.sqe.cdw8 = len; d.sqe.cdw9 = id
        d.transferBytes = bytes
        submit(d)
    }

    /// Transfers beyond MDTS and LBA ranges beyond the namespace.
    mutating func transferSize(_ rng: inout FuzzRandom) {
        var d = Draft(sqe: SubmissionQueueEntry(opcode: rng.pick([IOOpcode.read.rawValue, IOOpcode.write.rawValue,
                                                                  IOOpcode.compare.rawValue, IOOpcode.writeZeroes.rawValue,
                                                                  IOOpcode.verify.rawValue]), nsid: 1),
                      qid: io, label: "")
        var slba: UInt64, blocks: Int
        if rng.bool(), let mdts = env.maximumTransferBytes {
            blocks = mdts / env.blockSize + rng.int(1...max(1, mdts / env.blockSize))
            blocks = min(blocks, 65536)
            slba = 0
            d.label = "\(hex(d.sqe.opc)) transfer \(blocks * env.blockSize) bytes (MDTS \(mdts))"
        } else {
            blocks = rng.int(1...64)
            slba = rng.pick([env.blockCount - 1, env.blockCount, env.blockCount + 1, UInt64.max, UInt64(UInt32.max),
                             env.blockCount &- UInt64(blocks / 2)])
            d.label = "\(hex(d.sqe.opc)) slba \(slba) nlb \(blocks)"
        }
        d.sqe.cdw10 = UInt32(truncatingIfNeeded: slba); d.sqe.cdw11 = UInt32(truncatingIfNeeded: slba >> 32)
        d.sqe.cdw12 = UInt32(blocks - 1)
        // A list that cycles over the data area, so even a controller that ignores MDTS stays in our memory.
        let pages = (blocks * env.blockSize + ps - 1) / ps
        if pages > 1 {
            let entries = (1..<min(pages, ps / 8)).map { Pointer.data(offset: ($0 % env.dataPages) * ps) }
            d.setup = [.writeList(offset: 0, entries: entries)]
            d.prp2 = pages == 2 ? .data(offset: ps) : .list(offset: 0)
            d.wild = pages > ps / 8
        }
        d.prp1 = .data(offset: 0)
        submit(d)
    }

    /// Doorbell abuse on the runner's queues and on queues that do not exist.
    mutating func doorbells(_ rng: inout FuzzRandom) {
        var d = baseIO(&rng)
        let depth = env.ioQueueDepth
        switch rng.below(7) {
        case 0:
            // Command in the slot, tail rung past the queue's end: the write must be ignored.
            let v = UInt32(depth + rng.int(0...depth * 4))
            label = "io SQ tail \(v) past depth \(depth)"
            submit(d, ring: false)
            actions.append(.ringSubmissionTail(qid: io, value: .raw(v)))
            requiresReset = true
        case 1:
            // Tail rung with the value it already has: nothing new to fetch.
            label = "io SQ tail rung without moving"
            submit(d, ring: false)
            actions.append(.ringSubmissionTail(qid: io, value: .tail(plus: 0)))
        case 2:
            // CQ head beyond what the host consumed.
            label = "io CQ head beyond consumed"
            submit(d)
            actions.append(.ringCompletionHead(qid: io, value: .head(plus: rng.int(2...depth))))
            requiresReset = true
            exempt.formUnion([.deadline, .completionEntry, .phase])
        case 3:
            // Doorbells of queues never created.
            let q = rng.pick([UInt16(io + 1), UInt16(io + 5), env.firstUngrantedQueueID, UInt16(rng.int(2...0xFFFF))])
            label = "doorbells of never-created queue \(q)"
            actions.append(.ringSubmissionTail(qid: q, value: .raw(UInt32(rng.below(8)))))
            actions.append(.ringCompletionHead(qid: q, value: .raw(UInt32(rng.below(8)))))
            submit(d)
        case 4:
            // Create a pair, delete it, ring its doorbells.
            let q = io + 1
            label = "doorbells of deleted queue \(q)"
            deletedQueue(q)
            actions.append(.ringSubmissionTail(qid: q, value: .raw(1)))
            actions.append(.ringCompletionHead(qid: q, value: .raw(1)))
            submit(d)
        case 5:
            // Tail moved backwards: the controller sees depth-1 new entries (stale slots).
            label = "io SQ tail moved backwards"
            submit(d, ring: false)
            actions.append(.ringSubmissionTail(qid: io, value: .tail(plus: -1)))
            requiresReset = true
            exempt.formUnion([.completionEntry, .deadline, .status, .dmaFault])
        default:
            // Admin SQ tail past its end.
            let v = UInt32(env.adminQueueDepth + rng.int(0...100))
            label = "admin SQ tail \(v) past depth \(env.adminQueueDepth)"
            actions.append(.ringSubmissionTail(qid: 0, value: .raw(v)))
            requiresReset = true
            d.completes = true
        }
    }

    /// Create then delete an I/O queue pair `q` with its rings in the data area.
    mutating func deletedQueue(_ q: UInt16) {
        var cq = SubmissionQueueEntry(opcode: AdminOpcode.createIOCompletionQueue.rawValue)
        cq.cdw10 = UInt32(q) | UInt32(15) << 16; cq.cdw11 = 1
        var sq = SubmissionQueueEntry(opcode: AdminOpcode.createIOSubmissionQueue.rawValue)
        sq.cdw10 = UInt32(q) | UInt32(15) << 16; sq.cdw11 = 1 | UInt32(q) << 16
        var dsq = SubmissionQueueEntry(opcode: AdminOpcode.deleteIOSubmissionQueue.rawValue); dsq.cdw10 = UInt32(q)
        var dcq = SubmissionQueueEntry(opcode: AdminOpcode.deleteIOCompletionQueue.rawValue); dcq.cdw10 = UInt32(q)
        let saved = label
        submit(Draft(sqe: cq, qid: 0, prp1: .data(offset: 0), label: ""))
        submit(Draft(sqe: sq, qid: 0, prp1: .data(offset: ps), label: ""))
        submit(Draft(sqe: dsq, qid: 0, label: ""))
        submit(Draft(sqe: dcq, qid: 0, label: ""))
        requiresReset = false
        label = saved
    }

    /// Create I/O queue commands with invalid (and sometimes valid) size, identifier, vector, contiguity, memory.
    mutating func queueCreation(_ rng: inout FuzzRandom) {
        let completion = rng.bool()
        var qid: UInt16 = rng.pick([0, io, io + 1, io + 2, env.firstUngrantedQueueID, 0xFFFF, UInt16(rng.int(2...70))])
        var qsize: UInt32 = rng.pick([0, 1, 15, UInt32(env.mqes), UInt32(env.mqes) + 1, 0xFFFF])
        var flags: UInt32 = rng.chance(3, in: 4) ? 1 : 0
        if completion {
            if rng.chance(1, in: 3) { flags |= 2 | UInt32(rng.pick([0, 1, UInt16(env.interruptVectors), 0xFFFF])) << 16 }
        } else {
            flags |= UInt32(rng.pick([0, UInt16(qid), io, io + 7, 0xFFFF] as [UInt16])) << 16
            flags |= UInt32(rng.below(4)) << 1   // QPRIO
        }
        if rng.chance(1, in: 8) { qsize = rng.u32() >> 16; qid = rng.u16() }
        var sqe = SubmissionQueueEntry(opcode: completion ? AdminOpcode.createIOCompletionQueue.rawValue
                                                          : AdminOpcode.createIOSubmissionQueue.rawValue)
        sqe.cdw10 = UInt32(qid) | qsize << 16
        sqe.cdw11 = flags
        let mem: Pointer = rng.pick([.data(offset: 0), .data(offset: 0x100), .unmapped(offset: 0), .absolute(0),
                                     .ring(qid: io, completion: true, offset: 0)])
        var d = Draft(sqe: sqe, qid: 0, prp1: mem, label: "create I/O \(completion ? "CQ" : "SQ") qid=\(qid) qsize=\(qsize) cdw11=\(hex(flags)) mem=\(mem)")
        d.wild = true
        submit(d)
        // Clean up whatever got created, unless it would delete the runner's own queue.
        if qid != io && qid != 0 {
            var del = SubmissionQueueEntry(opcode: completion ? AdminOpcode.deleteIOCompletionQueue.rawValue
                                                              : AdminOpcode.deleteIOSubmissionQueue.rawValue)
            del.cdw10 = UInt32(qid)
            submit(Draft(sqe: del, qid: 0, label: ""))
        }
        requiresReset = qid == io || qid == 0 || !completion
    }

    /// Init-sequence mutations: the runner re-initialises after each.
    mutating func initSequence(_ rng: inout FuzzRandom) {
        let cc = ControllerRegister.cc.rawValue
        requiresReset = true
        exempt.formUnion([.controllerFatal, .deadline, .completionEntry, .phase, .status])
        func disable() -> [Action] { [.writeRegister(offset: cc, value: 0), .waitReady(ready: false, milliseconds: 20)] }
        func adminQueues(asqs: Int, acqs: Int, asq: Pointer, acq: Pointer) -> [Action] {
            [.writeRegister(offset: ControllerRegister.aqa.rawValue, value: AdminQueueAttributes(asqs: UInt16(asqs), acqs: UInt16(acqs)).rawValue),
             .writeRegisterPointer(offset: ControllerRegister.asq.rawValue, pointer: asq),
             .writeRegisterPointer(offset: ControllerRegister.acq.rawValue, pointer: acq)]
        }
        let sq0 = Pointer.ring(qid: 0, completion: false, offset: 0), cq0 = Pointer.ring(qid: 0, completion: true, offset: 0)
        let depth = env.adminQueueDepth - 1
        var good = ControllerConfiguration(rawValue: 0)
        good.iosqes = 6; good.iocqes = 4; good.en = true
        switch rng.below(6) {
        case 0:
            var c = good
            switch rng.below(6) {
            case 0: c.css = UInt8(rng.int(1...7))
            case 1: c.mps = UInt8(rng.int(5...15))
            case 2: c.ams = UInt8(rng.int(1...7))
            case 3: c.iosqes = UInt8(rng.int(0...15))
            case 4: c.iocqes = UInt8(rng.int(0...15))
            default: c.rawValue = rng.u32() | 1
            }
            label = "enable with CC=\(hex(c.rawValue))"
            actions = disable() + adminQueues(asqs: depth, acqs: depth, asq: sq0, acq: cq0)
                + [.writeRegister(offset: cc, value: c.rawValue), .waitReady(ready: true, milliseconds: 20)]
        case 1:
            let asqs = rng.pick([0, 1, depth, 4095]), acqs = rng.pick([0, 1, depth, 4095])
            label = "enable with AQA asqs=\(asqs) acqs=\(acqs)"
            actions = disable() + adminQueues(asqs: asqs, acqs: acqs, asq: sq0, acq: cq0)
                + [.writeRegister(offset: cc, value: good.rawValue), .waitReady(ready: true, milliseconds: 20)]
        case 2:
            let asq: Pointer = rng.pick([.absolute(0), .unmapped(offset: 0), .ring(qid: 0, completion: false, offset: 0x10)])
            let acq: Pointer = rng.pick([.absolute(0), .unmapped(offset: 0), cq0, sq0])
            label = "enable with ASQ=\(asq) ACQ=\(acq)"
            actions = disable() + adminQueues(asqs: depth, acqs: depth, asq: asq, acq: acq)
                + [.writeRegister(offset: cc, value: good.rawValue), .waitReady(ready: true, milliseconds: 20)]
        case 3:
            // Disable while a command is in flight.
            let d = baseIO(&rng)
            submit(d)
            if case .submit(var s) = actions.removeLast() {
                s.expect.completes = false
                actions.append(.submit(s))
            }
            label = "disable mid-command (\(d.label))"
            actions += disable()
        case 4:
            // Shutdown notification, then keep using the controller.
            let shn = UInt32(rng.int(1...3))
            label = "shutdown notification SHN=\(shn) while enabled"
            actions.append(.writeRegister(offset: cc, value: good.rawValue | shn << 14))
            actions.append(.wait(microseconds: 1000))
            let d = baseAdmin(&rng)
            submit(d)
        default:
            // Writes to other registers: interrupt masks, NSSR, CMB/boot partition/PMR controls, read-only ones.
            let reg = rng.pick([ControllerRegister.intms, .intmc, .nssr, .cmbmsc, .bprsel, .pmrctl, .cap, .vs, .csts, .crto])
            let v = reg == .nssr && rng.bool() ? 0x4E56_4D65 : rng.interesting32()
            label = "write \(reg) = \(hex(v))"
            actions.append(.writeRegister(offset: reg.rawValue, value: v))
            submit(baseAdmin(&rng))
        }
    }
}

extension SubmissionQueueEntry {
    var cdw8: UInt32 { get { self[dword: 8] } set { self[dword: 8] = newValue } }
    var cdw9: UInt32 { get { self[dword: 9] } set { self[dword: 9] = newValue } }
}
