#!/usr/bin/env python3
"""tools/bench's arithmetic: reads the measurements of one or more runs and prints one line per metric.

    report.py RUN_DIR [RUN_DIR …] [--json FILE] [--compare OLD.json]

Each RUN_DIR holds the host files (p1.json, p1io.json, fio-null-1.json, fio-null-2.json) and guest/ (what the guest
wrote into /outbox). Every line ends "ratio=<number|nan> target=<number>". A reference that fails its consistency
check prints ratio=nan and the reason; it never prints a number:
  - a fio job on a device: IOPS x mean total latency (fio's `lat`, submission included) must equal its iodepth
    within 20% (Little's law for a closed loop);
  - fio's null engine completes inside the submission call, so Little's law does not hold for it; its reference is
    ns per IO, checked by two runs agreeing within 20%;
  - an IOWorker result: IOPS x mean latency must equal the queue depth it ran at within 20%.
With several runs the metric is the median of the runs and the noise is the runs' spread.
"""
import json
import math
import os
import statistics
import sys

TOLERANCE = 0.20


class Bad(Exception):
    """A measurement that is missing or fails its consistency check."""


def load(path):
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        raise Bad(f"{os.path.basename(path)} missing")
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError as e:
        raise Bad(f"{os.path.basename(path)} is not JSON ({e})")


def little(what, iops, mean_ns, depth):
    product = iops * mean_ns / 1e9
    if depth <= 0 or abs(product - depth) > TOLERANCE * depth:
        raise Bad(f"{what} fails Little's law: IOPS {iops:.0f} x mean latency {mean_ns / 1e3:.1f} us = "
                  f"{product:.2f}, iodepth {depth}")


def fio_read(path):
    d = load(path)
    job = d["jobs"][0]
    r = job["read"]
    if r.get("total_ios", 1) == 0 or r["iops"] <= 0:
        raise Bad(f"{os.path.basename(path)}: fio completed no IO")
    return job, r


def fio_device(path):
    """(iops, total-latency dict in ns) of a fio job on a device, after the Little's law check."""
    job, r = fio_read(path)
    lat = r.get("lat_ns")
    if not lat or "percentile" not in lat:
        raise Bad(f"{os.path.basename(path)} has no total-latency percentiles (run fio with --lat_percentiles=1)")
    depth = int(job["job options"].get("iodepth", "1"))
    little(f"fio {os.path.basename(path)}", r["iops"], lat["mean"], depth)
    return r["iops"], lat


def pct(lat, p):
    for k, v in lat["percentile"].items():
        if abs(float(k) - p) < 1e-6:
            return float(v)
    raise Bad(f"fio printed no p{p:g}")


def fio_null_ns(run):
    a = 1e9 / fio_read(os.path.join(run, "fio-null-1.json"))[1]["iops"]
    b = 1e9 / fio_read(os.path.join(run, "fio-null-2.json"))[1]["iops"]
    if abs(a - b) > TOLERANCE * min(a, b):
        raise Bad(f"fio null runs disagree: {a:.1f} vs {b:.1f} ns/IO (host too noisy)")
    return (a + b) / 2


def ours(path, depth):
    """The IOWorker's total: (iops, latency summary ns) after the Little's law check."""
    t = load(path)["total"]
    if t["ios"] == 0 or t["iops"] <= 0:
        raise Bad(f"{os.path.basename(path)}: the IOWorker completed no IO")
    little(f"IOWorker {os.path.basename(path)}", t["iops"], t["latencyNs"]["mean"], depth)
    return t["iops"], t["latencyNs"]


def raw(run, path, batch):
    for m in load(os.path.join(run, "guest", "raw.json")):
        if m["path"] == path and m["batch"] == batch:
            return m
    raise Bad(f"raw.json has no {path} batch {batch}")


def g(run, name):
    return os.path.join(run, "guest", name)


# Each metric: id -> (target, better, compute(run) -> (ratio, text)). "better" says which way the ratio should go.
def m_p1(run):
    o = [m for m in load(os.path.join(run, "p1.json")) if m["path"] == "raw" and m["mode"] == "inline" and m["batch"] == 32]
    if not o:
        raise Bad("p1.json has no raw/inline/32")
    f = fio_null_ns(run)
    return o[0]["nsPerIO"] / f, f"driver cost: ours {o[0]['nsPerIO']:.1f} ns/IO (raw post/ring/reap, sim null, batch 32), fio null {f:.1f} ns/IO"


def m_p1abs(run):
    o = [m for m in load(os.path.join(run, "p1.json")) if m["path"] == "raw" and m["mode"] == "inline" and m["batch"] == 32]
    if not o:
        raise Bad("p1.json has no raw/inline/32")
    return o[0]["nsPerIO"] / 100, f"driver cost: ours {o[0]['nsPerIO']:.1f} ns/IO against 100 ns"


def m_p1io(run):
    t = load(os.path.join(run, "p1io.json"))["total"]
    if t["ios"] == 0:
        raise Bad("p1io.json: no IO")
    ns = t["elapsedNs"] / t["ios"]
    f = fio_null_ns(run)
    return ns / f, f"IOWorker cost: {ns:.1f} ns/IO (sim null, QD32, histograms), fio null {f:.1f} ns/IO"


def m_p1i(run):
    d = load(os.path.join(run, "p1i.json"))
    per = {}
    for k in ("raw", "ioworker"):
        a, b, n = d[k]
        if a is None or b is None or b <= a or n <= 0:
            raise Bad(f"callgrind gave no usable count for the {k} ({a}, {b})")
        per[k] = (b - a) / n
    return per["ioworker"] / per["raw"], (f"instructions per IO (callgrind, sim null): IOWorker {per['ioworker']:.0f}, "
                                          f"raw loop {per['raw']:.0f}")


def m_p2(run, engine="uring"):
    o, _ = ours(g(run, "p2-ours.json"), 32)
    f, _ = fio_device(g(run, f"p2-fio-{engine}.json"))
    name = "io_uring" if engine == "uring" else "libaio"
    return o / f, f"4K randread QD32 IOPS: ours(vfio) {o:.0f}, fio {name} {f:.0f}"


def m_p2v(run):
    o, _ = ours(g(run, "p2v-ours.json"), 32)
    f, _ = fio_device(g(run, "p2-fio-uring.json"))
    return o / f, f"4K randread QD32 IOPS with verification: ours(vfio) {o:.0f}, fio io_uring {f:.0f}"


def m_p2vc(run):
    v, _ = ours(g(run, "p2v-ours.json"), 32)
    o, _ = ours(g(run, "p2-ours.json"), 32)
    return v / o, f"verification cost: IOWorker verified {v:.0f} IOPS vs unverified {o:.0f}"


def m_p2f(run):
    o, _ = ours(g(run, "p2-ours.json"), 32)
    r = 1e9 / raw(run, "raw-random", 32)["nsPerIO"]
    return o / r, f"IOWorker vs raw loop, QD32 random IOPS: ours {o:.0f}, raw {r:.0f}"


def m_p2raw(run):
    r = 1e9 / raw(run, "raw-random", 32)["nsPerIO"]
    f, _ = fio_device(g(run, "p2-fio-uring.json"))
    return r / f, f"floor, raw loop QD32 random IOPS: {r:.0f}, fio io_uring {f:.0f}"


def m_p3(run, p):
    _, lat = ours(g(run, "p3-ours.json"), 1)
    _, flat = fio_device(g(run, "p3-fio-hipri.json"))
    o = float(lat["p50" if p == 50 else "p99"])
    f = pct(flat, p)
    return o / f, f"QD1 4K read p{p} total latency: ours {o:.0f} ns, fio io_uring hipri {f:.0f} ns"


def m_p3f(run):
    _, lat = ours(g(run, "p3-ours.json"), 1)
    rl = raw(run, "raw-random", 1).get("latencyNs")
    if not rl or not rl.get("count"):
        raise Bad("raw.json has no QD1 latency pass")
    a, b = float(lat["p50"]) / rl["p50"], lat["mean"] / rl["mean"]
    return max(a, b), (f"IOWorker vs raw loop at QD1: p50 {float(lat['p50']):.0f} vs {rl['p50']:.0f} ns ({a:.3f}), "
                       f"mean {lat['mean']:.0f} vs {rl['mean']:.0f} ns ({b:.3f}); the worse of the two")


def m_p3raw(run):
    r = raw(run, "raw-random", 1)["nsPerIO"]
    _, flat = fio_device(g(run, "p3-fio-hipri.json"))
    f = pct(flat, 50)
    return r / f, f"floor, raw loop QD1 random mean ns/IO: {r:.0f}, fio io_uring hipri total-latency p50 {f:.0f} ns"


def m_p4(run):
    t = load(g(run, "p4-ours.json"))["total"]
    d = t["doorbellWritesPerIO"]
    sq = t["sqDoorbellWrites"] / max(1, t["ios"])
    return d, f"MMIO doorbell writes per IO at QD32 (shadow doorbells + submit batch 16): {d} (SQ {sq:.4f})"


def m_p5(run, name, depth, what):
    one, _ = ours(g(run, "p5-q1.json"), 32)
    v, _ = ours(g(run, name), depth)
    return v / one, f"IOPS {what} {v:.0f} vs 1 queue {one:.0f}"


METRICS = [
    ("P1", 0.4, "lower", m_p1),
    ("P1abs", 1, "lower", m_p1abs),
    ("P1io", 0.4, "lower", m_p1io),
    ("P1i", 1.1, "lower", m_p1i),
    ("P2", 8, "higher", m_p2),
    ("P2b", 8, "higher", lambda r: m_p2(r, "libaio")),
    ("P2v", 8, "higher", m_p2v),
    ("P2vc", 0.95, "higher", m_p2vc),
    ("P2f", 0.9, "higher", m_p2f),
    ("P2raw", 8, "higher", m_p2raw),
    ("P3", 0.35, "lower", lambda r: m_p3(r, 50)),
    ("P3b", 0.35, "lower", lambda r: m_p3(r, 99)),
    ("P3f", 1.1, "lower", m_p3f),
    ("P3raw", 0.35, "lower", m_p3raw),
    ("P4", 0.05, "lower", m_p4),
    ("P5q2", 1, "higher", lambda r: m_p5(r, "p5-q2.json", 64, "with 2 queues")),
    ("P5q4", 1, "higher", lambda r: m_p5(r, "p5-q4.json", 128, "with 4 queues")),
    ("P5c", 1, "higher", lambda r: m_p5(r, "p5-c2.json", 64, "with 2 controllers")),
    ("P5t2", 1, "higher", lambda r: m_p5(r, "p5t-q2.json", 64, "with 2 queues on 2 threads")),
    ("P5t4", 1, "higher", lambda r: m_p5(r, "p5t-q4.json", 128, "with 4 queues on 4 threads")),
    ("P5tc", 1, "higher", lambda r: m_p5(r, "p5t-c2.json", 64, "with 2 controllers on 2 threads")),
]


def evaluate(runs, host_only):
    out = {}
    for mid, target, better, fn in METRICS:
        if host_only and not mid.startswith("P1"):
            continue
        ratios, texts, why = [], [], None
        for run in runs:
            try:
                r, t = fn(run)
                if not math.isfinite(r):
                    raise Bad("not a finite number")
                ratios.append(r)
                texts.append(t)
            except Bad as e:
                why = str(e)
                break
            except (KeyError, IndexError, TypeError, ZeroDivisionError) as e:
                why = f"malformed measurement ({type(e).__name__}: {e})"
                break
        entry = {"target": target, "better": better}
        if why is None and ratios:
            entry["ratio"] = statistics.median(ratios)
            entry["runs"] = ratios
            entry["text"] = texts[-1]
            entry["noise"] = (max(ratios) - min(ratios)) / min(ratios) if len(ratios) > 1 and min(ratios) > 0 else None
            entry["met"] = entry["ratio"] <= target if better == "lower" else entry["ratio"] >= target
        else:
            entry["ratio"] = None
            entry["why"] = why or "not measured"
        out[mid] = entry
    return out


def line(mid, e):
    if e["ratio"] is None:
        return f"{mid} not usable: {e['why']} ratio=nan target={e['target']:g}"
    runs = f" (median of {len(e['runs'])} runs, spread {e['noise'] * 100:.1f}%)" if len(e["runs"]) > 1 else ""
    return f"{mid} {e['text']}{runs} ratio={e['ratio']:.3f} target={e['target']:g}"


def compare(old, new):
    print(f"change against {old['_file']} (negative is worse for the metric's direction):")
    for mid, n in new.items():
        if mid.startswith("_"):
            continue
        o = old.get(mid)
        if not o or o.get("ratio") is None or n.get("ratio") is None:
            print(f"  {mid:6} not comparable ({'no old value' if not o or o.get('ratio') is None else n.get('why')})")
            continue
        change = n["ratio"] / o["ratio"] - 1
        if n["better"] == "lower":
            change = -change
        noises = [x for x in (o.get("noise"), n.get("noise")) if x is not None]
        if len(noises) < 2:
            verdict = "noise unknown: run both sides with --runs 2"
        else:
            noise = max(noises)
            verdict = f"noise {noise * 100:.1f}% -> " + ("within noise" if abs(change) <= noise else
                                                         ("better" if change > 0 else "WORSE"))
        print(f"  {mid:6} {o['ratio']:.3f} -> {n['ratio']:.3f}  {change * 100:+.1f}%  {verdict}")


def main(argv):
    runs, json_out, old, host_only = [], None, None, False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--json":
            json_out = argv[i + 1]; i += 2
        elif a == "--compare":
            old = argv[i + 1]; i += 2
        elif a == "--host-only":
            host_only = True; i += 1
        else:
            runs.append(a); i += 1
    if not runs:
        print("usage: report.py RUN_DIR… [--json FILE] [--compare OLD.json] [--host-only]", file=sys.stderr)
        return 2
    res = evaluate(runs, host_only)
    for mid, e in res.items():
        print(line(mid, e))
    if json_out:
        with open(json_out, "w") as f:
            json.dump(res, f, indent=1, sort_keys=True)
    if old:
        try:
            with open(old) as f:
                prev = json.load(f)
        except (OSError, ValueError) as e:
            print(f"--compare {old}: cannot read it ({e})", file=sys.stderr)
            return 2
        prev["_file"] = old
        compare(prev, res)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
