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

extension StorageUsers {
    /// The nodes through which a kernel-bound controller's storage is reached.
    public struct KernelNodes: Sendable, Equatable {
        /// Namespace block devices (multipath heads) and their partitions, as `nvme0n1`, `nvme0n1p1`.
        public var blockDevices: [String] = []
        /// Controller and generic namespace character devices, as `/dev/nvme0`, `/dev/ng0n1`.
        public var characterDevices: [String] = []
        /// What could not be listed, each with its errno and fix. Non-empty means the list above may be short.
        public var problems: [String] = []
    }

    /// Lists the namespaces of `function` from `/sys/bus/pci/devices/<bdf>/nvme/<ctrl>/`, reporting instead of
    /// skipping whatever cannot be read, so a caller can fail closed. Meant for a function bound to `nvme`.
    public func kernelNodes(of function: PCIFunction) -> KernelNodes {
        var out = KernelNodes()
        let dir = "\(PCIBus.devices)/\(function.address)/nvme"
        let controllers: [String]
        do { controllers = try files.list(dir).filter { Self.isController($0) } } catch {
            out.problems.append("the namespaces of \(function.address) cannot be listed: \(dir): \(Self.describe(error)) "
                + "(is the nvme driver still probing it? wait for `cat \(dir)/nvme*/state` to say live)")
            return out
        }
        if controllers.isEmpty {
            out.problems.append("the namespaces of \(function.address) cannot be listed: \(dir) holds no controller "
                + "(is the nvme driver still probing it? wait for `cat \(dir)/nvme*/state` to say live)")
        }
        for c in controllers {
            out.characterDevices.append("/dev/\(c)")
            let entries: [String]
            do { entries = try files.list("\(dir)/\(c)") } catch {
                out.problems.append("the namespaces of controller \(c) cannot be listed: \(dir)/\(c): \(Self.describe(error))")
                continue
            }
            for e in entries {
                if Self.isNamespace(e) {
                    // A multipath path device (nvme0c0n1) has no node of its own: it is reached through its head.
                    let name = multipathHeadName(e) ?? e
                    if !out.blockDevices.contains(name) { out.blockDevices.append(name) }
                    let children: [String]
                    do { children = try files.list("/sys/class/block/\(name)") } catch {
                        out.problems.append("the partitions of \(name) cannot be listed: /sys/class/block/\(name): "
                            + "\(Self.describe(error))")
                        continue
                    }
                    out.blockDevices += children.filter { $0.hasPrefix(name + "p") && !out.blockDevices.contains($0) }
                } else if e.hasPrefix("ng"), e.dropFirst(2).contains("n") {
                    out.characterDevices.append("/dev/\(e)")
                }
            }
        }
        return out
    }

    private static func isDigit(_ c: Character) -> Bool { c >= "0" && c <= "9" }

    /// `nvme0`.
    static func isController(_ s: String) -> Bool {
        s.hasPrefix("nvme") && s.count > 4 && s.dropFirst(4).allSatisfy(isDigit)
    }
    /// `nvme0n1` or the multipath path device `nvme0c1n1`.
    static func isNamespace(_ s: String) -> Bool {
        guard s.hasPrefix("nvme") else { return false }
        let parts = s.dropFirst(4).split(separator: "n", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty, parts[1].allSatisfy(isDigit) else { return false }
        let c = parts[0].split(separator: "c", omittingEmptySubsequences: false)
        return c.allSatisfy { !$0.isEmpty && $0.allSatisfy(isDigit) } && c.count <= 2
    }

    func multipathHeadName(_ ns: String) -> String? {
        guard ns.hasPrefix("nvme"), let c = ns.firstIndex(of: "c"), let n = ns.lastIndex(of: "n"), c < n else { return nil }
        return String(ns[..<c]) + String(ns[n...])
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? Errno { return "\(e.description) (errno \(e.rawValue))" }
        return "\(error)"
    }

    /// One line per process holding one of `paths` open (`pid 812 (qemu) has /dev/nvme0n1 open`), found through the
    /// `/proc/<pid>/fd/*` links: the opens `O_EXCL` cannot see (raw reads by dd, a VM, a database). `own` are this
    /// process's exclusive holds, which are not users. A `/proc` that cannot be listed is a problem, not silence.
    public func openers(of paths: Set<String>, except own: [ExclusiveHandle] = []) -> (users: [String], problems: [String]) {
        guard !paths.isEmpty else { return ([], []) }
        let pids: [String]
        do { pids = try files.list("/proc").filter { !$0.isEmpty && $0.allSatisfy(Self.isDigit) } } catch {
            return ([], ["the processes cannot be listed: /proc: \(Self.describe(error)) (mount it: `mount -t proc proc /proc`)"])
        }
        let me = (try? files.readLink("/proc/self")) ?? ""
        let ownFDs = Set(own.map { String($0.descriptor) })
        var users: [String] = []
        for pid in pids.sorted(by: { ($0.count, $0) < ($1.count, $1) }) {
            // A process may exit between the listing and here, and another user's fds are unreadable without root.
            guard let fds = try? files.list("/proc/\(pid)/fd") else { continue }
            var seen = Set<String>()
            for fd in fds {
                guard let target = try? files.readLink("/proc/\(pid)/fd/\(fd)"), paths.contains(target) else { continue }
                if pid == me && ownFDs.contains(fd) { continue }
                guard seen.insert(target).inserted else { continue }
                let comm = files.string("/proc/\(pid)/comm") ?? "?"
                users.append("pid \(pid) (\(comm)) has \(target) open")
            }
        }
        return (users, [])
    }
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
///
/// Both directions refuse a function that is not an NVMe controller, always. They also refuse a controller in use
/// unless `force`, which skips exactly that in-use check:
/// - taking a controller from the kernel (`bind`): every namespace block device and partition is opened
///   `O_RDONLY|O_EXCL` and held across the driver_override/unbind/probe writes (EBUSY: a filesystem mounted in any
///   mount namespace, btrfs and ZFS included, swap, md, dm); `/proc/<pid>/fd` is scanned for raw opens of those and
///   of the controller's character devices; mountinfo, swaps and holders name the user when they can. A namespace
///   that cannot be opened for another reason, or namespaces that cannot be listed, refuse (fail closed).
/// - releasing it (`unbind`): only a function on vfio-pci/uio_pci_generic, refused while a process has its
///   `/dev/vfio/<group>` or `/dev/uioN` open, and given back only to the driver recorded when NVMeKit bound it.
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

    private static let userspaceDrivers: Set<String> = [Target.vfio.rawValue, Target.uio.rawValue]

    private func requireNVMe(_ function: PCIFunction) throws {
        guard function.classCode == PCIConfigHeader.nvmeClassCode else {
            throw PlatformError.notNVMeController(address: function.address.description, classCode: function.classCode)
        }
    }

    /// Device nodes through which a process can be using `function` while it is on a userspace driver.
    private func userspaceNodes(_ function: PCIFunction) -> Set<String> {
        var nodes = Set<String>()
        if let g = function.iommuGroup { nodes.insert("/dev/vfio/\(g)"); nodes.insert("/dev/vfio/noiommu-\(g)") }
        for u in (try? files.list(bus.path(function.address, "uio"))) ?? [] where u.hasPrefix("uio") {
            nodes.insert("/dev/\(u)")
        }
        return nodes
    }

    /// Exclusive holds on a controller's block devices, released after the driver change.
    private final class Claim {
        let files: any SystemFiles
        var handles: [ExclusiveHandle] = []
        init(files: any SystemFiles) { self.files = files }
        func release() { for h in handles.reversed() { files.closeExclusive(h) }; handles = [] }
        deinit { release() }
    }

    /// The in-use check before taking `function` from its current driver. Returns the exclusive holds to keep until
    /// the driver has changed; throws `deviceInUse` or `inUseUnknown`.
    private func claim(_ function: PCIFunction) throws -> Claim {
        let users = StorageUsers(files: files)
        let claim = Claim(files: files)
        var reasons: [String] = [], problems: [String] = []
        var nodes = userspaceNodes(function)
        var busy: [String] = []
        if function.driver == "nvme" || !function.controllers.isEmpty {
            let kernel = users.kernelNodes(of: function)
            problems += kernel.problems
            nodes.formUnion(kernel.characterDevices)
            for d in kernel.blockDevices {
                let path = "/dev/\(d)"
                nodes.insert(path)
                do { claim.handles.append(try files.openExclusive(path)) } catch let e as Errno where e == .resourceBusy {
                    busy.append(d)
                } catch {
                    problems.append("\(path) cannot be opened to check it: \(StorageUsers.describe(error)) — "
                        + Self.openFix(error, d))
                }
            }
            reasons += users.users(of: function)
            for d in busy {
                // A partition in use makes its whole disk busy too: name the disk only when nothing below it explains it.
                let explained = reasons.contains { $0.hasPrefix(d + " ") || $0.hasPrefix(d + "p") }
                    || busy.contains { $0 != d && $0.hasPrefix(d + "p") }
                if !explained {
                    reasons.append("\(d) is held exclusively (opening it O_EXCL fails with EBUSY): mounted in some mount "
                        + "namespace (btrfs and ZFS show no device number in mountinfo), swap, md/dm, or a program's exclusive open")
                }
            }
        }
        let scan = users.openers(of: nodes, except: claim.handles)
        reasons += scan.users
        problems += scan.problems
        if !reasons.isEmpty {
            claim.release()
            throw PlatformError.deviceInUse(address: function.address.description, users: reasons + problems)
        }
        if !problems.isEmpty {
            claim.release()
            throw PlatformError.inUseUnknown(address: function.address.description, problems: problems)
        }
        return claim
    }

    private static func openFix(_ error: any Error, _ device: String) -> String {
        switch error as? Errno {
        case .permissionDenied?, .notPermitted?: return "run as root (`sudo nvmekit …`)"
        case .noSuchFileOrDirectory?:
            return "its device node is missing: run `udevadm settle`, or create it from /sys/class/block/\(device)/dev "
                + "(`mknod /dev/\(device) b MAJOR MINOR`)"
        case .noFunction?: return "this SystemFiles cannot open devices exclusively"
        default: return "see `dmesg | tail`"
        }
    }

    /// Binds `a` to `target`. Refuses a function that is not NVMe, always; refuses a controller in use (see the type's
    /// description) unless `force`, which skips only that check. Returns the driver it was bound to before (nil:
    /// none). A no-op when already bound to `target`.
    @discardableResult
    public func bind(_ a: PCIAddress, to target: Target, force: Bool = false) throws -> String? {
        let function = try bus.function(a)
        try requireNVMe(function)
        let current = function.driver
        if current == target.rawValue { return current }
        guard files.exists("\(PCIBus.drivers)/\(target.rawValue)") else {
            throw PlatformError.driverNotLoaded(driver: target.rawValue, module: target.module)
        }
        guard files.isRoot || files.isAccessible(bus.path(a, "driver_override"), write: true) else {
            throw PlatformError.notRoot(operation: "Binding \(a) to \(target.rawValue)", path: bus.path(a, "driver_override"))
        }
        // Held until the kernel has let go of the namespaces, so nothing can mount them in between.
        let claim: Claim? = force ? nil : try self.claim(function)
        defer { claim?.release() }
        if rememberedDriver(a) == nil, !Self.userspaceDrivers.contains(current ?? "") {
            // Without the record `unbind` would refuse to give the function back, so no record, no bind.
            do { try files.createFile(statePath(a), Array((current ?? "").utf8)) } catch let e as Errno {
                throw PlatformError.system(what: "Recording the driver of \(a) in \(statePath(a))", errno: e)
            }
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

    /// Releases `a` from vfio-pci/uio_pci_generic and gives it back to the driver recorded when NVMeKit bound it
    /// (none recorded as "no driver": it stays unbound). Refuses a function that is not NVMe or not on a userspace
    /// driver, and one a process still has open (`/dev/vfio/<group>`, `/dev/uioN`) unless `force`. Without a record
    /// it refuses; with `force` and no record it leaves the function with no driver rather than letting the kernel
    /// probe one blindly. Returns the driver it ends up with.
    @discardableResult
    public func unbind(_ a: PCIAddress, force: Bool = false) throws -> String? {
        let function = try bus.function(a)
        try requireNVMe(function)
        let current = function.driver
        let remembered = rememberedDriver(a)
        if let current {
            guard Self.userspaceDrivers.contains(current) else {
                throw PlatformError.notBoundByNVMeKit(address: a.description, driver: current)
            }
        } else if remembered == nil {
            // Unbound and nothing recorded: nothing NVMeKit holds. (Unbound with a record: a release that stopped
            // half-way, e.g. the driver's bind failed, finishes here.)
            throw PlatformError.notBoundByNVMeKit(address: a.description, driver: nil)
        }
        if remembered == nil && !force {
            throw PlatformError.noRecordedDriver(address: a.description, driver: current ?? "no driver")
        }
        if let r = remembered, !r.isEmpty, !files.exists("\(PCIBus.drivers)/\(r)") {
            throw PlatformError.driverNotLoaded(driver: r, module: r)
        }
        guard files.isRoot || files.isAccessible(bus.path(a, "driver_override"), write: true) else {
            throw PlatformError.notRoot(operation: "Releasing \(a)", path: bus.path(a, "driver_override"))
        }
        if !force {
            let scan = StorageUsers(files: files).openers(of: userspaceNodes(function))
            if !scan.users.isEmpty {
                throw PlatformError.releaseInUse(address: a.description, users: scan.users + scan.problems)
            }
            if !scan.problems.isEmpty { throw PlatformError.inUseUnknown(address: a.description, problems: scan.problems) }
        }
        try writeAttribute(bus.path(a, "driver_override"), "\n", "Clearing driver_override of \(a)")
        if let current {
            try writeAttribute("\(PCIBus.drivers)/\(current)/unbind", a.description, "Unbinding \(a) from \(current)")
        }
        if let r = remembered, !r.isEmpty {
            try writeAttribute("\(PCIBus.drivers)/\(r)/bind", a.description, "Binding \(a) back to \(r)")
        }
        try? files.remove(statePath(a))
        return bus.driver(of: a)
    }
}
