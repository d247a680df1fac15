#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NVMePlatform

/// The persistent part of a simulated controller — namespaces (layout, data, metadata, zones, uncorrectable
/// blocks), firmware slots and SMART counters — in a small binary file, so that several `nvmekit --target sim:FILE`
/// invocations see the same device. Registers and queues are not saved: every process starts with a controller
/// fresh out of a power cycle.
enum StateFile {
    static let magic: [UInt8] = Array("NVMKSIM1".utf8)

    static func load(_ path: String) throws -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw PlatformError.unsupported("cannot read simulator state file \(path): \(error) — check its permissions, "
                                            + "or delete it to start from a fresh device: rm \(path)")
        }
    }

    static func save(_ bytes: [UInt8], to path: String) throws {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw PlatformError.unsupported("cannot write simulator state file \(path): \(error) — pick a writable "
                                            + "path, e.g. --target sim:/tmp/nvmekit-sim.state")
        }
    }
}

struct StateWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func string(_ s: String) { let u = Array(s.utf8); u32(UInt32(u.count)); bytes += u }
    mutating func blob(_ b: [UInt8]) { u32(UInt32(b.count)); bytes += b }
}

struct StateReader {
    let bytes: [UInt8]
    let path: String
    var pos = 0

    func damaged(_ what: String) -> PlatformError {
        .unsupported("simulator state file \(path) is damaged (\(what) at byte \(pos)) — delete it to start from a "
                     + "fresh device: rm \(path)")
    }
    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, pos + n <= bytes.count else { throw damaged("truncated") }
        defer { pos += n }
        return bytes[pos..<(pos + n)]
    }
    mutating func u8() throws -> UInt8 { try take(1).first! }
    mutating func u32() throws -> UInt32 {
        try take(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }
    mutating func u64() throws -> UInt64 {
        try take(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }
    mutating func string() throws -> String { String(decoding: try take(Int(try u32())), as: UTF8.self) }
    mutating func blob() throws -> [UInt8] { Array(try take(Int(try u32()))) }
}

extension ControllerState {
    func encodeState() -> [UInt8] {
        var w = StateWriter()
        w.bytes = StateFile.magic
        w.u32(UInt32(namespaces.count))
        for ns in namespaces.values.sorted(by: { $0.nsid < $1.nsid }) {
            let c = ns.config
            w.u32(c.nsid); w.u64(c.blockCount); w.u32(UInt32(c.formatIndex))
            w.u8(c.extendedMetadata ? 1 : 0); w.u8(c.attached ? 1 : 0)
            w.u32(UInt32(c.lbaFormats.count))
            for f in c.lbaFormats { w.u32(UInt32(f.dataSize)); w.u32(UInt32(f.metadataSize)) }
            if let z = c.zoned {
                w.u8(1); w.u64(z.zoneSize); w.u64(z.zoneCapacity); w.u32(z.maxOpen); w.u32(z.maxActive)
                w.u32(UInt32(ns.zones.count))
                for zone in ns.zones { w.u64(zone.writePointer); w.u8(zone.state.rawValue) }
            } else {
                w.u8(0)
            }
            w.u32(UInt32(ns.uncorrectable.count))
            for lba in ns.uncorrectable.sorted() { w.u64(lba) }
            for store in [ns.data, ns.metadata] {
                let chunks = store.allChunks
                w.u32(UInt32(chunks.count))
                for (i, b) in chunks { w.u64(i); w.blob(b) }
            }
        }
        w.u32(UInt32(firmware.slots.count))
        for s in firmware.slots { w.string(s ?? "") }
        w.u32(UInt32(firmware.active)); w.u32(UInt32(firmware.pendingActivation ?? 0))
        w.u64(smart.powerCycles); w.u64(smart.hostReadCommands); w.u64(smart.hostWriteCommands)
        w.u64(smart.bytesRead); w.u64(smart.bytesWritten); w.u64(smart.mediaErrors)
        w.u8(sanitize.status)
        return w.bytes
    }

    mutating func decodeState(_ bytes: [UInt8], path: String) throws {
        var r = StateReader(bytes: bytes, path: path)
        guard Array(try r.take(StateFile.magic.count)) == StateFile.magic else { throw r.damaged("not a simulator state file") }
        var loaded: [UInt32: SimNamespace] = [:]
        for _ in 0..<(try r.u32()) {
            let nsid = try r.u32(), blocks = try r.u64(), fi = Int(try r.u32())
            let ext = try r.u8() != 0, attached = try r.u8() != 0
            var formats: [NamespaceConfiguration.LBAFormat] = []
            for _ in 0..<(try r.u32()) {
                let ds = Int(try r.u32()), ms = Int(try r.u32())
                guard ds >= 512, ds & (ds - 1) == 0 else { throw r.damaged("LBA data size \(ds)") }
                formats.append(.init(dataSize: ds, metadataSize: ms))
            }
            guard fi < formats.count else { throw r.damaged("format index \(fi)") }
            var zoned: NamespaceConfiguration.ZoneConfiguration?
            var zoneStates: [(UInt64, UInt8)] = []
            if try r.u8() != 0 {
                let size = try r.u64(), cap = try r.u64(), mo = try r.u32(), ma = try r.u32()
                zoned = .init(zoneSize: size, zoneCapacity: cap, maxOpen: mo, maxActive: ma)
                for _ in 0..<(try r.u32()) { zoneStates.append((try r.u64(), try r.u8())) }
            }
            var ns = SimNamespace(configuration: NamespaceConfiguration(
                nsid: nsid, blockCount: blocks, formatIndex: fi, lbaFormats: formats, extendedMetadata: ext,
                zoned: zoned, attached: attached))
            for (i, (wp, st)) in zoneStates.enumerated() where i < ns.zones.count {
                ns.zones[i].writePointer = wp
                ns.zones[i].state = ZoneState(rawValue: st) ?? .offline
            }
            for _ in 0..<(try r.u32()) { ns.uncorrectable.insert(try r.u64()) }
            for k in 0..<2 {
                for _ in 0..<(try r.u32()) {
                    let idx = try r.u64(), b = try r.blob()
                    guard b.count == SparseStorage.chunkSize else { throw r.damaged("chunk of \(b.count) bytes") }
                    if k == 0 { ns.data.setChunk(idx, b) } else { ns.metadata.setChunk(idx, b) }
                }
            }
            loaded[nsid] = ns
        }
        var slots: [String?] = []
        for _ in 0..<(try r.u32()) { let s = try r.string(); slots.append(s.isEmpty ? nil : s) }
        let active = Int(try r.u32()), pending = Int(try r.u32())
        if !slots.isEmpty {
            firmware.slots = slots
            firmware.active = (1...slots.count).contains(active) ? active : 1
            firmware.pendingActivation = pending == 0 ? nil : pending
        }
        smart.powerCycles = try r.u64() + 1
        smart.hostReadCommands = try r.u64(); smart.hostWriteCommands = try r.u64()
        smart.bytesRead = try r.u64(); smart.bytesWritten = try r.u64(); smart.mediaErrors = try r.u64()
        smart.recomputeDataUnits()
        sanitize.status = try r.u8()
        namespaces = loaded
        // A new process is a power cycle: a pending firmware image becomes active.
        firmware.activatePendingOnReset(subsystem: true)
    }
}
