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

    var isSimulator: Bool { resolvedTarget == "sim" || resolvedTarget.hasPrefix("sim:") }
    var stateFile: String? {
        let t = resolvedTarget
        guard t.hasPrefix("sim:") else { return nil }
        return String(t.dropFirst(4))
    }

    var resolvedBackend: String {
        backend ?? ProcessInfo.processInfo.environment["NVMEKIT_BACKEND"].flatMap { $0 == "kernel" ? nil : $0 } ?? "vfio"
    }

    func validate() throws {
        if let backend, DeviceBackend(rawValue: backend) == nil {
            throw ValidationError("unknown backend '\(backend)': use --backend vfio, noiommu or uio")
        }
        if let interrupts, InterruptMode(rawValue: interrupts) == nil {
            throw ValidationError("unknown interrupt mode '\(interrupts)': use --interrupts msix, intx or polling")
        }
    }

    /// The interrupt mode for the controller options.
    var interruptMode: InterruptMode {
        if let interrupts, let m = InterruptMode(rawValue: interrupts) { return m }
        if !isSimulator && resolvedBackend == "uio" { return .intx }
        return .msix
    }

    /// Opens the device the options name.
    func openDevice() throws -> any NVMeDevice {
        if isSimulator {
            let sim = try SimulatedController()
            if let stateFile { try SimulatorStateFile.load(stateFile, into: sim) }
            return sim
        }
        guard let be = DeviceBackend(rawValue: resolvedBackend) else {
            throw ValidationError("unknown backend '\(resolvedBackend)': use --backend vfio, noiommu or uio")
        }
        let unsafe = allowUnsafe || ProcessInfo.processInfo.environment["NVMEKIT_GUEST"] == "1"
        let kind: InterruptKind = interruptMode == .intx ? .intx : .msix
        let device = try NVMePlatform.openDevice(address: resolvedTarget, backend: be,
                                                 options: DeviceOptions(allowUnsafe: unsafe, interrupts: kind, bindIfNeeded: bind))
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

    /// Saves the command log (for `nvmekit cmdlog`) and the simulator state, then closes the controller.
    func finish(_ c: Controller) {
        CommandLogFile.save(c, target: resolvedTarget)
        if let stateFile, let sim = c.device as? SimulatedController {
            try? SimulatorStateFile.save(stateFile, from: sim, log: c.commandLog)
        }
        c.close()
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

/// Persists the blocks a session wrote to the simulated controller, so `--target sim:FILE` behaves like one disk
/// across invocations. Format: JSON `[{"nsid":1,"lba":0,"hex":"..."}]`.
enum SimulatorStateFile {
    struct Record: Codable { var nsid: UInt32; var lba: UInt64; var hex: String }

    static func load(_ path: String, into sim: SimulatedController) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            for r in try JSONDecoder().decode([Record].self, from: data) {
                sim.writeBlocks(nsid: r.nsid, lba: r.lba, data: fromHex(r.hex))
            }
        } catch {
            throw ValidationError("cannot read simulator state file \(path) (\(error)): delete it to start with an empty disk")
        }
    }

    static func save(_ path: String, from sim: SimulatedController, log: [CommandLog.Entry]) throws {
        var blocks: Set<[UInt64]> = []
        if let data = try? Data(contentsOf: URL(fileURLWithPath: path)),
           let old = try? JSONDecoder().decode([Record].self, from: data) {
            for r in old { blocks.insert([UInt64(r.nsid), r.lba]) }
        }
        for e in log where e.qid != 0 && e.sqe.opc == IOOpcode.write.rawValue && e.cqe.status.isSuccess && e.origin == .device {
            let slba = UInt64(e.sqe.cdw10) | UInt64(e.sqe.cdw11) << 32
            let n = Int(e.sqe.cdw12 & 0xFFFF) + 1
            for i in 0..<min(n, 4096) { blocks.insert([UInt64(e.sqe.nsid), slba + UInt64(i)]) }
        }
        var out: [Record] = []
        for b in blocks.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            if let bytes = sim.readBlocks(nsid: UInt32(b[0]), lba: b[1], count: 1) {
                out.append(Record(nsid: UInt32(b[0]), lba: b[1], hex: toHex(bytes)))
            }
        }
        try JSONEncoder().encode(out).write(to: URL(fileURLWithPath: path))
    }

    static func toHex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
    static func fromHex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []; out.reserveCapacity(s.count / 2)
        var i = s.startIndex
        while i < s.endIndex, let j = s.index(i, offsetBy: 2, limitedBy: s.endIndex) {
            out.append(UInt8(s[i..<j], radix: 16) ?? 0); i = j
        }
        return out
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
