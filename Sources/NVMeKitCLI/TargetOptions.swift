import ArgumentParser
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSimulator
import NVMeSpec

/// How every device-facing subcommand picks its controller: `--target sim[:STATEFILE]` (the in-process simulated
/// controller; with a state file its written blocks persist between invocations) or a PCI address with
/// `--backend vfio|noiommu|uio`.
struct TargetOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("sim[:STATEFILE] or a PCI address (0000:00:04.0).",
                                            discussion: "Default: the first of $NVMEKIT_DEVICES inside the guest, else sim."))
    var target: String?

    @Option(name: .long, help: "How to reach a PCI function: vfio | noiommu | uio (default $NVMEKIT_BACKEND or vfio).")
    var backend: String?

    @Flag(name: .long, help: "Allow noiommu and uio, which let the device DMA anywhere in memory.")
    var allowUnsafe = false

    /// `--unsafe`, the spelling `regs` and `irq` documented: accepted everywhere, hidden from help.
    @Flag(name: .customLong("unsafe"), help: .hidden)
    var unsafeAlias = false

    @Flag(name: .long, help: "Bind the function to the backend's kernel driver first when it is bound elsewhere.")
    var bind = false

    @Option(name: .long, help: "Completion signalling: msix | intx | polling (default msix; intx for uio).")
    var interrupts: String?

    /// The resolved target string.
    var resolvedTarget: String {
        if let target { return target }
        let env = ProcessInfo.processInfo.environment
        if env["NVMEKIT_GUEST"] == "1", let first = env["NVMEKIT_DEVICES"]?.split(separator: " ").first,
           env["NVMEKIT_BACKEND"] != "kernel" {
            return String(first)
        }
        return "sim"
    }

    var isSimulator: Bool { DeviceTarget.isSimulator(resolvedTarget) }
    var stateFile: String? {
        let t = resolvedTarget
        guard t.hasPrefix("sim:") else { return nil }
        return String(t.dropFirst(4))
    }

    /// The backend name from `--backend`, else `$NVMEKIT_BACKEND` (unless `kernel`), else `vfio`.
    var resolvedBackend: String {
        backend ?? ProcessInfo.processInfo.environment["NVMEKIT_BACKEND"].flatMap { $0 == "kernel" ? nil : $0 } ?? "vfio"
    }

    /// `--target`, `--backend` and the environment parsed once into the typed target.
    func deviceTarget() throws -> DeviceTarget {
        try DeviceTarget.parse(resolvedTarget, backend: resolvedBackend)
    }

    /// Either spelling of the unsafe-backend opt-in, or running inside the test guest.
    var unsafeAllowed: Bool {
        allowUnsafe || unsafeAlias || ProcessInfo.processInfo.environment["NVMEKIT_GUEST"] == "1"
    }

    func validate() throws {
        if let target { try Self.checkTarget("--target", target) }
        if let backend, DeviceBackend(rawValue: backend) == nil {
            throw ValidationError("unknown backend '\(backend)': use --backend vfio, noiommu or uio")
        }
        if let interrupts, InterruptMode(rawValue: interrupts) == nil {
            throw ValidationError("unknown interrupt mode '\(interrupts)': use --interrupts msix, intx or polling")
        }
    }

    /// A target string: `sim`, `sim:STATEFILE` with a path, or something to be parsed as a PCI address.
    static func checkTarget(_ option: String, _ t: String) throws {
        if t.trimmingCharacters(in: .whitespaces).isEmpty { throw Check.invalid(option, t, mustBe: "sim, sim:STATEFILE or a PCI address such as 0000:00:04.0") }
        if t == "sim:" { throw Check.invalid(option, t, mustBe: "sim or sim:STATEFILE with a file path after the colon") }
    }

    /// The interrupt mode for the controller options.
    var interruptMode: InterruptMode {
        if let interrupts, let m = InterruptMode(rawValue: interrupts) { return m }
        if !isSimulator && DeviceBackend(rawValue: resolvedBackend) == .uio { return .intx }
        return .msix
    }

    /// Opens the device the options name. With `sim:FILE` the simulator's namespaces, data, firmware slots and SMART
    /// counters come from FILE (the simulator's own state file format; see `SimulatedController(stateFile:)`).
    func openDevice(configuration: SimulatorConfiguration = SimulatorConfiguration()) throws -> any NVMeDevice {
        let kind: InterruptKind = interruptMode == .intx ? .intx : .msix
        let device = try deviceTarget().openDevice(options: DeviceOptions(allowUnsafe: unsafeAllowed, interrupts: kind, bindIfNeeded: bind),
                                                   configuration: configuration)
        Interruption.shared.protect(device)
        return device
    }

    /// Opens the device and runs `sequence` (the admin-only init by default).
    func openController(options: ControllerOptions = ControllerOptions(),
                        sequence: InitSequence = .adminOnly) throws -> Controller {
        var o = options
        o.interrupts = interruptMode
        let device = try openDevice()
        let c = Controller(device: device, options: o)
        do {
            try c.initialize(sequence)
        } catch {
            CommandLogFile.save(c, target: resolvedTarget)
            device.close()
            throw error
        }
        return c
    }

    /// The shape of every device-facing subcommand's `run()`: open the controller, run `body` on it (the
    /// subcommand's `run(on:)`), then save the command log and simulator state and close.
    func withController<T>(options: ControllerOptions = ControllerOptions(), sequence: InitSequence = .adminOnly,
                           _ body: (Controller) throws -> T) throws -> T {
        let c = try openController(options: options, sequence: sequence)
        defer { finish(c) }
        return try body(c)
    }

    /// Saves the command log (for `nvmekit cmdlog`) and the simulator state, then closes the controller. A state
    /// file that cannot be saved is reported in one line and the process exits non-zero (`finish` runs in `defer`,
    /// where it cannot throw).
    func finish(_ c: Controller) {
        CommandLogFile.save(c, target: resolvedTarget)
        let failure = Self.saveState(of: c.device)
        c.close()
        if let failure {
            printError(failure)
            Self.exit(withError: ExitCode(2))
        }
    }

    /// Saves the simulator's state file and closes `device`; as `finish`, a failure to save exits non-zero.
    static func close(_ device: any NVMeDevice) {
        let failure = saveState(of: device)
        device.close()
        if let failure {
            printError(failure)
            exit(withError: ExitCode(2))
        }
    }

    /// Saves a simulator's state file (nothing for other devices or without a state file); the one-line error when
    /// it fails. An unchanged state leaves the file untouched.
    static func saveState(of device: any NVMeDevice) -> String? {
        guard let sim = device as? SimulatedController, sim.stateFile != nil else { return nil }
        do { try sim.saveState(); return nil } catch { return "\(error)" }
    }
}

/// Where each invocation leaves its command log, for `nvmekit cmdlog`.
enum CommandLogFile {
    static func path(target: String) -> String {
        let dir = ProcessInfo.processInfo.environment["NVMEKIT_STATE_DIR"] ?? (NSTemporaryDirectory() + "nvmekit")
        let name = target.replacingOccurrences(of: ":", with: "_").replacingOccurrences(of: "/", with: "_")
        return dir + "/cmdlog-\(name).json"
    }

    static func save(_ c: Controller, target: String) {
        let p = path(target: target)
        try? FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        try? CommandLog.json(c.commandLog).write(toFile: p, atomically: true, encoding: .utf8)
    }
}

/// Parses 0x-prefixed hex or decimal numbers for numeric options.
func parseNumber<T: FixedWidthInteger>(_ s: String, as: T.Type = T.self) -> T? {
    let t = s.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
    if t.lowercased().hasPrefix("0x") { return T(t.dropFirst(2), radix: 16) }
    if t.lowercased().hasSuffix("h") { return T(t.dropLast(), radix: 16) }
    return T(t)
}

/// A numeric option accepting 0x1F, 1Fh or 31.
struct Number<T: FixedWidthInteger & Sendable>: ExpressibleByArgument, Sendable {
    var value: T
    init?(argument: String) {
        guard let v: T = parseNumber(argument) else { return nil }
        value = v
    }
    init(_ v: T) { value = v }
    var defaultValueDescription: String { "0x" + String(value, radix: 16) }
}

/// Prints `message` to stderr.
func printError(_ message: String) {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
}

func hexString<T: FixedWidthInteger>(_ v: T, width: Int = MemoryLayout<T>.size * 2) -> String {
    let h = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, width - h.count)) + h
}
