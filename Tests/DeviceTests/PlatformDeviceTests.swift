import Foundation
import NVMePlatform
import NVMeSpec
import Testing

/// The platform layer against QEMU's NVMe controller in the guest, through the backend `tools/vm` bound it to.
/// Self-contained: the admin queue and the Identify command are written by hand here, not by the driver.
@Suite("Platform on the device (vfio, noiommu, uio)",
       .enabled(if: GuestEnvironment.isGuest, GuestEnvironment.notInGuest),
       .enabled(if: PlatformGuest.backend != nil, "needs NVMEKIT_BACKEND=vfio|noiommu|uio"))
struct PlatformDeviceTests {
    var controllerA: String { GuestEnvironment.devices.first ?? "" }

    @Test func bar0CapAndVersionAreThoseOfAnNVMeController() throws {
        // NVMe 2.0 §3.1.4.1 CAP, §3.1.4.2 VS.
        let dev = try PlatformGuest.open(controllerA)
        defer { dev.close() }
        let cap = dev.bar0.cap
        #expect(cap.rawValue != .max, "CAP all ones: device not answering")
        #expect(cap.mqes >= 1, "MQES is 0's based and at least 1")
        #expect(cap.to > 0, "CAP.TO bounds the CSTS.RDY wait")
        #expect(cap.css & 1 == 1, "NVM command set supported")
        #expect(cap.mpsmin <= cap.mpsmax)
        #expect(cap.dstrd == 0, "QEMU packs doorbells 4 bytes apart")
        let vs = dev.bar0.vs
        #expect(vs.mjr == 1 && vs.mnr >= 0)
        #expect(dev.bar0.length >= 0x2000, "BAR0 holds registers and the admin doorbells")
        print("\(dev.backend) \(dev.address): CAP 0x\(String(cap.rawValue, radix: 16)) VS \(vs) BAR0 \(dev.bar0.length) bytes")
    }

    @Test func configSpaceWalkFindsMSIXWithTheTableSizeQEMUWasGiven() throws {
        // tools/vm.d/qemu.sh starts every controller with msix_qsize=65; PCI 3.0 §6.8.2.3 stores it as N-1.
        let dev = try PlatformGuest.open(controllerA)
        defer { dev.close() }
        let config = try #require(dev.config)
        let header = try config.header()
        #expect(header.vendorID == 0x1B36 && header.deviceID == 0x0010 && header.classCode == 0x010802)
        let caps = try config.capabilities()
        print(caps.summary.joined(separator: "\n"))
        #expect(caps.problems.isEmpty)
        let msix = try #require(caps.msix)
        #expect(msix.tableSize == 65)
        #expect(msix.tableBIR == 0 && msix.tableOffset >= 0x1000, "table in BAR0 after the doorbells")
        #expect(caps.pciExpress != nil && caps.powerManagement != nil)
        #expect(try config.command.contains([.memorySpace, .busMaster]), "open enables memory space and bus mastering")
        if PlatformGuest.backend != .uio { #expect(dev.interrupts.supportedVectors == 65) }
    }

    @Test func identifyThroughAHandBuiltAdminQueueLandsInTheDMABufferAndRaisesTheInterrupt() throws {
        let dev = try PlatformGuest.open(controllerA)
        defer { dev.close() }
        let bar = dev.bar0
        let timeout = bar.cap.timeout
        // uio_pci_generic leaves the controller enabled (firmware/BIOS state): reset it first. NVMe 2.0 §3.5.2.
        var cc = bar.cc
        if cc.en { cc.en = false; bar.setCC(cc) }
        try PlatformGuest.waitUntil(timeout, "CSTS.RDY = 0") { !bar.csts.rdy }

        let asq = try Buffer(count: 4096, from: dev.dma)
        let acq = try Buffer(count: 4096, from: dev.dma)
        let data = try Buffer(count: 4096, from: dev.dma)
        try data.fill(.byte(0xA5))
        bar.setAQA(AdminQueueAttributes(asqs: 15, acqs: 15))
        bar.setASQ(asq.busAddress())
        bar.setACQ(acq.busAddress())
        // Interrupts are armed before CC.EN = 1 (VFIO drops MSI-X armed afterwards).
        try dev.interrupts.enable(vectors: 1)
        defer { try? dev.interrupts.disable() }
        var enable = ControllerConfiguration(rawValue: 0)
        enable.iosqes = 6; enable.iocqes = 4; enable.en = true
        bar.setCC(enable)
        try PlatformGuest.waitUntil(timeout, "CSTS.RDY = 1") { bar.csts.rdy || bar.csts.cfs }
        #expect(!bar.csts.cfs)

        // Identify Controller (CNS 01h), NVMe 2.0 §5.17: DW0 opcode 06h + CID, PRP1 at bytes 24–31, DW10 CNS.
        try asq.store(UInt32(0x06) | UInt32(0x1234) << 16, at: 0)
        try asq.store(data.busAddress(), at: 24)
        try asq.store(UInt32(1), at: 40)
        bar.write32(1, at: 0x1000)                       // SQ0 tail doorbell

        let fired = try dev.interrupts.wait(vector: 0, timeout: .seconds(30))
        #expect(fired > 0, "\(dev.interrupts.kind) vector 0 did not fire within 30 s")
        try PlatformGuest.waitUntil(.seconds(5), "CQE phase tag") { try acq.load(at: 12, as: UInt32.self) >> 16 & 1 == 1 }
        let dw2 = try acq.load(at: 8, as: UInt32.self), dw3 = try acq.load(at: 12, as: UInt32.self)
        #expect(dw3 & 0xFFFF == 0x1234, "CID")
        #expect(dw3 >> 17 == 0, "status: \(String(dw3 >> 17, radix: 16))")
        #expect(dw2 & 0xFFFF == 1, "SQHD")
        bar.write32(1, at: 0x1004)                       // CQ0 head doorbell
        #expect(dev.interrupts.count(vector: 0) >= 1)

        // The controller wrote the page: the fill pattern is gone where Identify has data.
        #expect(try data.verify(.byte(0xA5)) != nil)
        #expect(try data.load(at: 0, as: UInt16.self) == 0x1B36, "VID")
        #expect(try data.load(at: 2, as: UInt16.self) == 0x1AF4, "SSVID")
        let model = String(decoding: try data.bytes(at: 24, count: 40), as: UTF8.self).trimmingCharacters(in: .whitespaces)
        #expect(model == "QEMU NVMe Ctrl")
        let serial = String(decoding: try data.bytes(at: 4, count: 20), as: UTF8.self).trimmingCharacters(in: .whitespaces)
        #expect(serial.hasPrefix("NVMEKIT"))
        print("\(dev.backend): Identify via bus 0x\(String(data.busAddress(), radix: 16)), \(dev.interrupts.kind) fired \(fired)×, model '\(model)' serial '\(serial)'")

        var off = bar.cc; off.en = false; bar.setCC(off)
        try PlatformGuest.waitUntil(timeout, "CSTS.RDY = 0 after disable") { !bar.csts.rdy }
    }

    @Test func discoveryListsTheFunctionsTheHarnessFound() throws {
        let fns = try PCIBus().functions()
        #expect(fns.map(\.address.description) == GuestEnvironment.devices)
        let viaLib = try LibPCIAccess.functions()
        #expect(viaLib.map(\.address.description) == GuestEnvironment.devices)
        for f in fns {
            #expect(f.vendorID == 0x1B36 && f.deviceID == 0x0010)
            #expect(f.driver == PlatformGuest.backend?.driver.rawValue)
            if PlatformGuest.backend == .vfio { #expect(f.iommuGroup != nil) }
        }
    }

    @Test(.enabled(if: GuestEnvironment.devices.count >= 2, "needs controller B (tools/vm --controllers ab)"))
    func unbindAndBindAgainThroughDriverOverride() throws {
        let b = try PCIAddress(parsing: GuestEnvironment.devices[1])
        let binding = DriverBinding()
        let target = try #require(PlatformGuest.backend?.driver)
        _ = try binding.unbind(b, force: true)   // tools/vm bound it, so nothing is recorded to restore
        #expect(binding.bus.driver(of: b) == nil, "nothing was remembered and no NVMe driver is loaded")
        #expect(try binding.bind(b, to: target) == nil)
        #expect(binding.bus.driver(of: b) == target.rawValue)
    }

    // MARK: Interrupt listener behaviours on the device

    @Test func asyncEventSequenceWakesOnTheCompletionInterrupt() async throws {
        let dev = try PlatformGuest.open(controllerA)
        defer { dev.close() }
        let admin = try PlatformGuest.AdminQueue(dev)
        defer { admin.disable() }
        let source = try #require(dev.interrupts as? EventInterruptSource)
        let events = try source.events(vector: 0)
        let listener = Task { () -> InterruptEvent? in
            for await e in events { return e }
            return nil
        }
        let data = try Buffer(count: 4096, from: dev.dma)
        try admin.postIdentify(into: data, cid: 7)
        let timeout = Task { try await Task.sleep(for: .seconds(30)); listener.cancel() }
        let event = await listener.value
        timeout.cancel()
        #expect(event?.vector == 0, "no interrupt event within 30 s")
        #expect((event?.count ?? 0) >= 1)
        try PlatformGuest.waitUntil(.seconds(5), "CQE") { try admin.completion(0) != nil }
        #expect(try admin.completion(0)?.cid == 7)
    }

    @Test func maskedVectorHoldsItsInterruptUntilUnmasked() throws {
        // MSI-X: PCI 3.0 §6.8.2.9 (masked messages set the PBA bit and are sent on unmask). VFIO masks by detaching the
        // vector's eventfd; UIO by INTx disable. Either way the event must arrive only after unmask.
        let dev = try PlatformGuest.open(controllerA)
        defer { dev.close() }
        let admin = try PlatformGuest.AdminQueue(dev)
        defer { admin.disable() }
        try dev.interrupts.setMasked(true, vector: 0)
        // A level left over from enabling (UIO's INTx) is consumed here; only what arrives while masked counts.
        _ = try dev.interrupts.wait(vector: 0, until: Deadline(nanoseconds: 0))
        let before = dev.interrupts.count(vector: 0)
        _ = try dev.interrupts.wait(vector: 0, until: Deadline(nanoseconds: 0))
        let data = try Buffer(count: 4096, from: dev.dma)
        try admin.postIdentify(into: data, cid: 9)
        try PlatformGuest.waitUntil(.seconds(30), "CQE while masked") { try admin.completion(0) != nil }
        #expect(dev.interrupts.count(vector: 0) == before, "a masked vector delivered an interrupt")
        _ = try dev.interrupts.wait(vector: 0, until: Deadline(nanoseconds: 0))
        try dev.interrupts.setMasked(false, vector: 0)
        let fired = try dev.interrupts.wait(vector: 0, timeout: .seconds(30))
        #expect(fired >= 1, "the held interrupt was not delivered after unmask")
    }

    @Test(arguments: [FunctionResetKind.flr, .hotReset])
    func functionResetClearsTheControllerAndRestoresBusMastering(kind: FunctionResetKind) throws {
        let dev = try PlatformGuest.open(controllerA)
        defer { dev.close() }
        guard dev.supportedResets.contains(kind) else {
            print("\(dev.backend) offers no \(kind.rawValue) for \(dev.address) (supported: \(dev.supportedResets.map(\.rawValue).sorted()))")
            return
        }
        let admin = try PlatformGuest.AdminQueue(dev)
        #expect(dev.bar0.csts.rdy)
        try dev.reset(kind)
        #expect(!dev.bar0.cc.en && !dev.bar0.csts.rdy, "\(kind.rawValue) resets the controller registers")
        #expect(dev.bar0.cap.rawValue != .max)
        #expect(try dev.config?.command.contains([.memorySpace, .busMaster]) == true)
        _ = admin
        try? dev.interrupts.disable()
    }

    // MARK: Bad inputs, each with its teaching message

    @Test func malformedAndAbsentAddressesAreRefused() {
        let bad = #expect(throws: PlatformError.self) { try openDevice(address: "00:1g.0", backend: .vfio) }
        #expect(bad == .invalidAddress("00:1g.0"))
        let absent = #expect(throws: PlatformError.self) { try openDevice(address: "0000:7e:1f.7", backend: .vfio) }
        #expect(absent == .deviceNotFound(address: "0000:7e:1f.7"))
        print(bad?.description ?? "", absent?.description ?? "", separator: "\n")
    }

    @Test func unsafeBackendWithoutOptInIsRefused() {
        let error = #expect(throws: PlatformError.self) { try openDevice(address: controllerA, backend: .noiommu) }
        #expect(error == .unsafeBackendNotAllowed(backend: "noiommu"))
    }

    @Test func backendWhoseDriverDoesNotHoldTheDeviceIsRefused() throws {
        let other: DeviceBackend = PlatformGuest.backend == .uio ? .vfio : .uio
        let error = #expect(throws: PlatformError.self) {
            try openDevice(address: controllerA, backend: other, options: DeviceOptions(allowUnsafe: true))
        }
        let ok: Bool
        switch error {
        case .driverNotLoaded(let driver, _)?: ok = driver == other.driver.rawValue
        case .boundToOtherDriver(_, let driver, let needed)?: ok = driver == PlatformGuest.backend?.driver.rawValue && needed == other.driver.rawValue
        default: ok = false
        }
        #expect(ok, "\(String(describing: error))")
        print(error?.description ?? "")
    }

    @Test(.enabled(if: PlatformGuest.backend == .noiommu, "only a no-IOMMU guest has vfio-pci without an IOMMU"))
    func vfioType1WithoutAnIOMMUIsExplained() {
        let error = #expect(throws: PlatformError.self) { try openDevice(address: controllerA, backend: .vfio) }
        #expect(error == .iommuOff(address: controllerA))
        print(error?.description ?? "")
    }

    @Test(.enabled(if: PlatformGuest.backend == .vfio, "only a type1 guest has vfio without no-IOMMU mode"))
    func noIOMMUBackendWithoutTheModeIsExplained() {
        let error = #expect(throws: PlatformError.self) {
            try openDevice(address: controllerA, backend: .noiommu, options: DeviceOptions(allowUnsafe: true))
        }
        #expect(error == .noIOMMUModeDisabled)
    }

    @Test func missingGigabyteHugepagesAreExplained() throws {
        // The guest reserves only 2 MiB pages.
        let dma = HugepageDMAAllocator(mapper: try PagemapMapper(), pageSize: .huge1G)
        let error = #expect(throws: PlatformError.self) { try dma.allocate(length: 4096, alignment: 4096) }
        guard case .noHugepages(_, let pageSize, let free, _)? = error else {
            Issue.record("expected noHugepages, got \(String(describing: error))"); return
        }
        #expect(pageSize == 1 << 30 && free == 0)
        print(error?.description ?? "")
    }
}

enum PlatformGuest {
    static let backend: DeviceBackend? = GuestEnvironment.backend.flatMap { DeviceBackend(rawValue: $0.rawValue) }

    static func open(_ address: String) throws -> any NVMeDevice {
        let backend = try #require(backend)
        return try openDevice(address: address, backend: backend, options: DeviceOptions(allowUnsafe: true))
    }

    /// An admin queue pair of 16 entries written by hand, the controller enabled on it with vector 0 armed.
    final class AdminQueue: @unchecked Sendable {
        let dev: any NVMeDevice
        let asq: Buffer, acq: Buffer
        var tail: UInt32 = 0

        init(_ dev: any NVMeDevice) throws {
            self.dev = dev
            let bar = dev.bar0
            var cc = bar.cc
            if cc.en { cc.en = false; bar.setCC(cc) }
            try PlatformGuest.waitUntil(bar.cap.timeout, "CSTS.RDY = 0") { !bar.csts.rdy }
            asq = try Buffer(count: 4096, from: dev.dma)
            acq = try Buffer(count: 4096, from: dev.dma)
            bar.setAQA(AdminQueueAttributes(asqs: 15, acqs: 15))
            bar.setASQ(asq.busAddress())
            bar.setACQ(acq.busAddress())
            try dev.interrupts.enable(vectors: 1)
            var enable = ControllerConfiguration(rawValue: 0)
            enable.iosqes = 6; enable.iocqes = 4; enable.en = true
            bar.setCC(enable)
            try PlatformGuest.waitUntil(bar.cap.timeout, "CSTS.RDY = 1") { bar.csts.rdy || bar.csts.cfs }
        }

        /// Identify Controller (CNS 01h) into `data`, posted and rung.
        func postIdentify(into data: Buffer, cid: UInt16) throws {
            let slot = Int(tail) * 64
            try asq.store(UInt32(0x06) | UInt32(cid) << 16, at: slot)
            try asq.store(data.busAddress(), at: slot + 24)
            try asq.store(UInt32(1), at: slot + 40)
            tail = (tail + 1) % 16
            dev.bar0.write32(tail, at: 0x1000)
        }

        /// CID and status of CQ slot `i` once its phase tag is set.
        func completion(_ i: Int) throws -> (cid: UInt16, status: UInt32)? {
            let dw3 = try acq.load(at: i * 16 + 12, as: UInt32.self)
            guard dw3 >> 16 & 1 == 1 else { return nil }
            return (UInt16(dw3 & 0xFFFF), dw3 >> 17)
        }

        func disable() {
            var cc = dev.bar0.cc; cc.en = false; dev.bar0.setCC(cc)
            try? PlatformGuest.waitUntil(dev.bar0.cap.timeout, "CSTS.RDY = 0") { !dev.bar0.csts.rdy }
            try? dev.interrupts.disable()
        }
    }

    /// Polls `condition` until it holds or `timeout` passes (a register the device flips; no interrupt exists for it).
    static func waitUntil(_ timeout: Duration, _ what: String, _ condition: () throws -> Bool) throws {
        let deadline = Deadline.after(timeout)
        while try !condition() {
            if deadline.hasPassed { throw PlatformError.unsupported("timed out after \(timeout) waiting for \(what)") }
        }
    }
}
