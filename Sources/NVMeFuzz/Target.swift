#if canImport(Glibc)
import Glibc
#endif
import NVMePlatform

/// Counts DMA faults the device caused: IOMMU (DMAR) faults from the kernel log inside the guest, bus faults of the
/// simulator.
public protocol DMAFaultMonitor: AnyObject {
    /// Faults seen since creation (monotonic); reading it may consume pending log lines.
    func faultCount() -> Int
    /// The most recent fault lines (for the repro's `got`).
    var recentMessages: [String] { get }
}

/// A device to fuzz, with what the runner may need besides `NVMeDevice`.
public struct FuzzTarget {
    public var device: any NVMeDevice
    public var faults: (any DMAFaultMonitor)?
    /// Short name for summaries and repro files (`sim`, a BDF).
    public var name: String

    public init(device: any NVMeDevice, faults: (any DMAFaultMonitor)? = nil, name: String? = nil) {
        self.device = device; self.faults = faults; self.name = name ?? device.address
    }
}

/// DMAR faults from `/dev/kmsg` (Intel IOMMU: `DMAR: [DMA Write NO_PASID] Request device [00:04.0] fault addr …`).
/// The kernel rate-limits these messages, so the count is a lower bound; attribution is by time (the runner runs one
/// case at a time and drains the log after each case that could fault).
public final class KernelLogFaultMonitor: DMAFaultMonitor {
    private var fd: Int32
    private var count = 0
    public private(set) var recentMessages: [String] = []
    private var buffer = [UInt8](repeating: 0, count: 8192)

    /// Opens `/dev/kmsg` positioned at its end (only new messages count); nil when the log cannot be read.
    public init?(path: String = "/dev/kmsg") {
        fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        _ = lseek(fd, 0, SEEK_END)
    }

    deinit { if fd >= 0 { close(fd) } }

    public func faultCount() -> Int {
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 {
                // EAGAIN: drained. EPIPE: records were overwritten; keep reading from the next one.
                if n < 0 && errno == EPIPE { continue }
                break
            }
            let line = String(decoding: buffer[0..<n], as: UTF8.self)
            let text = line.split(separator: ";", maxSplits: 1).last.map(String.init) ?? line
            if Self.isFault(text) {
                count += 1
                recentMessages.append(text.trimmingTrailingNewline)
                if recentMessages.count > 8 { recentMessages.removeFirst() }
            }
        }
        return count
    }

    static func isFault(_ text: String) -> Bool {
        text.contains("DMAR") && (text.contains("fault addr") || text.contains("PTE Read access") || text.contains("PTE Write access"))
            || text.contains("AMD-Vi") && text.contains("IO_PAGE_FAULT")
    }
}

/// Faults counted by a closure (the simulator's bus-fault statistic).
public final class CountingFaultMonitor: DMAFaultMonitor {
    let read: () -> Int
    public var recentMessages: [String] { [] }
    public init(_ read: @escaping () -> Int) { self.read = read }
    public func faultCount() -> Int { read() }
}

extension String {
    var trimmingTrailingNewline: String {
        var s = self
        while s.last == "\n" { s.removeLast() }
        return s
    }
}
