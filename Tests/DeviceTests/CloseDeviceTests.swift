import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An interrupted or closed controller leaves the function safe (CC.EN = 0, PCI COMMAND.BME = 0 where nothing
/// else stops DMA) and releases everything, so the same function opens again at once in the same process.
@Suite("close() and interrupted runs on the device", .serialized,
       .enabled(if: GuestEnvironment.isGuest, GuestEnvironment.notInGuest),
       .enabled(if: PlatformGuest.backend != nil, "needs NVMEKIT_BACKEND=vfio|noiommu|uio"))
struct CloseDeviceTests {
    static let nvmekit = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
        .deletingLastPathComponent().appendingPathComponent("nvmekit").path
    var controllerA: String { GuestEnvironment.devices.first ?? "" }

    static func open(_ address: String) throws -> Controller {
        let dev = try PlatformGuest.open(address)
        var o = ControllerOptions()
        o.interrupts = .polling
        let c = Controller(device: dev, options: o)
        do { try c.initialize(.standard) } catch { dev.close(); throw error }
        return c
    }

    /// PCI COMMAND read straight from sysfs (the hardware register, whichever driver is bound).
    func pciCommand(_ bdf: String) throws -> PCICommand {
        try SysfsConfigSpace(path: GuestEnvironment.sysfs(bdf) + "/config").command
    }

    @Test("nvmekit io stopped by SIGINT mid-IO exits 130 and leaves CC.EN = 0 and COMMAND.BME = 0",
          .enabled(if: PlatformGuest.backend == .uio || PlatformGuest.backend == .noiommu,
                   "BME is cleared where nothing else stops DMA: uio and noiommu"))
    func sigintMidIOLeavesTheDeviceSafe() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.nvmekit), "missing \(Self.nvmekit)")
        let backend = try #require(PlatformGuest.backend)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.nvmekit)
        p.arguments = ["io", "--target", controllerA, "--backend", backend.rawValue, "--allow-unsafe",
                       "--time", "120", "--read", "50", "--qd", "16"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        // Wait for the third progress line (one a second): the run is then mid-IO, far from its 120 s.
        var seen = ""
        let h = err.fileHandleForReading
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && p.isRunning {
            let chunk = h.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
            if seen.components(separatedBy: " IOPS").count > 3 { break }
        }
        #expect(try pciCommand(controllerA).contains(.busMaster), "bus mastering on while IO runs")
        kill(p.processIdentifier, SIGINT)
        let stopDeadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < stopDeadline { usleep(50_000) }
        if p.isRunning { p.terminate() }
        let rest = String(decoding: h.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 130, "status \(p.terminationStatus): \((seen + rest).suffix(600))")
        print("nvmekit io after SIGINT: \(rest.split(separator: "\n").last ?? "")")
        let command = try pciCommand(controllerA)
        #expect(!command.contains(.busMaster), "COMMAND=\(String(command.rawValue, radix: 16))h after the interrupted run")
        if backend == .uio {
            // Opening through UIO does not reset the function: CC is what the interrupted run left.
            let dev = try openDevice(address: controllerA, backend: .uio,
                                     options: DeviceOptions(allowUnsafe: true, enableBusMaster: false))
            defer { dev.close() }
            #expect(!dev.bar0.cc.en, "CC=\(String(dev.bar0.cc.rawValue, radix: 16))h after the interrupted run")
            #expect(!dev.bar0.csts.rdy)
        }
    }

    @Test("Controller.close() disables the controller and, on uio/noiommu, clears COMMAND.BME before returning")
    func closeDisablesAndClearsBusMaster() throws {
        let c = try Self.open(controllerA)
        #expect(c.registers.csts.rdy)
        let bar = c.registers
        c.close()
        // The BAR mapping is gone from the device: reads of the closed controller's registers see all ones.
        #expect(bar.read32(at: ControllerRegister.csts.rawValue) == 0xFFFF_FFFF)
        let command = try pciCommand(controllerA)
        if PlatformGuest.backend != .vfio {
            #expect(!command.contains(.busMaster), "COMMAND=\(String(command.rawValue, radix: 16))h after close")
        }
        if PlatformGuest.backend == .uio {
            let dev = try openDevice(address: controllerA, backend: .uio,
                                     options: DeviceOptions(allowUnsafe: true, enableBusMaster: false))
            defer { dev.close() }
            #expect(!dev.bar0.cc.en && !dev.bar0.csts.rdy, "CC=\(String(dev.bar0.cc.rawValue, radix: 16))h after close")
        }
    }

    @Test("a second Controller on the same function in the same process works after close(), with a Buffer of the first still alive")
    func reopenWithLiveBuffer() throws {
        let first = try Self.open(controllerA)
        let kept = try Buffer(count: 8192, from: first.allocator)
        try kept.fill(.byte(0x3C))
        first.close()
        #expect(kept.region.isRevoked)
        #expect(try kept.verify(.byte(0x3C)) == nil, "the memory of a revoked buffer stays readable")

        let second = try Self.open(controllerA)
        defer { second.close() }
        #expect(second.registers.csts.rdy)
        #expect(String(decoding: second.identifyData[24..<40], as: UTF8.self).hasPrefix("QEMU NVMe Ctrl"))
        // The old buffer cannot be pointed at by a command any more.
        var sqe = try DriverCommand.read(nsid: 1, slba: 0, blocks: 1)
        #expect(throws: PlatformError.self) {
            _ = try DataPointer.attach(try kept.slice(offset: 0, count: 512), to: &sqe, pageSize: second.pageSize, allocator: second.allocator)
        }
        // Fresh buffers do IO.
        let qp = try #require(second.ioQueues.first)
        let out = try Buffer(count: 4096, from: second.allocator)
        try out.fill(.random(seed: 11))
        var w = try DriverCommand.write(nsid: 1, slba: 64, blocks: 4096 / second.namespaces[0].blockSize)
        let keepW = try DataPointer.attach(out, to: &w, pageSize: second.pageSize, allocator: second.allocator)
        #expect(qp.execute(w, data: keepW).isSuccess)
        let back = try Buffer(count: 4096, from: second.allocator)
        var r = try DriverCommand.read(nsid: 1, slba: 64, blocks: 4096 / second.namespaces[0].blockSize)
        let keepR = try DataPointer.attach(back, to: &r, pageSize: second.pageSize, allocator: second.allocator)
        #expect(qp.execute(r, data: keepR).isSuccess)
        #expect(back.compare(to: out) == nil)
    }

    @Test("opening a function this process has not closed names the holder and says it is this process",
          .enabled(if: PlatformGuest.backend == .vfio || PlatformGuest.backend == .noiommu, "VFIO groups are exclusive"))
    func openTwiceNamesTheHolder() throws {
        let first = try PlatformGuest.open(controllerA)
        defer { first.close() }
        do {
            let second = try PlatformGuest.open(controllerA)
            second.close()
            Issue.record("a second open of the same VFIO group succeeded")
        } catch {
            let text = "\(error)"
            #expect(text.contains("this process") && text.contains(controllerA), "\(text)")
        }
    }
}
