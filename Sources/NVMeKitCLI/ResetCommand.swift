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

    func validate() throws {
        guard ResetKind(rawValue: kind) != nil else {
            throw ValidationError("unknown reset kind '\(kind)': use one of \(ResetKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        var o = ControllerOptions()
        o.ioQueueCount = 1
        o.ioQueueDepth = max(16, inflight * 2 + 2)
        let c = try target.openController(options: o, sequence: .standard)
        defer { target.finish(c) }
        let k = ResetKind(rawValue: kind)!
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
