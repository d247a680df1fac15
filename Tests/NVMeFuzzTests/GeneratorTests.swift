import Foundation
import NVMeSpec
import Testing
@testable import NVMeFuzz

@Suite("Fuzz generators")
struct GeneratorTests {
    @Test("xoshiro256** from a seed is deterministic and per-case streams differ")
    func randomIsDeterministic() {
        var a = FuzzRandom(seed: 42), b = FuzzRandom(seed: 42), c = FuzzRandom(seed: 43)
        let xa = (0..<8).map { _ in a.next() }, xb = (0..<8).map { _ in b.next() }, xc = (0..<8).map { _ in c.next() }
        #expect(xa == xb)
        #expect(xa != xc)
        var p = FuzzRandom(seed: 42, case: 1), q = FuzzRandom(seed: 42, case: 2)
        #expect(p.next() != q.next())
    }

    @Test("SplitMix64 matches the reference output for seed 0")
    func splitMixReference() {
        // Reference values from the published SplitMix64 algorithm (Vigna's splitmix64.c) for state 0.
        var s = SplitMix64(seed: 0)
        #expect(s.next() == 0xE220_A839_7B1D_CDAF)
        #expect(s.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test("below(n) stays in range and covers it")
    func belowCoversRange() {
        var r = FuzzRandom(seed: 7)
        var seen = Set<UInt64>()
        for _ in 0..<2000 {
            let v = r.below(10)
            #expect(v < 10)
            seen.insert(v)
        }
        #expect(seen.count == 10)
    }

    @Test("the same seed and index give the same case; different seeds differ")
    func casesAreReproducible() {
        let g1 = CaseGenerator(seed: 99), g2 = CaseGenerator(seed: 99), g3 = CaseGenerator(seed: 100)
        for i in 0..<200 as Range<UInt64> {
            #expect(g1.generate(index: i) == g2.generate(index: i))
        }
        let differ = (0..<50 as Range<UInt64>).filter { g1.generate(index: $0) != g3.generate(index: $0) }
        #expect(differ.count > 40)
    }

    @Test("every generator family is reachable and opcodes cover admin, I/O, reserved and vendor ranges")
    func coverage() {
        let g = CaseGenerator(seed: 1)
        var kinds = Set<GeneratorKind>()
        var adminOps = Set<UInt8>(), ioOps = Set<UInt8>()
        for i in 0..<20_000 as Range<UInt64> {
            let c = g.generate(index: i)
            kinds.insert(c.generator)
            for s in c.submissions {
                if s.qid == 0 { adminOps.insert(s.opcode) } else { ioOps.insert(s.opcode) }
            }
        }
        #expect(kinds == Set(GeneratorKind.allCases))
        #expect(adminOps.contains { StatusRules.isReservedAdmin($0) })
        #expect(adminOps.contains { $0 >= 0xC0 })
        #expect(ioOps.contains { StatusRules.isReservedIO($0) })
        #expect(ioOps.contains { $0 >= 0x80 })
        #expect(ioOps.contains(IOOpcode.zoneAppend.rawValue) || ioOps.contains(IOOpcode.zoneManagementSend.rawValue))
        #expect(adminOps.count > 150 && ioOps.count > 150)
    }

    @Test("selected generators only")
    func selection() {
        let g = CaseGenerator(seed: 5, kinds: [.sgl, .doorbells])
        for i in 0..<300 as Range<UInt64> {
            #expect([.sgl, .doorbells].contains(g.generate(index: i).generator))
        }
    }

    @Test("mutations reach reserved bits, FUSE, PSDT and every dword")
    func fieldMutationsReachEverything() {
        let g = CaseGenerator(seed: 3, kinds: [.fields])
        var fuse = Set<UInt8>(), psdt = Set<UInt8>(), reserved = false
        for i in 0..<3000 as Range<UInt64> {
            for s in g.generate(index: i).submissions {
                let e = s.sqe
                fuse.insert(e.fuse); psdt.insert(e.psdt)
                if e.cdw0Reserved != 0 { reserved = true }
            }
        }
        #expect(fuse == [0, 1, 2, 3])
        #expect(psdt == [0, 1, 2, 3])
        #expect(reserved)
    }

    @Test("namespace generator covers NSID 0, broadcast and out-of-range values")
    func namespaceIDs() {
        var env = FuzzEnvironment()
        env.namespaceCount = 4; env.activeNamespaces = [1, 2]
        let g = CaseGenerator(seed: 11, kinds: [.namespaces], environment: env)
        let nsids = Set((0..<500 as Range<UInt64>).flatMap { g.generate(index: $0).submissions.map { $0.sqe.nsid } })
        #expect(nsids.contains(0))
        #expect(nsids.contains(0xFFFF_FFFF))
        #expect(nsids.contains(5))
        #expect(nsids.contains(3))  // inactive but within NN
    }

    @Test("PRP generator builds lists crossing pages, bad chains, unmapped and queue-overlapping pointers")
    func prpShapes() {
        let g = CaseGenerator(seed: 8, kinds: [.prp])
        var unmapped = false, ring = false, list = false
        for i in 0..<500 as Range<UInt64> {
            let c = g.generate(index: i)
            for s in c.submissions {
                if case .unmapped? = s.prp1 { unmapped = true }
                if case .ring? = s.prp1 { ring = true; #expect(c.requiresReset) }
                if case .list? = s.prp2 { list = true }
            }
        }
        #expect(unmapped && ring && list)
    }

    @Test("doorbell and init cases that break queue state ask for a reset")
    func resetsRequested() {
        let g = CaseGenerator(seed: 2, kinds: [.initSequence])
        for i in 0..<100 as Range<UInt64> { #expect(g.generate(index: i).requiresReset) }
        let d = CaseGenerator(seed: 2, kinds: [.doorbells])
        let pastEnd = (0..<300 as Range<UInt64>).map { d.generate(index: $0) }.filter { $0.label.contains("past depth") }
        #expect(!pastEnd.isEmpty)
        #expect(pastEnd.allSatisfy { $0.requiresReset })
    }
}

@Suite("Spec must-fail rules")
struct StatusRuleTests {
    let env = FuzzEnvironment()

    @Test("reserved opcodes must fail; vendor and defined ones may succeed (Base §5 Figure 138, NVM §3)")
    func opcodes() {
        #expect(StatusRules.mustFail(SubmissionQueueEntry(opcode: 0x03), admin: true, environment: env) != nil)
        #expect(StatusRules.mustFail(SubmissionQueueEntry(opcode: 0xC1), admin: true, environment: env) == nil)
        #expect(StatusRules.mustFail(SubmissionQueueEntry(opcode: 0x06), admin: true, environment: env) == nil)
        #expect(StatusRules.mustFail(SubmissionQueueEntry(opcode: 0x03, nsid: 1), admin: false, environment: env) != nil)
        #expect(StatusRules.mustFail(SubmissionQueueEntry(opcode: 0x81, nsid: 1), admin: false, environment: env) == nil)
    }

    @Test("LBA commands: NSID 0, broadcast, inactive, out of range and beyond MDTS must fail")
    func lbaRules() {
        func read(nsid: UInt32, slba: UInt64 = 0, blocks: Int = 1) -> SubmissionQueueEntry {
            var e = SubmissionQueueEntry(opcode: IOOpcode.read.rawValue, nsid: nsid)
            e.cdw10 = UInt32(truncatingIfNeeded: slba); e.cdw11 = UInt32(truncatingIfNeeded: slba >> 32); e.cdw12 = UInt32(blocks - 1)
            return e
        }
        #expect(StatusRules.mustFail(read(nsid: 1), admin: false, environment: env) == nil)
        #expect(StatusRules.mustFail(read(nsid: 0), admin: false, environment: env) != nil)
        #expect(StatusRules.mustFail(read(nsid: 0xFFFF_FFFF), admin: false, environment: env) != nil)
        #expect(StatusRules.mustFail(read(nsid: 2), admin: false, environment: env) != nil)
        #expect(StatusRules.mustFail(read(nsid: 1, slba: env.blockCount - 1, blocks: 2), admin: false, environment: env) != nil)
        #expect(StatusRules.mustFail(read(nsid: 1, slba: env.blockCount - 2, blocks: 2), admin: false, environment: env) == nil)
        let mdtsBlocks = env.maximumTransferBytes! / env.blockSize
        #expect(StatusRules.mustFail(read(nsid: 1, blocks: mdtsBlocks), admin: false, environment: env) == nil)
        #expect(StatusRules.mustFail(read(nsid: 1, blocks: mdtsBlocks + 1), admin: false, environment: env) != nil)
        // Flush to broadcast is allowed.
        #expect(StatusRules.mustFail(SubmissionQueueEntry(opcode: 0, nsid: 0xFFFF_FFFF), admin: false, environment: env) == nil)
    }

    @Test("create queue rules: QID 0, existing QID, size 0, size > MQES, PC=0 with CQR (Base §5.4, §5.5)")
    func createQueue() {
        func cq(qid: UInt16, qsize: UInt32, cdw11: UInt32 = 1) -> SubmissionQueueEntry {
            var e = SubmissionQueueEntry(opcode: AdminOpcode.createIOCompletionQueue.rawValue)
            e.cdw10 = UInt32(qid) | qsize << 16; e.cdw11 = cdw11; return e
        }
        #expect(StatusRules.mustFail(cq(qid: 2, qsize: 15), admin: true, environment: env) == nil)
        #expect(StatusRules.mustFail(cq(qid: 0, qsize: 15), admin: true, environment: env) != nil)
        #expect(StatusRules.mustFail(cq(qid: 1, qsize: 15), admin: true, environment: env) != nil)
        #expect(StatusRules.mustFail(cq(qid: 2, qsize: 0), admin: true, environment: env) != nil)
        #expect(StatusRules.mustFail(cq(qid: 2, qsize: UInt32(env.mqes) + 1), admin: true, environment: env) != nil)
        #expect(StatusRules.mustFail(cq(qid: 2, qsize: 15, cdw11: 0), admin: true, environment: env) != nil)
        #expect(StatusRules.mustFail(cq(qid: 2, qsize: 15, cdw11: 3 | 200 << 16), admin: true, environment: env) != nil)
    }
}

@Suite("Repro files and the minimiser")
struct ReproTests {
    @Test("a repro survives a JSON round trip with every action kind")
    func jsonRoundTrip() throws {
        var c = CaseGenerator(seed: 4).generate(index: 17)
        c.actions += [.ringSubmissionTail(qid: 1, value: .raw(99)), .ringCompletionHead(qid: 1, value: .head(plus: 2)),
                      .writeRegister(offset: 0x14, value: 0x460001), .writeRegisterPointer(offset: 0x28, pointer: .unmapped(offset: 0)),
                      .writeList(offset: 0, entries: [.data(offset: 4096), .ring(qid: 0, completion: true, offset: 0)]),
                      .writeSGL(offset: 16, descriptors: [.segment(.list(offset: 0), 16)]),
                      .fill(area: .data, offset: 0, count: 10, byte: 1), .writeBytes(area: .list, offset: 0, bytes: [1, 2]),
                      .waitReady(ready: true, milliseconds: 5), .wait(microseconds: 3)]
        let r = Repro(seed: 4, target: "sim0", oracle: .status, expected: "e", got: "g", caseIndex: 17, label: c.label,
                      generator: c.generator, environment: FuzzEnvironment(),
                      queueState: [QueueState(qid: 0, depth: 32, sqTail: 3, sqHead: 3, cqHead: 3, cqPhase: true)],
                      history: [CaseGenerator(seed: 4).generate(index: 16)], failingCase: c,
                      posted: [PostedCommand(qid: 1, slot: 0, cid: 0x8000, sqe: String(repeating: "00", count: 64), cqe: nil, status: nil)],
                      registerWrites: [RegisterWrite(offset: 0x1008, value: 1, what: "SQ1 tail")], alsoTripped: [])
        let path = NSTemporaryDirectory() + "/nvmekit-repro-\(getpid()).json"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(r.json().utf8)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try Repro.load(path: path) == r)
    }

    @Test("loading a file that is not a repro names the file and the fix")
    func badRepro() {
        let path = NSTemporaryDirectory() + "/nvmekit-notrepro-\(getpid()).json"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("{\"x\":1}".utf8)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: FuzzError.self) { _ = try Repro.load(path: path) }
        do { _ = try Repro.load(path: path) } catch { #expect("\(error)".contains(path)) }
        #expect(throws: FuzzError.self) { _ = try Repro.load(path: "/nonexistent/file.json") }
    }

    @Test("ddmin finds the two items that together make the test fail")
    func ddminFindsPair() {
        let items = Array(0..<40)
        var calls = 0
        let m = Minimizer.ddmin(items) { s in calls += 1; return s.contains(7) && s.contains(31) }
        #expect(m == [7, 31])
        #expect(calls < 200)
    }

    @Test("ddmin keeps a single necessary item and drops everything else")
    func ddminSingle() {
        #expect(Minimizer.ddmin(Array(0..<17)) { $0.contains(16) } == [16])
        #expect(Minimizer.ddmin([5]) { $0.contains(5) } == [5])
    }
}
