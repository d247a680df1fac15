import ArgumentParser
import Foundation

/// A command-line value nvmekit cannot use. Printed by ArgumentParser as one line, `nvmekit: <description>`, with no
/// usage block (the usage is not what is wrong), and the process exits 1.
struct OptionError: Error, CustomStringConvertible, Equatable {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The one place option values are range-checked, so every message has the same shape:
/// `--qd must be 1…1024 (CAP.MQES+1 on this controller); got 0`.
enum Check {
    /// Throws unless `value` lies in `range` (NaN and infinities never do).
    static func range<T: Comparable>(_ option: String, _ value: T, _ range: ClosedRange<T>, _ why: String? = nil) throws {
        guard range.contains(value) else { throw outOfRange(option, value, range, why) }
    }

    /// As `range`, for an optional option: nothing to check when it was not given.
    static func range<T: Comparable>(_ option: String, _ value: T?, _ range: ClosedRange<T>, _ why: String? = nil) throws {
        if let value { try Check.range(option, value, range, why) }
    }

    /// As `range`, for bounds computed at run time: when `upper` is below `lower` no value fits, and the message
    /// says so instead of building an invalid `ClosedRange`.
    static func within<T: Comparable>(_ option: String, _ value: T?, _ lower: T, _ upper: T, _ why: String? = nil) throws {
        guard let value else { return }
        guard lower <= upper else {
            throw OptionError("\(option) cannot be satisfied: it must be at least \(text(lower)) and at most \(text(upper))\(why.map { " (\($0))" } ?? ""); got \(text(value))")
        }
        try range(option, value, lower...upper, why)
    }

    /// Every element of a repeatable option.
    static func each<T: Comparable>(_ option: String, _ values: [T], _ range: ClosedRange<T>, _ why: String? = nil) throws {
        for v in values { try Check.range(option, v, range, why) }
    }

    /// The error `range` throws, for checks that are not a plain comparison (a multiple of 4, a list that is empty).
    static func outOfRange<T>(_ option: String, _ value: T, _ range: ClosedRange<T>, _ why: String? = nil) -> OptionError {
        OptionError("\(option) must be \(text(range.lowerBound))…\(text(range.upperBound))\(why.map { " (\($0))" } ?? ""); got \(text(value))")
    }

    /// `--option must be <what>; got <value>` for values that have no numeric range.
    static func invalid(_ option: String, _ value: Any, mustBe what: String) -> OptionError {
        OptionError("\(option) must be \(what); got \(quoted(value))")
    }

    /// An option that has no effect in the combination given.
    static func unused(_ option: String, _ reason: String) -> OptionError {
        OptionError("\(option) has no effect \(reason): leave it out")
    }

    /// Doubles without a trailing ".0"; strings quoted so an empty or blank value is visible.
    static func text<T>(_ v: T) -> String {
        if let d = v as? Double {
            if d.isFinite && d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
            return String(d)
        }
        return "\(v)"
    }

    static func quoted(_ v: Any) -> String {
        if let s = v as? String { return "'" + s.replacingOccurrences(of: "\n", with: "\\n") + "'" }
        return text(v)
    }

    /// Reads a file the user named: a regular file of at most `maxBytes` (not a directory, FIFO or /dev/zero, which
    /// would hang the read).
    static func readFile(_ option: String, _ path: String, maxBytes: Int) throws -> Data {
        var isDirectory: ObjCBool = false
        guard !path.isEmpty, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw OptionError("\(option) \(quoted(path)) does not exist: check the path")
        }
        guard !isDirectory.boolValue,
              let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              attributes[.type] as? FileAttributeType == .typeRegular else {
            throw OptionError("\(option) \(quoted(path)) is not a regular file")
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maxBytes else {
            throw OptionError("\(option) \(quoted(path)) has \(size) bytes; at most \(maxBytes) are read")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw OptionError("\(option) \(quoted(path)) cannot be read: check its permissions")
        }
        return data
    }

    /// A directory nvmekit will create files in (creating it when missing): not a file, and its parent exists.
    static func directoryPath(_ option: String, _ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw OptionError("\(option) \(quoted(path)) is a file: give a directory") }
            guard FileManager.default.isWritableFile(atPath: path) else { throw OptionError("\(option) \(quoted(path)) is not writable") }
            return
        }
        try writablePath(option, path)
    }

    /// A file nvmekit will write: its directory must exist and the path must not be a directory.
    static func writablePath(_ option: String, _ path: String) throws {
        guard !path.isEmpty else { throw invalid(option, path, mustBe: "a file path") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw OptionError("\(option) \(quoted(path)) is a directory: give a file path") }
            guard FileManager.default.isWritableFile(atPath: path) else {
                throw OptionError("\(option) \(quoted(path)) is not writable")
            }
            return
        }
        let dir = (path as NSString).deletingLastPathComponent
        let parent = dir.isEmpty ? "." : dir
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw OptionError("\(option) \(quoted(path)): directory \(quoted(parent)) does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: parent) else {
            throw OptionError("\(option) \(quoted(path)): directory \(quoted(parent)) is not writable")
        }
    }
}
