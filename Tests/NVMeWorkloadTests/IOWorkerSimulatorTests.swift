import NVMeDriver
import NVMePlatform
import NVMeSimulator
import NVMeSpec
import NVMeWorkload
import Testing

/// IOWorker on the in-process simulator (inline mode: a doorbell write processes the queue on the writer's thread).
@Suite("IOWorker on the simulator", .serialized)
struct IOWorkerSimulatorTests {
    static func open(blocks: UInt64 = 16384, blockSize: Int = 512, address: String = "sim0",
                     nullIO: Bool = false) throws -> (SimulatedController, Controller) {
        var cfg = SimulatorConfiguration()
        cfg.nullIO = nullIO
        cfg.namespaces = [NamespaceConfiguration(nsid: 1, blockCount: blocks, formatIndex: blockSize == 4096 ? 4 : 0)]
        let sim = try SimulatedController(configuration: cfg, address: address)
        var options = ControllerOptions()
        options.interrupts = .polling
        options.ioQueueCount = 4
        let c = try Controller.open(sim, options: options)
        return (sim, c)
    }

    static func config(_ mix: OperationMix, ios: UInt64? = nil, qd: Int = 16, size: IOSizeDistribution = .fixed(8),
                       random: Int = 100, region: Range<UInt64>? = nil) -> IOWorkerConfiguration {
        var c = IOWorkerConfiguration()
        c.mix = mix; c.ioCount = ios; c.duration = ios == nil ? .seconds(2) : nil; c.queueDepth = qd; c.ioSize = size
        c.randomPercent = random
        if let region { c.regionStart = region.lowerBound; c.regionEnd = region.upperBound }
        return c
    }

    @Test func aWriteReadMixVerifiesEveryReadWithoutMismatches() throws {
        let (_, c) = try Self.open()
        defer { c.close() }
        var store = IntegrityStore()
        // Fill the region first so that every later read has an expectation.
        _ = try Workload(controller: c, configuration: Self.config(.writeOnly, ios: 2048, random: 0, region: 0..<16384)).run(integrity: &store)
        let r = try Workload(controller: c, configuration: Self.config(.read(percent: 70), ios: 20_000,
                             size: .weighted([.init(blocks: 1, weight: 50), .init(blocks: 8, weight: 40), .init(blocks: 64, weight: 10)])))
            .run(integrity: &store)
        #expect(r.total.ios == 20_000)
        #expect(r.mismatchCount == 0, "\(r.firstMismatch.map(String.init(describing:)) ?? "")")
        #expect(r.total.errors == 0)
        #expect(r.total.verifiedBlocks > 50_000)
        let reads = r.total.perOperation[.read] ?? 0
        #expect(abs(Double(reads) / 20_000 - 0.7) < 0.03)
        #expect(store[c.device.address, 1]!.summary.written == 16384)
    }

    @Test func everyOperationOfTheMixRunsAndTheMapTracksTrimAndWriteZeroes() throws {
        let (_, c) = try Self.open()
        defer { c.close() }
        var store = IntegrityStore()
        let mix = try OperationMix.parse("read:40,write:30,trim:8,flush:5,write-zeroes:7,compare:5,verify:5")
        let r = try Workload(controller: c, configuration: Self.config(mix, ios: 10_000, region: 0..<2048)).run(integrity: &store)
        for op in WorkloadOperation.allCases where op != .compare {
            #expect((r.total.perOperation[op] ?? 0) > 0, "\(op) never ran")
        }
        #expect(r.mismatchCount == 0, "\(r.firstMismatch.map(String.init(describing:)) ?? "")")
        #expect(r.total.errors == 0, "\(r.total.failures.first.map { "\($0)" } ?? "")")
        let s = store[c.device.address, 1]!.summary
        #expect(s.deallocated > 0 && s.zeroed > 0 && s.written > 0)
    }

    @Test("workers continue past generation 2^32: stamps and map carry the full generation")
    func generationsPast32BitsOnTheSimulator() throws {
        let (sim, c) = try Self.open(blocks: 4096)
        defer { c.close() }
        let ns = try #require(c.namespaces.first)
        var map = IntegrityMap(identity: NamespaceIdentity(controller: c, namespace: ns))
        map.recordWrite(slba: 4000, blocks: 1, generation: (1 << 32) - 100)
        var store = IntegrityStore()
        store[c.device.address, 1] = map
        _ = try Workload(controller: c, configuration: Self.config(.writeOnly, ios: 400, random: 0, region: 0..<2048)).run(integrity: &store)
        let r = try Workload(controller: c, configuration: Self.config(.readOnly, ios: 256, random: 0, region: 0..<2048)).run(integrity: &store)
        #expect(r.mismatchCount == 0, "\(r.firstMismatch.map(String.init(describing:)) ?? "")")
        #expect(r.total.verifiedBlocks == 2048)
        let after = try #require(store[c.device.address, 1])
        #expect(after.highestGeneration == (1 << 32) - 100 + 400)
        guard case .written(let g) = after[2047] else { Issue.record("LBA 2047 is \(after[2047])"); return }
        #expect(g > 1 << 32)
        let block = try #require(sim.readBlocks(nsid: 1, lba: 2047, count: 1))
        #expect(block == BlockStamp.expectedBlock(blockSize: 512, lba: 2047, generation: g))
    }

    @Test("with the simulator's volatile write cache (VWC present, Feature 06h on), writes stay unflushed until a Flush")
    func flushesMakeWritesDurableInTheMap() throws {
        let (_, c) = try Self.open(blocks: 4096)
        defer { c.close() }
        #expect(Workload.volatileWriteCacheEnabled(c))
        var store = IntegrityStore()
        _ = try Workload(controller: c, configuration: Self.config(.writeOnly, ios: 64, random: 0, region: 0..<512)).run(integrity: &store)
        #expect(store[c.device.address, 1]?.unflushedCount == 512)
        let mix = try OperationMix.parse("flush:100")
        _ = try Workload(controller: c, configuration: Self.config(mix, ios: 4, qd: 1, region: 0..<512)).run(integrity: &store)
        #expect(store[c.device.address, 1]?.unflushedCount == 0)
        // Written again and not flushed: a power cycle between runs leaves those LBAs old-or-new, the rest exact.
        _ = try Workload(controller: c, configuration: Self.config(.writeOnly, ios: 1, random: 0, region: 0..<512)).run(integrity: &store)
        store.recordPowerLoss(controller: c.device.address)
        let map = try #require(store[c.device.address, 1])
        #expect(map.isAmbiguous(0) && map.alternative(of: 0) == .written(generation: 1))
        #expect(!map.isAmbiguous(8) && map[8] == .written(generation: 2))
        let r = try Workload(controller: c, configuration: Self.config(.readOnly, ios: 64, random: 0, region: 0..<512)).run(integrity: &store)
        #expect(r.mismatchCount == 0 && r.total.verifiedBlocks == 512)
    }

    @Test("LBAs a worker forgot (unverifiable pattern) are forgotten in the store too, not left at their old stamp")
    func forgottenLBAsReachTheStore() throws {
        let (_, c) = try Self.open(blocks: 4096)
        defer { c.close() }
        var store = IntegrityStore()
        _ = try Workload(controller: c, configuration: Self.config(.writeOnly, ios: 64, random: 0, region: 0..<512)).run(integrity: &store)
        var random = Self.config(.writeOnly, ios: 64, random: 0, region: 0..<512)
        random.pattern = .random
        _ = try Workload(controller: c, configuration: random).run(integrity: &store)
        #expect(store[c.device.address, 1]?[0] == .unknown)
        let r = try Workload(controller: c, configuration: Self.config(.readOnly, ios: 64, random: 0, region: 0..<512)).run(integrity: &store)
        #expect(r.mismatchCount == 0, "\(r.firstMismatch.map(String.init(describing:)) ?? "")")
    }

    @Test("a stored map of another geometry is an error, not silently replaced")
    func aMapOfAnotherGeometryIsRefused() throws {
        let (_, c) = try Self.open(blocks: 4096)
        defer { c.close() }
        var store = IntegrityStore()
        store[c.device.address, 1] = IntegrityMap(identity: NamespaceIdentity(serial: "OTHER", nsid: 1, nsze: 4096, lbads: 9, ms: 0))
        #expect {
            try Workload(controller: c, configuration: Self.config(.writeOnly, ios: 8, region: 0..<512)).run(integrity: &store)
        } throws: { e in "\(e)".contains("OTHER") && "\(e)".contains(c.device.address) }
    }

    @Test func aCorruptedLBAIsCaughtAndReportedWithItsSQEAndCQE() throws {
        let (sim, c) = try Self.open(blocks: 4096)
        defer { c.close() }
        var store = IntegrityStore()
        _ = try Workload(controller: c, configuration: Self.config(.writeOnly, ios: 512, random: 0, region: 0..<4096)).run(integrity: &store)
        // Flip one byte of LBA 1234 behind the driver's back.
        var block = try #require(sim.readBlocks(nsid: 1, lba: 1234, count: 1))
        block[300] ^= 0xFF
        sim.writeBlocks(nsid: 1, lba: 1234, data: block)

        let r = try Workload(controller: c, configuration: Self.config(.readOnly, ios: 512, random: 0, region: 0..<4096)).run(integrity: &store)
        #expect(r.mismatchCount == 1)
        let m = try #require(r.firstMismatch)
        #expect(m.lba == 1234)
        #expect(m.firstDifferingByte == 300)
        let sqe = try #require(m.sqe), cqe = try #require(m.cqe)
        let slba = UInt64(sqe[10]) | UInt64(sqe[11]) << 32
        #expect(sqe[0] & 0xFF == 0x02, "the SQE is the Read that returned the block")
        #expect(slba <= 1234 && 1234 < slba + UInt64(sqe[12] & 0xFFFF) + 1)
        #expect(UInt16(cqe[3] & 0xFFFF) == UInt16(sqe[0] >> 16), "the CQE completes that command")
        #expect(m.description.contains("LBA 1234"))
    }

    @Test func verificationContinuesAcrossAControllerResetWithIOInFlight() throws {
        let (_, c) = try Self.open(blocks: 8192)
        defer { c.close() }
        var store = IntegrityStore()
        _ = try Workload(controller: c, configuration: Self.config(.writeOnly, ios: 1024, random: 0, region: 0..<8192)).run(integrity: &store)
        var cfg = Self.config(.read(percent: 50), qd: 32)
        cfg.duration = .milliseconds(1500)
        let w = Workload(controller: c, configuration: cfg)
        w.resets = [ScheduledReset(after: .milliseconds(500), kind: .controller)]
        let r = try w.run(integrity: &store)
        #expect(r.total.resets == 1)
        #expect(r.mismatchCount == 0, "\(r.firstMismatch.map(String.init(describing:)) ?? "")")
        #expect(r.total.verifiedBlocks > 0)
        // After the reset the map still verifies everything written before and during the run.
        let after = try Workload(controller: c, configuration: Self.config(.readOnly, ios: 1024, random: 0, region: 0..<8192)).run(integrity: &store)
        #expect(after.mismatchCount == 0, "\(after.firstMismatch.map(String.init(describing:)) ?? "")")
        #expect(after.total.verifiedBlocks == 8192)
    }

    @Test func aWorkerWhoseOnlySlotIsHeldByAnUnansweredTimeoutStopsWithAReason() throws {
        let (sim, c) = try Self.open(blocks: 4096)
        defer { c.close() }
        var store = IntegrityStore()
        var cfg = Self.config(.writeOnly, ios: 200, qd: 1, random: 0, region: 0..<4096)
        cfg.timeout = .milliseconds(200)
        sim.inject(.nth(5, queue: .io, opcode: IOOpcode.write.rawValue, .dropCompletion))
        let r = try Workload(controller: c, configuration: cfg).run(integrity: &store)
        let w = try #require(r.workers.first)
        #expect(w.timeouts == 1 && w.errors == 0 && w.abortedByReset == 0, "a timeout is neither an error nor an abort")
        #expect(w.quarantinedAtEnd == 1 && w.lateCompletions == 0)
        #expect(w.ios == 4, "nothing was submitted while the only buffer slot was held by the timed-out write")
        #expect(w.stopReason?.contains("never answered") == true, "\(w.stopReason ?? "no stop reason")")
        #expect(r.summary().contains("timeouts 1") && r.summary().contains("FIRST TIMEOUT"), "\(r.summary())")
        #expect(r.json().contains("\"timeouts\" : 1"))
    }

    @Test func aResetReleasesTheQuarantineAndTheWorkerGoesOnVerifying() throws {
        let (sim, c) = try Self.open(blocks: 4096)
        defer { c.close() }
        var store = IntegrityStore()
        _ = try Workload(controller: c, configuration: Self.config(.writeOnly, ios: 512, random: 0, region: 0..<4096)).run(integrity: &store)
        var cfg = Self.config(.read(percent: 50), qd: 2, region: 0..<4096)
        cfg.duration = .milliseconds(1200)
        cfg.timeout = .milliseconds(100)
        // The 10th write is never answered: it times out while the other slot keeps the queue busy.
        sim.inject(.nth(10, queue: .io, opcode: IOOpcode.write.rawValue, .dropCompletion))
        let w = Workload(controller: c, configuration: cfg)
        w.resets = [ScheduledReset(after: .milliseconds(600), kind: .controller)]
        let r = try w.run(integrity: &store)
        let worker = try #require(r.workers.first)
        #expect(worker.timeouts == 1 && worker.releasedByReset == 1 && worker.quarantinedAtEnd == 0,
                "timeouts \(worker.timeouts), released \(worker.releasedByReset), held at the end \(worker.quarantinedAtEnd)")
        #expect(worker.resets == 1 && worker.stopReason == nil)
        #expect(worker.iosAfterReset > 0 && worker.verifiedBlocksAfterReset > 0)
        #expect(r.mismatchCount == 0, "\(r.firstMismatch.map(String.init(describing:)) ?? "")")
    }

    @Test func theMapSurvivesAPowerCycleOfTheSimulator() throws {
        let (_, c) = try Self.open(blocks: 4096)
        defer { c.close() }
        var store = IntegrityStore()
        _ = try Workload(controller: c, configuration: Self.config(.read(percent: 30), ios: 4000, region: 0..<4096)).run(integrity: &store)
        try c.reset(.powerCycle)
        let after = try Workload(controller: c, configuration: Self.config(.readOnly, ios: 512, random: 0, region: 0..<4096)).run(integrity: &store)
        #expect(after.mismatchCount == 0, "\(after.firstMismatch.map(String.init(describing:)) ?? "")")
        #expect(after.total.verifiedBlocks > 0)
    }

    @Test func littlesLawHoldsOnARealRun() throws {
        let (_, c) = try Self.open(nullIO: true)
        defer { c.close() }
        var store = IntegrityStore()
        var cfg = Self.config(.readOnly, ios: 30_000, qd: 8)
        cfg.verify = false
        let r = try Workload(controller: c, configuration: cfg).run(integrity: &store)
        let law = r.total.littlesLaw
        #expect(law.measuredQueueDepth > 0 && law.measuredQueueDepth <= 8)
        #expect(law.isConsistent(tolerance: 0.25), "IOPS x mean latency = \(law.predictedQueueDepth), measured QD \(law.measuredQueueDepth)")
    }

    @Test func manyWorkersOverTwoControllersReportPerWorkerAndAggregated() throws {
        let (_, a) = try Self.open(address: "simA")
        let (_, b) = try Self.open(address: "simB")
        defer { a.close(); b.close() }
        var store = IntegrityStore()
        var jobs: [Workload.Job] = []
        for (i, ctrl) in [a, a, b].enumerated() {
            var cfg = Self.config(.read(percent: 50), ios: 3000, qd: 8, region: UInt64(i * 4096)..<UInt64(i * 4096 + 4096))
            cfg.name = "w\(i)"
            cfg.seed = UInt64(i + 1)
            jobs.append(.init(controller: ctrl, configuration: cfg))
        }
        let r = try Workload(jobs: jobs).run(integrity: &store)
        #expect(r.workers.map(\.name) == ["w0", "w1", "w2"])
        #expect(r.workers.allSatisfy { $0.ios == 3000 })
        #expect(r.total.ios == 9000)
        #expect(r.total.latency.totalCount == 9000)
        #expect(Set(r.workers.map(\.controller)) == ["simA", "simB"])
        #expect(r.mismatchCount == 0)
        #expect(store["simA", 1] != nil && store["simB", 1] != nil)
    }

    @Test func oneThreadDrivesSeveralQueuePairsAndTheyAllPauseForAResetMidRun() throws {
        // Three workers of one controller and one of another on a single thread: a worker waiting out the reset
        // must not stop the thread, or its siblings never reach their pause and the reset never starts.
        let (_, a) = try Self.open(blocks: 8192, address: "simA")
        let (_, b) = try Self.open(blocks: 8192, address: "simB")
        defer { a.close(); b.close() }
        var store = IntegrityStore()
        var jobs: [Workload.Job] = []
        for (i, ctrl) in [a, a, a, b].enumerated() {
            var cfg = Self.config(.read(percent: 50), qd: 8, region: UInt64(i % 3 * 2048)..<UInt64(i % 3 * 2048 + 2048))
            cfg.duration = .milliseconds(1200)
            cfg.name = "w\(i)"
            cfg.seed = UInt64(i + 7)
            jobs.append(.init(controller: ctrl, configuration: cfg))
        }
        let w = Workload(jobs: jobs)
        w.threads = 1
        w.resets = [ScheduledReset(after: .milliseconds(400), kind: .controller, controller: 0)]
        let r = try w.run(integrity: &store)
        #expect(r.workers.map(\.name) == ["w0", "w1", "w2", "w3"])
        #expect(r.workers.allSatisfy { $0.ios > 0 }, "every queue pair made progress from the one thread")
        #expect(r.workers.prefix(3).allSatisfy { $0.resets == 1 }, "controller A's workers all saw the reset")
        #expect(r.workers[3].resets == 0, "controller B was not reset")
        #expect(r.mismatchCount == 0, "\(r.firstMismatch.map(String.init(describing:)) ?? "")")
        #expect(r.total.verifiedBlocks > 0)
        let after = try Workload(controller: a, configuration: Self.config(.readOnly, ios: 768, random: 0, region: 0..<6144)).run(integrity: &store)
        #expect(after.mismatchCount == 0, "\(after.firstMismatch.map(String.init(describing:)) ?? "")")
    }

    @Test func aSubmitBatchRingsTheSQDoorbellForWholeBatchesOnly() throws {
        // A simulator that works on its own thread, so completions trickle back and a worker without a batch
        // would refill (and ring) after almost every completion.
        var sc = SimulatorConfiguration()
        sc.nullIO = true
        sc.executionMode = .background
        let sim = try SimulatedController(configuration: sc)
        var options = ControllerOptions()
        options.interrupts = .polling
        let c = try Controller.open(sim, options: options)
        defer { c.close() }
        var store = IntegrityStore()
        var cfg = Self.config(.readOnly, ios: 8192, qd: 32)
        cfg.verify = false
        cfg.submitBatch = 16
        let batched = try Workload(controller: c, configuration: cfg).run(integrity: &store)
        #expect(batched.total.ios == 8192)
        // The first ring posts 32, every later one at least 16 — except the last, limited by the IO count.
        #expect(batched.total.sqDoorbellWrites >= 1)
        #expect(batched.total.sqDoorbellWrites <= (8192 - 32) / 16 + 2, "\(batched.total.sqDoorbellWrites) SQ doorbells")
        cfg.submitBatch = 40
        #expect(cfg.validate(namespace: nil).contains { $0.contains("submit batch 40") })
    }

    @Test func aDeepCQWritesTheHeadDoorbellOncePerManyCompletions() throws {
        let (_, c) = try Self.open(nullIO: true)
        defer { c.close() }
        var store = IntegrityStore()
        var cfg = Self.config(.readOnly, ios: 8192, qd: 32)
        cfg.verify = false
        cfg.completionQueueDepth = 33           // SQ-sized: one head write per poll that reaped, as Linux does
        let shallow = try Workload(controller: c, configuration: cfg).run(integrity: &store)
        cfg.completionQueueDepth = nil          // default: 1024 entries, head written once per 1024 - 33 completions
        let deep = try Workload(controller: c, configuration: cfg).run(integrity: &store)
        #expect(shallow.total.ios == 8192 && deep.total.ios == 8192)
        let shallowCQ = shallow.total.doorbellWrites - shallow.total.sqDoorbellWrites
        let deepCQ = deep.total.doorbellWrites - deep.total.sqDoorbellWrites
        #expect(shallowCQ >= 8192 / 32, "\(shallowCQ) CQ head writes with a CQ of 33")
        // Written once 991 to 1022 entries are unrung (a poll reaps up to 32).
        #expect((8192 / 1022)...(8192 / 991) ~= Int(deepCQ), "\(deepCQ) CQ head writes with a CQ of 1024")
        #expect(cfg.completionQueueDepth(mqes: 2047) == 1024)
        #expect(cfg.completionQueueDepth(mqes: 63) == 64)
        #expect(cfg.completionQueueDepth(mqes: 15) == 33)   // never below the queue depth + 1
        cfg.completionQueueDepth = 16
        #expect(cfg.validate(namespace: nil).contains { $0.contains("CQ depth 16") })
        cfg.completionQueueDepth = 4096
        #expect {
            try Workload(controller: c, configuration: cfg).run(integrity: &store)
        } throws: { "\($0)".contains("--cq-depth 2048") }
    }

    @Test func overlappingWriteVerifyRegionsAreRefusedWithTheFix() throws {
        let (_, c) = try Self.open()
        defer { c.close() }
        var store = IntegrityStore()
        let cfg = Self.config(.writeOnly, ios: 10)
        #expect {
            try Workload(jobs: [.init(controller: c, configuration: cfg), .init(controller: c, configuration: cfg)]).run(integrity: &store)
        } throws: { e in "\(e)".contains("own region") }
    }

    @Test func theCommandLogKeepsTheLastCommands() throws {
        let (_, c) = try Self.open()
        defer { c.close() }
        var store = IntegrityStore()
        var cfg = Self.config(.readOnly, ios: 100, qd: 4)
        cfg.commandLogCapacity = 16
        let r = try Workload(controller: c, configuration: cfg).run(integrity: &store)
        #expect(r.workers[0].commandLog.count == 16)
        #expect(r.workers[0].commandLog.allSatisfy { $0.opcode == 0x02 && $0.status.contains("Success") })
    }
}
