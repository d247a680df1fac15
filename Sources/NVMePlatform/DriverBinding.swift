import SystemPackage

/// Who else uses a controller's namespaces: mounted filesystems, active swap, md/dm/LVM members.
public struct StorageUsers: Sendable {
    public let files: any SystemFiles
    public init(files: any SystemFiles = HostFiles()) { self.files = files }

    /// Block devices of `function`'s namespaces and their partitions.
    public func blockDevices(of function: PCIFunction) -> [String] {
        var out: [String] = []
        for ns in function.namespaces {
            // A multipath path device (nvme0c0n1) is reached through its head (nvme0n1).
            let name = multipathHead(ns) ?? ns
            out.append(name)
            let children = (try? files.list("/sys/class/block/\(name)")) ?? []
            out += children.filter { $0.hasPrefix(name + "p") }
        }
        return out
    }

    private func multipathHead(_ ns: String) -> String? {
        guard let c = ns.firstIndex(of: "c"), let n = ns.lastIndex(of: "n"), c < n, ns.hasPrefix("nvme") else { return nil }
        return String(ns[..<c]) + String(ns[n...])
    }

    /// One line per reason the controller must not be taken, e.g. `nvme0n1p1 is mounted on /boot`.
    public func users(of function: PCIFunction) -> [String] {
        let devices = blockDevices(of: function)
        guard !devices.isEmpty else { return [] }
        var numbers: [String: String] = [:]   // "259:1" -> nvme0n1p1
        for d in devices { if let n = files.string("/sys/class/block/\(d)/dev") { numbers[n] = d } }
        var reasons: [String] = []
        if let mountinfo = files.string("/proc/self/mountinfo") {
            for line in mountinfo.split(separator: "\n") {
                let f = line.split(separator: " ")
                guard f.count > 4, let d = numbers[String(f[2])] else { continue }
                reasons.append("\(d) is mounted on \(unescapeMountPath(String(f[4])))")
            }
        }
        if let swaps = files.string("/proc/swaps") {
            for line in swaps.split(separator: "\n").dropFirst() {
                guard let path = line.split(separator: " ").first else { continue }
                let name = path.split(separator: "/").last.map(String.init) ?? ""
                if devices.contains(name) { reasons.append("\(name) is active swap") }
            }
        }
        for d in devices {
            for h in (try? files.list("/sys/class/block/\(d)/holders")) ?? [] {
                if h.hasPrefix("dm-") {
                    let name = files.string("/sys/class/block/\(h)/dm/name") ?? h
                    let uuid = files.string("/sys/class/block/\(h)/dm/uuid") ?? ""
                    reasons.append(uuid.hasPrefix("LVM-") ? "\(d) is an LVM physical volume under \(name) (\(h))"
                                                         : "\(d) is used by device-mapper \(name) (\(h))")
                } else if h.hasPrefix("md") {
                    reasons.append("\(d) is a member of md array \(h)")
                } else {
                    reasons.append("\(d) is held by \(h)")
                }
            }
        }
        return reasons
    }

    private func unescapeMountPath(_ s: String) -> String { s.replacingOccurrences(of: "\\040", with: " ") }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = "", rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound]; out += replacement; rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

/// Moves a function between kernel drivers through `driver_override` and `drivers_probe`, remembering the original
/// driver under `/run/nvmekit` so `unbind` can give it back.
public struct DriverBinding: Sendable {
    /// The userspace drivers NVMeKit binds to.
    public enum Target: String, Sendable, CaseIterable, Codable {
        case vfio = "vfio-pci"
        case uio = "uio_pci_generic"
        public var module: String { self == .vfio ? "vfio-pci" : "uio_pci_generic" }
        /// `vfio` / `uio`, as the CLI spells it.
        public var flag: String { self == .vfio ? "vfio" : "uio" }
    }

    public let bus: PCIBus
    public var files: any SystemFiles { bus.files }
    public static let stateDirectory = "/run/nvmekit"

    public init(bus: PCIBus = PCIBus()) { self.bus = bus }

    private func statePath(_ a: PCIAddress) -> String { "\(DriverBinding.stateDirectory)/\(a).driver" }

    /// The driver `unbind` will restore (`nil`: none remembered; `""`: the function had no driver).
    public func rememberedDriver(_ a: PCIAddress) -> String? {
        guard let b = try? files.read(statePath(a)) else { return nil }
        return String(decoding: b, as: UTF8.self).trimmingWhitespace()
    }

    private func writeAttribute(_ path: String, _ value: String, _ what: String) throws {
        do { try files.write(path, value) } catch let e as Errno {
            if e == .permissionDenied || e == .notPermitted { throw PlatformError.notRoot(operation: what, path: path) }
            throw PlatformError.system(what: "\(what) (writing '\(value.trimmingWhitespace())' to \(path))", errno: e)
        }
    }

    /// Binds `a` to `target`. Refuses a controller whose namespaces are in use (mounted, swap, md/dm/LVM) unless
    /// `force`. Returns the driver it was bound to before (nil: none). A no-op when already bound to `target`.
    @discardableResult
    public func bind(_ a: PCIAddress, to target: Target, force: Bool = false) throws -> String? {
        let function = try bus.function(a)
        let current = function.driver
        if current == target.rawValue { return current }
        if function.classCode != PCIConfigHeader.nvmeClassCode && !force {
            throw PlatformError.unsupported("\(a) is not an NVMe controller (class 0x\(String(function.classCode, radix: 16)), "
                + "NVMe is 0x10802); pass --force to bind it anyway.")
        }
        guard files.exists("\(PCIBus.drivers)/\(target.rawValue)") else {
            throw PlatformError.driverNotLoaded(driver: target.rawValue, module: target.module)
        }
        if !force {
            let users = StorageUsers(files: files).users(of: function)
            if !users.isEmpty { throw PlatformError.deviceInUse(address: a.description, users: users) }
        }
        guard files.isRoot || files.isAccessible(bus.path(a, "driver_override"), write: true) else {
            throw PlatformError.notRoot(operation: "Binding \(a) to \(target.rawValue)", path: bus.path(a, "driver_override"))
        }
        if rememberedDriver(a) == nil, current != "vfio-pci", current != "uio_pci_generic" {
            try? files.createFile(statePath(a), Array((current ?? "").utf8))
        }
        try writeAttribute(bus.path(a, "driver_override"), target.rawValue, "Setting driver_override of \(a)")
        if let current {
            try writeAttribute("\(PCIBus.drivers)/\(current)/unbind", a.description, "Unbinding \(a) from \(current)")
        }
        try writeAttribute("/sys/bus/pci/drivers_probe", a.description, "Probing \(a) for \(target.rawValue)")
        let now = bus.driver(of: a)
        guard now == target.rawValue else {
            throw PlatformError.unsupported("\(a) did not bind to \(target.rawValue) (now: \(now ?? "no driver")); "
                + "see `dmesg | tail` — for vfio-pci the IOMMU may be off (`--backend noiommu`), for uio_pci_generic "
                + "the device may lack INTx.")
        }
        return current
    }

    /// Unbinds `a` from its userspace driver and gives it back to the driver it had before `bind` (or lets the kernel
    /// pick one when nothing was remembered). Returns the driver it ends up with.
    @discardableResult
    public func unbind(_ a: PCIAddress) throws -> String? {
        _ = try bus.function(a)
        let remembered = rememberedDriver(a)
        try writeAttribute(bus.path(a, "driver_override"), "\n", "Clearing driver_override of \(a)")
        if let current = bus.driver(of: a) {
            try writeAttribute("\(PCIBus.drivers)/\(current)/unbind", a.description, "Unbinding \(a) from \(current)")
        }
        if remembered != "" {
            if let r = remembered, files.exists("\(PCIBus.drivers)/\(r)") {
                try writeAttribute("\(PCIBus.drivers)/\(r)/bind", a.description, "Binding \(a) back to \(r)")
            } else {
                try writeAttribute("/sys/bus/pci/drivers_probe", a.description, "Probing \(a)")
            }
        }
        try? files.remove(statePath(a))
        return bus.driver(of: a)
    }
}
