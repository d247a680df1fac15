#!/usr/bin/env python3
"""Checks tools/bench's arithmetic on synthetic measurements: total latency (not clat) is the QD1 reference, a
reference that breaks Little's law prints ratio=nan, and --compare judges a change against both sides' noise.
Run: python3 tools/bench.d/test_report.py (tools/test runs it as one check)."""
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402


def fio(iops, lat_mean_ns, lat_p50, lat_p99, depth, clat_p50=None):
    pct = {"50.000000": lat_p50, "99.000000": lat_p99}
    clat = {"50.000000": clat_p50 or lat_p50, "99.000000": lat_p99}
    return {"jobs": [{"job options": {"iodepth": str(depth)},
                      "read": {"iops": iops, "total_ios": int(iops * 5),
                               "lat_ns": {"mean": lat_mean_ns, "percentile": pct},
                               "clat_ns": {"mean": lat_mean_ns / 10, "percentile": clat}}}]}


def worker(iops, mean_ns, p50, p99, extra=None):
    t = {"iops": iops, "ios": int(iops * 5), "elapsedNs": 5e9,
         "latencyNs": {"mean": mean_ns, "p50": p50, "p99": p99},
         "doorbellWritesPerIO": 0.03, "sqDoorbellWrites": 100}
    t.update(extra or {})
    return {"total": t}


def make_run(root, scale=1.0, p3_fio=None):
    os.makedirs(os.path.join(root, "guest"))
    w = lambda name, d: json.dump(d, open(os.path.join(root, name), "w"))
    w("p1.json", [{"path": "raw", "mode": "inline", "batch": 32, "nsPerIO": 120.0 * scale, "doorbellsPerIO": 0.06}])
    w("p1io.json", worker(1e7, 3200, 3000, 5000, {"elapsedNs": 5e9, "ios": 5e7}))
    w("p1i.json", {"raw": [94_340_502, 186_630_142, 100_000], "ioworker": [183_006_779, 292_324_724, 40_000]})
    w("fio-null-1.json", fio(1.7e6, 415, 400, 900, 32))
    w("fio-null-2.json", fio(1.6e6, 430, 400, 900, 32))
    g = lambda name, d: w(os.path.join("guest", name), d)
    g("p2-ours.json", worker(100_000 / scale, 320_000 * scale, 300_000, 600_000))
    g("p2v-ours.json", worker(96_000 / scale, 333_000 * scale, 310_000, 620_000))
    g("p3-ours.json", worker(40_000, 25_000, 20_000, 60_000))
    g("p4-ours.json", worker(100_000, 320_000, 300_000, 600_000))
    for name, iops, qd in [("p5-q1", 100_000, 32), ("p5-q2", 110_000, 64), ("p5-q4", 105_000, 128)]:
        g(f"{name}.json", worker(iops, qd / iops * 1e9, 1, 1))
    g("raw.json", [{"path": "raw-random", "batch": 32, "nsPerIO": 1e9 / 120_000, "doorbellsPerIO": 1},
                   {"path": "raw-random", "batch": 1, "nsPerIO": 22_000, "doorbellsPerIO": 2,
                    "latencyNs": {"mean": 22_000, "p50": 19_000, "p99": 50_000, "count": 20000}}])
    g("p2-fio-uring.json", fio(5_000, 6.4e6, 6e6, 9e6, 32))
    g("p2-fio-libaio.json", fio(5_500, 5.8e6, 5.5e6, 9e6, 32))
    # The 2026-12-06 shape: most of a polled QD1 IO inside the submission call, clat p50 3.7 us, lat mean 180 us.
    g("p3-fio-hipri.json", p3_fio or fio(5_073, 180_000, 170_000, 400_000, 1, clat_p50=3_700))
    return root


def lines(*args):
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = report.main(list(args))
    return rc, buf.getvalue().splitlines()


def metric(out, mid):
    return next(l for l in out if l.startswith(mid + " "))


class ReportTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def test_qd1_reference_is_total_latency_not_clat(self):
        rc, out = lines(make_run(os.path.join(self.tmp, "a")))
        self.assertEqual(rc, 0)
        p3 = metric(out, "P3")
        # ours p50 20 us against fio's total-latency p50 170 us, not clat's 3.7 us (which gave ratio 5.4).
        self.assertIn(f"ratio={20_000 / 170_000:.3f}", p3)

    def test_reference_breaking_littles_law_prints_nan(self):
        bad = fio(5_073, 3_700, 3_700, 9_000, 1)   # a clat-like mean: IOPS x mean = 0.02, not 1
        rc, out = lines(make_run(os.path.join(self.tmp, "b"), p3_fio=bad))
        p3 = metric(out, "P3")
        self.assertTrue(p3.endswith("ratio=nan target=0.35"), p3)
        self.assertIn("Little's law", p3)
        self.assertIn("ratio=", metric(out, "P2"))
        self.assertNotIn("ratio=nan", metric(out, "P2"))

    def test_new_lines_and_fractions(self):
        _, out = lines(make_run(os.path.join(self.tmp, "c")))
        self.assertIn(f"ratio={100_000 / 120_000:.3f}", metric(out, "P2f"))
        self.assertIn(f"ratio={96_000 / 100_000:.3f}", metric(out, "P2vc"))
        # P3f: the worse of p50 20000/19000 and mean 25000/22000.
        self.assertIn(f"ratio={max(20_000 / 19_000, 25_000 / 22_000):.3f}", metric(out, "P3f"))
        for l in out:
            self.assertRegex(l, r"ratio=(nan|[0-9.]+) target=[0-9.]+$")

    def test_instructions_per_io_is_the_difference_of_two_lengths(self):
        _, out = lines(make_run(os.path.join(self.tmp, "i")))
        raw, io = (186_630_142 - 94_340_502) / 100_000, (292_324_724 - 183_006_779) / 40_000
        self.assertIn(f"ratio={io / raw:.3f}", metric(out, "P1i"))

    def test_missing_measurement_is_nan(self):
        root = make_run(os.path.join(self.tmp, "d"))
        os.remove(os.path.join(root, "guest", "raw.json"))
        _, out = lines(root)
        self.assertTrue(metric(out, "P2f").endswith("ratio=nan target=0.9"))

    def test_compare_uses_both_sides_noise(self):
        old = [make_run(os.path.join(self.tmp, n), s) for n, s in (("o1", 1.0), ("o2", 1.02))]
        new = [make_run(os.path.join(self.tmp, n), s) for n, s in (("n1", 1.5), ("n2", 1.52))]
        oj = os.path.join(self.tmp, "old.json")
        lines(*old, "--json", oj)
        _, out = lines(*new, "--compare", oj)
        p1 = next(l for l in out if l.startswith("  P1 "))
        self.assertIn("WORSE", p1)      # 50% slower against ~2% noise
        p3 = next(l for l in out if l.startswith("  P3 "))
        self.assertIn("within noise", p3)

    def test_compare_with_single_runs_says_noise_unknown(self):
        oj = os.path.join(self.tmp, "old1.json")
        lines(make_run(os.path.join(self.tmp, "s1")), "--json", oj)
        _, out = lines(make_run(os.path.join(self.tmp, "s2")), "--compare", oj)
        self.assertIn("noise unknown", next(l for l in out if l.startswith("  P2 ")))


if __name__ == "__main__":
    unittest.main()
