/// Byte-addressed sparse storage: 64 KiB chunks allocated on first write; never-written bytes read as zero.
/// A namespace holds one for data and one for metadata.
struct SparseStorage: Sendable {
    static let chunkSize = 65_536
    private(set) var chunks: [UInt64: [UInt8]] = [:]

    /// Bytes allocated (for reports and the state file).
    var allocatedBytes: Int { chunks.count * Self.chunkSize }

    func read(offset: UInt64, count: Int, into out: inout [UInt8], at dst: Int) {
        var pos = offset, left = count, d = dst
        while left > 0 {
            let idx = pos / UInt64(Self.chunkSize)
            let inChunk = Int(pos % UInt64(Self.chunkSize))
            let n = min(left, Self.chunkSize - inChunk)
            if let c = chunks[idx] {
                out[d..<(d + n)] = c[inChunk..<(inChunk + n)]
            } else {
                out.replaceSubrange(d..<(d + n), with: repeatElement(0, count: n))
            }
            pos += UInt64(n); left -= n; d += n
        }
    }

    func read(offset: UInt64, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        read(offset: offset, count: count, into: &out, at: 0)
        return out
    }

    mutating func write(offset: UInt64, from data: [UInt8], at src: Int = 0, count: Int? = nil) {
        var pos = offset, left = count ?? (data.count - src), s = src
        while left > 0 {
            let idx = pos / UInt64(Self.chunkSize)
            let inChunk = Int(pos % UInt64(Self.chunkSize))
            let n = min(left, Self.chunkSize - inChunk)
            if chunks[idx] == nil { chunks[idx] = [UInt8](repeating: 0, count: Self.chunkSize) }
            chunks[idx]![inChunk..<(inChunk + n)] = data[s..<(s + n)]
            pos += UInt64(n); left -= n; s += n
        }
    }

    /// Sets a range to zero, dropping whole chunks.
    mutating func zero(offset: UInt64, count: UInt64) {
        var pos = offset, left = count
        while left > 0 {
            let idx = pos / UInt64(Self.chunkSize)
            let inChunk = pos % UInt64(Self.chunkSize)
            let n = min(left, UInt64(Self.chunkSize) - inChunk)
            if inChunk == 0 && n == UInt64(Self.chunkSize) {
                chunks[idx] = nil
            } else if chunks[idx] != nil {
                chunks[idx]!.replaceSubrange(Int(inChunk)..<Int(inChunk + n), with: repeatElement(0, count: Int(n)))
            }
            pos += n; left -= n
        }
    }

    mutating func removeAll() { chunks.removeAll() }

    /// Every allocated chunk, for the state file.
    var allChunks: [(UInt64, [UInt8])] { chunks.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    mutating func setChunk(_ index: UInt64, _ bytes: [UInt8]) { chunks[index] = bytes }
}
