import ArgumentParser
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSimulator

/// The controller a device-facing subcommand talks to, parsed once from `--target`, `--backend` and the environment
/// (`NVMEKIT_GUEST`, `NVMEKIT_DEVICES`, `NVMEKIT_BACKEND`). `sim[:STATEFILE]` is always the simulator (with a state
/// file its namespaces, data, firmware slots and SMART counters persist); anything else is a PCI address reached
/// through a typed `DeviceBackend`.
enum DeviceTarget: Equatable, CustomStringConvertible {
    case sim(stateFile: String?)
    case pci(address: String, backend: DeviceBackend)

    /// Parses a target string (as given to `--target` or `--and-target`). An unknown backend is a one-line error
    /// naming the valid ones.
    static func parse(_ target: String, backend: String?) throws -> DeviceTarget {
        if target == "sim" { return .sim(stateFile: nil) }
        if target.hasPrefix("sim:") {
            let file = String(target.dropFirst(4))
            if file.isEmpty { throw Check.invalid("--target", target, mustBe: "sim or sim:STATEFILE with a file path after the colon") }
            return .sim(stateFile: file)
        }
        let name = backend ?? "vfio"
        guard let be = DeviceBackend(rawValue: name) else {
            throw ValidationError("unknown backend '\(name)': use --backend vfio, noiommu or uio")
        }
        return .pci(address: target, backend: be)
    }

    /// Whether a target string names the simulator (`sim` or `sim:STATEFILE`): the one place that spells it.
    static func isSimulator(_ target: String) -> Bool { target == "sim" || target.hasPrefix("sim:") }

    var isSimulator: Bool { if case .sim = self { return true } else { return false } }

    var stateFile: String? { if case .sim(let f) = self { return f } else { return nil } }

    /// The PCI backend; nil for the simulator.
    var backend: DeviceBackend? { if case .pci(_, let b) = self { return b } else { return nil } }

    /// The target as the user spells it: `sim`, `sim:FILE` or the PCI address (names the command log file).
    var description: String {
        switch self {
        case .sim(nil): return "sim"
        case .sim(let f?): return "sim:" + f
        case .pci(let a, _): return a
        }
    }

    /// Opens the device. The simulator's device address is `sim0` unless `simulatorAddress` names another.
    func openDevice(options: DeviceOptions, configuration: SimulatorConfiguration = SimulatorConfiguration(),
                    simulatorAddress: String = "sim0") throws -> any NVMeDevice {
        switch self {
        case .sim(let f?):
            return try SimulatedController(stateFile: f, configuration: configuration, address: simulatorAddress)
        case .sim(nil):
            return try SimulatedController(configuration: configuration, address: simulatorAddress)
        case .pci(let a, let b):
            return try NVMePlatform.openDevice(address: a, backend: b, options: options)
        }
    }
}
