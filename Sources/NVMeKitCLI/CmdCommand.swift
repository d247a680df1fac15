import ArgumentParser
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// `nvmekit cmd`: one raw SQE, given as fields or as 64 hex bytes, on a chosen queue.
struct CmdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cmd",
        abstract: "Send one raw command (fields or 64 hex bytes) on the admin queue or an IO queue.",
        discussion: """
        Fields left out are zero. With --data-len a buffer is allocated and PRP1/PRP2 point at it (unless --prp1/--prp2
        are given); --input-file fills it (without --data-len the buffer is the file's size). Nothing is validated: malformed commands go to the controller as written.
        Examples:
          nvmekit cmd --opcode 0x06 --cdw10 1 --data-len 4096            # Identify Controller
          nvmekit cmd --queue io --opcode 0x02 --nsid 1 --data-len 512     # Read LBA 0
          nvmekit cmd --hex "06000000 00000000 ..." --show-cmd --dry-run
        """)

    @OptionGroup var target: TargetOptions
    @Option(help: "admin, io (qid 1) or a queue id.") var queue: String = "admin"
    @Option(help: "The whole SQE as 64 bytes of hex (spaces allowed; dwords little-endian as on the wire).") var hex: String?
    @Option(help: "CDW0 opcode.") var opcode: Number<UInt8>?
    @Option(help: "CDW0 FUSE.") var fuse: Number<UInt8>?
    @Option(help: "CDW0 PSDT (0 PRP, 1/2 SGL).") var psdt: Number<UInt8>?
    @Option(help: "Namespace ID.") var nsid: Number<UInt32>?
    @Option var cdw2: Number<UInt32>?
    @Option var cdw3: Number<UInt32>?
    @Option(help: "Metadata pointer.") var mptr: Number<UInt64>?
    @Option(help: "PRP entry 1 (overrides the data buffer's).") var prp1: Number<UInt64>?
    @Option(help: "PRP entry 2 (overrides the data buffer's).") var prp2: Number<UInt64>?
    @Option var cdw10: Number<UInt32>?
    @Option var cdw11: Number<UInt32>?
    @Option var cdw12: Number<UInt32>?
    @Option var cdw13: Number<UInt32>?
    @Option var cdw14: Number<UInt32>?
    @Option var cdw15: Number<UInt32>?
    @Option(help: "Data buffer size in bytes (0…16 MiB).") var dataLen: Int = 0
    @Option(help: "File whose bytes fill the data buffer (host to controller).") var inputFile: String?
    @Flag(help: "Keep the CID as given instead of letting the queue allocate one.") var keepCid = false
    @Flag(help: "Print the command (fields and 64 bytes) before sending.") var showCmd = false
    @Flag(help: "Show what would be sent; send nothing, open nothing.") var dryRun = false
    @Option(help: "Timeout in milliseconds (1…3600000).") var timeoutMs: Int = 5000

    /// The SQE as the user described it.
    func buildSQE() throws -> SQE {
        var s = SQE()
        if let hex {
            s = try Self.parseHexSQE(hex)
        }
        if let opcode { s.opc = opcode.value }
        if let fuse { s.fuse = fuse.value }
        if let psdt { s.psdt = psdt.value }
        if let nsid { s.nsid = nsid.value }
        if let cdw2 { s.cdw2 = cdw2.value }
        if let cdw3 { s.cdw3 = cdw3.value }
        if let mptr { s.mptr = mptr.value }
        if let cdw10 { s.cdw10 = cdw10.value }
        if let cdw11 { s.cdw11 = cdw11.value }
        if let cdw12 { s.cdw12 = cdw12.value }
        if let cdw13 { s.cdw13 = cdw13.value }
        if let cdw14 { s.cdw14 = cdw14.value }
        if let cdw15 { s.cdw15 = cdw15.value }
        if hex == nil && opcode == nil { throw ValidationError("give --opcode (and fields) or --hex with the 64-byte SQE") }
        return s
    }

    /// The 64 bytes of `--hex`: ASCII hex digits, with spaces (and nothing else) between them.
    static func parseHexSQE(_ hex: String) throws -> SQE {
        var nibbles: [UInt8] = []
        for u in hex.unicodeScalars {
            switch u {
            case "0"..."9": nibbles.append(UInt8(u.value - 0x30))
            case "a"..."f": nibbles.append(UInt8(u.value - 0x61 + 10))
            case "A"..."F": nibbles.append(UInt8(u.value - 0x41 + 10))
            case " ", "\t", "\n", "\r", ",", ":": continue
            default:
                throw Check.invalid("--hex", hex, mustBe: "64 bytes as hex digits 0-9 a-f (spaces allowed), but '\(u.escaped(asASCII: true))' is not one")
            }
        }
        guard nibbles.count == 128, let sqe = SQE(bytes: stride(from: 0, to: 128, by: 2).map { nibbles[$0] << 4 | nibbles[$0 + 1] }) else {
            throw OptionError("--hex must be exactly 64 bytes (128 hex digits); got \(nibbles.count) digits")
        }
        return sqe
    }

    /// The largest --data-len: a buffer this size is already more than any controller's MDTS in practice.
    static let maximumDataLength = 16 << 20

    func validate() throws {
        try Check.range("--fuse", fuse?.value, 0...3, "CDW0 FUSE is 2 bits")
        try Check.range("--psdt", psdt?.value, 0...3, "CDW0 PSDT is 2 bits")
        try Check.range("--data-len", dataLen, 0...Self.maximumDataLength, "bytes")
        try Check.range("--timeout-ms", timeoutMs, 1...3_600_000)
        if let hex { _ = try Self.parseHexSQE(hex) }
        _ = try queueID()
        if hex == nil && opcode == nil { throw OptionError("give --opcode (and fields) or --hex with the 64-byte SQE") }
        if let inputFile {
            let size = try Check.readFile("--input-file", inputFile, maxBytes: Self.maximumDataLength).count
            if size == 0 { throw OptionError("--input-file '\(inputFile)' is empty: it would send no data") }
            if dataLen > 0 && size > dataLen {
                throw OptionError("--input-file '\(inputFile)' has \(size) bytes, more than --data-len \(dataLen): raise --data-len or leave it out (the file's size is used)")
            }
        }
    }

    /// The data buffer's size: --data-len, else the size of --input-file, else none.
    func bufferLength() throws -> Int {
        if dataLen > 0 { return dataLen }
        guard let inputFile else { return 0 }
        return try Check.readFile("--input-file", inputFile, maxBytes: Self.maximumDataLength).count
    }

    func queueID() throws -> UInt16 {
        switch queue {
        case "admin": return 0
        case "io": return 1
        default:
            guard let q: UInt16 = parseNumber(queue) else {
                throw Check.invalid("--queue", queue, mustBe: "admin, io or a queue id 0…65535")
            }
            return q
        }
    }

    static func show(_ s: SQE, qid: UInt16) -> String {
        var out = "queue        : \(qid) (\(qid == 0 ? "admin" : "io"))\n"
        out += "opcode       : \(hexString(s.opc))h  fuse \(s.fuse)  psdt \(s.psdt)  cid \(s.cid)\n"
        out += "nsid         : \(hexString(s.nsid))h\n"
        out += "cdw2         : \(hexString(s.cdw2))h  cdw3 \(hexString(s.cdw3))h\n"
        out += "mptr         : \(hexString(s.mptr))h\n"
        out += "prp1         : \(hexString(s.prp1))h\nprp2         : \(hexString(s.prp2))h\n"
        for i in 10...15 { out += "cdw\(i)".padding(toLength: 13, withPad: " ", startingAt: 0) + ": \(hexString(s[dword: i]))h\n" }
        out += "bytes        :"
        for i in 0..<16 { out += (i % 8 == 0 && i > 0 ? "\n               " : " ") + hexString(s[dword: i]) }
        return out
    }

    func run() throws {
        let sqe = try buildSQE()
        let qid = try queueID()
        if printDryRun(sqe, qid: qid) { return }
        try target.withController(sequence: qid == 0 ? .adminOnly : .standard) { try send(sqe, qid: qid, on: $0) }
    }

    /// With `--dry-run`, prints the command and returns true: nothing is sent.
    func printDryRun(_ sqe: SQE, qid: UInt16) -> Bool {
        guard dryRun else { return false }
        print(Self.show(sqe, qid: qid))
        print("dry run: nothing sent (PRPs are filled in when a --data-len buffer is allocated)")
        return true
    }

    /// The command on an open controller (`--dry-run` prints it and sends nothing).
    func run(on c: Controller) throws {
        let sqe = try buildSQE()
        let qid = try queueID()
        if printDryRun(sqe, qid: qid) { return }
        try send(sqe, qid: qid, on: c)
    }

    private func send(_ built: SQE, qid: UInt16, on c: Controller) throws {
        var sqe = built
        let qp: QueuePair
        if qid == 0 { qp = c.adminQueue! } else if let q = c.ioQueues.first(where: { $0.qid == qid }) { qp = q } else {
            printError("queue \(qid) does not exist: the default init creates IO queue 1 (use --queue io)"); throw ExitCode(1)
        }
        var keep: [DMARegion] = []
        var buffer: Buffer?
        let dataLen = try bufferLength()
        if dataLen > 0 {
            let b = try Buffer(count: dataLen, from: c.allocator)
            if let inputFile {
                try b.write(Array(try Check.readFile("--input-file", inputFile, maxBytes: dataLen)))
            }
            let p = sqe.psdt
            keep = try DataPointer.attach(b, to: &sqe, pageSize: c.pageSize, allocator: c.allocator)
            sqe.psdt = p
            buffer = b
        }
        if let prp1 { sqe.prp1 = prp1.value }
        if let prp2 { sqe.prp2 = prp2.value }
        if showCmd { print(Self.show(sqe, qid: qid)) }

        let completion: Completion
        if keepCid {
            // The raw path: post exactly these bytes at the tail, ring, wait for a CQE.
            qp.sq.post(sqe)
            qp.sq.ring()
            let deadline = Deadline.after(.milliseconds(timeoutMs))
            var cqe: CQE?
            while cqe == nil && !deadline.hasPassed {
                if let e = qp.cq.reap() { cqe = e; qp.sq.noteHead(e.sqhd); qp.cq.ringHead() }
            }
            guard let cqe else { printError("no completion within \(timeoutMs) ms"); throw ExitCode(3) }
            completion = Completion(origin: .device, sqe: sqe, cqe: cqe, latencyNanoseconds: 0)
        } else if qid == 0 {
            completion = c.adminCommand(sqe, data: keep, timeout: .after(.milliseconds(timeoutMs)))
        } else {
            completion = qp.execute(sqe, data: keep, timeout: .after(.milliseconds(timeoutMs)))
        }
        let q = completion.cqe
        print("NVMe command result:\(hexString(q.dw0))  dw1:\(hexString(q.dw1))  sqhd:\(q.sqhd) sqid:\(q.sqid) cid:\(q.cid) p:\(q.p ? 1 : 0)")
        if completion.isSuccess {
            print("status: \(completion.status)")
        } else {
            print(completion.statusLine)
        }
        if let buffer, DataTransferDirection(opcode: sqe.opc) == .controllerToHost || DataTransferDirection(opcode: sqe.opc) == .bidirectional {
            print(try buffer.hexdump(count: min(dataLen, 512)))
            if dataLen > 512 { print("... (\(dataLen - 512) more bytes)") }
        }
        if !completion.isSuccess { throw ExitCode(2) }
    }
}
