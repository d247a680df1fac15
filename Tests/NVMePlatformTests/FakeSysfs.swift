import Synchronization
import SystemPackage
@testable import NVMePlatform

/// An in-memory /sys and /proc with the kernel's reactions to driver_override, unbind, bind and drivers_probe,
/// so discovery, binding and in-use checks are tested without a PCI device.
final class FakeSysfs: SystemFiles, @unchecked Sendable {
    private struct State {
        var files: [String: [UInt8]] = [:]
        var links: [String: String] = [:]
        var dirs: Set<String> = ["/"]
        var writes: [String] = []
        /// Writes, exclusive opens and closes in the order they happened.
        var operations: [String] = []
        var held: [Int32: String] = [:]
        var nextDescriptor: Int32 = 100
    }
    private let state = Mutex(State())
    let isRoot: Bool
    /// Driver each device gets from drivers_probe when no override is set (the kernel's id-table match).
    var defaultDriver: [String: String] = [:]

    init(isRoot: Bool = true) { self.isRoot = isRoot }

    private func addDirs(_ path: String) -> [String] {
        var out: [String] = []
        var p = path
        while let i = p.lastIndex(of: "/"), i != p.startIndex { p = String(p[..<i]); out.append(p) }
        return out
    }

    func file(_ path: String, _ text: String) {
        state.withLock { s in s.files[path] = Array(text.utf8); for d in addDirs(path) { s.dirs.insert(d) } }
    }
    func link(_ path: String, _ target: String) {
        state.withLock { s in s.links[path] = target; for d in addDirs(path) { s.dirs.insert(d) } }
    }
    func dir(_ path: String) { state.withLock { s in s.dirs.insert(path); for d in addDirs(path) { s.dirs.insert(d) } } }
    var writes: [String] { state.withLock { $0.writes } }
    var operations: [String] { state.withLock { $0.operations } }
    /// Block devices still held with O_EXCL.
    var held: [String] { state.withLock { $0.held.values.sorted() } }
    /// What `openExclusive` of a path fails with (EBUSY: claimed, as by a mount; EACCES; ENOENT). Others succeed.
    var exclusiveOpenErrors: [String: Errno] = [:]
    func contents(_ path: String) -> String? { state.withLock { $0.files[path].map { String(decoding: $0, as: UTF8.self) } } }

    /// A PCI function with sysfs attributes as the kernel shows them.
    func addFunction(_ bdf: String, class code: String = "0x010802", vendor: String = "0x1b36", device: String = "0x0010",
                     driver: String? = nil, group: Int? = nil, numa: Int = -1) {
        let p = "/sys/bus/pci/devices/\(bdf)"
        link(p, "../../../devices/pci0000:00/\(bdf)")
        file("\(p)/class", code + "\n"); file("\(p)/vendor", vendor + "\n"); file("\(p)/device", device + "\n")
        file("\(p)/subsystem_vendor", "0x1af4\n"); file("\(p)/subsystem_device", "0x1100\n")
        file("\(p)/revision", "0x02\n"); file("\(p)/numa_node", "\(numa)\n"); file("\(p)/driver_override", "(null)\n")
        file("\(p)/current_link_speed", "2.5 GT/s PCIe\n"); file("\(p)/current_link_width", "1\n")
        file("\(p)/max_link_speed", "2.5 GT/s PCIe\n"); file("\(p)/max_link_width", "1\n")
        if let driver { link("\(p)/driver", "../../../bus/pci/drivers/\(driver)"); dir("/sys/bus/pci/drivers/\(driver)") }
        if let group {
            link("\(p)/iommu_group", "../../../kernel/iommu_groups/\(group)")
            link("/sys/kernel/iommu_groups/\(group)/devices/\(bdf)", "../../../../devices/pci0000:00/\(bdf)")
        }
    }

    func read(_ path: String) throws -> [UInt8] {
        try state.withLock { s in
            guard let b = s.files[path] else { throw s.dirs.contains(path) ? Errno.isDirectory : Errno.noSuchFileOrDirectory }
            return b
        }
    }

    func write(_ path: String, _ data: [UInt8]) throws {
        let text = String(decoding: data, as: UTF8.self).trimmingWhitespace()
        try state.withLock { s in
            s.writes.append("\(path) <- \(text)")
            s.operations.append("write \(path) <- \(text)")
            if path.hasSuffix("/driver_override") {
                guard s.files[path] != nil else { throw Errno.noSuchFileOrDirectory }
                s.files[path] = Array((text.isEmpty ? "(null)" : text).utf8)
                return
            }
            if path.hasPrefix("/sys/bus/pci/drivers/") && path.hasSuffix("/unbind") {
                let dev = "/sys/bus/pci/devices/\(text)/driver"
                let drv = String(path.dropFirst("/sys/bus/pci/drivers/".count).dropLast("/unbind".count))
                guard s.links[dev]?.hasSuffix("/\(drv)") == true else { throw Errno(rawValue: 19) }
                s.links[dev] = nil
                return
            }
            if path.hasPrefix("/sys/bus/pci/drivers/") && path.hasSuffix("/bind") {
                let drv = String(path.dropFirst("/sys/bus/pci/drivers/".count).dropLast("/bind".count))
                s.links["/sys/bus/pci/devices/\(text)/driver"] = "../../../bus/pci/drivers/\(drv)"
                return
            }
            if path == "/sys/bus/pci/drivers_probe" {
                let dev = "/sys/bus/pci/devices/\(text)"
                guard s.links["\(dev)/driver"] == nil else { return }
                let override = s.files["\(dev)/driver_override"].map { String(decoding: $0, as: UTF8.self) } ?? "(null)"
                let drv = override != "(null)" ? override : defaultDriver[text]
                if let drv, s.dirs.contains("/sys/bus/pci/drivers/\(drv)") {
                    s.links["\(dev)/driver"] = "../../../bus/pci/drivers/\(drv)"
                }
                return
            }
            guard s.files[path] != nil else { throw Errno.noSuchFileOrDirectory }
            s.files[path] = data
        }
    }

    func createFile(_ path: String, _ data: [UInt8]) throws {
        state.withLock { s in s.files[path] = data; for d in addDirs(path) { s.dirs.insert(d) } }
    }
    func remove(_ path: String) throws {
        try state.withLock { s in guard s.files.removeValue(forKey: path) != nil else { throw Errno.noSuchFileOrDirectory } }
    }
    func readLink(_ path: String) throws -> String {
        try state.withLock { s in guard let t = s.links[path] else { throw Errno.invalidArgument }; return t }
    }
    func list(_ path: String) throws -> [String] {
        try state.withLock { s in
            guard s.dirs.contains(path) || s.links[path] != nil else { throw Errno.noSuchFileOrDirectory }
            let prefix = path + "/"
            var names = Set<String>()
            for k in Array(s.files.keys) + Array(s.links.keys) + Array(s.dirs) where k.hasPrefix(prefix) {
                names.insert(String(k.dropFirst(prefix.count).split(separator: "/").first ?? ""))
            }
            return names.filter { !$0.isEmpty }.sorted()
        }
    }
    func exists(_ path: String) -> Bool {
        state.withLock { s in s.files[path] != nil || s.links[path] != nil || s.dirs.contains(path) }
    }
    func isAccessible(_ path: String, write: Bool) -> Bool { isRoot && exists(path) }

    func openExclusive(_ path: String) throws -> ExclusiveHandle {
        let error = exclusiveOpenErrors[path]
        return try state.withLock { s in
            if let error { s.operations.append("open-excl \(path) failed \(error.rawValue)"); throw error }
            let fd = s.nextDescriptor
            s.nextDescriptor += 1
            s.held[fd] = path
            s.operations.append("open-excl \(path)")
            return ExclusiveHandle(path: path, descriptor: fd)
        }
    }
    func closeExclusive(_ handle: ExclusiveHandle) {
        state.withLock { s in
            if s.held.removeValue(forKey: handle.descriptor) != nil { s.operations.append("close \(handle.path)") }
        }
    }

    /// A kernel `nvme` controller `ctrl` on `bdf` with block devices `namespaces` (name → "major:minor"), each a
    /// directory under the controller as the kernel lays them out, with /sys/class/block entries.
    func addKernelController(_ bdf: String, _ ctrl: String, namespaces: [(String, String)], partitions: [String: [(String, String)]] = [:]) {
        let c = "/sys/bus/pci/devices/\(bdf)/nvme/\(ctrl)"
        dir(c)
        for (ns, dev) in namespaces {
            dir("\(c)/\(ns)")
            file("/sys/class/block/\(ns)/dev", dev + "\n")
            for (p, pdev) in partitions[ns] ?? [] {
                dir("/sys/class/block/\(ns)/\(p)")
                file("/sys/class/block/\(p)/dev", pdev + "\n")
            }
        }
    }

    /// Process `pid` (`comm`) with descriptor `fd` open on `target`.
    func addProcess(_ pid: Int, _ comm: String, fds: [Int: String]) {
        file("/proc/\(pid)/comm", comm + "\n")
        dir("/proc/\(pid)/fd")
        for (fd, target) in fds { link("/proc/\(pid)/fd/\(fd)", target) }
    }
}
