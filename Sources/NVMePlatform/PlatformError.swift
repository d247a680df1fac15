import SystemPackage

/// Failures a user can fix: each description says what happened and the command that fixes it.
/// Syscall failures below these are `Errno` (swift-system); NVMe completion errors are `CompletionStatus` values.
public enum PlatformError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A syscall failed; `what` names the operation and the object.
    case system(what: String, errno: Errno)
    case unsupported(String)

    public var description: String {
        switch self {
        case .system(let what, let errno): return "\(what): \(errno.description) (errno \(errno.rawValue))"
        case .unsupported(let what): return what
        }
    }
}
