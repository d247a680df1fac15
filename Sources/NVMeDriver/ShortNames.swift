import NVMeSpec

// The short names users know from the spec and from pynvme, in one place.
public typealias SQE = SubmissionQueueEntry
public typealias CQE = CompletionQueueEntry
public typealias IOSQ = SubmissionQueue
public typealias IOCQ = CompletionQueue
