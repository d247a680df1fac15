/// Shrinks a failing sequence while it still fails: delta debugging (Zeller's ddmin) over the cases before the
/// failing one and over the failing case's actions, then zeroing the SQE dwords that do not matter.
public enum Minimizer {
    /// The smallest subsequence of `items` (1-minimal: removing any single item makes it pass) for which `fails`
    /// holds, assuming it holds for `items`. Order is kept.
    public static func ddmin<T>(_ items: [T], _ fails: ([T]) -> Bool) -> [T] {
        var current = items
        var n = 2
        while current.count >= 2 {
            let chunk = (current.count + n - 1) / n
            var reduced = false
            // Try each complement (removing one chunk).
            var start = 0
            while start < current.count {
                let end = min(current.count, start + chunk)
                let complement = Array(current[..<start] + current[end...])
                if !complement.isEmpty, fails(complement) {
                    current = complement
                    n = max(n - 1, 2)
                    reduced = true
                    break
                }
                start = end
            }
            if !reduced {
                if n >= current.count { break }
                n = min(current.count, 2 * n)
            }
        }
        if current.count == 1, fails([]) { return [] }
        return current
    }

    public struct Result {
        public var repro: Repro
        /// Replays it took.
        public var replays: Int
        /// Actions (history + failing case) before and after.
        public var actionsBefore: Int
        public var actionsAfter: Int
    }

    /// Minimises `repro` by replaying candidates on `runner`'s controller.
    public static func minimize(_ repro: Repro, using runner: FuzzRunner) -> Result {
        var replays = 0
        func fails(_ history: [FuzzCase], _ failing: FuzzCase) -> Bool {
            replays += 1
            return runner.replay(cases: history + [failing], queueState: repro.queueState, oracle: repro.oracle).reproduced
        }
        let before = repro.cases.reduce(0) { $0 + $1.actions.count }
        var history = repro.history
        var failing = repro.failingCase

        // 1. Cases before the failing one.
        if !history.isEmpty {
            if fails([], failing) { history = [] } else { history = ddmin(history) { fails($0, failing) } }
        }
        // 2. Actions of the failing case (keeping at least one).
        let actions = ddmin(failing.actions) { subset in
            guard !subset.isEmpty else { return false }
            var c = failing; c.actions = subset
            return fails(history, c)
        }
        failing.actions = actions.isEmpty ? failing.actions : actions
        // 3. Dwords of each submission that do not matter (opcode, CID and pointers stay).
        for ai in failing.actions.indices {
            guard case .submit(var s) = failing.actions[ai] else { continue }
            for dw in [2, 3, 4, 5, 10, 11, 12, 13, 14, 15] where s.dwords[dw] != 0 {
                let saved = s.dwords[dw]
                s.dwords[dw] = 0
                var c = failing; c.actions[ai] = .submit(s)
                if fails(history, c) { failing = c } else { s.dwords[dw] = saved }
            }
        }
        var out = repro
        out.history = history
        out.failingCase = failing
        out.label = repro.label + " (minimised)"
        let after = out.cases.reduce(0) { $0 + $1.actions.count }
        return Result(repro: out, replays: replays, actionsBefore: before, actionsAfter: after)
    }
}
