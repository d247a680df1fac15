import Testing
@testable import NVMeSpec

/// A tiny order-preserving JSON reader for nvme-cli's output (objects, arrays, strings, integers).
indirect enum JSONValue: Equatable {
    case number(Int), string(String), array([JSONValue]), object([(String, JSONValue)])
    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        var i = 0
        func ws() { while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 } }
        func value() -> JSONValue? {
            ws()
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1; var out: [(String, JSONValue)] = []
                ws(); if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
                while true {
                    ws(); guard case .string(let k)? = value() else { return nil }
                    ws(); guard bytes[i] == UInt8(ascii: ":") else { return nil }; i += 1
                    guard let v = value() else { return nil }
                    out.append((k, v)); ws()
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
                    return nil
                }
            case UInt8(ascii: "["):
                i += 1; var out: [JSONValue] = []
                ws(); if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
                while true {
                    guard let v = value() else { return nil }
                    out.append(v); ws()
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
                    return nil
                }
            case UInt8(ascii: "\""):
                i += 1; var s: [UInt8] = []
                while bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\") { i += 1 }
                    s.append(bytes[i]); i += 1
                }
                i += 1
                return .string(String(decoding: s, as: UTF8.self))
            default:
                var s = ""
                while i < bytes.count, bytes[i] == UInt8(ascii: "-") || (0x30...0x39).contains(bytes[i]) {
                    s.append(Character(UnicodeScalar(bytes[i]))); i += 1
                }
                return Int(s).map { .number($0) }
            }
        }
        return value()
    }
}

/// Converts our report fields to the JSON nvme-cli would print.
func json(_ fields: [ReportField]) -> JSONValue {
    .object(fields.map { f in
        switch f.value {
        case .int(let v): (f.name, .number(v))
        case .uint(let v): (f.name, .number(Int(truncatingIfNeeded: v)))
        case .double(let v): (f.name, .number(Int(v)))
        case .string(let s): (f.name, .string(s))
        case .objects(let o): (f.name, .array(o.map { json($0) }))
        }
    })
}

/// Field-by-field comparison so a failure names the key.
func expectSame(_ ours: JSONValue, _ theirs: JSONValue, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard case .object(let a) = ours, case .object(let b) = theirs else {
        #expect(ours == theirs, "\(what)", sourceLocation: sourceLocation); return
    }
    #expect(a.map(\.0) == b.map(\.0), "\(what): key order", sourceLocation: sourceLocation)
    for (k, v) in b {
        let mine = a.first { $0.0 == k }?.1
        #expect(mine == v, "\(what).\(k): ours \(String(describing: mine)) nvme-cli \(v)", sourceLocation: sourceLocation)
    }
}

let qemuFixturesPresent = fixture("qemu/controller-a/id-ctrl.bin") != nil

@Suite("QEMU 7.2 captured blobs decode to what nvme-cli 2.3 printed for them",
       .enabled(if: qemuFixturesPresent, "Fixtures/qemu not present (captured by tools/vm capture-fixtures)"))
struct QEMUFixtureTests {
    func load(_ path: String) throws -> [UInt8] { try #require(fixture("qemu/" + path), "missing Fixtures/qemu/\(path)") }
    func nvmeCLI(_ path: String) throws -> JSONValue { try #require(JSONValue.parse(try load(path)), "unparsable \(path)") }

    @Test("Identify Controller: every nvme-cli id-ctrl key, in order, with the same value", arguments: ["controller-a", "controller-b"])
    func identifyController(controller: String) throws {
        let c = try #require(IdentifyController(bytes: try load("\(controller)/id-ctrl.bin")))
        expectSame(json(c.nvmeCLIFields), try nvmeCLI("\(controller)/id-ctrl.json"), "\(controller) id-ctrl")
        #expect(c.vid == 0x1B36 && c.mn.hasPrefix("QEMU NVMe Ctrl") && c.sqes == 0x66 && c.cqes == 0x44)
        #expect(c.fr.hasPrefix("7.2") && c.version == Version(mjr: 1, mnr: 4))
    }

    @Test("Identify Namespace: every nvme-cli id-ns key with the same value",
          arguments: ["controller-a/id-ns-1", "controller-a/id-ns-2", "controller-b/id-ns-1"])
    func identifyNamespace(file: String) throws {
        let n = try #require(IdentifyNamespace(bytes: try load(file + ".bin")))
        expectSame(json(n.nvmeCLIFields), try nvmeCLI(file + ".json"), file)
        #expect(n.lbaDataSize == 512 || n.lbaDataSize == 4096)
    }

    @Test("controller A nsid 2 is formatted 4096 + 8 bytes metadata as the capture note says")
    func namespaceFormats() throws {
        let n1 = try #require(IdentifyNamespace(bytes: try load("controller-a/id-ns-1.bin")))
        let n2 = try #require(IdentifyNamespace(bytes: try load("controller-a/id-ns-2.bin")))
        #expect(n1.lbaDataSize == 512 && n1.metadataSize == 0)
        #expect(n2.lbaDataSize == 4096 && n2.metadataSize == 8)
    }

    @Test("ZNS Identify Namespace/Controller match nvme-cli zns id-ns / id-ctrl; zone size 16 MiB of 4 KiB blocks")
    func zoned() throws {
        let ns = try #require(IdentifyNamespace(bytes: try load("controller-b/id-ns-1.bin")))
        let z = try #require(ZonedIdentifyNamespace(bytes: try load("controller-b/zns-id-ns-1.bin")))
        expectSame(json(z.nvmeCLIFields(nlbaf: Int(ns.nlbaf))), try nvmeCLI("controller-b/zns-id-ns-1.json"), "zns id-ns")
        #expect(UInt64(ns.lbaDataSize) * z[lbafe: ns.formatIndex].zsze == 16 * 1024 * 1024)
        let zc = try #require(ZonedIdentifyController(bytes: try load("controller-b/zns-id-ctrl.bin")))
        expectSame(json(zc.nvmeCLIFields), try nvmeCLI("controller-b/zns-id-ctrl.json"), "zns id-ctrl")
    }

    @Test("SMART / Health and Error Information logs match nvme-cli smart-log / error-log", arguments: ["controller-a", "controller-b"])
    func logs(controller: String) throws {
        let s = try #require(SMARTHealthLog(bytes: try load("\(controller)/smart-log.bin")))
        expectSame(json(s.nvmeCLIFields), try nvmeCLI("\(controller)/smart-log.json"), "\(controller) smart-log")
        let e = ErrorInformationLog(bytes: try load("\(controller)/error-log.bin"))
        let theirs = try nvmeCLI("\(controller)/error-log.json")
        expectSame(.object([("errors", .array(e.entries.map { json($0.nvmeCLIFields) }))]), theirs, "\(controller) error-log")
    }

    @Test("Firmware slot log: active slot and slot 1 revision as nvme-cli reports them")
    func firmwareSlot() throws {
        let fw = try #require(FirmwareSlotLog(bytes: try load("controller-a/fw-log.bin")))
        guard case .object(let root) = try nvmeCLI("controller-a/fw-log.json"), case .object(let info) = root.first?.1 else {
            Issue.record("unexpected fw-log.json shape"); return
        }
        #expect(info.first { $0.0 == "Active Firmware Slot (afi)" }?.1 == .number(Int(fw.afi)))
        // nvme-cli prints slot 1 as the little-endian u64 of its 8 bytes.
        let frs1 = fw.bytes[8..<16].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard case .string(let s)? = info.first(where: { $0.0 == "Firmware Rev Slot 1" })?.1 else { Issue.record("no slot 1"); return }
        #expect(s.hasPrefix("\(frs1) ("))
        #expect(fw[frs: 1].hasPrefix("1.0"))
    }

    @Test("Commands Supported and Effects: QEMU supports Identify, Get Log Page and Read/Write")
    func effects() throws {
        let fx = try #require(CommandsSupportedAndEffectsLog(bytes: try load("controller-a/effects-log.bin")))
        #expect(fx[admin: AdminOpcode.identify.rawValue].csupp && fx[admin: AdminOpcode.getLogPage.rawValue].csupp)
        #expect(fx[io: IOOpcode.read.rawValue].csupp && fx[io: IOOpcode.write.rawValue].lbcc)
        #expect(!fx[admin: AdminOpcode.sanitize.rawValue].csupp)   // QEMU 7.2 has no Sanitize
    }
}

@Suite("nvme-cli JSON layout", .enabled(if: qemuFixturesPresent, "Fixtures/qemu not present (captured by tools/vm capture-fixtures)"))
struct NVMeCLIJSONLayoutTests {
    @Test("renderJSON reproduces nvme-cli 2.3's id-ctrl, id-ns and smart-log output byte for byte",
          arguments: ["controller-a/id-ctrl", "controller-a/id-ns-2", "controller-b/smart-log"])
    func byteForByte(file: String) throws {
        let bin = try #require(fixture("qemu/\(file).bin"))
        let theirs = try #require(fixture("qemu/\(file).json"))
        let fields: [ReportField]
        if file.hasSuffix("id-ctrl") { fields = try #require(IdentifyController(bytes: bin)).nvmeCLIFields }
        else if file.contains("id-ns") { fields = try #require(IdentifyNamespace(bytes: bin)).nvmeCLIFields }
        else { fields = try #require(SMARTHealthLog(bytes: bin)).nvmeCLIFields }
        let ours = renderJSON(fields)
        #expect(ours == String(decoding: theirs, as: UTF8.self))
    }
}
