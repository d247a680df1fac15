import Glibc
import NVMePlatform
import Synchronization

// The simulator's only raw-memory file: every load/store the simulated controller performs on host memory through a
// `DMAAddressSpace` (SQ fetch, CQ post, data transfer, shadow doorbells), and its threads. Everything above this
// file handles bytes as values.

/// The controller's view of host memory: typed loads and stores at bus addresses. Every method returns nil/false
/// on a DMA fault (an unmapped address) so the caller can report it the way the spec says.
struct BusMemory: @unchecked Sendable {
    let space: any DMAAddressSpace

    func readSQE(at bus: UInt64) -> SQEWords? {
        guard let p = space.hostPointer(bus: bus, length: 64) else { return nil }
        atomicMemoryFence(ordering: .acquiring)
        var e = SQEWords()
        withUnsafeMutableBytes(of: &e.words) { $0.copyMemory(from: UnsafeRawBufferPointer(start: p, count: 64)) }
        return e
    }

    /// Writes a CQE: dwords 0-2 first, then dword 3 (phase tag) after a fence, so a host polling the phase never
    /// sees a half-written entry.
    func writeCQE(at bus: UInt64, dw0: UInt32, dw1: UInt32, dw2: UInt32, dw3: UInt32) -> Bool {
        guard let p = space.hostPointer(bus: bus, length: 16) else { return false }
        p.storeBytes(of: dw0.littleEndian, toByteOffset: 0, as: UInt32.self)
        p.storeBytes(of: dw1.littleEndian, toByteOffset: 4, as: UInt32.self)
        p.storeBytes(of: dw2.littleEndian, toByteOffset: 8, as: UInt32.self)
        atomicMemoryFence(ordering: .releasing)
        p.storeBytes(of: dw3.littleEndian, toByteOffset: 12, as: UInt32.self)
        return true
    }

    func load32(at bus: UInt64) -> UInt32? {
        guard let p = space.hostPointer(bus: bus, length: 4) else { return nil }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        return UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
    }

    @discardableResult
    func store32(_ v: UInt32, at bus: UInt64) -> Bool {
        guard let p = space.hostPointer(bus: bus, length: 4) else { return false }
        p.storeBytes(of: v.littleEndian, as: UInt32.self)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        return true
    }

    /// Reads `count` little-endian qwords (a PRP list or SGL segment).
    func loadQwords(at bus: UInt64, count: Int) -> [UInt64]? {
        guard let p = space.hostPointer(bus: bus, length: count * 8) else { return nil }
        return (0..<count).map { UInt64(littleEndian: p.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
    }

    /// Copies host memory into `buffer[offset..<offset+length]`.
    func read(bus: UInt64, length: Int, into buffer: inout [UInt8], at offset: Int) -> Bool {
        guard length > 0 else { return true }
        guard let p = space.hostPointer(bus: bus, length: length) else { return false }
        buffer.withUnsafeMutableBytes { dst in
            (dst.baseAddress! + offset).copyMemory(from: p, byteCount: length)
        }
        return true
    }

    /// Copies `buffer[offset..<offset+length]` to host memory.
    func write(bus: UInt64, length: Int, from buffer: [UInt8], at offset: Int) -> Bool {
        guard length > 0 else { return true }
        guard let p = space.hostPointer(bus: bus, length: length) else { return false }
        buffer.withUnsafeBytes { src in p.copyMemory(from: src.baseAddress! + offset, byteCount: length) }
        return true
    }

    /// Fills host memory with one byte (fault injection: clobbering memory outside a command's buffer).
    @discardableResult
    func fill(bus: UInt64, length: Int, byte: UInt8) -> Bool {
        guard let p = space.hostPointer(bus: bus, length: length) else { return false }
        memset(p, Int32(byte), length)
        return true
    }
}

/// The 64 raw bytes of a fetched SQE as 16 dwords (a plain tuple copy, cheaper than building the spec struct on
/// the IO path).
struct SQEWords {
    var words: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    @inline(__always) subscript(_ i: Int) -> UInt32 {
        withUnsafeBytes(of: words) { UInt32(littleEndian: $0.load(fromByteOffset: i * 4, as: UInt32.self)) }
    }
    var opc: UInt8 { UInt8(truncatingIfNeeded: words.0) }
    var fuse: UInt8 { UInt8(truncatingIfNeeded: words.0 >> 8) & 3 }
    var psdt: UInt8 { UInt8(truncatingIfNeeded: words.0 >> 14) & 3 }
    var cid: UInt16 { UInt16(truncatingIfNeeded: words.0 >> 16) }
    var nsid: UInt32 { words.1 }
    var mptr: UInt64 { UInt64(words.4) | UInt64(words.5) << 32 }
    var prp1: UInt64 { UInt64(words.6) | UInt64(words.7) << 32 }
    var prp2: UInt64 { UInt64(words.8) | UInt64(words.9) << 32 }
    var cdw10: UInt32 { words.10 }
    var cdw11: UInt32 { words.11 }
    var cdw12: UInt32 { words.12 }
    var cdw13: UInt32 { words.13 }
    var cdw14: UInt32 { words.14 }
    var cdw15: UInt32 { words.15 }
}

/// A detached OS thread running `body` (the background poller and the clock for delayed completions).
final class SimulatorThread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    private var tid = pthread_t()

    init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&tid, nil, { arg in
            let t = Unmanaged<SimulatorThread>.fromOpaque(arg!).takeRetainedValue()
            t.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed (\(rc)) starting a simulator thread")
    }

    func join() { pthread_join(tid, nil) }
}
