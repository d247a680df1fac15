#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Writes a file so that a reader (or the next process after a crash or a power loss) sees either the old content
/// or the complete new one, never a mix: the bytes go to a temporary file in the same directory, which is
/// fsync'ed, renamed over the target, and the directory fsync'ed so the rename itself is durable.
public enum AtomicFile {
    /// Receives the new content in pieces (large files need not be built in memory at once).
    public struct Writer: ~Copyable {
        let fd: FileDescriptor
        let path: String
        public mutating func write(_ bytes: [UInt8]) throws {
            do { _ = try fd.writeAll(bytes) } catch let e as Errno {
                throw PlatformError.system(what: "write \(path)", errno: e)
            }
        }
    }

    /// Replaces `path` with what `body` writes. When anything fails — creating the temporary file, `body`, fsync,
    /// rename — the temporary file is removed, `path` is left as it was, and the error is thrown.
    /// `beforeRename` runs after the new content is durable and before it replaces the old (tests inject failures
    /// there).
    public static func write(to path: String, beforeRename: () throws -> Void = {},
                             _ body: (inout Writer) throws -> Void) throws {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temp = (dir == "/" ? "" : dir) + "/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(temp), .writeOnly, options: [.create, .exclusiveCreate, .truncate],
                                         permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch let e as Errno {
            throw PlatformError.system(what: "create \(temp) (beside \(path))", errno: e)
        }
        var renamed = false
        defer { if !renamed { _ = unlink(temp) } }
        do {
            var w = Writer(fd: fd, path: temp)
            try body(&w)
            if fsync(fd.rawValue) != 0 { throw PlatformError.system(what: "fsync \(temp)", errno: Errno(rawValue: errno)) }
            try beforeRename()
        } catch {
            try? fd.close()
            throw error
        }
        do { try fd.close() } catch let e as Errno { throw PlatformError.system(what: "close \(temp)", errno: e) }
        if rename(temp, path) != 0 { throw PlatformError.system(what: "rename \(temp) to \(path)", errno: Errno(rawValue: errno)) }
        renamed = true
        let dfd = open(dir, O_RDONLY | O_DIRECTORY)
        if dfd < 0 { throw PlatformError.system(what: "open directory \(dir) to fsync it", errno: Errno(rawValue: errno)) }
        defer { _ = close(dfd) }
        if fsync(dfd) != 0 { throw PlatformError.system(what: "fsync directory \(dir)", errno: Errno(rawValue: errno)) }
    }

    /// Replaces `path` with `bytes` atomically (see `write(to:beforeRename:_:)`).
    public static func write(_ bytes: [UInt8], to path: String, beforeRename: () throws -> Void = {}) throws {
        try write(to: path, beforeRename: beforeRename) { w in try w.write(bytes) }
    }
}
