import NVMeDriver
import NVMeSpec
import Testing

// Swift Testing prints these in `#expect`/`#require` failure messages: field by field, spec names.

extension CompletionStatus: CustomTestStringConvertible {
    /// `SCT 0h SC 02h Invalid Field in Command, dnr: 1`.
    public var testDescription: String {
        var s = codeDescription
        if crd != 0 { s += ", crd: \(crd)" }
        if m { s += ", m: 1" }
        s += ", dnr: \(dnr ? 1 : 0)"
        return s
    }
}

extension CompletionQueueEntry: CustomTestStringConvertible {
    public var testDescription: String { description }
}

extension SubmissionQueueEntry: CustomTestStringConvertible {
    public var testDescription: String { description }
}

extension Completion: CustomTestStringConvertible {
    public var testDescription: String { description }
}

extension ControllerCapabilities: CustomTestStringConvertible {
    public var testDescription: String { description }
}

extension ControllerConfiguration: CustomTestStringConvertible {
    public var testDescription: String { description }
}

extension ControllerStatus: CustomTestStringConvertible {
    public var testDescription: String { description }
}

extension AdminQueueAttributes: CustomTestStringConvertible {
    public var testDescription: String { description }
}
