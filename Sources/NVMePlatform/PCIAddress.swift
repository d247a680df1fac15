/// A PCI function address, `domain:bus:device.function` (`0000:00:04.0`).
public struct PCIAddress: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public var domain: UInt32
    public var bus: UInt8
    public var device: UInt8
    public var function: UInt8

    public init(domain: UInt32 = 0, bus: UInt8, device: UInt8, function: UInt8) {
        self.domain = domain; self.bus = bus; self.device = device; self.function = function
    }

    /// Parses `0000:00:04.0` or `00:04.0` (domain 0). Throws `PlatformError.invalidAddress`.
    public init(parsing text: String) throws {
        let t = text.trimmingWhitespace().lowercased()
        let parts = t.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { throw PlatformError.invalidAddress(text) }
        let domainText = parts.count == 3 ? parts[0] : "0"
        let busText = parts[parts.count - 2]
        let df = parts[parts.count - 1].split(separator: ".", omittingEmptySubsequences: false)
        guard df.count == 2,
              domainText.count <= 8, busText.count <= 2, df[0].count <= 2, df[1].count == 1,
              !busText.isEmpty, !df[0].isEmpty,
              let domain = UInt32(domainText, radix: 16),
              let bus = UInt8(busText, radix: 16),
              let device = UInt8(df[0], radix: 16), device < 32,
              let function = UInt8(df[1], radix: 16), function < 8
        else { throw PlatformError.invalidAddress(text) }
        self.init(domain: domain, bus: bus, device: device, function: function)
    }

    public var description: String {
        "\(hex(domain, width: 4)):\(hex(bus, width: 2)):\(hex(device, width: 2)).\(function)"
    }

    public static func < (a: PCIAddress, b: PCIAddress) -> Bool {
        (a.domain, a.bus, a.device, a.function) < (b.domain, b.bus, b.device, b.function)
    }

    public init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
