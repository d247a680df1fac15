import Foundation
import NVMeDriver
import NVMePlatform
import NVMeSpec

/// Create/Delete I/O Completion and Submission Queue with every invalid parameter (NVMe Base 2.0c §5.4-5.7) and
/// the Number of Queues feature (§5.27.1.5).
enum QueueTests {
    static let base = "NVMe Base 2.0c"
    typealias CS = CommandSpecificStatus

    static let all: [ConformanceTest] = [
        // Create I/O Completion Queue
        ConformanceTest(id: "queues.001-create-cq", title: "Create I/O CQ with valid parameters succeeds",
                        citation: "\(base) §5.4 Create I/O Completion Queue", area: .queues) { t in
            t.expectSuccess(try t.createCQ(1).0)
        },
        ConformanceTest(id: "queues.002-create-cq-qid-0", title: "Create I/O CQ with QID 0 is Invalid Queue Identifier",
                        citation: "\(base) §5.4, Figure \"Create I/O Completion Queue – Command Specific Status Values\"",
                        area: .queues) { t in
            let qp = try t.rings(qid: 1)
            let c = t.controller.adminCommand(DriverCommand.createIOCompletionQueue(qid: 0, qsize: 15, prp1: qp.cq.busAddress, vector: nil),
                                              data: [qp.cq.memory])
            return t.expect(c, CS.invalidQueueIdentifier)
        },
        ConformanceTest(id: "queues.003-create-cq-qid-above-allocated",
                        title: "Create I/O CQ with a QID above the allocated number of CQs is Invalid Queue Identifier",
                        citation: "\(base) §5.4 CDW10.QID; §5.27.1.5 Number of Queues (NCQA)", area: .queues) { t in
            guard t.grantedCQs < 0xFFFF else { return .notApplicable("Number of Queues NCQA = FFFEh (all QIDs allocated)") }
            let qid = UInt16(t.grantedCQs + 1)
            let qp = try t.rings(qid: 1)
            let c = t.controller.adminCommand(DriverCommand.createIOCompletionQueue(qid: qid, qsize: 15, prp1: qp.cq.busAddress, vector: nil),
                                              data: [qp.cq.memory])
            return t.expect(c, CS.invalidQueueIdentifier, "QID \(qid) with NCQA = \(t.grantedCQs - 1) (0's based)")
        },
        ConformanceTest(id: "queues.004-create-cq-qid-in-use", title: "Creating a CQ whose QID exists is Invalid Queue Identifier",
                        citation: "\(base) §5.4 CDW10.QID", area: .queues) { t in
            try t.setupStep(try t.createCQ(1).0, "Create I/O CQ 1")
            return t.expect(try t.createCQ(1).0, CS.invalidQueueIdentifier)
        },
        ConformanceTest(id: "queues.005-create-cq-qsize-0", title: "Create I/O CQ with QSIZE 0 is Invalid Queue Size",
                        citation: "\(base) §5.4 CDW10.QSIZE; §3.3.1 (minimum queue size 2)", area: .queues) { t in
            let qp = try t.rings(qid: 1)
            let c = t.controller.adminCommand(DriverCommand.createIOCompletionQueue(qid: 1, qsize: 0, prp1: qp.cq.busAddress, vector: nil),
                                              data: [qp.cq.memory])
            return t.expect(c, CS.invalidQueueSize)
        },
        ConformanceTest(id: "queues.006-create-cq-qsize-above-mqes", title: "Create I/O CQ with QSIZE > CAP.MQES is Invalid Queue Size",
                        citation: "\(base) §5.4 CDW10.QSIZE; §3.1.4.1 CAP.MQES", area: .queues,
                        requires: Requires.mqesBelowMaximum) { t in
            let qp = try t.rings(qid: 1)
            let c = t.controller.adminCommand(DriverCommand.createIOCompletionQueue(qid: 1, qsize: t.cap.mqes + 1,
                                                                                  prp1: qp.cq.busAddress, vector: nil),
                                              data: [qp.cq.memory])
            return t.expect(c, CS.invalidQueueSize, "QSIZE \(t.cap.mqes + 1) with CAP.MQES = \(t.cap.mqes)")
        },
        ConformanceTest(id: "queues.007-create-cq-pc-0-with-cqr", title: "Create I/O CQ with PC = 0 when CAP.CQR = 1 is Invalid Field in Command",
                        citation: "\(base) §5.4 CDW11.PC; §3.1.4.1 CAP.CQR", area: .queues, requires: Requires.cqr) { t in
            let qp = try t.rings(qid: 1)
            let c = t.controller.adminCommand(DriverCommand.createIOCompletionQueue(qid: 1, qsize: 15, prp1: qp.cq.busAddress,
                                                                                  vector: nil, physicallyContiguous: false),
                                              data: [qp.cq.memory])
            return t.expect(c, GenericStatus.invalidFieldInCommand)
        },
        ConformanceTest(id: "queues.008-create-cq-invalid-vector", title: "Create I/O CQ with IV beyond the MSI-X table is Invalid Interrupt Vector",
                        citation: "\(base) §5.4 CDW11.IV", area: .queues, requires: Requires.msix) { t in
            let n = t.controller.interrupts.supportedVectors
            guard n < 2048 else { return .notApplicable("the MSI-X table has 2048 entries (every IV is valid)") }
            let qp = try t.rings(qid: 1)
            let c = t.controller.adminCommand(DriverCommand.createIOCompletionQueue(qid: 1, qsize: 15, prp1: qp.cq.busAddress,
                                                                                  vector: UInt16(n)),
                                              data: [qp.cq.memory])
            return t.expect(c, CS.invalidInterruptVector, "IV \(n) with \(n) MSI-X vectors")
        },
        ConformanceTest(id: "queues.009-create-cq-qid-max", title: "Create I/O CQ with QID FFFFh is Invalid Queue Identifier",
                        citation: "\(base) §5.4 CDW10.QID", area: .queues) { t in
            guard t.grantedCQs < 0xFFFF else { return .notApplicable("Number of Queues NCQA = FFFEh") }
            let qp = try t.rings(qid: 1)
            let c = t.controller.adminCommand(DriverCommand.createIOCompletionQueue(qid: 0xFFFF, qsize: 15, prp1: qp.cq.busAddress, vector: nil),
                                              data: [qp.cq.memory])
            return t.expect(c, CS.invalidQueueIdentifier)
        },

        // Create I/O Submission Queue
        ConformanceTest(id: "queues.010-create-sq", title: "Create I/O SQ on an existing CQ succeeds",
                        citation: "\(base) §5.5 Create I/O Submission Queue", area: .queues) { t in
            let (cc, qp) = try t.createCQ(1)
            try t.setupStep(cc, "Create I/O CQ 1")
            return t.expectSuccess(t.createSQ(1, cqid: 1, qp: qp))
        },
        ConformanceTest(id: "queues.011-create-sq-cqid-0", title: "Create I/O SQ with CQID 0 is Completion Queue Invalid",
                        citation: "\(base) §5.5 CDW11.CQID", area: .queues) { t in
            let qp = try t.rings(qid: 1)
            return t.expect(t.createSQ(1, cqid: 0, qp: qp), CS.completionQueueInvalid)
        },
        ConformanceTest(id: "queues.012-create-sq-cq-missing", title: "Create I/O SQ on a CQ that does not exist is Completion Queue Invalid",
                        citation: "\(base) §5.5 CDW11.CQID", area: .queues) { t in
            let qp = try t.rings(qid: 1)
            return t.expect(t.createSQ(1, cqid: 1, qp: qp), CS.completionQueueInvalid)
        },
        ConformanceTest(id: "queues.013-create-sq-qid-0", title: "Create I/O SQ with QID 0 is Invalid Queue Identifier",
                        citation: "\(base) §5.5 CDW10.QID", area: .queues) { t in
            let (cc, qp) = try t.createCQ(1)
            try t.setupStep(cc, "Create I/O CQ 1")
            return t.expect(t.createSQ(0, cqid: 1, qp: qp), CS.invalidQueueIdentifier)
        },
        ConformanceTest(id: "queues.014-create-sq-qid-above-allocated",
                        title: "Create I/O SQ with a QID above the allocated number of SQs is Invalid Queue Identifier",
                        citation: "\(base) §5.5 CDW10.QID; §5.27.1.5 Number of Queues (NSQA)", area: .queues) { t in
            guard t.grantedSQs < 0xFFFF else { return .notApplicable("Number of Queues NSQA = FFFEh") }
            let (cc, qp) = try t.createCQ(1)
            try t.setupStep(cc, "Create I/O CQ 1")
            let qid = UInt16(t.grantedSQs + 1)
            return t.expect(t.createSQ(qid, cqid: 1, qp: qp), CS.invalidQueueIdentifier, "QID \(qid) with NSQA = \(t.grantedSQs - 1)")
        },
        ConformanceTest(id: "queues.015-create-sq-qsize-0", title: "Create I/O SQ with QSIZE 0 is Invalid Queue Size",
                        citation: "\(base) §5.5 CDW10.QSIZE", area: .queues) { t in
            let (cc, qp) = try t.createCQ(1)
            try t.setupStep(cc, "Create I/O CQ 1")
            return t.expect(t.createSQ(1, cqid: 1, qp: qp, qsize: 0), CS.invalidQueueSize)
        },
        ConformanceTest(id: "queues.016-create-sq-qsize-above-mqes", title: "Create I/O SQ with QSIZE > CAP.MQES is Invalid Queue Size",
                        citation: "\(base) §5.5 CDW10.QSIZE; §3.1.4.1 CAP.MQES", area: .queues,
                        requires: Requires.mqesBelowMaximum) { t in
            let (cc, qp) = try t.createCQ(1)
            try t.setupStep(cc, "Create I/O CQ 1")
            return t.expect(t.createSQ(1, cqid: 1, qp: qp, qsize: t.cap.mqes + 1), CS.invalidQueueSize)
        },
        ConformanceTest(id: "queues.017-create-sq-pc-0-with-cqr", title: "Create I/O SQ with PC = 0 when CAP.CQR = 1 is Invalid Field in Command",
                        citation: "\(base) §5.5 CDW11.PC; §3.1.4.1 CAP.CQR", area: .queues, requires: Requires.cqr) { t in
            let (cc, qp) = try t.createCQ(1)
            try t.setupStep(cc, "Create I/O CQ 1")
            let c = t.controller.adminCommand(DriverCommand.createIOSubmissionQueue(qid: 1, qsize: 15, prp1: qp.sq.busAddress, cqid: 1,
                                                                                  physicallyContiguous: false),
                                              data: [qp.sq.memory])
            return t.expect(c, GenericStatus.invalidFieldInCommand)
        },
        ConformanceTest(id: "queues.018-create-sq-qid-in-use", title: "Creating an SQ whose QID exists is Invalid Queue Identifier",
                        citation: "\(base) §5.5 CDW10.QID", area: .queues) { t in
            let (cc, qp) = try t.createCQ(1)
            try t.setupStep(cc, "Create I/O CQ 1")
            try t.setupStep(t.createSQ(1, cqid: 1, qp: qp), "Create I/O SQ 1")
            let other = try t.rings(qid: 1)
            return t.expect(t.createSQ(1, cqid: 1, qp: other), CS.invalidQueueIdentifier)
        },

        // Delete
        ConformanceTest(id: "queues.020-delete-cq-with-sq", title: "Deleting a CQ that an SQ still uses is Invalid Queue Deletion",
                        citation: "\(base) §5.6 Delete I/O Completion Queue", area: .queues) { t in
            let (cc, qp) = try t.createCQ(1)
            try t.setupStep(cc, "Create I/O CQ 1")
            try t.setupStep(t.createSQ(1, cqid: 1, qp: qp), "Create I/O SQ 1")
            return t.expect(t.controller.adminCommand(DriverCommand.deleteIOCompletionQueue(qid: 1)), CS.invalidQueueDeletion)
        },
        ConformanceTest(id: "queues.021-delete-cq-qid-0", title: "Delete I/O CQ with QID 0 is Invalid Queue Identifier",
                        citation: "\(base) §5.6 CDW10.QID", area: .queues) { t in
            t.expect(t.controller.adminCommand(DriverCommand.deleteIOCompletionQueue(qid: 0)), CS.invalidQueueIdentifier)
        },
        ConformanceTest(id: "queues.022-delete-cq-missing", title: "Delete I/O CQ of a QID not created is Invalid Queue Identifier",
                        citation: "\(base) §5.6 CDW10.QID", area: .queues) { t in
            t.expect(t.controller.adminCommand(DriverCommand.deleteIOCompletionQueue(qid: 1)), CS.invalidQueueIdentifier)
        },
        ConformanceTest(id: "queues.023-delete-sq-qid-0", title: "Delete I/O SQ with QID 0 is Invalid Queue Identifier",
                        citation: "\(base) §5.7 CDW10.QID", area: .queues) { t in
            t.expect(t.controller.adminCommand(DriverCommand.deleteIOSubmissionQueue(qid: 0)), CS.invalidQueueIdentifier)
        },
        ConformanceTest(id: "queues.024-delete-sq-missing", title: "Delete I/O SQ of a QID not created is Invalid Queue Identifier",
                        citation: "\(base) §5.7 CDW10.QID", area: .queues) { t in
            t.expect(t.controller.adminCommand(DriverCommand.deleteIOSubmissionQueue(qid: 1)), CS.invalidQueueIdentifier)
        },
        ConformanceTest(id: "queues.025-delete-and-recreate", title: "After Delete SQ then Delete CQ the QID can be created again",
                        citation: "\(base) §5.6, §5.7", area: .queues) { t in
            let (cc, qp) = try t.createCQ(1)
            try t.setupStep(cc, "Create I/O CQ 1")
            try t.setupStep(t.createSQ(1, cqid: 1, qp: qp), "Create I/O SQ 1")
            let ds = t.controller.adminCommand(DriverCommand.deleteIOSubmissionQueue(qid: 1))
            let dc = t.controller.adminCommand(DriverCommand.deleteIOCompletionQueue(qid: 1))
            let (again, qp2) = try t.createCQ(1)
            return allOf(t.expectSuccess(ds, "Delete I/O SQ 1"), t.expectSuccess(dc, "Delete I/O CQ 1"),
                         t.expectSuccess(again, "Create I/O CQ 1 again"),
                         t.expectSuccess(t.createSQ(1, cqid: 1, qp: qp2), "Create I/O SQ 1 again"))
        },
        ConformanceTest(id: "queues.026-io-on-new-queue", title: "A Flush on a newly created IO queue completes with CQE.SQID and CID",
                        citation: "\(base) §4.2 Completion Queue Entry (SQID, CID); §5.5", area: .queues) { t in
            let qp = try t.controller.createIOQueuePair(qid: 1, depth: 8, vector: t.controller.defaultVector(for: 1))
            let sqe = DriverCommand.flush(nsid: 0xFFFF_FFFF)
            let c = qp.execute(sqe)
            guard c.origin == .device else {
                return .fail(expected: "a completion on CQ 1", observed: ConformanceContext.observed(c))
            }
            return t.expectThat(c.cqe.sqid == 1 && c.cqe.cid == c.sqe.cid,
                                expected: "CQE.SQID = 1, CQE.CID = \(c.sqe.cid)",
                                observed: "CQE.SQID = \(c.cqe.sqid), CQE.CID = \(c.cqe.cid)")
        },

        // Number of Queues
        ConformanceTest(id: "queues.030-number-of-queues-ffff", title: "Set Features Number of Queues with NSQR = FFFFh is Invalid Field in Command",
                        citation: "\(base) §5.27.1.5 Number of Queues (NSQR)", area: .queues) { t in
            t.expect(t.controller.adminCommand(DriverCommand.setNumberOfQueues(nsqr: 0xFFFF, ncqr: 0)), GenericStatus.invalidFieldInCommand)
        },
        ConformanceTest(id: "queues.031-number-of-queues-ncqr-ffff", title: "Set Features Number of Queues with NCQR = FFFFh is Invalid Field in Command",
                        citation: "\(base) §5.27.1.5 Number of Queues (NCQR)", area: .queues) { t in
            t.expect(t.controller.adminCommand(DriverCommand.setNumberOfQueues(nsqr: 0, ncqr: 0xFFFF)), GenericStatus.invalidFieldInCommand)
        },
        ConformanceTest(id: "queues.032-number-of-queues-after-create",
                        title: "Set Features Number of Queues after an IO queue exists is Command Sequence Error",
                        citation: "\(base) §5.27.1.5 Number of Queues", area: .queues) { t in
            try t.setupStep(try t.createCQ(1).0, "Create I/O CQ 1")
            return t.expect(t.controller.adminCommand(DriverCommand.setNumberOfQueues(nsqr: 0, ncqr: 0)),
                            GenericStatus.commandSequenceError)
        },
        ConformanceTest(id: "queues.033-number-of-queues-get", title: "Get Features Number of Queues reports what Set Features allocated",
                        citation: "\(base) §5.27.1.5 Number of Queues (NSQA, NCQA)", area: .queues) { t in
            let c = t.controller.adminCommand(DriverCommand.getFeatures(fid: 0x07))
            try t.setupStep(c, "Get Features Number of Queues")
            let sq = Int(c.dw0 & 0xFFFF) + 1, cq = Int(c.dw0 >> 16) + 1
            return t.expectThat(sq == t.grantedSQs && cq == t.grantedCQs,
                                expected: "NSQA+1 = \(t.grantedSQs), NCQA+1 = \(t.grantedCQs)",
                                observed: "NSQA+1 = \(sq), NCQA+1 = \(cq)")
        },
    ]
}
