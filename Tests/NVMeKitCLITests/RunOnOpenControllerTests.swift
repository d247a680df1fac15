import ArgumentParser
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSimulator
import Testing
@testable import NVMeKitCLI

/// Every device-facing subcommand's body is `run(on:)`, so that several run against one open controller (the
/// property an interactive session needs): what one leaves in the controller, the next finds there.
@Suite("nvmekit subcommands run(on:) one open controller")
struct RunOnOpenControllerTests {
    func openSimulator() throws -> Controller {
        let c = Controller(device: try SimulatedController(), options: ControllerOptions())
        try c.initialize(.adminOnly)
        return c
    }

    func exitCode(_ body: () throws -> Void) -> Int32? {
        do { try body(); return nil } catch let e as ExitCode { return e.rawValue } catch { return -1 }
    }

    static let createCQ = ["--opcode", "0x05", "--cdw10", "0x000F0001", "--cdw11", "1", "--data-len", "4096"]
    static let createSQ = ["--opcode", "0x01", "--cdw10", "0x000F0001", "--cdw11", "0x00010001", "--data-len", "4096"]

    @Test("cmd creates IO queue pair 1, a second cmd finds it there, identify runs after it on the same controller")
    func stateCarriesOverBetweenSubcommands() throws {
        let c = try openSimulator()
        defer { c.close() }
        #expect(c.ioQueues.isEmpty)

        try CmdCommand.parse(Self.createCQ).run(on: c)
        try CmdCommand.parse(Self.createSQ).run(on: c)
        // The same Create I/O Completion Queue again: the controller already has CQ 1 from the first subcommand,
        // so it completes with Invalid Queue Identifier and cmd exits 2.
        #expect(exitCode { try CmdCommand.parse(Self.createCQ).run(on: c) } == 2)
        try IdentifyCommand.parse(["--cns", "1"]).run(on: c)
        try FeaturesCommand.Get.parse(["--fid", "7"]).run(on: c)

        let opcodes = c.commandLog.filter { $0.qid == 0 }.map(\.sqe.opc)
        #expect(opcodes.suffix(5) == [0x05, 0x01, 0x05, 0x06, 0x0A])
    }

    @Test("on a fresh controller the same Create I/O Completion Queue succeeds (the failure above is carried state)")
    func freshControllerAcceptsTheQueue() throws {
        let c = try openSimulator()
        defer { c.close() }
        #expect(exitCode { try CmdCommand.parse(Self.createCQ).run(on: c) } == nil)
    }

    @Test("--unsafe and --allow-unsafe are both accepted by every device option group")
    func bothUnsafeSpellings() throws {
        #expect(try TargetOptions.parse(["--unsafe"]).unsafeAllowed)
        #expect(try TargetOptions.parse(["--allow-unsafe"]).unsafeAllowed)
        #expect(try DeviceAccessOptions.parse(["--allow-unsafe"]).options.allowUnsafe)
        #expect(try DeviceAccessOptions.parse(["--unsafe"]).options.allowUnsafe)
        #expect(try !DeviceAccessOptions.parse([]).options.allowUnsafe)
    }

    @Test("--target parses once into a typed DeviceTarget; an unknown backend names the valid ones")
    func deviceTargetParsing() throws {
        #expect(try DeviceTarget.parse("sim", backend: "uio") == .sim(stateFile: nil))
        #expect(try DeviceTarget.parse("sim:/tmp/x.state", backend: nil) == .sim(stateFile: "/tmp/x.state"))
        #expect(try DeviceTarget.parse("0000:00:04.0", backend: "uio") == .pci(address: "0000:00:04.0", backend: .uio))
        #expect(try DeviceTarget.parse("0000:00:04.0", backend: nil).backend == .vfio)
        #expect(throws: ValidationError.self) { try DeviceTarget.parse("0000:00:04.0", backend: "spdk") }
        #expect(throws: (any Error).self) { try DeviceTarget.parse("sim:", backend: nil) }
    }
}
