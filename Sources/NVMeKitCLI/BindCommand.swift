import ArgumentParser
import NVMePlatform

struct BindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bind",
        abstract: "Bind an NVMe function to vfio-pci or uio_pci_generic (driver_override), remembering its driver.",
        discussion: """
            Refuses a function that is not an NVMe controller, always. Refuses a controller in use unless --force: \
            every namespace block device and partition is opened O_EXCL and held until the driver has changed \
            (busy when mounted in any mount namespace, btrfs and ZFS included, swap, md/dm/LVM), and /proc/*/fd is \
            searched for processes that have its block or character devices open. A namespace that cannot be checked \
            refuses too. `nvmekit unbind BDF` gives the function back to the driver it had.
            """)

    enum Driver: String, ExpressibleByArgument, CaseIterable { case vfio, uio }

    @Option(help: "vfio (vfio-pci) or uio (uio_pci_generic).")
    var driver: Driver = .vfio

    @Flag(help: "Skip the in-use check (only that: a non-NVMe function is refused anyway).")
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
        abstract: "Release an NVMe function from vfio-pci/uio_pci_generic and restore the driver it had before `bind`.",
        discussion: """
            Releases only an NVMe function on vfio-pci or uio_pci_generic, and gives it only to the driver recorded \
            under /run/nvmekit when `nvmekit bind` took it. Refuses while a process has its /dev/vfio/<group> or \
            /dev/uioN open, unless --force. Without a record it refuses; with --force and no record it leaves the \
            function with no driver (hand it on with `echo BDF > /sys/bus/pci/drivers/nvme/bind`).
            """)

    @Flag(help: "Skip the in-use check; with no recorded driver, leave the function with no driver.")
    var force = false

    @Argument(help: "PCI address, e.g. 0000:00:04.0.")
    var bdf: String

    func run() throws {
        try reportingPlatformErrors {
            let binding = DriverBinding()
            let a = try binding.bus.address(bdf)
            let was = binding.bus.driver(of: a)
            let now = try binding.unbind(a, force: force)
            print("\(a): \(was ?? "no driver") -> \(now ?? "no driver")")
        }
    }
}
