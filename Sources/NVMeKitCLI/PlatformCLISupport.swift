import ArgumentParser
import Foundation
import NVMePlatform

/// Options shared by the commands that open a device.
struct DeviceAccessOptions: ParsableArguments {
    @Option(help: "How to reach the device: vfio (IOMMU), noiommu or uio (both need --unsafe).")
    var backend: DeviceBackend = .vfio

    @Flag(help: "Allow the noiommu and uio backends, which let the device DMA anywhere in memory.")
    var unsafe = false

    /// `--allow-unsafe`, the spelling of the other device-facing subcommands: accepted here too, hidden from help.
    @Flag(name: .customLong("allow-unsafe"), help: .hidden)
    var allowUnsafeAlias = false

    @Flag(help: "Bind the device to the backend's driver first if it is bound elsewhere.")
    var bind = false

    var options: DeviceOptions { DeviceOptions(allowUnsafe: unsafe || allowUnsafeAlias, bindIfNeeded: bind) }
}

extension DeviceBackend: ExpressibleByArgument {}

/// Prints a platform error as one line and exits non-zero, instead of ArgumentParser's generic "Error:" dump.
func reportingPlatformErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as PlatformError {
        var stderr = StandardError()
        print("nvmekit: \(e.description)", to: &stderr)
        throw ExitCode(2)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}
