#!/usr/bin/env python3
"""tools/vm fuzz: a device fuzz run that survives its device.

Runs `nvmekit fuzz --heartbeat` in the QEMU guest and reads its lines as they arrive. Inside the guest the fuzzer
recovers by itself (controller reset, FLR, hot reset); what it cannot survive is QEMU itself going away: a segfault
of the device model, or its main loop stuck in the device (the guest's vCPU then blocks on its next MMIO access and no
more output comes). That is the last recovery level, a power cycle through the harness: QEMU is killed (or found
dead), the case that was running when it went is recorded as a finding with a repro file, a fresh guest boots, and the
run resumes at the next case of the same seed. The summaries of all boots are merged into one.

Exit status: 0 when every requested case ran with no toolkit crash and nothing left unrecovered; 1 otherwise; 2 for
bad arguments.
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COUNTERS = ("cases", "findings", "hangs", "recovered", "unrecovered", "toolkitCrashes", "plannedResets", "dmaFaults",
            "commands", "avoided")
DICTS = ("perOracle", "perGenerator", "secondsPerGenerator", "perOpcode", "findingsPerOpcode", "statuses", "resets")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="tools/vm fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default="vfio", choices=["vfio", "noiommu", "uio"])
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--cases", type=int, default=10000, help="cases to generate in all (avoided ones included)")
    p.add_argument("--first-case", type=int, default=0)
    p.add_argument("--generators", help="comma-separated generator families (default: all)")
    p.add_argument("--avoid", action="append", default=[], metavar="TEXT",
                   help="skip cases whose label contains TEXT (repeatable)")
    p.add_argument("--deadline-ms", type=int, default=500)
    p.add_argument("--stall", type=int, default=60,
                   help="seconds without guest output after which QEMU counts as hung and is power-cycled")
    p.add_argument("--boot-timeout", type=int, default=1500, help="deadline of one guest boot, seconds")
    p.add_argument("--max-power-cycles", type=int, default=25)
    p.add_argument("--out", default=os.path.join(REPO, ".build", "fuzz-device-findings"), help="repro files")
    p.add_argument("--json", help="write the merged summary here")
    p.add_argument("--replay", help="a host-level repro written by an earlier run: run its case again and report")
    p.add_argument("--repeat", type=int, default=10,
                   help="with --replay: run the case up to this many times in one boot (QEMU's crashes are racy)")
    p.add_argument("--window", type=int, default=0,
                   help="with --replay: also run this many cases before it each time (state they leave may matter)")
    a = p.parse_args(argv)
    if a.cases < 1:
        p.error("--cases must be at least 1")
    if a.stall < 10:
        p.error("--stall must be at least 10 s (a boot and a slow recovery stay quiet for several seconds)")
    if any(not t for t in a.avoid):
        p.error("--avoid needs a non-empty label text")
    return a


def say(line):
    print(line, flush=True)


class Boot:
    """What one guest boot's heartbeat lines said."""

    def __init__(self):
        self.last_case = None      # (index, counters, label) of the last case that started
        self.checkpoint = None     # the last full summary
        self.summary = None        # the final summary, when the run got that far
        self.repros = []           # host paths written
        self.lines = 0
        self.log = None
        self.rc = None
        self.tail = []             # last lines of tools/vm output that were not heartbeat lines
        self.malformed = 0         # heartbeat lines that did not parse (kept in the boot's raw output file)


def guest_command(a, first, count, repeat=1):
    nvmekit = os.path.join(REPO, ".build", "debug", "nvmekit")
    words = [nvmekit, "fuzz", "--backend", a.backend, "--seed", str(a.seed), "--first-case", str(first),
             "--cases", str(count), "--deadline-ms", str(a.deadline_ms), "--quiet", "--heartbeat",
             "--out", "/tmp/fuzz-findings"]
    if a.backend != "vfio":
        words += ["--allow-unsafe"] + (["--interrupts", "intx"] if a.backend == "uio" else [])
    if a.generators:
        words += ["--generators", a.generators]
    for t in a.avoid:
        words += ["--avoid", t]
    cmd = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words) + " 2>&1"
    if repeat > 1:   # a fresh open and initialisation each time, as after a power cycle
        cmd = f"for i in $(seq {repeat}); do {cmd} || exit $?; done"
    return cmd


def loads(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def run_boot(a, first, count, progress, raw_path, repeat=1):
    """One guest boot running cases first..first+count-1; returns a Boot. Its raw output is kept in raw_path."""
    b = Boot()
    os.makedirs(os.path.dirname(raw_path), exist_ok=True)
    raw_file = open(raw_path, "w")
    cmd = [os.path.join(REPO, "tools", "vm"), "run", "--backend", a.backend, "--controllers", "a", "--with-tests",
           "--stall", str(a.stall), "--timeout", str(a.boot_timeout), "--", guest_command(a, first, count, repeat)]
    # tools/vm fuzz built the test binary (and the debug nvmekit beside it) once before the first boot; every boot of
    # the run uses that build, even when the sources change meanwhile.
    env = dict(os.environ, VM_WITH_NVMEKIT="0", VM_QUIET_FAILURE="1", VM_NO_BUILD="1")
    # stdout carries only the guest command's output; the harness's own messages (and the shell's note when QEMU
    # dies) go to stderr, kept beside the raw output.
    err_file = open(raw_path + ".stderr", "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err_file, env=env, text=True,
                            errors="replace", bufsize=1)
    for raw in proc.stdout:
        raw_file.write(raw)
        if not raw.endswith("\n"):
            b.malformed += 1   # the last line, cut off when QEMU died while it was being written
            continue
        line = raw.rstrip("\r\n")
        m = re.match(r"^FUZZ CASE (\d+) (\{[^}]*\}) ?(.*)$", line)
        if m:
            b.lines += 1
            counters = loads(m.group(2))
            if counters is None:
                b.malformed += 1
                counters = dict(b.last_case[1]) if b.last_case else {}
            b.last_case = (int(m.group(1)), counters, m.group(3))
            progress(b)
            continue
        if line.startswith("FUZZ CASE "):
            b.malformed += 1
            continue
        if line.startswith("FUZZ REPRO "):
            parts = line.split(" ", 3)
            try:
                data = base64.b64decode(parts[3], validate=True)
                json.loads(data)
            except (IndexError, ValueError):
                b.malformed += 1
                continue
            os.makedirs(a.out, exist_ok=True)
            path = os.path.join(a.out, os.path.basename(parts[2]))
            with open(path, "wb") as f:
                f.write(data)
            b.repros.append(path)
            continue
        if line.startswith("FUZZ CHECKPOINT "):
            c = loads(line[len("FUZZ CHECKPOINT "):])
            if c is None:
                b.malformed += 1
            else:
                b.checkpoint = c
            continue
        if line.startswith("FUZZ SUMMARY "):
            b.summary = loads(line[len("FUZZ SUMMARY "):])
            if b.summary is None:
                b.malformed += 1
            continue
        b.tail = (b.tail + [line])[-40:]
    b.rc = proc.wait()
    raw_file.close()
    err_file.close()
    for line in open(raw_path + ".stderr", errors="replace"):
        m = re.search(r"\(backend \w+; log: (\S+)\)", line)
        if m:
            b.log = m.group(1)
        if not line.startswith(("#", "[")):
            b.tail = (b.tail + [line.rstrip()])[-40:]
    return b


def log_facts(path):
    """QEMU's exit status, whether the harness saw a stall, and the end of QEMU's stderr, from a tools/vm log."""
    facts = {"qemuExit": None, "stalled": False, "qemuStderr": [], "consoleTail": []}
    if not path or not os.path.exists(path):
        return facts
    text = open(path, errors="replace").read().splitlines()
    head = text[0] if text else ""
    m = re.search(r"qemu-exit=(\d+)", head)
    facts["qemuExit"] = int(m.group(1)) if m else None
    facts["stalled"] = "stalled=1" in head
    if "# ---- qemu stderr ----" in text:
        i = text.index("# ---- qemu stderr ----")
        c = next((j for j, l in enumerate(text) if l.startswith("# ---- console")), i)
        facts["qemuStderr"] = text[i + 1:][-15:]
        facts["consoleTail"] = [l for l in text[c + 1:i] if l.strip()][-15:]
    return facts


def merge(total, part, counters_only=False):
    for k in COUNTERS:
        total[k] = total.get(k, 0) + int(part.get(k, 0))
    if counters_only:
        return
    for k in DICTS:
        d = total.setdefault(k, {})
        for key, v in (part.get(k) or {}).items():
            d[key] = d.get(key, 0) + v


def host_repro(a, b, facts, out_dir):
    index, _, label = b.last_case
    if facts["stalled"]:
        oracle, got = "deadline", f"no output from the guest for {a.stall} s: QEMU's main loop or the guest hung"
    else:
        sig = (facts["qemuExit"] or 0) - 128
        oracle = "deviceAlive"
        got = f"QEMU exited ({'signal %d' % sig if 0 < sig < 64 else 'status %s' % facts['qemuExit']}) while the case ran"
    r = {"kind": "host", "oracle": oracle, "seed": a.seed, "caseIndex": index, "label": label,
         "backend": a.backend, "generators": a.generators, "avoid": a.avoid, "deadlineMs": a.deadline_ms,
         "expected": "the device model survives any command and keeps answering", "got": got,
         "qemuExit": facts["qemuExit"], "stalled": facts["stalled"], "qemuStderr": facts["qemuStderr"],
         "consoleTail": facts["consoleTail"], "guestLog": b.log,
         "replay": f"tools/vm fuzz --replay {{this file}}  (runs case {index} of seed {a.seed} alone in a fresh guest)"}
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{oracle}-case{index}-host.json")
    with open(path, "w") as f:
        json.dump(r, f, indent=2)
        f.write("\n")
    return path, r


def replay(a):
    r = json.load(open(a.replay))
    if r.get("kind") != "host":
        say(f"tools/vm fuzz: {a.replay} is not a host-level repro; replay it in the guest with: nvmekit fuzz --replay FILE")
        return 2
    a.seed, a.backend, a.generators = r["seed"], r.get("backend", "vfio"), r.get("generators")
    a.deadline_ms, a.avoid = r.get("deadlineMs", 500), r.get("avoid") or []
    first = max(0, r["caseIndex"] - a.window)
    say(f"replaying case {r['caseIndex']} of seed {a.seed} ({r['label']}) on {a.backend}"
        + (f" after cases {first}..{r['caseIndex'] - 1}" if first < r["caseIndex"] else "")
        + f", up to {a.repeat} times: expecting {r['oracle']}")
    b = run_boot(a, first, r["caseIndex"] - first + 1, lambda _: None, os.path.join(a.out, "boots", "replay.out"),
                 repeat=a.repeat)
    facts = log_facts(b.log)
    tries = sum(1 for l in open(os.path.join(a.out, "boots", "replay.out"), errors="replace")
                if l.startswith(f"FUZZ CASE {r['caseIndex']} "))
    if b.rc == 0:
        say(f"did not reproduce: the case completed {tries} time(s) and QEMU stayed up")
        return 1
    at = b.last_case[0] if b.last_case else None
    say(f"QEMU went down on try {max(tries, 1)} of {a.repeat}, during case {at}"
        + (f" ({b.last_case[2]})" if b.last_case else "")
        + ("" if at == r["caseIndex"] else f" — not the repro's case {r['caseIndex']}: the state the earlier cases leave matters"))
    same = facts["stalled"] if r["oracle"] == "deadline" else (facts["qemuExit"] == r.get("qemuExit"))
    say(("reproduced: " if same else "did not reproduce the same way: ")
        + f"qemu exit {facts['qemuExit']}, stalled {facts['stalled']}")
    return 0 if same else 1


def main(argv):
    a = parse_args(argv)
    if a.replay:
        return replay(a)
    t0 = time.time()
    end = a.first_case + a.cases
    nxt = a.first_case
    total = {"target": f"QEMU NVMe controller A ({a.backend})", "seed": a.seed, "boots": 0, "powerCycles": 0,
             "hostFindings": [], "reproFiles": []}
    merge(total, {})
    harness_failures = 0
    last_print = [0.0]

    def progress(b):
        now = time.time()
        if now - last_print[0] >= 30:
            last_print[0] = now
            idx, c, _ = b.last_case
            say(f"fuzz: case {idx} of {a.first_case}..{end - 1}  boot {total['boots']}  "
                f"findings {total['findings'] + c['findings']}  hangs {total['hangs'] + c['hangs']}  "
                f"power cycles {total['powerCycles']}  {int(now - t0)} s")

    while nxt < end:
        total["boots"] += 1
        say(f"fuzz: boot {total['boots']}: cases {nxt}..{end - 1} of seed {a.seed} on {a.backend}")
        b = run_boot(a, nxt, end - nxt, progress, os.path.join(a.out, "boots", f"boot-{total['boots']}.out"))
        total["reproFiles"] += b.repros
        total["malformedLines"] = total.get("malformedLines", 0) + b.malformed
        if b.malformed:
            say(f"fuzz: boot {total['boots']}: {b.malformed} heartbeat line(s) arrived garbled (see {a.out}/boots)")
        if b.summary is not None:
            s = b.summary
            merge(total, s)
            ran_to = nxt + s["cases"] + s.get("avoided", 0)
            if s.get("unrecovered", 0) > 0 and b.last_case:
                # No reset inside the guest brought the controller back: the power cycle is the next level.
                total["unrecovered"] -= s["unrecovered"]
                total["recovered"] += 1
                total["powerCycles"] += 1
                total["resets"]["power-cycle"] = total["resets"].get("power-cycle", 0) + 1
                say(f"fuzz: case {b.last_case[0]} left the controller unrecoverable inside the guest: power cycle")
                nxt = b.last_case[0] + 1
            else:
                nxt = ran_to
                if nxt < end:   # the guest run stopped early without saying why
                    say(f"fuzz: the guest run stopped at case {nxt} of {end}; exit {b.rc}")
                    break
            continue
        if b.last_case is None:
            harness_failures += 1
            say(f"fuzz: boot {total['boots']} never started a case (tools/vm exit {b.rc}); last lines:")
            for l in b.tail[-20:]:
                say("  " + l)
            if harness_failures >= 2:
                break
            continue
        # QEMU died or hung while a case ran: account for the cases before it, record it, power-cycle, resume.
        facts = log_facts(b.log)
        index, counters, label = b.last_case
        merge(total, b.checkpoint or {})
        if b.checkpoint:
            for k in COUNTERS:
                counters[k] = counters.get(k, 0) - b.checkpoint.get(k, 0)
        merge(total, counters, counters_only=True)
        path, r = host_repro(a, b, facts, a.out)
        total["cases"] += 1
        total["findings"] += 1
        total["perOracle"][r["oracle"]] = total["perOracle"].get(r["oracle"], 0) + 1
        if r["oracle"] == "deadline":
            total["hangs"] += 1
        total["recovered"] += 1
        total["powerCycles"] += 1
        total["resets"]["power-cycle"] = total["resets"].get("power-cycle", 0) + 1
        total["reproFiles"].append(path)
        total["hostFindings"].append({"oracle": r["oracle"], "caseIndex": index, "label": label, "got": r["got"],
                                      "qemuStderr": r["qemuStderr"][-3:], "repro": path})
        say(f"fuzz: POWER CYCLE after case {index} ({label}): {r['got']}; repro {path}")
        for l in r["qemuStderr"][-5:]:
            say("  qemu: " + l)
        nxt = index + 1
        if total["powerCycles"] >= a.max_power_cycles and nxt < end:
            say(f"fuzz: {total['powerCycles']} power cycles: giving up at case {nxt} (raise --max-power-cycles)")
            break

    generated = total["cases"] + total["avoided"]
    total["requested"] = a.cases
    total["seconds"] = round(time.time() - t0, 1)
    if nxt < end:
        total["unrecovered"] += 1   # the run could not go on: that is a case nothing recovered
    ok = generated == a.cases and total["toolkitCrashes"] == 0 and total["unrecovered"] == 0
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(total, f, indent=1, sort_keys=True)
    say(f"fuzz summary: {total['cases']} cases run + {total['avoided']} avoided of {a.cases} requested, "
        f"{total['seconds']} s, {total['boots']} boot(s)")
    say(f"  findings {total['findings']}  hangs {total['hangs']}  recovered {total['recovered']}  "
        f"unrecovered {total['unrecovered']}  toolkit crashes {total['toolkitCrashes']}  "
        f"power cycles {total['powerCycles']}  DMA faults {total['dmaFaults']}")
    say("  resets " + " ".join(f"{k}={v}" for k, v in sorted(total["resets"].items())))
    say("  per oracle " + " ".join(f"{k}={v}" for k, v in sorted(total["perOracle"].items())))
    say(f"  distinct statuses {len(total['statuses'])}; repro files in {a.out}")
    for h in total["hostFindings"]:
        say(f"  host finding: {h['oracle']} at case {h['caseIndex']} ({h['label']}): {h['got']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
