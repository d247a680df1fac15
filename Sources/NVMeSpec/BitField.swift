// Bit-range helpers shared by every register and wire structure. Setters never validate: a test must be able to
// write nonsense. Values wider than the field are truncated to the field's width.

@inline(__always)
func fieldMask<T: FixedWidthInteger & UnsignedInteger>(_ hi: Int, _ lo: Int) -> T {
    let width = hi &- lo &+ 1
    // hi < lo (an empty field) selects nothing rather than trapping.
    return width <= 0 ? 0 : width >= T.bitWidth ? ~T.zero : ((T(1) << width) - 1)
}

extension FixedWidthInteger where Self: UnsignedInteger {
    /// Bits `hi...lo` (inclusive, spec notation `hi:lo`), shifted down to bit 0.
    @inline(__always)
    public func bits(_ hi: Int, _ lo: Int) -> Self {
        (self >> lo) & fieldMask(hi, lo)
    }

    /// Replace bits `hi...lo` with `value` (truncated to the field width).
    @inline(__always)
    public mutating func setBits(_ hi: Int, _ lo: Int, _ value: Self) {
        let mask: Self = fieldMask(hi, lo)
        self = (self & ~(mask << lo)) | ((value & mask) << lo)
    }

    /// A single bit as a Bool.
    @inline(__always)
    public func bit(_ n: Int) -> Bool { (self >> n) & 1 == 1 }

    @inline(__always)
    public mutating func setBit(_ n: Int, _ on: Bool) {
        if on { self |= (1 << n) } else { self &= ~(Self(1) << n) }
    }
}
