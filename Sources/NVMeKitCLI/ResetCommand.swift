import ArgumentParser
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// `nvmekit reset --kind …`: a reset of any supported kind, optionally with IO in flight.
struct ResetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Reset the controller (controller | subsystem | flr | hot-reset | power-cycle | shutdown | abrupt-shutdown).")

    @OptionGroup var target: TargetOptions
    @Option(help: "controller, subsystem, flr, hot-reset, power-cycle, shutdown, abrupt-shutdown.") var kind: String = "controller"
    @Option(help: "Reads left outstanding on an IO queue when the reset happens.") var inflight: Int = 0

    /// The IO queue holds 2·--inflight + 2 entries; 2048 is QEMU's and the simulator's CAP.MQES+1.
    static let maximumInflight = 1023

    func validate() throws {
        try target.validate()
        guard ResetKind(rawValue: kind) != nil else {
            throw Check.invalid("--kind", kind, mustBe: "one of \(ResetKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        try Check.range("--inflight", inflight, 0...Self.maximumInflight, "reads on an IO queue of 2·N+2 entries")
    }

    /// --inflight against the opened controller: the reads need a namespace and an IO queue to sit in.
    func validate(against c: Controller) throws {
        guard inflight > 0 else { return }
        guard let ns = c.namespaces.first, c.ioQueues.first != nil else {
            throw OptionError("--inflight needs an active namespace and an IO queue; \(c.device.address) has \(c.namespaces.count) namespace(s)")
        }
        try Check.within("--inflight", UInt64(inflight), 0, ns.blockCount, "one block per read, namespace \(ns.nsid) size")
    }

    func run() throws {
        var o = ControllerOptions()
        o.ioQueueCount = 1
        o.ioQueueDepth = max(16, inflight * 2 + 2)
        try target.withController(options: o, sequence: .standard, run(on:))
    }

    /// The reset on an open controller (--inflight uses its first IO queue and namespace).
    func run(on c: Controller) throws {
        try validate(against: c)
        guard let k = ResetKind(rawValue: kind) else { throw Check.invalid("--kind", kind, mustBe: "a reset kind") }
        var locallyCompleted: [Completion] = []
        if inflight > 0, let qp = c.ioQueues.first, let ns = c.namespaces.first {
            let buf = try Buffer(count: ns.blockSize * inflight, from: c.allocator)
            for i in 0..<inflight {
                var sqe = try DriverCommand.read(nsid: ns.nsid, slba: UInt64(i), blocks: 1)
                let keep = try DataPointer.attach(buf.slice(offset: i * ns.blockSize, count: ns.blockSize), to: &sqe,
                                                  pageSize: c.pageSize, allocator: c.allocator)
                try qp.submit(sqe, data: keep, ring: false) { locallyCompleted.append($0) }
            }
            // Ring once so the commands are in the controller's hands (or at least in its SQ) when the reset lands.
            qp.sq.ring()
        }
        let before = c.registers.csts
        do {
            let n = try c.reset(k)
            let after = c.registers.csts
            print("reset \(k.rawValue): CSTS \(hexString(before.rawValue))h -> \(hexString(after.rawValue))h, RDY=\(after.rdy ? 1 : 0)")
            let byDevice = locallyCompleted.filter { $0.origin == .device }.count
            if inflight > 0 {
                print("in flight: \(inflight) reads; completed by the device before the reset: \(byDevice); aborted by the reset: \(n)")
            }
            // Prove the controller works again.
            let id = try c.identify(cns: 1)
            print("after reset: Identify Controller OK, model \"\(id.ascii(24, 40))\"")
        } catch let e as ControllerError {
            printError("reset \(k.rawValue) failed: \(e)"); throw ExitCode(2)
        }
    }
}
