import NVMeSpec

/// One piece of a command's data buffer: a bus run, or a bit bucket (`bus == nil`: data the host discards).
struct DataSegment: Hashable {
    var bus: UInt64?
    var length: Int
}

enum MapResult {
    case success([DataSegment])
    case failure(CompletionStatus)
}

extension ControllerState {
    /// Maps the command's data pointer (PRP1/PRP2 or SGL1 per CDW0.PSDT) to `length` bytes of bus runs, checking
    /// MDTS first (Base §4.3.1 PRP, §4.3.2 SGL; QEMU `nvme_map_dptr`). SGLs are accepted on I/O queues only.
    func mapDataPointer(_ sqe: SQEWords, length: Int, allowSGL: Bool, isWrite: Bool = false) -> MapResult {
        if length == 0 { return .success([]) }
        if let max = maxTransferBytes, length > max { return .failure(Status.invalidField) }
        switch sqe.psdt {
        case 0: return mapPRP(prp1: sqe.prp1, prp2: sqe.prp2, length: length)
        case 1, 2:
            guard allowSGL else { return .failure(Status.invalidField) }
            let d = SGLDescriptor(address: sqe.prp1, dword2: sqe[8], dword3: sqe[9])
            return mapSGL(d, length: length, isWrite: isWrite)
        default: return .failure(Status.invalidField)
        }
    }

    /// PRP walk: PRP1 may carry an offset; PRP2 is the second page when the rest fits in one page, otherwise a
    /// PRP list whose last entry in each list page chains to the next list page (Base §4.3.1, Figure 108).
    func mapPRP(prp1: UInt64, prp2: UInt64, length: Int) -> MapResult {
        let ps = UInt64(pageSize)
        let mask = ps - 1
        let first = min(UInt64(length), ps - (prp1 & mask))
        var segs = [DataSegment(bus: prp1, length: Int(first))]
        var left = UInt64(length) - first
        if left == 0 { return .success(segs) }
        if left <= ps {
            guard prp2 & mask == 0 else { return .failure(Status.invalidPRPOffset) }
            segs.append(DataSegment(bus: prp2, length: Int(left)))
            return .success(segs)
        }
        guard prp2 & 7 == 0 else { return .failure(Status.invalidPRPOffset) }
        var list = prp2
        while left > 0 {
            let entriesInPage = Int((ps - (list & mask)) / 8)
            let pagesNeeded = Int((left + ps - 1) / ps)
            let chain = pagesNeeded > entriesInPage
            let count = chain ? entriesInPage : pagesNeeded
            guard let entries = bus.loadQwords(at: list, count: count) else { return .failure(Status.dataTransferError) }
            let dataEntries = chain ? count - 1 : count
            for i in 0..<dataEntries {
                let e = entries[i]
                guard e & mask == 0 else { return .failure(Status.invalidPRPOffset) }
                let n = min(left, ps)
                if let last = segs.last, let b = last.bus, b &+ UInt64(last.length) == e {
                    segs[segs.count - 1].length += Int(n)
                } else {
                    segs.append(DataSegment(bus: e, length: Int(n)))
                }
                left -= n
            }
            if chain {
                list = entries[count - 1]
                guard list & mask == 0 else { return .failure(Status.invalidPRPOffset) }
            }
        }
        return .success(segs)
    }

    /// SGL walk: data block and bit bucket descriptors, segments chained through a segment descriptor in the last
    /// slot of a segment, ending with a last segment descriptor (Base §4.3.2). Data beyond `length` is ignored,
    /// as QEMU does; too little data is Data SGL Length Invalid.
    func mapSGL(_ first: SGLDescriptor, length: Int, isWrite: Bool) -> MapResult {
        var segs: [DataSegment] = []
        var left = length
        var pending: [SGLDescriptor] = [first]
        var inLastSegment = false
        var guardCount = 0
        while let d = pending.first, left > 0 {
            pending.removeFirst()
            guardCount += 1
            if guardCount > 65_536 { return .failure(Status.invalidSGLSegmentDescriptor) }
            switch d.type {
            case .dataBlock?:
                guard d.subtype == 0 else { return .failure(Status.sglDescriptorTypeInvalid) }
                let n = min(left, Int(d.length))
                if n > 0 { segs.append(DataSegment(bus: d.address, length: n)) }
                left -= n
            case .bitBucket?:
                guard !isWrite else { return .failure(Status.sglDescriptorTypeInvalid) }
                let n = min(left, Int(d.length))
                if n > 0 { segs.append(DataSegment(bus: nil, length: n)) }
                left -= n
            case .segment?, .lastSegment?:
                guard d.subtype == 0 else { return .failure(Status.sglDescriptorTypeInvalid) }
                // A segment descriptor is only valid as the last descriptor of its segment, never inside the last
                // segment, and a segment is a whole number of 16-byte descriptors.
                guard pending.isEmpty, !inLastSegment, d.length > 0, d.length % 16 == 0 else {
                    return .failure(Status.invalidSGLSegmentDescriptor)
                }
                let count = Int(d.length / 16)
                guard let q = bus.loadQwords(at: d.address, count: count * 2) else {
                    return .failure(Status.dataTransferError)
                }
                pending = (0..<count).map {
                    SGLDescriptor(address: q[2 * $0], dword2: UInt32(truncatingIfNeeded: q[2 * $0 + 1]),
                                  dword3: UInt32(truncatingIfNeeded: q[2 * $0 + 1] >> 32))
                }
                inLastSegment = d.type == .lastSegment
            default:
                return .failure(Status.sglDescriptorTypeInvalid)
            }
        }
        if left > 0 { return .failure(Status.dataSGLLengthInvalid) }
        return .success(segs)
    }

    /// Copies `data` into the host buffer described by `segments` (bit buckets discard). False on a DMA fault.
    func copyToHost(_ data: [UInt8], _ segments: [DataSegment]) -> Bool {
        var off = 0
        for s in segments {
            if let b = s.bus {
                guard bus.write(bus: b, length: s.length, from: data, at: off) else { return false }
            }
            off += s.length
        }
        return true
    }

    /// Gathers `length` bytes from the host buffer described by `segments`. Nil on a DMA fault.
    func copyFromHost(_ segments: [DataSegment], length: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: length)
        var off = 0
        for s in segments {
            if let b = s.bus {
                guard bus.read(bus: b, length: s.length, into: &out, at: off) else { return nil }
            }
            off += s.length
        }
        return out
    }

    /// Maps the data pointer and writes `data` (truncated or zero-padded to `length`) to the host: the usual end
    /// of an admin command that returns a structure.
    mutating func returnData(_ data: [UInt8], _ sqe: SQEWords, length: Int) -> CommandOutcome {
        switch mapDataPointer(sqe, length: length, allowSGL: false) {
        case .failure(let s): return .complete(s)
        case .success(let segs):
            var d = data
            if d.count < length { d += [UInt8](repeating: 0, count: length - d.count) }
            if d.count > length { d.removeLast(d.count - length) }
            guard copyToHost(d, segs) else { statistics.dmaFaults += 1; return .complete(Status.dataTransferError) }
            return .complete(.success)
        }
    }

    /// Maps the data pointer and reads `length` bytes from the host: admin commands that take a structure, and IO
    /// commands that take data or a range list (`allowSGL`, `isWrite`). A failed DMA counts as a fault.
    mutating func receiveData(_ sqe: SQEWords, length: Int, allowSGL: Bool = false,
                              isWrite: Bool = false) -> (data: [UInt8]?, status: CompletionStatus) {
        switch mapDataPointer(sqe, length: length, allowSGL: allowSGL, isWrite: isWrite) {
        case .failure(let s): return (nil, s)
        case .success(let segs):
            guard let d = copyFromHost(segs, length: length) else {
                statistics.dmaFaults += 1
                return (nil, Status.dataTransferError)
            }
            return (d, .success)
        }
    }
}

/// Little-endian field writer for Identify data and log pages, by byte offset as the spec's figures give them.
struct ByteWriter {
    var bytes: [UInt8]
    init(count: Int) { bytes = [UInt8](repeating: 0, count: count) }

    mutating func u8(_ v: UInt8, at o: Int) { bytes[o] = v }
    mutating func u16(_ v: UInt16, at o: Int) { for i in 0..<2 { bytes[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt16(i))) } }
    mutating func u32(_ v: UInt32, at o: Int) { for i in 0..<4 { bytes[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
    mutating func u64(_ v: UInt64, at o: Int) { for i in 0..<8 { bytes[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
    /// 128-bit counters (SMART) from a 64-bit value.
    mutating func u128(_ v: UInt64, at o: Int) { u64(v, at: o); u64(0, at: o + 8) }
    /// ASCII, space padded (Identify strings).
    mutating func ascii(_ s: String, at o: Int, width: Int) {
        let u = Array(s.utf8.prefix(width))
        for i in 0..<width { bytes[o + i] = i < u.count ? u[i] : 0x20 }
    }
    /// ASCII, zero padded (NQN).
    mutating func asciiZ(_ s: String, at o: Int, width: Int) {
        let u = Array(s.utf8.prefix(width))
        for i in 0..<width { bytes[o + i] = i < u.count ? u[i] : 0 }
    }
}
