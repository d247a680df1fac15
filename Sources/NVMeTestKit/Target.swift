import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSimulator
import NVMeSpec

/// The controller a test run talks to, chosen by the user from the environment:
///
/// | Variable            | Meaning                                                                          |
/// |---------------------|----------------------------------------------------------------------------------|
/// | `NVMEKIT_TARGET`    | `sim` (default) or a PCI address `0000:01:00.0`                                  |
/// | `NVMEKIT_BACKEND`   | `vfio` (default), `noiommu` or `uio` for a PCI address                           |
/// | `NVMEKIT_DEVICES`   | set by `tools/vm` in the guest: the functions, controller A first. With no       |
/// |                     | `NVMEKIT_TARGET`, the guest's first function is the target                       |
/// | `NVMEKIT_ALLOW_UNSAFE=1` | allow `noiommu`/`uio` (they let the device DMA anywhere); implied in the guest |
///
/// The simulator is the default, so a test suite never touches a real drive unless the user names it. A
/// PCI function is opened as is: it must already be bound to the backend's driver (`nvmekit bind`).
public struct TestTarget: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The in-process simulated controller (`NVMeSimulator`).
        case simulator
        /// A PCI function through a user-space backend.
        case pci(address: String, backend: DeviceBackend)
    }
    public var kind: Kind
    /// Further PCI functions the environment offers (`NVMEKIT_DEVICES` after the first), for tests that need a
    /// second controller.
    public var otherDevices: [String]
    public var allowUnsafe: Bool

    public init(kind: Kind, otherDevices: [String] = [], allowUnsafe: Bool = false) {
        self.kind = kind; self.otherDevices = otherDevices; self.allowUnsafe = allowUnsafe
    }

    /// A target the environment does not describe correctly.
    public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// Reads `NVMEKIT_TARGET`, `NVMEKIT_BACKEND`, `NVMEKIT_DEVICES`, `NVMEKIT_GUEST`, `NVMEKIT_ALLOW_UNSAFE`.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> TestTarget {
        let guest = env["NVMEKIT_GUEST"] == "1"
        let devices = (env["NVMEKIT_DEVICES"] ?? "").split(separator: " ").map(String.init)
        let unsafe = guest || env["NVMEKIT_ALLOW_UNSAFE"] == "1"
        let backendName = env["NVMEKIT_BACKEND"].flatMap { $0.isEmpty ? nil : $0 }
        var target = env["NVMEKIT_TARGET"].flatMap { $0.isEmpty ? nil : $0 }
        if target == nil, guest, backendName != "kernel", let first = devices.first { target = first }
        guard let target, target != "sim" else {
            return TestTarget(kind: .simulator, otherDevices: [], allowUnsafe: unsafe)
        }
        let name = backendName ?? "vfio"
        guard let backend = DeviceBackend(rawValue: name) else {
            throw ConfigurationError(description: "NVMEKIT_BACKEND=\(name) cannot open \(target): use vfio, noiommu or uio")
        }
        guard (try? PCIAddress(parsing: target)) != nil else {
            throw ConfigurationError(description: "NVMEKIT_TARGET=\(target) is neither `sim` nor a PCI address like 0000:01:00.0")
        }
        if (backend == .noiommu || backend == .uio) && !unsafe {
            throw ConfigurationError(description: "NVMEKIT_BACKEND=\(name) lets the device DMA anywhere in memory: set NVMEKIT_ALLOW_UNSAFE=1 to use it")
        }
        return TestTarget(kind: .pci(address: target, backend: backend), otherDevices: devices.filter { $0 != target },
                          allowUnsafe: unsafe)
    }

    public var isSimulator: Bool { kind == .simulator }

    /// `simulator`, or `0000:01:00.0 (vfio)`.
    public var description: String {
        switch kind {
        case .simulator: return "simulator"
        case .pci(let a, let b): return "\(a) (\(b.rawValue))"
        }
    }

    /// Opens the target's device. `simulator` configures a simulated one (ignored for PCI targets).
    public func openDevice(simulator: SimulatorConfiguration = SimulatorConfiguration()) throws -> any NVMeDevice {
        switch kind {
        case .simulator:
            return try SimulatedController(configuration: simulator)
        case .pci(let address, let backend):
            var o = DeviceOptions()
            o.allowUnsafe = allowUnsafe
            o.interrupts = backend == .uio ? .intx : .msix
            o.bindIfNeeded = false
            return try NVMePlatform.openDevice(address: address, backend: backend, options: o)
        }
    }

    /// The interrupt mode that fits the backend (UIO offers INTx only).
    public var interruptMode: InterruptMode {
        if case .pci(_, .uio) = kind { return .intx }
        return .msix
    }
}
