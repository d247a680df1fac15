#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NVMePlatform

/// The persistent part of a simulated controller — namespaces (layout, data, metadata, zones, uncorrectable
/// blocks), firmware slots and SMART counters — in a small binary file, so that several `nvmekit --target sim:FILE`
/// invocations see the same device. Registers and queues are not saved: every process starts with a controller
/// fresh out of a power cycle. Every field is range-checked on load, before anything sized by the file is built.
enum StateFile {
    static let magic: [UInt8] = Array("NVMKSIM1".utf8)
    // Limits a state file must respect (beyond them it is damaged, not a device to build).
    static let maxNamespaces = 1024
    static let maxLBAFormats = 64
    static let maxZones = 1 << 20
    /// Namespace capacity in bytes (NSZE x data size).
    static let maxNamespaceBytes: UInt64 = 1 << 60

    /// The largest state file loaded (it is read whole into memory).
    static let maxFileBytes: UInt64 = 1 << 34

    static func load(_ path: String) throws -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        // A device node, FIFO or directory would be read forever (/dev/zero) or not at all: only regular files.
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard (attributes?[.type] as? FileAttributeType) == .typeRegular else {
            throw PlatformError.unsupported("simulator state file \(path) is not a regular file; name a file, e.g. "
                                            + "--target sim:/tmp/nvmekit-sim.state")
        }
        let size = (attributes?[.size] as? UInt64) ?? (attributes?[.size] as? Int).map { UInt64(max(0, $0)) }
        if let size, size > maxFileBytes {
            throw PlatformError.unsupported("simulator state file \(path) is \(size) bytes, over the \(maxFileBytes)-byte "
                                            + "limit: it is not a state file NVMeKit wrote")
        }
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw PlatformError.unsupported("cannot read simulator state file \(path): \(error) — check its permissions, "
                                            + "or delete it to start from a fresh device: rm \(path)")
        }
    }

    /// Writes atomically: temporary file in the same directory, fsync, rename, fsync of the directory.
    static func save(_ bytes: [UInt8], to path: String) throws {
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            throw PlatformError.unsupported("cannot write simulator state file \(path): \(error) — pick a writable "
                                            + "path, e.g. --target sim:/tmp/nvmekit-sim.state")
        }
    }

    /// FNV-1a of the encoded state: what was loaded or last saved, so an unchanged state is not rewritten.
    static func fingerprint(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h ^ UInt64(bytes.count)
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
        if bytes.first == UInt8(ascii: "[") {
            throw PlatformError.unsupported("simulator state file \(path) is in the JSON block-list format of an older "
                                            + "nvmekit, which is no longer read — delete it to start from a fresh device: rm \(path)")
        }
        guard bytes.count >= StateFile.magic.count, Array(try r.take(StateFile.magic.count)) == StateFile.magic else {
            r.pos = 0
            throw r.damaged("not a simulator state file: no NVMKSIM1 magic")
        }
        var loaded: [UInt32: SimNamespace] = [:]
        let nsCount = try r.u32()
        guard nsCount <= StateFile.maxNamespaces else { throw r.damaged("\(nsCount) namespaces, at most \(StateFile.maxNamespaces)") }
        for _ in 0..<nsCount {
            let nsid = try r.u32(), blocks = try r.u64(), fi = Int(try r.u32())
            guard nsid != 0, nsid != 0xFFFF_FFFF, loaded[nsid] == nil else { throw r.damaged("NSID \(nsid) (zero, broadcast or repeated)") }
            let ext = try r.u8() != 0, attached = try r.u8() != 0
            var formats: [NamespaceConfiguration.LBAFormat] = []
            let formatCount = try r.u32()
            guard formatCount >= 1, formatCount <= StateFile.maxLBAFormats else {
                throw r.damaged("namespace \(nsid) has \(formatCount) LBA formats, expected 1...\(StateFile.maxLBAFormats)")
            }
            for _ in 0..<formatCount {
                let ds = Int(try r.u32()), ms = Int(try r.u32())
                guard ds >= 512, ds <= 1 << 16, ds & (ds - 1) == 0 else { throw r.damaged("LBA data size \(ds), expected a power of two within 512...65536") }
                guard ms <= 0xFFFF else { throw r.damaged("metadata size \(ms), at most 65535") }
                formats.append(.init(dataSize: ds, metadataSize: ms))
            }
            guard fi < formats.count else { throw r.damaged("format index \(fi) of \(formats.count) formats") }
            let ds = UInt64(formats[fi].dataSize), ms = UInt64(formats[fi].metadataSize)
            guard blocks >= 1, blocks <= StateFile.maxNamespaceBytes / ds else {
                throw r.damaged("namespace \(nsid) NSZE \(blocks): expected 1...\(StateFile.maxNamespaceBytes / ds) blocks of \(ds) bytes")
            }
            var zoned: NamespaceConfiguration.ZoneConfiguration?
            var zoneStates: [(UInt64, UInt8)] = []
            if try r.u8() != 0 {
                let size = try r.u64(), cap = try r.u64(), mo = try r.u32(), ma = try r.u32()
                guard size >= 1, size <= blocks, cap >= 1, cap <= size, blocks / size <= UInt64(StateFile.maxZones) else {
                    throw r.damaged("namespace \(nsid) zone size \(size) / capacity \(cap) for \(blocks) blocks (at most \(StateFile.maxZones) zones)")
                }
                zoned = .init(zoneSize: size, zoneCapacity: cap, maxOpen: mo, maxActive: ma)
                let count = try r.u32()
                guard UInt64(count) == blocks / size else { throw r.damaged("\(count) zone states for \(blocks / size) zones") }
                for z in 0..<UInt64(count) {
                    let wp = try r.u64(), st = try r.u8()
                    guard ZoneState(rawValue: st) != nil else { throw r.damaged("zone \(z) state \(st)") }
                    guard wp >= z * size, wp <= z * size + cap else { throw r.damaged("zone \(z) write pointer \(wp) outside the zone") }
                    zoneStates.append((wp, st))
                }
            }
            var ns = SimNamespace(configuration: NamespaceConfiguration(
                nsid: nsid, blockCount: blocks, formatIndex: fi, lbaFormats: formats, extendedMetadata: ext,
                zoned: zoned, attached: attached))
            for (i, (wp, st)) in zoneStates.enumerated() where i < ns.zones.count {
                ns.zones[i].writePointer = wp
                ns.zones[i].state = ZoneState(rawValue: st) ?? .offline
            }
            for _ in 0..<(try r.u32()) {
                let lba = try r.u64()
                guard lba < blocks else { throw r.damaged("uncorrectable LBA \(lba) past NSZE \(blocks)") }
                ns.uncorrectable.insert(lba)
            }
            for (k, perBlock) in [ds, ms].enumerated() {
                let chunks = (blocks * perBlock + UInt64(SparseStorage.chunkSize) - 1) / UInt64(SparseStorage.chunkSize)
                for _ in 0..<(try r.u32()) {
                    let idx = try r.u64()
                    guard idx < chunks else { throw r.damaged("\(k == 0 ? "data" : "metadata") chunk \(idx) past the namespace's \(chunks) chunks") }
                    let b = try r.blob()
                    guard b.count == SparseStorage.chunkSize else { throw r.damaged("chunk of \(b.count) bytes") }
                    if k == 0 { ns.data.setChunk(idx, b) } else { ns.metadata.setChunk(idx, b) }
                }
            }
            loaded[nsid] = ns
        }
        var slots: [String?] = []
        let slotCount = try r.u32()
        guard slotCount <= 7 else { throw r.damaged("\(slotCount) firmware slots, at most 7") }
        for _ in 0..<slotCount { let s = try r.string(); slots.append(s.isEmpty ? nil : s) }
        let active = Int(try r.u32()), pending = Int(try r.u32())
        if !slots.isEmpty {
            guard (1...slots.count).contains(active), (0...slots.count).contains(pending) else {
                throw r.damaged("active firmware slot \(active) / pending \(pending) of \(slots.count) slots")
            }
            firmware.slots = slots
            firmware.active = active
            firmware.pendingActivation = pending == 0 ? nil : pending
        }
        smart.powerCycles = try r.u64() &+ 1
        smart.hostReadCommands = try r.u64(); smart.hostWriteCommands = try r.u64()
        smart.bytesRead = try r.u64(); smart.bytesWritten = try r.u64(); smart.mediaErrors = try r.u64()
        smart.recomputeDataUnits()
        sanitize.status = try r.u8()
        guard r.pos == bytes.count else { throw r.damaged("\(bytes.count - r.pos) bytes after the end of the state") }
        namespaces = loaded
        // A new process is a power cycle: a pending firmware image becomes active.
        firmware.activatePendingOnReset(subsystem: true)
    }
}
