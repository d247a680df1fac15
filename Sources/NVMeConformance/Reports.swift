import Foundation

/// Text, JUnit XML and JSON renderings of a conformance run.
public enum ConformanceReport {
    /// `id  PASS|FAIL|N/A  title` and, for a failure, the expected and observed values.
    public static func line(_ r: ConformanceResult) -> String {
        switch r.outcome {
        case .pass: return "\(r.test.id)  PASS"
        case .fail(let e, let o): return "\(r.test.id)  FAIL  expected \(e); observed \(o)  [\(r.test.citation)]"
        case .notApplicable(let why): return "\(r.test.id)  N/A   \(why)"
        }
    }

    public static func counts(_ results: [ConformanceResult]) -> (passed: Int, failed: Int, notApplicable: Int) {
        var p = 0, f = 0, n = 0
        for r in results {
            switch r.outcome {
            case .pass: p += 1
            case .fail: f += 1
            case .notApplicable: n += 1
            }
        }
        return (p, f, n)
    }

    public static func summary(_ results: [ConformanceResult]) -> String {
        let c = counts(results)
        return "\(c.passed) passed, \(c.failed) failed, \(c.notApplicable) not applicable"
    }

    /// The ids of the failed tests.
    public static func failedIDs(_ results: [ConformanceResult]) -> [String] {
        results.compactMap { if case .fail = $0.outcome { $0.test.id } else { nil } }
    }

    /// JUnit XML: one `testsuite` per area and one `testcase` per test, a failure with its message and the last
    /// commands in `system-out`, a not-applicable test as `skipped` with the capability field.
    public static func junit(_ results: [ConformanceResult], target: String) -> String {
        let c = counts(results)
        let total = results.reduce(0) { $0 + $1.seconds }
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x += "<testsuites name=\"nvmekit conformance\" tests=\"\(results.count)\" failures=\"\(c.failed)\" skipped=\"\(c.notApplicable)\" time=\"\(fmt(total))\">\n"
        for area in ConformanceArea.allCases {
            let rs = results.filter { $0.test.area == area }
            guard !rs.isEmpty else { continue }
            let ac = counts(rs)
            x += "  <testsuite name=\"conformance.\(area.rawValue)\" tests=\"\(rs.count)\" failures=\"\(ac.failed)\" skipped=\"\(ac.notApplicable)\" errors=\"0\" time=\"\(fmt(rs.reduce(0) { $0 + $1.seconds }))\">\n"
            x += "    <properties><property name=\"target\" value=\"\(esc(target))\"/></properties>\n"
            for r in rs {
                x += "    <testcase classname=\"conformance.\(area.rawValue)\" name=\"\(esc(r.test.id))\" time=\"\(fmt(r.seconds))\">\n"
                switch r.outcome {
                case .pass: break
                case .fail(let e, let o):
                    x += "      <failure message=\"\(esc("expected \(e); observed \(o)"))\" type=\"nonconformance\">\(esc("\(r.test.title)\n\(r.test.citation)\nexpected: \(e)\nobserved: \(o)"))</failure>\n"
                case .notApplicable(let why):
                    x += "      <skipped message=\"\(esc(why))\"/>\n"
                }
                let out = "\(r.test.title)\n\(r.test.citation)\n" + (r.recentCommands.isEmpty ? "" : "last commands:\n" + r.recentCommands.joined(separator: "\n"))
                x += "      <system-out>\(esc(out))</system-out>\n"
                x += "    </testcase>\n"
            }
            x += "  </testsuite>\n"
        }
        x += "</testsuites>\n"
        return x
    }

    /// A JSON array of `{id, title, citation, area, result, expected?, observed?, reason?, seconds}` and the counts.
    public static func json(_ results: [ConformanceResult], target: String) -> String {
        var tests: [[String: Any]] = []
        for r in results {
            var d: [String: Any] = ["id": r.test.id, "title": r.test.title, "citation": r.test.citation,
                                    "area": r.test.area.rawValue, "result": r.outcome.kind, "seconds": r.seconds]
            switch r.outcome {
            case .pass: break
            case .fail(let e, let o): d["expected"] = e; d["observed"] = o; d["commands"] = r.recentCommands
            case .notApplicable(let why): d["reason"] = why
            }
            tests.append(d)
        }
        let c = counts(results)
        let root: [String: Any] = ["target": target, "passed": c.passed, "failed": c.failed,
                                   "notApplicable": c.notApplicable, "tests": tests]
        let data = (try? JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The list of tests for `--list`: id, citation, title.
    public static func list(_ tests: [ConformanceTest]) -> String {
        tests.map { "\($0.id)  \($0.citation)  \($0.title)" }.joined(separator: "\n")
    }

    static func fmt(_ s: Double) -> String { String(format: "%.3f", s) }

    /// XML-escapes text, dropping characters XML 1.0 cannot hold.
    static func esc(_ s: String) -> String {
        var o = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&apos;"
            case "\n", "\t", "\r": o.unicodeScalars.append(ch)
            default: if ch.value >= 0x20 { o.unicodeScalars.append(ch) }
            }
        }
        return o
    }
}
