import ArgumentParser
import NVMePlatform
import NVMeSpec

struct IrqCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "irq",
        abstract: "Arm interrupt vectors (MSI-X, else MSI, else INTx), wait, and print how often each fired.",
        discussion: """
            With --identify, builds an admin queue by hand and posts one Identify Controller so vector 0 has a reason to
            fire (the controller is reset first). Vectors are armed before CC.EN = 1, as VFIO requires.
            """)

    @OptionGroup var access: DeviceAccessOptions
    @Option(help: "Vectors to arm (0..<N).")
    var vectors = 1
    @Option(help: "Seconds to wait.")
    var seconds = 5
    @Flag(help: "Post an Identify Controller through a hand-built admin queue to provoke vector 0.")
    var identify = false
    @Argument(help: "PCI address, e.g. 0000:00:04.0.")
    var bdf: String

    func validate() throws {
        try Check.range("--vectors", vectors, 1...2048, "MSI-X allows up to 2048")
        try Check.range("--seconds", seconds, 1...3600)
    }

    func run() throws {
        try reportingPlatformErrors {
            let device = try openDevice(address: bdf, backend: access.backend, options: access.options)
            defer { device.close() }
            try run(on: device)
        }
    }

    /// Arms the vectors of an open device and counts what fires (with --identify, resets it and posts Identify).
    func run(on device: any NVMeDevice) throws {
        try reportingPlatformErrors {
            let irq = device.interrupts
            let bar = device.bar0
            var keep: [Buffer] = []
            if identify {
                var cc = bar.cc
                if cc.en { cc.en = false; bar.setCC(cc) }
                try waitRegister(bar.cap.timeout) { !bar.csts.rdy }
                let asq = try Buffer(count: 4096, from: device.dma), acq = try Buffer(count: 4096, from: device.dma)
                let data = try Buffer(count: 4096, from: device.dma)
                keep = [asq, acq, data]
                bar.setAQA(AdminQueueAttributes(asqs: 1, acqs: 1))
                bar.setASQ(asq.busAddress()); bar.setACQ(acq.busAddress())
                try irq.enable(vectors: vectors)
                var en = ControllerConfiguration(rawValue: 0); en.iosqes = 6; en.iocqes = 4; en.en = true
                bar.setCC(en)
                try waitRegister(bar.cap.timeout) { bar.csts.rdy }
                try asq.store(UInt32(0x06), at: 0); try asq.store(data.busAddress(), at: 24); try asq.store(UInt32(1), at: 40)
                bar.write32(1, at: 0x1000)
            } else {
                try irq.enable(vectors: vectors)
            }
            print("\(device.backend) \(device.address): \(irq.kind.rawValue), \(irq.enabledVectors) of \(irq.supportedVectors) vector(s) armed; waiting \(seconds) s")
            let deadline = Deadline.after(.seconds(seconds))
            var firstWake: UInt64?
            let start = MonotonicClock.nanoseconds()
            while !deadline.hasPassed {
                for v in 0..<irq.enabledVectors {
                    let n = try irq.wait(vector: v, until: min(deadline, .after(.milliseconds(50))))
                    if n > 0, firstWake == nil { firstWake = MonotonicClock.nanoseconds() - start }
                }
                if identify, firstWake != nil { break }
            }
            for v in 0..<irq.enabledVectors { print("vector \(v): \(irq.count(vector: v))") }
            if let w = firstWake { print("first interrupt after \(w / 1000) µs") }
            if identify {
                bar.write32(1, at: 0x1004)
                var cc = bar.cc; cc.en = false; bar.setCC(cc)
            }
            try irq.disable()
            _ = keep
        }
    }

    private func waitRegister(_ timeout: Duration, _ condition: () -> Bool) throws {
        let d = Deadline.after(timeout)
        while !condition() { if d.hasPassed { throw PlatformError.unsupported("controller did not change CSTS.RDY within \(timeout)") } }
    }
}
