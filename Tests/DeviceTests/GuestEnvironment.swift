import Foundation
import Testing

/// What `tools/vm` tells a device test about the QEMU guest it runs in (see docs/ARCHITECTURE.md).
///
/// Device tests are enabled only inside the guest, with a reason printed everywhere else:
/// ```swift
/// @Test(.enabled(if: GuestEnvironment.isGuest, GuestEnvironment.notInGuest))
/// @Test(.enabled(if: GuestEnvironment.backend == .vfio, "needs the vfio backend (tools/vm test --backend vfio)"))
/// ```
enum GuestEnvironment {
    /// How `tools/vm` bound the NVMe functions before the test binary started (`NVMEKIT_BACKEND`).
    enum Backend: String, CaseIterable, Sendable {
        case vfio, noiommu, uio, kernel

        /// The kernel driver the functions are bound to for this backend.
        var driverName: String {
            switch self {
            case .vfio, .noiommu: "vfio-pci"
            case .uio: "uio_pci_generic"
            case .kernel: "nvme"
            }
        }
    }

    static let environment = ProcessInfo.processInfo.environment

    /// `NVMEKIT_GUEST=1`: running inside the guest booted by `tools/vm`.
    static let isGuest = environment["NVMEKIT_GUEST"] == "1"

    /// `NVMEKIT_BACKEND`, nil outside the guest or when unknown.
    static let backend: Backend? = environment["NVMEKIT_BACKEND"].flatMap(Backend.init(rawValue:))

    /// `NVMEKIT_DEVICES`: the NVMe functions (PCI class 010802) as `DDDD:BB:DD.F`, controller A first.
    static let devices: [String] = (environment["NVMEKIT_DEVICES"] ?? "").split(separator: " ").map(String.init)

    /// `NVMEKIT_CONTROLLERS`: which of the topology's controllers QEMU was given (`a`, `b` or `ab`).
    static let controllers: String = environment["NVMEKIT_CONTROLLERS"] ?? ""

    static let notInGuest: Comment = "device test: runs only inside the QEMU guest (tools/vm test --backend vfio|noiommu|uio|kernel)"

    /// `/sys/bus/pci/devices/<bdf>`.
    static func sysfs(_ bdf: String) -> String { "/sys/bus/pci/devices/\(bdf)" }

    /// The last path component of a sysfs symlink (`driver`, `iommu_group`), nil if absent.
    static func linkTarget(_ path: String) -> String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { ($0 as NSString).lastPathComponent }
    }

    /// A small text file (sysfs, procfs) without its trailing newline, nil if unreadable.
    static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// What a program printed and how it ended.
    struct ProgramResult: Sendable {
        var status: Int32
        /// Standard output, byte for byte (binary output of `nvme … -b` included).
        var data: Data
        var output: String { String(decoding: data, as: UTF8.self) }
    }

    /// Runs a program and collects its standard output (standard error goes to the test log).
    static func run(_ path: String, _ arguments: [String]) throws -> ProgramResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProgramResult(status: process.terminationStatus, data: data)
    }
}
