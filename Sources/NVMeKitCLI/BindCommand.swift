import ArgumentParser
import NVMePlatform

struct BindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bind",
        abstract: "Bind an NVMe function to vfio-pci or uio_pci_generic (driver_override), remembering its driver.",
        discussion: """
            Refuses a controller whose namespaces are mounted, used as swap, or members of md/dm/LVM unless --force.
            `nvmekit unbind BDF` gives the function back to the driver it had.
            """)

    enum Driver: String, ExpressibleByArgument, CaseIterable { case vfio, uio }

    @Option(help: "vfio (vfio-pci) or uio (uio_pci_generic).")
    var driver: Driver = .vfio

    @Flag(help: "Take the controller even if its namespaces are in use.")
    var force = false

    @Argument(help: "PCI address, e.g. 0000:00:04.0.")
    var bdf: String

    func run() throws {
        try reportingPlatformErrors {
            let binding = DriverBinding()
            let a = try binding.bus.address(bdf)
            let target: DriverBinding.Target = driver == .vfio ? .vfio : .uio
            let before = try binding.bind(a, to: target, force: force)
            if before == target.rawValue {
                print("\(a) already bound to \(target.rawValue)")
            } else {
                print("\(a): \(before ?? "no driver") -> \(target.rawValue)"
                    + (binding.bus.iommuGroup(of: a).map { " (IOMMU group \($0))" } ?? ""))
            }
        }
    }
}

struct UnbindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unbind",
        abstract: "Release an NVMe function from vfio-pci/uio_pci_generic and restore the driver it had before `bind`.")

    @Argument(help: "PCI address, e.g. 0000:00:04.0.")
    var bdf: String

    func run() throws {
        try reportingPlatformErrors {
            let binding = DriverBinding()
            let a = try binding.bus.address(bdf)
            let was = binding.bus.driver(of: a)
            let now = try binding.unbind(a)
            print("\(a): \(was ?? "no driver") -> \(now ?? "no driver")")
        }
    }
}
