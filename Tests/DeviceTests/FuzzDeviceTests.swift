import Foundation
import NVMeFuzz
import NVMePlatform
import Testing

/// The fuzzer against QEMU's NVMe controller through the backend `tools/vm` bound it to. A fuzz run is judged on the
/// toolkit, not on QEMU: it must finish alive with every hang or fault recovered. Findings (QEMU misbehaviour) are
/// printed with their repro files, which land in /outbox/fuzz-findings (`tools/vm run --outbox DIR` brings them back).
@Suite("Fuzzer on QEMU", .serialized, .enabled(if: driverBackends, driverNotHere))
struct FuzzOnDevice {
    /// Cases per backend: 10,000 through vfio (the IOMMU turns wild DMA into counted faults); a shorter run on the
    /// unsafe backends, where wild DMA would hit guest memory. `NVMEKIT_FUZZ_CASES` overrides.
    static var caseCount: Int {
        if let s = GuestEnvironment.environment["NVMEKIT_FUZZ_CASES"], let n = Int(s) { return n }
        return GuestEnvironment.backend == .vfio ? 10_000 : 300
    }

    @Test("a fuzz run finishes with the toolkit alive, every hang and fault recovered, and a summary")
    func fuzzRunSurvives() throws {
        let bdf = GuestEnvironment.devices[0]
        let backend = try #require(GuestEnvironment.backend.flatMap { DeviceBackend(rawValue: $0.rawValue) })
        let device = try openDevice(address: bdf, backend: backend,
                                    options: DeviceOptions(allowUnsafe: true, interrupts: backend == .uio ? .intx : .msix))
        defer { device.close() }
        let monitor: (any DMAFaultMonitor)? = backend == .vfio ? KernelLogFaultMonitor() : nil
        if backend == .vfio { #expect(monitor != nil, "/dev/kmsg must be readable for the DMA-fault oracle") }
        var o = FuzzOptions()
        o.seed = GuestEnvironment.environment["NVMEKIT_FUZZ_SEED"].flatMap { UInt64($0) } ?? 2026
        o.cases = Self.caseCount
        o.deadline = .milliseconds(500)
        // QEMU 7.2 hangs its main loop on an SGL Segment chain that never reaches a data descriptor (case 2 of seed
        // 2026; see docs/fuzzer.md): the guest's vCPU blocks on its next MMIO read and nothing inside the guest can
        // recover it (tools/vm fuzz power-cycles QEMU for it). Inside one guest boot that shape is avoided.
        if GuestEnvironment.environment["NVMEKIT_FUZZ_SGL"] == nil { o.avoidLabels = ["SGL segment chain looping on itself"] }
        if backend != .vfio {
            // Without an IOMMU a wild pointer is a write into guest memory: keep the pointer families out.
            o.generators = [.opcodes, .fields, .namespaces, .transferSize, .doorbells, .queueCreation, .initSequence]
        }
        if FileManager.default.fileExists(atPath: "/outbox") { o.outputDirectory = "/outbox/fuzz-findings" }
        FileHandle.standardOutput.write(Data("FUZZ opening the runner on \(bdf)\n".utf8))
        let runner = try FuzzRunner(target: FuzzTarget(device: device, faults: monitor, name: "\(bdf) (\(backend.rawValue))"),
                                    options: o)
        // Progress on the serial console (the guest's stdout is a pipe: flush), and every slow case by name.
        runner.options.progressInterval = .seconds(10)
        let say = { (line: String) in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        runner.progress = { say("FUZZ PROGRESS " + $0.progressLine) }
        runner.caseFinished = { c, found, seconds in
            if seconds > 0.3 || GuestEnvironment.environment["NVMEKIT_FUZZ_TRACE"] != nil {
                say(String(format: "FUZZ SLOW case %llu %.2f s ", c.index, seconds) + c.label + " "
                    + found.map(\.oracle.rawValue).joined(separator: ","))
            }
        }
        let s = runner.run()
        print("FUZZ SUMMARY\n" + s.report)
        for r in runner.repros.prefix(20) { print("FUZZ FINDING \(r.oracle.rawValue) case \(r.caseIndex) \(r.label): expected \(r.expected); got \(r.got)") }

        #expect(s.cases + s.avoided == o.cases)
        #expect(s.toolkitCrashes == 0)
        #expect(s.unrecovered == 0)
        #expect(s.hangs <= s.recovered, "every hang is followed by a successful recovery")
        #expect(s.statuses.count > 5, "QEMU answered with a variety of statuses")
        #expect(device.bar0.csts.rdy, "the controller is enabled and ready at the end")
    }
}
