import ArgumentParser
import Foundation
import NVMeDriver

/// `nvmekit cmdlog`: the command log the last nvmekit invocation left for this target.
struct CmdlogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cmdlog", abstract: "Print the command log (SQE/CQE pairs, status, latency) of the last invocation.")

    @OptionGroup var target: TargetOptions
    @Flag(help: "Print JSON (SQE and CQE as dwords, times in ns).") var json = false
    @Option(help: "Only the last N commands (1…1000000).") var last: Int?

    func validate() throws {
        try target.validate()
        try Check.range("--last", last, 1...1_000_000, "commands")
    }

    func run() throws {
        let path = CommandLogFile.path(target: target.resolvedTarget)
        guard let data = FileManager.default.contents(atPath: path) else {
            printError("no command log for target \(target.resolvedTarget) yet (\(path)): run a command first, e.g. nvmekit identify --target \(target.resolvedTarget)")
            throw ExitCode(1)
        }
        guard let entries = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            printError("the command log \(path) is not valid JSON: delete it and run a command again"); throw ExitCode(1)
        }
        try show(entries)
    }

    /// The open controller's own command log (what this session has sent so far).
    func run(on c: Controller) throws {
        let entries = (try? JSONSerialization.jsonObject(with: Data(CommandLog.json(c.commandLog).utf8))) as? [[String: Any]] ?? []
        try show(entries)
    }

    private func show(_ entries: [[String: Any]]) throws {
        let shown = last.map { Array(entries.suffix($0)) } ?? entries
        if json {
            let out = try JSONSerialization.data(withJSONObject: shown, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: out, as: UTF8.self))
            return
        }
        print("  qid   cid  opc  status                                          latency")
        for e in shown {
            let qid = e["qid"] as? Int ?? 0, cid = e["cid"] as? Int ?? 0, opc = e["opcode"] as? Int ?? 0
            let status = (e["status"] as? String ?? "") + " " + (e["statusName"] as? String ?? "")
            let origin = e["origin"] as? String ?? "device"
            let lat = e["latencyNs"] as? Int ?? 0
            let st = origin == "device" ? status : status + " [\(origin)]"
            print(String(repeating: " ", count: max(0, 5 - String(qid).count)) + String(qid)
                  + String(repeating: " ", count: max(0, 6 - String(cid).count)) + String(cid)
                  + "  " + hexString(UInt8(truncatingIfNeeded: opc)) + "h  "
                  + st.padding(toLength: 46, withPad: " ", startingAt: 0) + " " + String(lat) + " ns")
        }
    }
}
