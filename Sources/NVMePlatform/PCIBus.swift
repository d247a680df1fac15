import CNVMeShim
import SystemPackage

/// One PCI function as `nvmekit list` shows it: identity from config space, placement and binding from sysfs.
public struct PCIFunction: Sendable, Hashable, Codable {
    public var address: PCIAddress
    public var vendorID: UInt16, deviceID: UInt16
    public var subsystemVendorID: UInt16, subsystemDeviceID: UInt16
    public var classCode: UInt32
    public var revision: UInt8
    public var vendorName: String?, deviceName: String?
    /// NUMA node the function is attached to; nil when the platform does not say (sysfs reports -1).
    public var numaNode: Int?
    /// Bound driver (`nvme`, `vfio-pci`, `uio_pci_generic`), nil when unbound.
    public var driver: String?
    /// `driver_override`, nil when unset.
    public var driverOverride: String?
    /// IOMMU group number, nil when the IOMMU is off.
    public var iommuGroup: Int?
    public var currentLinkSpeed: String?, currentLinkWidth: Int?
    public var maxLinkSpeed: String?, maxLinkWidth: Int?
    /// Kernel NVMe controllers on it (`nvme0`) and their namespace block devices (`nvme0n1`), when bound to nvme.
    public var controllers: [String]
    public var namespaces: [String]
}

/// PCI functions through sysfs (`/sys/bus/pci`), with names from libpciaccess on the real machine.
public struct PCIBus: Sendable {
    public let files: any SystemFiles
    /// Use libpciaccess for enumeration and names (the real machine); sysfs alone for fake trees in tests.
    public let useLibPCIAccess: Bool

    public init(files: any SystemFiles = HostFiles(), useLibPCIAccess: Bool? = nil) {
        self.files = files
        self.useLibPCIAccess = useLibPCIAccess ?? ((files as? HostFiles)?.root.isEmpty ?? false)
    }

    public static let devices = "/sys/bus/pci/devices"
    public static let drivers = "/sys/bus/pci/drivers"
    public func path(_ a: PCIAddress, _ attribute: String = "") -> String {
        attribute.isEmpty ? "\(PCIBus.devices)/\(a)" : "\(PCIBus.devices)/\(a)/\(attribute)"
    }

    /// Every function with class `classCode` (default NVMe), in address order.
    public func functions(classCode: UInt32 = PCIConfigHeader.nvmeClassCode) throws -> [PCIFunction] {
        var names: [PCIAddress: LibPCIAccess.Entry] = [:]
        var addresses: [PCIAddress]
        if useLibPCIAccess, let entries = try? LibPCIAccess.functions(classCode: classCode) {
            for e in entries { names[e.address] = e }
            addresses = entries.map(\.address)
        } else {
            let all: [String]
            do { all = try files.list(PCIBus.devices) } catch let e as Errno {
                throw PlatformError.system(what: "listing \(PCIBus.devices)", errno: e)
            }
            addresses = all.compactMap { try? PCIAddress(parsing: $0) }
                .filter { a in files.integer(path(a, "class")).map { UInt32($0) & 0xFF_FFFF == classCode } ?? false }
        }
        addresses.sort()
        return try addresses.map { a in
            var f = try function(a)
            if let e = names[a] { f.vendorName = e.vendorName; f.deviceName = e.deviceName }
            return f
        }
    }

    /// One function; throws `deviceNotFound` when nothing is at `address`.
    public func function(_ a: PCIAddress) throws -> PCIFunction {
        guard files.exists(path(a)) else { throw PlatformError.deviceNotFound(address: a.description) }
        func id(_ n: String) -> UInt16 { UInt16(truncatingIfNeeded: files.integer(path(a, n)) ?? 0xFFFF) }
        let numa = files.integer(path(a, "numa_node")).flatMap { $0 < 0 ? nil : $0 }
        let override = files.string(path(a, "driver_override")).flatMap { $0 == "(null)" || $0.isEmpty ? nil : $0 }
        let controllers = (try? files.list(path(a, "nvme"))) ?? []
        let namespaces = controllers.flatMap { c in
            ((try? files.list(path(a, "nvme/\(c)"))) ?? []).filter { $0.hasPrefix("nvme") && $0.contains("n") && $0 != c }
        }.sorted()
        return PCIFunction(
            address: a, vendorID: id("vendor"), deviceID: id("device"),
            subsystemVendorID: id("subsystem_vendor"), subsystemDeviceID: id("subsystem_device"),
            classCode: UInt32(truncatingIfNeeded: files.integer(path(a, "class")) ?? 0) & 0xFF_FFFF,
            revision: UInt8(truncatingIfNeeded: files.integer(path(a, "revision")) ?? 0),
            vendorName: nil, deviceName: nil, numaNode: numa,
            driver: driver(of: a), driverOverride: override, iommuGroup: iommuGroup(of: a),
            currentLinkSpeed: files.string(path(a, "current_link_speed")),
            currentLinkWidth: files.integer(path(a, "current_link_width")),
            maxLinkSpeed: files.string(path(a, "max_link_speed")),
            maxLinkWidth: files.integer(path(a, "max_link_width")),
            controllers: controllers, namespaces: namespaces)
    }

    /// Parses `text` and checks a function is there.
    public func address(_ text: String) throws -> PCIAddress {
        let a = try PCIAddress(parsing: text)
        guard files.exists(path(a)) else { throw PlatformError.deviceNotFound(address: a.description) }
        return a
    }

    public func driver(of a: PCIAddress) -> String? { files.linkName(path(a, "driver")) }

    public func iommuGroup(of a: PCIAddress) -> Int? { files.linkName(path(a, "iommu_group")).flatMap { Int($0) } }

    /// The other functions in `group` and their drivers.
    public func groupMembers(_ group: Int, except a: PCIAddress) -> [PlatformError.GroupMember] {
        let names = (try? files.list("/sys/kernel/iommu_groups/\(group)/devices")) ?? []
        return names.compactMap { try? PCIAddress(parsing: $0) }.filter { $0 != a }.sorted()
            .map { PlatformError.GroupMember(address: $0.description, driver: driver(of: $0)) }
    }

    /// Checks the group can be opened by VFIO: every other member unbound or on vfio-pci (bridges excepted
    /// by the kernel are reported by VFIO itself through VFIO_GROUP_FLAGS_VIABLE).
    public func checkGroupViable(_ a: PCIAddress) throws {
        guard let g = iommuGroup(of: a) else { throw PlatformError.iommuOff(address: a.description) }
        let blockers = groupMembers(g, except: a).filter { $0.driver != nil && $0.driver != "vfio-pci" && $0.driver != "pcieport" }
        if !blockers.isEmpty { throw PlatformError.groupNotViable(group: g, address: a.description, others: blockers) }
    }

    /// Function Level Reset through sysfs `reset` (the kernel picks FLR, PM or bus reset as the device allows).
    public func reset(_ a: PCIAddress) throws {
        do { try files.write(path(a, "reset"), "1") } catch let e as Errno {
            if e == .permissionDenied { throw PlatformError.notRoot(operation: "Resetting \(a)", path: path(a, "reset")) }
            throw PlatformError.system(what: "writing \(path(a, "reset"))", errno: e)
        }
    }
}

/// Config space through sysfs `config` (root reads all 4096 bytes; other users only the first 64).
public final class SysfsConfigSpace: ConfigSpace, @unchecked Sendable {
    public let path: String
    public let length: Int
    private let fd: Int32

    public init(path: String) throws {
        var fd = nvmekit_open(path, 2)
        if fd == -Errno.permissionDenied.rawValue { fd = nvmekit_open(path, 0) }
        guard fd >= 0 else {
            if fd == -Errno.permissionDenied.rawValue { throw PlatformError.notRoot(operation: "Reading PCI config space", path: path) }
            throw PlatformError.system(what: "opening \(path)", errno: Errno(rawValue: -fd))
        }
        self.fd = fd
        self.path = path
        var probe = [UInt8](repeating: 0, count: 4)
        let n = nvmekit_pread(fd, &probe, 4, 0x100)
        self.length = n == 4 ? 4096 : 256
    }

    public convenience init(_ address: PCIAddress, files: HostFiles = HostFiles()) throws {
        guard files.exists(PCIBus().path(address)) else { throw PlatformError.deviceNotFound(address: address.description) }
        try self.init(path: files.root + PCIBus().path(address, "config"))
    }

    deinit { _ = nvmekit_close(fd) }

    private func read(_ o: Int, _ n: Int) throws -> [UInt8] {
        var b = [UInt8](repeating: 0, count: n)
        let r = nvmekit_pread(fd, &b, n, UInt64(o))
        guard r == n else {
            throw PlatformError.system(what: "reading \(n) bytes at 0x\(String(o, radix: 16)) of \(path)",
                                       errno: r < 0 ? Errno(rawValue: Int32(-r)) : .ioError)
        }
        return b
    }
    private func write(_ o: Int, _ b: [UInt8]) throws {
        let r = nvmekit_pwrite(fd, b, b.count, UInt64(o))
        guard r == b.count else {
            if r == -Int(Errno.badFileDescriptor.rawValue) || r == -Int(Errno.permissionDenied.rawValue) {
                throw PlatformError.notRoot(operation: "Writing PCI config space", path: path)
            }
            throw PlatformError.system(what: "writing \(b.count) bytes at 0x\(String(o, radix: 16)) of \(path)",
                                       errno: r < 0 ? Errno(rawValue: Int32(-r)) : .ioError)
        }
    }
    public func read8(at o: Int) throws -> UInt8 { try read(o, 1)[0] }
    public func read16(at o: Int) throws -> UInt16 { le16(try read(o, 2), 0) }
    public func read32(at o: Int) throws -> UInt32 { le32(try read(o, 4), 0) }
    public func write8(_ v: UInt8, at o: Int) throws { try write(o, [v]) }
    public func write16(_ v: UInt16, at o: Int) throws { try write(o, [UInt8(v & 0xFF), UInt8(v >> 8)]) }
    public func write32(_ v: UInt32, at o: Int) throws {
        try write(o, (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) })
    }
}
