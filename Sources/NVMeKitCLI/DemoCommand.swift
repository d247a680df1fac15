import ArgumentParser
import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSimulator
import NVMeSpec

/// `nvmekit demo`: the walk-through `tools/demo` runs — every step of talking to an NVMe controller by hand.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Walk through NVMe by hand: registers, a hand-built Identify, IO queues, write/read by doorbells, interrupts, an error, an async event, the command log.")

    @OptionGroup var target: TargetOptions
    @Option(help: "LBAs to write and read back (1…65536, within MDTS and the namespace).") var blocks: Int = 4

    func validate() throws {
        try target.validate()
        try Check.range("--blocks", blocks, 1...65536, "NLB is a 16-bit 0's based field")
    }

    func run() throws {
        try walk { try $0.run() }
    }

    /// The walk-through on a controller that is open but not yet initialized (the walk enables it step by step).
    func run(on c: Controller) throws {
        try walk { try $0.run(on: c) }
    }

    private func walk(_ body: (inout Walkthrough) throws -> Void) throws {
        var walk = Walkthrough(target: target, blocks: blocks)
        do {
            try body(&walk)
            if walk.mismatch { printError("demo: the data read back differs from what was written"); throw ExitCode(3) }
        } catch let e as ControllerError {
            printError("demo stopped: \(e)"); throw ExitCode(2)
        } catch let e as PlatformError {
            printError("demo stopped: \(e)"); throw ExitCode(2)
        }
    }
}

struct Walkthrough {
    let target: TargetOptions
    let blocks: Int
    var step = 0
    /// The read-back in step 5 differed from what was written.
    var mismatch = false

    mutating func say(_ title: String) {
        step += 1
        print("\n== \(step). \(title)")
    }

    func line(_ s: String) { print("   " + s) }

    /// Posts `sqe` at the SQ tail, rings the tail doorbell, waits for the CQ's interrupt, reaps the CQE by its
    /// phase tag and writes the CQ head doorbell — each step printed.
    func byHand(_ sqe: SQE, on qp: QueuePair, interrupts: any InterruptSource, what: String) throws -> CQE {
        let submitted = TickClock.now()
        let slot = qp.sq.post(sqe)
        line("post:     \(what) (opcode \(hexString(sqe.opc))h, CID \(hexString(sqe.cid))h) copied into SQ \(qp.qid) slot \(slot)")
        qp.sq.ring()
        line("ring:     SQ \(qp.qid) tail doorbell (BAR0+\(hexString(UInt16(qp.sq.doorbellOffset)))h) <- \(qp.sq.tail)")
        var cqe: CQE?
        if let v = qp.cq.vector, interrupts.enabledVectors > Int(v) {
            let deadline = Deadline.after(.seconds(5))
            var fired: UInt64 = 0
            while cqe == nil && !deadline.hasPassed {
                fired += try interrupts.wait(vector: Int(v), timeout: .milliseconds(100))
                cqe = qp.cq.reap()
            }
            line("wait:     \(interrupts.kind == .intx ? "INTx" : "MSI-X") vector \(v) fired (\(fired) event\(fired == 1 ? "" : "s") on its eventfd)")
        } else {
            let deadline = Deadline.after(.seconds(5))
            while cqe == nil && !deadline.hasPassed { cqe = qp.cq.reap() }
            line("wait:     polled CQ \(qp.qid) (no interrupt vector)")
        }
        guard let cqe else { throw ControllerError.unsupported("no completion for \(what) within 5 s") }
        qp.sq.noteHead(cqe.sqhd)
        qp.cq.ringHead()
        line("reap:     CQE phase \(cqe.p ? 1 : 0) at CQ \(qp.qid) head; CQ head doorbell <- \(qp.cq.head)")
        line("          CID \(hexString(cqe.cid))h SQHD \(cqe.sqhd) DW0 \(hexString(cqe.dw0))h status \(cqe.status)")
        qp.log.record(.init(qid: qp.qid, sqe: sqe, cqe: cqe, origin: .device, submitTicks: submitted, completeTicks: TickClock.now()))
        return cqe
    }

    mutating func run() throws {
        let device = try target.openDevice()
        var options = ControllerOptions()
        options.interrupts = DeviceBackend(rawValue: device.backend) == .uio ? .intx : target.interruptMode
        options.ioQueueCount = 1
        options.asyncEventRequests = 0
        let c = Controller(device: device, options: options)
        defer { target.finish(c) }
        try run(on: c)
    }

    /// The walk on `c`, from its registers to its command log.
    mutating func run(on c: Controller) throws {
        let device = c.device
        if device is SimulatedController {
            print("NOTE: no QEMU guest here — this walk-through runs on NVMeKit's simulated controller (in-process, same driver code).")
        } else {
            print("Device \(device.address) through the \(device.backend) backend.")
        }

        say("Registers (BAR0)")
        let cap = c.registers.cap
        line("CAP  = \(hexString(cap.rawValue))h  MQES \(cap.mqes) (\(Int(cap.mqes) + 1) entries), TO \(cap.to) (\(Int(cap.to) * 500) ms), DSTRD \(cap.dstrd), NSSRS \(cap.nssrs ? 1 : 0), MPSMIN \(cap.mpsmin)")
        line("VS   = \(c.registers.vs)   CC = \(hexString(c.registers.cc.rawValue))h   CSTS = \(hexString(c.registers.csts.rawValue))h")

        say("Init sequence, one public step at a time")
        var seq = InitSequence.adminOnly
        try seq.remove("identifyController"); try seq.remove("setNumberOfQueues"); try seq.remove("identifyNamespaces")
        for s in seq.steps {
            try s.run(c)
            line("\(s.name.padding(toLength: 20, withPad: " ", startingAt: 0)) CC \(hexString(c.registers.cc.rawValue))h CSTS \(hexString(c.registers.csts.rawValue))h")
        }
        let admin = c.adminQueue!
        let irq = c.interrupts

        say("Identify Controller, built by hand with PRP1")
        let idBuf = try Buffer(count: 4096, from: c.allocator)
        var identify = SQE()
        identify.opc = 0x06                   // Identify
        identify.cid = 0x1D00
        identify.prp1 = idBuf.busAddress()    // one 4 KiB page: PRP1 only
        identify.cdw10 = 0x01                 // CNS 01h: Identify Controller
        _ = try byHand(identify, on: admin, interrupts: irq, what: "Identify")
        let id = idBuf.bytes
        line("model \"\(id.ascii(24, 40))\"  serial \"\(id.ascii(4, 20))\"  firmware \"\(id.ascii(64, 8))\"  MDTS \(id[77])  NN \(id.le32(516))")

        say("Number of queues, then an IO completion queue and submission queue, created by hand")
        let r = c.adminCommand(try DriverCommand.setNumberOfQueues(submissionQueues: 1, completionQueues: 1))
        line("Set Features 07h: \(r.status), granted \(Int(r.dw0 & 0xFFFF) + 1) SQ / \(Int(r.dw0 >> 16) + 1) CQ")
        let vector: UInt16? = c.options.interrupts == .polling ? nil : (c.options.interrupts == .intx ? 0 : 1)
        let io = try c.makeQueuePair(qid: 1, depth: 16, vector: vector)
        var createCQ = SQE()
        createCQ.opc = 0x05                   // Create I/O Completion Queue
        createCQ.cid = 0x1D01
        createCQ.prp1 = io.cq.busAddress
        createCQ.cdw10 = UInt32(io.cq.depth - 1) << 16 | 1        // QSIZE 15 (0's based), QID 1
        createCQ.cdw11 = UInt32(vector ?? 0) << 16 | (vector != nil ? 0b10 : 0) | 0b1  // IV, IEN, PC
        _ = try byHand(createCQ, on: admin, interrupts: irq, what: "Create I/O CQ 1")
        var createSQ = SQE()
        createSQ.opc = 0x01                   // Create I/O Submission Queue
        createSQ.cid = 0x1D02
        createSQ.prp1 = io.sq.busAddress
        createSQ.cdw10 = UInt32(io.sq.depth - 1) << 16 | 1        // QSIZE 15, QID 1
        createSQ.cdw11 = 1 << 16 | 0b1                            // CQID 1, PC
        _ = try byHand(createSQ, on: admin, interrupts: irq, what: "Create I/O SQ 1")

        say("Write \(blocks) LBAs and read them back, by hand-built SQEs and manual doorbells")
        let nsData = try c.identify(cns: 0, nsid: 1)
        let lbaf = 128 + 4 * Int(nsData[26] & 0x0F)
        let lbaSize = 1 << Int(nsData[lbaf + 2])
        line("namespace 1: \(nsData.le64(0)) blocks of \(lbaSize) bytes")
        try Check.within("--blocks", UInt64(blocks), 1, nsData.le64(0), "namespace 1 size in blocks")
        if id[77] > 0 && id[77] < 32 {
            let mdtsBytes = cap.minimumPageSize << Int(id[77])
            try Check.within("--blocks", blocks, 1, mdtsBytes / max(1, lbaSize), "MDTS·MPSMIN is \(mdtsBytes) bytes on \(device.address)")
        }
        let bytes = lbaSize * blocks
        let out = try Buffer(count: bytes, from: c.allocator)
        try out.fill(.random(seed: 2020))
        let back = try Buffer(count: bytes, from: c.allocator)
        var write = SQE()
        write.opc = 0x01                      // Write
        write.cid = 0x1D10
        write.nsid = 1
        let wp = try DataPointer.prp(for: out, pageSize: c.pageSize, allocator: c.allocator)
        write.prp1 = wp.prp1; write.prp2 = wp.prp2
        write.cdw10 = 0                       // SLBA 0
        write.cdw12 = UInt32(blocks - 1)      // NLB, 0's based
        _ = try byHand(write, on: io, interrupts: irq, what: "Write LBA 0-\(blocks - 1)")
        var read = write
        read.opc = 0x02                       // Read
        read.cid = 0x1D11
        let rp = try DataPointer.prp(for: back, pageSize: c.pageSize, allocator: c.allocator)
        read.prp1 = rp.prp1; read.prp2 = rp.prp2
        _ = try byHand(read, on: io, interrupts: irq, what: "Read LBA 0-\(blocks - 1)")
        withExtendedLifetime((wp, rp)) {}
        if let diff = back.compare(to: out) {
            line("MISMATCH: \(diff)")
            mismatch = true
        } else {
            line("read back \(bytes) bytes: identical to what was written")
            line(try back.hexdump(count: 32).split(separator: "\n").first.map(String.init) ?? "")
        }

        say("A malformed command and its status")
        var bad = SQE()
        bad.opc = 0x06                        // Identify ...
        bad.cid = 0x1D20
        bad.prp1 = idBuf.busAddress()
        bad.cdw10 = 0x55                      // ... with a reserved CNS value
        let badCQE = try byHand(bad, on: admin, interrupts: irq, what: "Identify CNS 55h (reserved)")
        let badCompletion = Completion(origin: .device, sqe: bad, cqe: badCQE, latencyNanoseconds: 0)
        line(badCompletion.isSuccess ? "unexpectedly accepted" : badCompletion.statusLine)

        say("An invalid doorbell write and the asynchronous event it raises")
        c.asyncEvents.autoRearm = false
        try c.withAdmin { a in try a.submit(DriverCommand.asynchronousEventRequest(), timeout: .none) }
        line("Asynchronous Event Request posted (no completion until an event happens)")
        // The controller must have fetched the AER before the bad write: a later admin command completing proves it.
        let fetched = c.adminCommand(DriverCommand.getFeatures(fid: 0x07))
        line("Get Features 07h completed (\(fetched.status)): the AER has been fetched")
        io.sq.ring(tail: UInt32(io.sq.depth + 3))
        line("ring:     SQ 1 tail doorbell <- \(io.sq.depth + 3) (the queue has \(io.sq.depth) slots: invalid value)")
        var aer: Completion?
        let deadline = Deadline.after(.seconds(5))
        while aer == nil && !deadline.hasPassed {
            _ = try? c.withAdmin { a in a.poll { done in if done.sqe.opc == 0x0C { aer = done } } }
            if aer == nil { _ = try? irq.wait(vector: 0, timeout: .milliseconds(50)) }
        }
        if let aer {
            let event = AsyncEvent(sequence: 1, dw0: aer.dw0)
            line("AER completed: DW0 \(hexString(aer.dw0))h = \(event)")
            if event.logPage != 0, let log = try? c.getLogPage(lid: event.logPage, length: 64) {
                line("log page \(hexString(event.logPage))h read (clears the event): first bytes \(log.prefix(16).map { hexString($0) }.joined(separator: " "))")
            }
        } else {
            line("no asynchronous event within 5 s")
        }

        say("Command log")
        let entries = CommandLog.merged([admin.log, io.log])
        print(CommandLog.render(entries))
        io.state = .unavailable
        withExtendedLifetime(io) {}
    }
}
