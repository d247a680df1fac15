import NVMePlatform
import NVMeSpec

/// Data a command returned together with the completion that says how it ended. The byte-returning conveniences
/// (`identify`, `getLogPage`) either throw or hand back bytes; these variants keep the `Completion` (status, DNR,
/// DW0, latency) so a test can check an expected error status and the data in one call.
public struct DataCompletion: Sendable, Hashable, CustomStringConvertible {
    /// The buffer's bytes after the command (whatever the controller wrote; zeros where it wrote nothing).
    public var data: [UInt8]
    public var completion: Completion
    public init(data: [UInt8], completion: Completion) { self.data = data; self.completion = completion }

    public var status: CompletionStatus { completion.status }
    public var isSuccess: Bool { completion.isSuccess }
    public var description: String { "\(completion) (\(data.count) bytes)" }
}

extension Controller {
    /// Identify with the given CNS, returning the 4096 bytes **and** the completion. An error status is returned,
    /// not thrown (`policy` defaults to `.silent`; pass `.throwing` to throw `CommandError`). Throws only when the
    /// buffer cannot be allocated or mapped.
    public func identifyWithCompletion(cns: UInt8, nsid: UInt32 = 0, cntid: UInt16 = 0, csi: UInt8 = 0,
                                       policy: StatusPolicy = .silent) throws -> DataCompletion {
        let buf = try Buffer(count: 4096, from: allocator)
        let c = try adminCommand(DriverCommand.identify(cns: cns, nsid: nsid, cntid: cntid, csi: csi), buffer: buf)
        try c.check(policy, logger: logger)
        return DataCompletion(data: buf.bytes, completion: c)
    }

    /// Get Log Page, returning `length` bytes **and** the completion. An error status is returned, not thrown
    /// (`policy` defaults to `.silent`). Throws only when the buffer cannot be allocated or mapped.
    public func getLogPageWithCompletion(lid: UInt8, nsid: UInt32 = 0xFFFF_FFFF, length: Int, offset: UInt64 = 0,
                                         rae: Bool = false, lsp: UInt8 = 0,
                                         policy: StatusPolicy = .silent) throws -> DataCompletion {
        try InvalidArgument.check("length", length, in: Controller.logPageLengths)
        try InvalidArgument.check("lsp", lsp, in: 0...0x7F)   // CDW10 bits 14:8
        let buf = try Buffer(count: max(4, (length + 3) / 4 * 4), from: allocator)
        let c = try adminCommand(DriverCommand.getLogPage(lid: lid, nsid: nsid, bytes: buf.count, offset: offset,
                                                          rae: rae, lsp: lsp), buffer: buf)
        try c.check(policy, logger: logger)
        return DataCompletion(data: Array(buf.bytes.prefix(length)), completion: c)
    }

    /// Posts one Asynchronous Event Request on the admin queue (the supported way to post AERs by hand, with
    /// `asyncEvents.autoRearm = false`). It counts in `asyncEvents.outstanding`; its completion is decoded into
    /// `asyncEvents.events` and then handed to `onCompletion`. Returns the CID.
    @discardableResult
    public func postAsyncEventRequest(onCompletion: ((Completion) -> Void)? = nil) throws -> UInt16 {
        try withAdmin { admin in
            try admin.submit(DriverCommand.asynchronousEventRequest(), timeout: .none, onCompletion: onCompletion ?? { _ in })
        }
    }
}
