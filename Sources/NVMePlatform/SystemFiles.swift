import CNVMeShim
import SystemPackage

/// The files the platform layer reads and writes outside device memory: sysfs, procfs, device nodes.
/// Everything above goes through this protocol, so discovery, binding and in-use checks run against a fake tree
/// in unit tests; `HostFiles` is the real machine.
public protocol SystemFiles: Sendable {
    /// Contents of a small file (a sysfs attribute), or throws `Errno`.
    func read(_ path: String) throws -> [UInt8]
    /// Writes `data` in one write(2), as sysfs attributes require.
    func write(_ path: String, _ data: [UInt8]) throws
    /// Creates or replaces a regular file (state NVMeKit keeps, e.g. the driver to restore), making its directory.
    func createFile(_ path: String, _ data: [UInt8]) throws
    func remove(_ path: String) throws
    /// Target of a symlink.
    func readLink(_ path: String) throws -> String
    /// Names in a directory.
    func list(_ path: String) throws -> [String]
    func exists(_ path: String) -> Bool
    /// True when the effective user may read (and with `write`, also write) `path`.
    func isAccessible(_ path: String, write: Bool) -> Bool
    var isRoot: Bool { get }
    /// Opens a block device `O_RDONLY|O_EXCL`, or throws `Errno` (`EBUSY`: mounted, swap, md/dm member or claimed
    /// by another exclusive opener). While held, nobody else can claim the device. Release with `closeExclusive`.
    /// The default implementation throws `ENOSYS`, so an in-use check on a tree without it fails closed.
    func openExclusive(_ path: String) throws -> ExclusiveHandle
    func closeExclusive(_ handle: ExclusiveHandle)
}

/// A block device held open with `O_EXCL` (see `SystemFiles.openExclusive`).
public struct ExclusiveHandle: Sendable, Hashable {
    public let path: String
    /// The file descriptor, so a scan of `/proc/self/fd` can tell this process's own hold from another opener.
    public let descriptor: Int32
    public init(path: String, descriptor: Int32) { self.path = path; self.descriptor = descriptor }
}

extension SystemFiles {
    public func openExclusive(_ path: String) throws -> ExclusiveHandle { throw Errno.noFunction }
    public func closeExclusive(_ handle: ExclusiveHandle) {}
    /// A text attribute with surrounding whitespace removed; nil when the file is absent or unreadable.
    public func string(_ path: String) -> String? {
        guard let b = try? read(path) else { return nil }
        return String(decoding: b, as: UTF8.self).trimmingWhitespace()
    }
    /// `0x1b36` / `4` style attribute as an integer.
    public func integer(_ path: String) -> Int? {
        guard let s = string(path) else { return nil }
        if s.hasPrefix("0x") { return Int(s.dropFirst(2), radix: 16) }
        return Int(s)
    }
    public func write(_ path: String, _ text: String) throws { try write(path, Array(text.utf8)) }
    /// Last path component of a symlink target (`../../../bus/pci/drivers/nvme` → `nvme`).
    public func linkName(_ path: String) -> String? {
        guard let t = try? readLink(path) else { return nil }
        return t.split(separator: "/").last.map(String.init)
    }
}

/// The real filesystem. `root` prefixes every path (default `/`).
public struct HostFiles: SystemFiles {
    public let root: String
    public init(root: String = "") { self.root = root }

    private func full(_ path: String) -> String { root + path }

    public func read(_ path: String) throws -> [UInt8] {
        var cap = 4096
        while true {
            var buf = [CChar](repeating: 0, count: cap)
            let n = nvmekit_read_file(full(path), &buf, cap)
            if n < 0 { throw Errno(rawValue: Int32(-n)) }
            if n < cap { return buf.prefix(n).map { UInt8(bitPattern: $0) } }
            cap *= 4
            if cap > 1 << 24 { return buf.map { UInt8(bitPattern: $0) } }
        }
    }

    public func write(_ path: String, _ data: [UInt8]) throws {
        let chars = data.map { CChar(bitPattern: $0) }
        let r = nvmekit_write_file(full(path), chars, chars.count)
        if r < 0 { throw Errno(rawValue: -r) }
    }

    public func createFile(_ path: String, _ data: [UInt8]) throws {
        let chars = data.map { CChar(bitPattern: $0) }
        let r = nvmekit_create_file(full(path), chars, chars.count)
        if r < 0 { throw Errno(rawValue: -r) }
    }

    public func remove(_ path: String) throws {
        let r = nvmekit_unlink(full(path))
        if r < 0 { throw Errno(rawValue: -r) }
    }

    public func readLink(_ path: String) throws -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = nvmekit_readlink(full(path), &buf, buf.count)
        if n < 0 { throw Errno(rawValue: Int32(-n)) }
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func list(_ path: String) throws -> [String] {
        var cap = 16384
        while true {
            var buf = [CChar](repeating: 0, count: cap)
            let n = nvmekit_list_dir(full(path), &buf, cap)
            if n == -34 /* ERANGE */ { cap *= 4; continue }
            if n < 0 { throw Errno(rawValue: Int32(-n)) }
            let text = String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return text.split(separator: "\n").map(String.init).sorted()
        }
    }

    public func exists(_ path: String) -> Bool { nvmekit_access(full(path), 0) == 0 }

    public func isAccessible(_ path: String, write: Bool) -> Bool {
        nvmekit_access(full(path), write ? 6 : 4) == 0
    }

    public var isRoot: Bool { nvmekit_geteuid() == 0 }

    public func openExclusive(_ path: String) throws -> ExclusiveHandle {
        let fd = nvmekit_open_exclusive(full(path))
        if fd < 0 { throw Errno(rawValue: -fd) }
        return ExclusiveHandle(path: path, descriptor: fd)
    }

    public func closeExclusive(_ handle: ExclusiveHandle) { _ = nvmekit_close(handle.descriptor) }
}

extension String {
    func trimmingWhitespace() -> String {
        let ws: Set<Character> = [" ", "\n", "\t", "\r", "\0"]
        var s = Substring(self)
        while let f = s.first, ws.contains(f) { s = s.dropFirst() }
        while let l = s.last, ws.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
