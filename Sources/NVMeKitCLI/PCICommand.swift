import ArgumentParser
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// `nvmekit pci …`: the PCI function under the controller, through configuration space.
struct PCIGroupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pci",
        abstract: "PCI function operations through configuration space (every backend).",
        subcommands: [PCIPowerCommand.self])
}

/// `nvmekit pci pm [--state d0|d3hot] [--cycle]`: the Power Management capability, a PowerState write, or a
/// D0 → D3hot → D0 cycle with the controller re-initialised when it came back reset.
struct PCIPowerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pm",
        abstract: "Decode PMC/PMCSR (PCI PM 1.2); set PowerState, or cycle D0 -> D3hot -> D0 and check what the function kept.",
        discussion: """
            Without options: prints PMC and PMCSR. --state writes PMCSR.PowerState and prints it before and after \
            (the controller is not initialised; vfio-pci puts the function back in D0 when the device is released). \
            --cycle initialises the controller, moves the function D0 -> D3hot -> D0, restores COMMAND/BARs if lost, \
            re-initialises the controller if it came back reset (CC.EN=0), and proves it with Identify.
            """)

    @OptionGroup var target: TargetOptions
    @Option(help: "PowerState to write: d0 | d3hot (d1/d2 only when PMC advertises them).") var state: String?
    @Flag(help: "Cycle D0 -> D3hot -> D0 and re-initialise the controller if it came back reset.") var cycle = false

    func validate() throws {
        if let state, PCIPowerState(name: state) == nil {
            throw ValidationError("unknown power state '\(state)': use d0, d1, d2 or d3hot")
        }
        if state != nil && cycle { throw ValidationError("--state and --cycle exclude each other: use one") }
    }

    func run() throws {
        if cycle { try runCycle(); return }
        let device = try reportingPlatformErrors { try target.openDevice() }
        defer { if state.flatMap(PCIPowerState.init(name:)) != .d3hot { device.close() } }
        guard let config = device.config else { printError("the \(device.backend) backend has no PCI configuration space"); throw ExitCode(2) }
        guard let pm = try reportingPlatformErrors({ try config.powerManagement() }) else {
            printError("\(device.address): no PCI Power Management capability"); throw ExitCode(2)
        }
        print("\(device.backend) \(device.address): PM capability at 0x\(hexString(UInt8(pm.offset))): \(pm.summary)")
        guard let name = state, let s = PCIPowerState(name: name) else { return }
        let after = try reportingPlatformErrors { try config.setPowerState(s) }
        print("PowerState \(pm.state) -> \(s): PMCSR 0x\(hexString(pm.pmcsr)) -> 0x\(hexString(after.pmcsr)) (reads \(after.state))")
        if after.state != s { printError("PMCSR.PowerState reads \(after.state) after writing \(s)"); throw ExitCode(1) }
        if s == .d3hot {
            // Closing would touch BAR0 (CC) and vfio-pci forbids memory access in D3hot; leave the function as set.
            print("the function stays in D3hot until something writes D0 (vfio-pci does when the device is released)")
        }
    }

    private func runCycle() throws {
        var o = ControllerOptions()
        o.ioQueueCount = 1
        let c = try reportingPlatformErrors { try target.openController(options: o, sequence: .standard) }
        defer { target.finish(c) }
        do {
            let r = try c.cyclePowerState()
            print("\(c.device.backend) \(c.device.address): PM capability at 0x\(hexString(UInt8(r.before.offset)))")
            print("before:   \(r.before.summary)")
            print("in D3hot: PMCSR 0x\(hexString(r.inD3hot.pmcsr)) (\(r.inD3hot.state))")
            print("after:    \(r.after.summary)")
            print("context:  COMMAND 0x\(hexString(r.contextBefore.command)) -> 0x\(hexString(r.contextAfterD0.command)), "
                + "BAR0 0x\(hexString(r.contextBefore.bars[0])) -> 0x\(hexString(r.contextAfterD0.bars[0]))"
                + (r.restored.isEmpty ? ", kept" : ", restored: \(r.restored.joined(separator: ", "))"))
            print("controller after D0: CC 0x\(hexString(r.ccAfterD0.rawValue)) CSTS 0x\(hexString(r.cstsAfterD0.rawValue)) -> "
                + (r.reinitialized ? "came back reset, re-initialised (\(r.commandsAborted) commands aborted)" : "kept its state (CC.EN=1)"))
            if r.reinitialized != r.expectedSoftReset {
                print("note: NoSoftReset=\(r.before.noSoftReset ? 1 : 0) but the controller \(r.reinitialized ? "was" : "was not") reset (PCI PM 1.2 §5.4.1)")
            }
            let id = try c.identify(cns: 1)
            print("after cycle: Identify Controller OK, model \"\(id.ascii(24, 40))\"")
        } catch let e as ControllerError {
            printError("pci pm --cycle failed: \(e)"); throw ExitCode(2)
        }
    }
}
