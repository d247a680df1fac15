import NVMeDriver
import NVMePlatform
import NVMeSpec

/// The text a failing test carries: which controller, its registers now, and the last commands of every queue.
public enum FailureReport {
    /// Renders the report. Reads registers (MMIO) and the queues' command logs: call it on the test's thread.
    public static func render(controller c: Controller, target: TestTarget, commands: Int) -> String {
        var out = "NVMeTestKit failure record\n"
        out += "controller: \(identity(c)) on \(target) [\(c.device.backend) \(c.device.address)]\n"
        let r = c.registers
        let csts = r.csts
        out += "registers:\n"
        out += "  \(r.cap)\n  VS \(r.vs)\n  \(r.cc)\n  \(csts)\n  \(r.aqa)\n"
        out += "  ASQ 0x\(String(r.asq, radix: 16, uppercase: true))  ACQ 0x\(String(r.acq, radix: 16, uppercase: true))\n"
        if csts.isAllOnes { out += "  (registers read all ones: the device is gone)\n" }
        let queues = ([c.adminQueue].compactMap { $0 } + c.ioQueues)
        for qp in queues {
            let entries = qp.log.entries.suffix(max(0, commands))
            out += "queue \(qp.qid): sq tail \(qp.sq.tail) head \(qp.sq.head), cq head \(qp.cq.head) phase \(qp.cq.phase ? 1 : 0), "
                + "\(qp.outstanding) outstanding, last \(entries.count) of \(qp.log.recorded) commands\n"
            if !entries.isEmpty { out += CommandLog.render(Array(entries)) }
            if !qp.unexpectedCompletions.isEmpty {
                out += "  unexpected CQEs (no outstanding CID): " + qp.unexpectedCompletions.suffix(8).map(\.description).joined(separator: "; ") + "\n"
            }
        }
        return out
    }

    /// `QEMU NVMe Ctrl, SN deadbeef, FR 1.0, VID 1B36, NVMe 1.4.0`.
    static func identity(_ c: Controller) -> String {
        guard c.identifyData.count == 4096 else { return "(not identified), NVMe \(c.registers.vs)" }
        var id = IdentifyController()
        id.bytes = c.identifyData
        let vid = String(id.vid, radix: 16, uppercase: true)
        return "\(id.mn.trimmedSpaces()), SN \(id.sn.trimmedSpaces()), FR \(id.fr.trimmedSpaces()), VID \(vid), NVMe \(c.registers.vs)"
    }
}

extension String {
    func trimmedSpaces() -> String {
        var s = Substring(self)
        while s.last == " " || s.last == "\0" { s = s.dropLast() }
        while s.first == " " { s = s.dropFirst() }
        return String(s)
    }
}
