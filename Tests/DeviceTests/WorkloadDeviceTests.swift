import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec
import NVMeWorkload
import Testing

/// IOWorker mixes with per-LBA verification on QEMU's NVMe controller, through the backend `tools/vm` bound it to.
@Suite("IOWorker on the device (vfio, noiommu, uio)", .serialized,
       .enabled(if: GuestEnvironment.isGuest, GuestEnvironment.notInGuest),
       .enabled(if: PlatformGuest.backend != nil, "needs NVMEKIT_BACKEND=vfio|noiommu|uio"))
struct WorkloadDeviceTests {
    static func open() throws -> Controller {
        let dev = try PlatformGuest.open(try #require(GuestEnvironment.devices.first))
        var o = ControllerOptions()
        o.interrupts = .polling
        o.ioQueueCount = 2
        var seq = InitSequence.standard
        try seq.remove("createIOQueues")
        let c = Controller(device: dev, options: o)
        do { try c.initialize(seq) } catch { dev.close(); throw error }
        return c
    }

    static func config(_ mix: OperationMix, ios: UInt64, region: Range<UInt64>, qd: Int = 16, random: Int = 100) -> IOWorkerConfiguration {
        var cfg = IOWorkerConfiguration()
        cfg.mix = mix; cfg.ioCount = ios; cfg.duration = nil; cfg.queueDepth = qd; cfg.randomPercent = random
        cfg.regionStart = region.lowerBound; cfg.regionEnd = region.upperBound
        cfg.ioSize = .weighted([.init(blocks: 1, weight: 60), .init(blocks: 8, weight: 40)])
        return cfg
    }

    @Test func aMixedWorkloadVerifiesEveryReadOnTheDevice() throws {
        let c = try Self.open()
        defer { c.close() }
        var store = IntegrityStore()
        _ = try Workload(controller: c, configuration: Self.config(.writeOnly, ios: 256, region: 0..<2048, random: 0)).run(integrity: &store)
        let mix = try OperationMix.parse("read:50,write:35,trim:5,write-zeroes:5,flush:3,verify:2")
        let r = try Workload(controller: c, configuration: Self.config(mix, ios: 3000, region: 0..<2048)).run(integrity: &store)
        #expect(r.total.ios == 3000)
        #expect(r.total.errors == 0, "\(r.total.failures.first.map { "\($0)" } ?? "")")
        #expect(r.mismatchCount == 0, "\(r.firstMismatch.map(String.init(describing:)) ?? "")")
        #expect(r.total.verifiedBlocks > 0)
    }

    @Test func verificationContinuesAcrossAControllerResetWithIOInFlight() throws {
        let c = try Self.open()
        defer { c.close() }
        var store = IntegrityStore()
        _ = try Workload(controller: c, configuration: Self.config(.writeOnly, ios: 512, region: 0..<4096, random: 0)).run(integrity: &store)
        var cfg = Self.config(.read(percent: 50), ios: 0, region: 0..<4096, qd: 32)
        cfg.ioCount = nil; cfg.duration = .seconds(3)
        let w = Workload(controller: c, configuration: cfg)
        w.resets = [ScheduledReset(after: .seconds(1), kind: .controller)]
        let r = try w.run(integrity: &store)
        #expect(r.total.resets == 1)
        #expect(r.mismatchCount == 0, "\(r.firstMismatch.map(String.init(describing:)) ?? "")")
        let after = try Workload(controller: c, configuration: Self.config(.readOnly, ios: 600, region: 0..<4096, random: 0))
            .run(integrity: &store)
        #expect(after.mismatchCount == 0, "\(after.firstMismatch.map(String.init(describing:)) ?? "")")
        #expect(after.total.verifiedBlocks > 0)
    }

    @Test func twoQueuePairsOnOneThreadWithSubmitBatchesVerifyAcrossAReset() throws {
        let c = try Self.open()
        defer { c.close() }
        var store = IntegrityStore()
        _ = try Workload(controller: c, configuration: Self.config(.writeOnly, ios: 512, region: 0..<4096, random: 0)).run(integrity: &store)
        var jobs: [Workload.Job] = []
        for k in 0..<2 {
            var cfg = Self.config(.read(percent: 50), ios: 0, region: UInt64(k * 2048)..<UInt64(k * 2048 + 2048), qd: 16)
            cfg.ioCount = nil; cfg.duration = .seconds(3); cfg.submitBatch = 4
            cfg.name = "w\(k)"; cfg.seed = UInt64(k + 3)
            jobs.append(.init(controller: c, configuration: cfg))
        }
        let w = Workload(jobs: jobs)
        w.threads = 1
        w.resets = [ScheduledReset(after: .seconds(1), kind: .controller)]
        let r = try w.run(integrity: &store)
        #expect(r.workers.allSatisfy { $0.ios > 0 && $0.resets == 1 }, "\(r.workers.map { ($0.ios, $0.resets) })")
        #expect(r.mismatchCount == 0, "\(r.firstMismatch.map(String.init(describing:)) ?? "")")
        #expect(r.total.verifiedBlocks > 0)
        let after = try Workload(controller: c, configuration: Self.config(.readOnly, ios: 600, region: 0..<4096, random: 0))
            .run(integrity: &store)
        #expect(after.mismatchCount == 0, "\(after.firstMismatch.map(String.init(describing:)) ?? "")")
    }

    @Test func aDeliberatelyCorruptedLBAIsCaughtWithItsSQEAndCQE() throws {
        let c = try Self.open()
        defer { c.close() }
        var store = IntegrityStore()
        var fill = Self.config(.writeOnly, ios: 128, region: 0..<1024, random: 0)
        fill.ioSize = .fixed(8)
        _ = try Workload(controller: c, configuration: fill).run(integrity: &store)
        // Overwrite LBA 777 behind the map's back with a raw Write of garbage.
        let ns = try #require(c.namespaces.first)
        let qp = try c.createIOQueuePair(qid: 9, depth: 4, vector: nil)
        let buf = try Buffer(count: ns.blockSize, from: c.allocator)
        try buf.fill(.random(seed: 77))
        var sqe = try DriverCommand.write(nsid: ns.nsid, slba: 777, blocks: 1)
        let keep = try DataPointer.attach(buf, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
        #expect(qp.execute(sqe, data: keep).isSuccess)
        try c.deleteIOQueuePair(qp)

        var read = fill
        read.mix = .readOnly
        let r = try Workload(controller: c, configuration: read).run(integrity: &store)
        #expect(r.mismatchCount == 1)
        let m = try #require(r.firstMismatch)
        #expect(m.lba == 777)
        let s = try #require(m.sqe), q = try #require(m.cqe)
        let slba = UInt64(s[10]) | UInt64(s[11]) << 32
        #expect(s[0] & 0xFF == 0x02 && slba <= 777 && 777 < slba + 8)
        #expect(UInt16(q[3] & 0xFFFF) == UInt16(s[0] >> 16))
    }
}
