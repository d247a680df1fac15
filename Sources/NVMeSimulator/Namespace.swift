import NVMeSpec

/// Zone states — ZNS 1.1 §2.1.1, Figure 8 (values as reported in the zone descriptor).
enum ZoneState: UInt8 {
    case empty = 0x1, implicitlyOpened = 0x2, explicitlyOpened = 0x3, closed = 0x4
    case readOnly = 0xD, full = 0xE, offline = 0xF

    var isOpen: Bool { self == .implicitlyOpened || self == .explicitlyOpened }
    var isActive: Bool { isOpen || self == .closed }
}

struct Zone {
    var start: UInt64
    var capacity: UInt64
    var writePointer: UInt64
    var state: ZoneState = .empty
    /// Zone Attributes byte of the descriptor (bit 7 ZDEV, bit 2 RZR, bit 1 FZR, bit 0 ZFC).
    var attributes: UInt8 = 0
}

/// A namespace's contents and per-namespace state.
struct SimNamespace {
    var config: NamespaceConfiguration
    var data = SparseStorage()
    var metadata = SparseStorage()
    /// LBAs marked by Write Uncorrectable; a read or verify of one fails with Unrecovered Read Error.
    var uncorrectable: Set<UInt64> = []
    var zones: [Zone] = []

    init(configuration: NamespaceConfiguration) {
        config = configuration
        resetZones()
    }

    var nsid: UInt32 { config.nsid }
    var blockSize: Int { config.blockSize }
    var metadataSize: Int { config.metadataSize }
    var blockCount: UInt64 { config.blockCount }
    /// blockCount × blockSize in bytes, UInt64.max when that does not fit (a configured NSZE may be any 64-bit value).
    var capacityBytes: UInt64 {
        let (bytes, overflow) = blockCount.multipliedReportingOverflow(by: UInt64(max(0, blockSize)))
        return overflow ? .max : bytes
    }
    /// Bytes per block in the host data buffer: the block plus its metadata when metadata is extended (FLBAS bit 4).
    var transferBlockSize: Int { config.extendedMetadata ? blockSize + metadataSize : blockSize }
    var isZoned: Bool { config.zoned != nil }
    /// Command Set Identifier: 0 NVM, 2 Zoned Namespace.
    var csi: UInt8 { isZoned ? 2 : 0 }

    mutating func resetZones() {
        zones = []
        guard let z = config.zoned, z.zoneSize > 0 else { return }
        var start: UInt64 = 0
        while start + z.zoneSize <= config.blockCount {
            zones.append(Zone(start: start, capacity: min(z.zoneCapacity, z.zoneSize), writePointer: start))
            start += z.zoneSize
        }
    }

    func zoneIndex(of lba: UInt64) -> Int? {
        guard let z = config.zoned, z.zoneSize > 0 else { return nil }
        let i = Int(lba / z.zoneSize)
        return i < zones.count ? i : nil
    }

    /// Reads `count` blocks starting at `slba` as the host buffer lays them out (data, or data+metadata interleaved).
    func readBlocks(slba: UInt64, count: Int) -> [UInt8] {
        let bs = blockSize
        if !config.extendedMetadata || metadataSize == 0 {
            return data.read(offset: slba * UInt64(bs), count: count * bs)
        }
        let ms = metadataSize
        var out = [UInt8](repeating: 0, count: count * (bs + ms))
        for i in 0..<count {
            let lba = slba + UInt64(i)
            data.read(offset: lba * UInt64(bs), count: bs, into: &out, at: i * (bs + ms))
            metadata.read(offset: lba * UInt64(ms), count: ms, into: &out, at: i * (bs + ms) + bs)
        }
        return out
    }

    mutating func writeBlocks(slba: UInt64, count: Int, from buf: [UInt8]) {
        let bs = blockSize
        if !config.extendedMetadata || metadataSize == 0 {
            data.write(offset: slba * UInt64(bs), from: buf, at: 0, count: count * bs)
        } else {
            let ms = metadataSize
            for i in 0..<count {
                let lba = slba + UInt64(i)
                data.write(offset: lba * UInt64(bs), from: buf, at: i * (bs + ms), count: bs)
                metadata.write(offset: lba * UInt64(ms), from: buf, at: i * (bs + ms) + bs, count: ms)
            }
        }
        if !uncorrectable.isEmpty { for i in 0..<UInt64(count) { uncorrectable.remove(slba + i) } }
    }

    /// Separate metadata (MPTR) for `count` blocks.
    func readSeparateMetadata(slba: UInt64, count: Int) -> [UInt8] {
        metadata.read(offset: slba * UInt64(metadataSize), count: count * metadataSize)
    }

    mutating func writeSeparateMetadata(slba: UInt64, count: Int, from buf: [UInt8]) {
        metadata.write(offset: slba * UInt64(metadataSize), from: buf, at: 0, count: count * metadataSize)
    }

    mutating func zero(slba: UInt64, count: UInt64) {
        data.zero(offset: slba * UInt64(blockSize), count: count * UInt64(blockSize))
        if metadataSize > 0 { metadata.zero(offset: slba * UInt64(metadataSize), count: count * UInt64(metadataSize)) }
        if !uncorrectable.isEmpty { for i in 0..<count { uncorrectable.remove(slba + i) } }
    }

    mutating func eraseAll() {
        data.removeAll(); metadata.removeAll(); uncorrectable.removeAll(); resetZones()
    }

    /// Blocks with allocated storage (NUSE, approximated at chunk granularity).
    var usedBlocks: UInt64 {
        min(blockCount, UInt64(data.allocatedBytes / max(1, blockSize)))
    }
}
