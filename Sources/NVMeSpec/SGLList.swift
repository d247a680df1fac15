/// One element of a scatter list to describe with SGL descriptors.
public enum SGLElement: Hashable, Sendable {
    /// Data to transfer at a bus address.
    case data(busAddress: UInt64, length: UInt32)
    /// Bytes the controller discards (reads) — a Bit Bucket descriptor.
    case bitBucket(length: UInt32)

    var descriptor: SGLDescriptor {
        switch self {
        case .data(let a, let l): .dataBlock(address: a, length: l)
        case .bitBucket(let l): .bitBucket(length: l)
        }
    }
}

/// SGL1 (in the SQE) plus the SGL segments to write into memory — NVMe Base 2.0c §4.3.2.
public struct SGLLayout: Hashable, Sendable {
    public struct Segment: Hashable, Sendable {
        public var busAddress: UInt64
        public var descriptors: [SGLDescriptor]
        /// The bytes to copy to `busAddress`.
        public var bytes: [UInt8] { descriptors.flatMap(\.bytes) }
    }
    public var sgl1: SGLDescriptor
    public var segments: [Segment]
}

public enum SGLError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case segmentTooSmall(Int)
    public var description: String {
        switch self {
        case .empty: "an SGL needs at least one element"
        case .segmentTooSmall(let n): "a segment must hold at least 2 descriptors, got \(n)"
        }
    }
}

public enum SGL {
    /// Builds SGL1 and the segment chain for `elements`.
    ///
    /// One element: SGL1 is that descriptor. More: SGL1 is a Last Segment descriptor when every element fits in one
    /// segment, otherwise a Segment descriptor; each full segment ends with a Segment descriptor pointing to the next
    /// segment, and the segment before the final one ends with a Last Segment descriptor (Figure 113).
    /// `segment(i)` returns the bus address of segment i; `descriptorsPerSegment` is its capacity (e.g. 4096 / 16).
    public static func build(_ elements: [SGLElement], descriptorsPerSegment: Int,
                             segment: (Int) -> UInt64) throws(SGLError) -> SGLLayout {
        guard !elements.isEmpty else { throw .empty }
        guard descriptorsPerSegment >= 2 else { throw .segmentTooSmall(descriptorsPerSegment) }
        if elements.count == 1 { return SGLLayout(sgl1: elements[0].descriptor, segments: []) }
        let d = elements.map(\.descriptor)
        var segments: [SGLLayout.Segment] = []
        var rest = d[...]
        var address = segment(0)
        while true {
            if rest.count <= descriptorsPerSegment {
                segments.append(.init(busAddress: address, descriptors: Array(rest)))
                break
            }
            let take = descriptorsPerSegment - 1
            let next = segment(segments.count + 1)
            let remaining = rest.count - take
            let pointer: SGLDescriptor = remaining <= descriptorsPerSegment
                ? .lastSegment(address: next, length: UInt32(remaining * SGLDescriptor.size))
                : .segment(address: next, length: UInt32(min(remaining, descriptorsPerSegment) * SGLDescriptor.size))
            segments.append(.init(busAddress: address, descriptors: Array(rest.prefix(take)) + [pointer]))
            rest = rest.dropFirst(take)
            address = next
        }
        let firstLength = UInt32(segments[0].descriptors.count * SGLDescriptor.size)
        let sgl1: SGLDescriptor = segments.count == 1
            ? .lastSegment(address: segments[0].busAddress, length: firstLength)
            : .segment(address: segments[0].busAddress, length: firstLength)
        return SGLLayout(sgl1: sgl1, segments: segments)
    }

    /// Segments needed for `count` elements with `descriptorsPerSegment` capacity (0 for a single element). A
    /// capacity below 2 counts as 2, the least that can chain.
    public static func segmentCount(elements count: Int, descriptorsPerSegment: Int) -> Int {
        guard count > 1 else { return 0 }
        let descriptorsPerSegment = max(2, descriptorsPerSegment)
        if count <= descriptorsPerSegment { return 1 }
        return 1 + (count - descriptorsPerSegment + descriptorsPerSegment - 2) / (descriptorsPerSegment - 1)
    }
}

extension SubmissionQueueEntry {
    /// Puts SGL1 into the entry and selects SGLs for the data (PSDT 1: MPTR, if used, is a contiguous buffer).
    public mutating func setDataPointer(_ sgl: SGLLayout, psdt: UInt8 = 1) {
        self.psdt = psdt; sgl1 = sgl.sgl1
    }
}
