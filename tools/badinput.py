#!/usr/bin/env python3
"""Bad-input tier: thousands of invalid or extreme `nvmekit` invocations against the simulator.

Every subcommand and every option gets negative, zero, -0, huge, 2^63, 2^64, NaN, inf, empty, garbage and unicode
values, missing required arguments, bad PCI addresses and bad or malformed files. Each invocation runs with a
deadline in a small worker pool, in a fresh temporary directory (its cwd and NVMEKIT_STATE_DIR).

A case FAILS on:
  - a signal (exit >= 128 or negative) or a hang (no exit within the deadline);
  - Swift runtime error text on stdout or stderr ("Fatal error", "Illegal instruction", ...);
  - an invalid invocation that exits 0;
  - an invalid invocation whose stderr, once ArgumentParser's usage block is removed (from the "Usage:" line through
    "See '... --help' for more information."), is not exactly one line: a parse error may carry the usage block,
    the error itself must be one line;
  - a valid invocation that does not exit 0.

Safety: no invocation can reach a real PCI function. Every PCI address used is checked against /sys/bus/pci/devices
before the run and dropped if it exists; device-facing commands otherwise get --target sim; NVMEKIT_GUEST,
NVMEKIT_DEVICES and NVMEKIT_BACKEND are removed from the environment so no default target is picked up.

Prints a count per subcommand and the totals; the last line is "badinput: N passed, N failed" counting
subcommands (tools/test adds one check per subcommand).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

RUNTIME_TEXT = ["Fatal error", "Illegal instruction", "Trace/breakpoint", "Swift runtime failure", "Stack dump",
                "Current stack trace", "Program crashed", "Segmentation fault", "Assertion failed",
                "Precondition failed"]

# ---- values ---------------------------------------------------------------------------------------------------

GARBAGE = ["", " ", "abc", "0x", "--", "-", "+", "12abc", "1 2", "١٢", "１２", "½", "😀", "\u202e5", "é", "0b101",
           "9" * 40, "'", "\"", "\\", "%s%n", "\t", "null", "true", "1,2", "0x1g"]
INTS = ["0", "-0", "-1", "1", "2", "-9223372036854775808", "-9223372036854775809", "9223372036854775807",
        "9223372036854775808", "18446744073709551615", "18446744073709551616", "4294967295", "4294967296", "65535",
        "65536", "65537", "2147483648", "1000000001", "2048", "1024", "1023", "4096", "99999999999999999999999"]
FLOATS = ["nan", "NaN", "inf", "-inf", "infinity", "-0.0", "1e308", "1e-300", "0.0001", "-0.5", "1.5", "1e999",
          "604801", "0.001"]
HEXES = ["0x0", "0xff", "0x100", "0xFFFFFFFF", "0x100000000", "0xFFFFFFFFFFFFFFFF", "0x10000000000000000", "1Fh",
         "ffh", "0x-1", "1_000", "0x7F", "0x80", "0x8000000000000000"]
STRINGS = ["", " ", "garbage", "😀", "é", "a" * 5000, "-1", "0", "sim\n", "%n", "../../..", "NaN"]

# PCI addresses. The well-formed ones are checked not to exist on this machine; the malformed ones are mutations of
# an address on a bus no present function uses, so even a lenient parser (whitespace trimmed, case folded, a
# domain assumed) can only arrive at a function that does not exist.
ABSENT_BDFS_CANDIDATES = ["0000:fe:1f.7", "fffe:fe:1e.6", "0000:fd:1d.5", "fe:1f.7", "fffe:fd:00.0"]


def present_bdfs():
    try:
        return {d.lower() for d in os.listdir("/sys/bus/pci/devices")}
    except OSError:
        return set()


def absent_bdfs():
    present = present_bdfs()
    used_buses = {p.split(":")[1] for p in present if p.count(":") == 2}
    out = []
    for b in ABSENT_BDFS_CANDIDATES:
        full = b if b.count(":") == 2 else "0000:" + b
        if full.lower() not in present and full.split(":")[1] not in used_buses:
            out.append(b)
    return out


def as_pci_address(text):
    """The address nvmekit's PCIAddress(parsing:) would read from `text` (trimmed, lowercased), or None."""
    t = text.strip().lower()
    parts = t.split(":")
    if len(parts) not in (2, 3):
        return None
    dom = parts[0] if len(parts) == 3 else "0"
    bus, df = parts[-2], parts[-1].split(".")
    try:
        if len(df) != 2 or len(dom) > 8 or not (0 < len(bus) <= 2) or not (0 < len(df[0]) <= 2) or len(df[1]) != 1:
            return None
        d, b, dev, fn = int(dom, 16), int(bus, 16), int(df[0], 16), int(df[1], 16)
    except ValueError:
        return None
    if dev >= 32 or fn >= 8:
        return None
    return f"{d:04x}:{b:02x}:{dev:02x}.{fn}"


def assert_no_present_device(cases):
    """Refuses to run when any argument of any case could name a PCI function present on this machine."""
    present = present_bdfs()
    for c in cases:
        for arg in c.argv:
            for piece in [arg] + arg.split("=", 1)[1:]:
                a = as_pci_address(piece)
                if a is not None and a in present:
                    raise SystemExit(f"badinput: refusing to run: {c.argv} names {a}, which exists on this machine")


def malformed_bdfs(absent):
    if not absent:
        return ["", "garbage", "😀", "-1"]
    a = absent[0] if absent[0].count(":") == 2 else "0000:" + absent[0]
    dom, bus, df = a.split(":")
    dev, fn = df.split(".")
    return ["", "garbage", "😀", "-1", f"{dom}:{bus}:{dev}", f"{bus}:{dev}.{fn}.0", f"zzzz:{bus}:{dev}.{fn}",
            f"{dom}:{bus}:20.{fn}", f"{dom}:{bus}:{dev}.8", f"1{dom}0000:{bus}:{dev}.{fn}", f"{dom}:1{bus}:{dev}.{fn}",
            f" {a}\n", a.upper(), f"{dom}:{bus}:{dev}.{fn}.{fn}", f"{dom}::{dev}.{fn}"]


def swift_int(s, signed=True, bits=64):
    """Swift's FixedWidthInteger(String): optional sign, ASCII digits only."""
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        return None
    v = int(s)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if s.startswith("-") and not signed:
        return 0 if int(s) == 0 else None
    return v if lo <= v <= hi else None


def number(s, signed=False, bits=64):
    """nvmekit's Number<T>: 0x hex, NNh hex or decimal; whitespace trimmed, underscores dropped."""
    t = s.strip(" ").replace("_", "")
    if t.lower().startswith("0x"):
        d = t[2:]
        return int(d, 16) if re.fullmatch(r"[0-9a-fA-F]+", d) and int(d, 16) < (1 << bits) else None
    if t.lower().endswith("h"):
        d = t[:-1]
        return int(d, 16) if re.fullmatch(r"[0-9a-fA-F]+", d) and int(d, 16) < (1 << bits) else None
    return swift_int(t, signed, bits)


def swift_double(s):
    if s != s.strip() or s == "" or "_" in s or not s.isascii():
        return None
    try:
        return float(s)
    except ValueError:
        return None


class Opt:
    """An option: how its text parses, and the values valid on the simulator."""

    def __init__(self, name, parse, lo=None, hi=None, extra_valid=None, values=None, good=None):
        self.name, self.parse, self.lo, self.hi = name, parse, lo, hi
        self.extra_valid = extra_valid  # predicate(text) -> bool for non-numeric options
        self.values = values
        self.good = good or []  # valid extremes worth running (must exit 0)

    def valid(self, text):
        if self.extra_valid is not None:
            return self.extra_valid(text)
        v = self.parse(text)
        if v is None:
            return False
        if isinstance(v, float) and v != v:
            return False
        return (self.lo is None or v >= self.lo) and (self.hi is None or v <= self.hi)

    def pool(self):
        if self.values is not None:
            return self.values
        if self.parse is swift_double_p:
            return GARBAGE + INTS + FLOATS
        if self.parse in (num8, num16, num32, num64):
            return GARBAGE + INTS + HEXES
        return GARBAGE + INTS + FLOATS[:6]


def swift_double_p(s):
    return swift_double(s)


def i64(s):
    return swift_int(s, True, 64)


def u64(s):
    return swift_int(s, False, 64)


def u32(s):
    return swift_int(s, False, 32)


def u8(s):
    return swift_int(s, False, 8)


def num8(s):
    return number(s, False, 8)


def num16(s):
    return number(s, False, 16)


def num32(s):
    return number(s, False, 32)


def num64(s):
    return number(s, False, 64)


def one_of(*choices):
    return lambda s: s in choices


# ---- cases ----------------------------------------------------------------------------------------------------

class Case:
    def __init__(self, cmd, argv, valid, files=None, timeout=None, note=""):
        self.cmd, self.argv, self.valid, self.files, self.timeout, self.note = cmd, argv, valid, files or {}, timeout, note


SIM = ["--target", "sim"]
SQE_ZERO = "00" * 64
IDENTIFY_SQE = "06000000" + "00" * 36 + "01000000" + "00" * 20
CMDLOG = json.dumps([{"qid": 0, "cid": 1, "opcode": 6, "status": "00/00", "statusName": "Successful Completion",
                      "latencyNs": 1200, "origin": "device"}])


def repro(**changes):
    env = {"pageSize": 4096, "adminQueueDepth": 32, "ioQueueID": 1, "ioQueueDepth": 64, "dataPages": 32,
           "listPages": 4, "namespaceCount": 1, "activeNamespaces": [1], "blockSize": 512, "blockCount": 262144,
           "maximumTransferBytes": 524288, "mqes": 2047, "contiguousQueuesRequired": True, "grantedQueuePairs": 64,
           "interruptVectors": 65, "canaryBlocks": 8}
    sub = {"qid": 1, "dwords": [2, 1] + [0] * 14, "prp1": {"data": {"offset": 0}}, "ring": True,
           "expect": {"completes": True, "wildPointers": False}}
    actions = [{"submit": {"_0": sub}}, {"fill": {"area": "data", "offset": 0, "count": 512, "byte": 0}},
               {"wait": {"microseconds": 10}}]
    actions += changes.pop("actions", [])
    case = {"index": 7, "generator": "fields", "label": "read lba 0", "actions": actions, "requiresReset": False,
            "exempt": []}
    r = {"format": "nvmekit-fuzz-repro/1", "seed": 1, "target": "sim", "oracle": "deadline", "expected": "x",
         "got": "y", "caseIndex": 7, "label": "read lba 0", "generator": "fields", "environment": env,
         "queueState": [{"qid": 0, "depth": 32, "sqTail": 0, "sqHead": 0, "cqHead": 0, "cqPhase": True}],
         "history": [], "failingCase": case, "posted": [], "registerWrites": [], "alsoTripped": []}
    for k, v in changes.items():
        if k == "dwords":
            sub["dwords"] = v
        elif k == "queueState":
            r["queueState"] = v
        else:
            r[k] = v
    return json.dumps(r)


BIG = 2 ** 62
BAD_REPROS = {
    "not-json": "{{{",
    "empty-object": "{}",
    "array": "[]",
    "wrong-format": repro(format="nvmekit-fuzz-repro/0"),
    "short-dwords": repro(dwords=[2, 1, 0]),
    "no-dwords": repro(dwords=[]),
    "bad-oracle": repro(oracle="nonsense"),
    "negative-depth": repro(queueState=[{"qid": 0, "depth": -5, "sqTail": 0, "sqHead": 0, "cqHead": 0, "cqPhase": True}]),
    "tail-past-depth": repro(queueState=[{"qid": 0, "depth": 32, "sqTail": 40, "sqHead": 0, "cqHead": 0, "cqPhase": True}]),
    "huge-depth": repro(queueState=[{"qid": 0, "depth": BIG, "sqTail": 0, "sqHead": 0, "cqHead": 0, "cqPhase": True}]),
    "register-offset-overflow": repro(actions=[{"writeRegister": {"offset": 9223372036854775807, "value": 1}}]),
    "register-offset-negative": repro(actions=[{"writeRegister": {"offset": -9223372036854775808, "value": 1}}]),
    "pointer-register-overflow": repro(actions=[{"writeRegisterPointer": {"offset": 9223372036854775800, "pointer": {"data": {"offset": 0}}}}]),
    "list-offset-overflow": repro(actions=[{"writeList": {"offset": 9223372036854775800, "entries": [{"data": {"offset": 0}}, {"absolute": {"_0": 1}}]}}]),
    "sgl-offset-overflow": repro(actions=[{"writeSGL": {"offset": 9223372036854775800, "descriptors": [{"address": {"data": {"offset": 0}}, "length": 512, "identifier": 0, "reserved": 0}]}}]),
    "bytes-offset-overflow": repro(actions=[{"writeBytes": {"area": "data", "offset": 9223372036854775807, "bytes": [1, 2, 3]}}]),
    "fill-overflow": repro(actions=[{"fill": {"area": "list", "offset": 9223372036854775807, "count": 9223372036854775807, "byte": 1}}]),
    "fill-negative-overflow": repro(actions=[{"fill": {"area": "list", "offset": -9223372036854775808, "count": -9223372036854775808, "byte": 1}}]),
    "data-pointer-overflow": repro(actions=[{"submit": {"_0": {"qid": 1, "dwords": [2, 1] + [0] * 14, "prp1": {"data": {"offset": 9223372036854775807}}, "ring": True, "expect": {"completes": True, "wildPointers": True}}}}]),
    "list-pointer-underflow": repro(actions=[{"submit": {"_0": {"qid": 0, "dwords": [6] + [0] * 15, "prp1": {"list": {"offset": -9223372036854775808}}, "ring": True, "expect": {"completes": True, "wildPointers": True}}}}]),
    "doorbell-plus-overflow": repro(actions=[{"ringSubmissionTail": {"qid": 0, "value": {"tail": {"plus": 9223372036854775807}}}}]),
    "doorbell-head-underflow": repro(actions=[{"ringCompletionHead": {"qid": 0, "value": {"head": {"plus": -9223372036854775808}}}}]),
    "wait-ready-forever": repro(actions=[{"waitReady": {"ready": False, "milliseconds": 9223372036854775807}}]),
    "wait-forever": repro(actions=[{"wait": {"microseconds": 9223372036854775807}}]),
    "wait-negative": repro(actions=[{"wait": {"microseconds": -1}}]),
    "number-too-big": repro(seed=18446744073709551616),
    "float-offset": repro(actions=[{"wait": {"microseconds": 1.5}}]),
    "string-seed": repro(seed="1"),
}


def build_cases(quick=False):
    bdfs = absent_bdfs()
    BAD_BDFS = malformed_bdfs(bdfs)
    cases = []

    def add(cmd, argv, valid, **kw):
        cases.append(Case(cmd, argv, valid, **kw))

    def sweep(cmd, base, opts, form="eq"):
        for o in opts:
            for v in o.pool():
                ok = o.valid(v)
                if ok and v not in o.good:
                    continue  # valid values are run only when listed as extremes worth the time
                add(cmd, base + [f"{o.name}={v}"], ok)
            # The option given without a value, and twice with a bad value last.
            add(cmd, base + [o.name], False)

    target_opts = [
        Opt("--target", None, extra_valid=one_of("sim"), values=["", " ", "garbage", "sim:", "simulator", "😀", "-1"] + BAD_BDFS[:6] + bdfs, good=["sim"]),
        Opt("--backend", None, extra_valid=one_of(), values=["", "vfio2", "kernel", "UIO", "😀", "-1"]),
        Opt("--interrupts", None, extra_valid=one_of("msix", "intx", "polling"), values=["", "msi", "MSIX", "none", "😀", "polling"], good=["polling"]),
    ]

    # identify
    base = ["identify"] + SIM
    sweep("identify", ["identify"], target_opts)
    sweep("identify", base, [
        Opt("--cns", num8, 0, 255, good=["1", "0x01", "01h"]),
        Opt("--nsid", num32, 0, 2 ** 32 - 1, good=[]),
        Opt("--cntid", num16, 0, 65535, good=[]),
    ])
    add("identify", base + ["--json"], True)
    add("identify", base + ["--raw"], True)
    add("identify", base + ["--cns", "0", "--nsid", "1", "--json"], True)
    # A state file that is a device node or a directory is refused at once (it would be read forever).
    for p in ["/dev/zero", "/tmp", "/dev/null/x"]:
        add("identify", ["identify", "--target", f"sim:{p}"], False)
    add("identify", base + ["--cns", "2"], True)
    add("identify", base + ["--cns", "0", "--nsid", "0xFFFFFFFE"], False)   # no such namespace: an error status
    add("identify", base + ["extra"], False)
    add("identify", base + ["--raw", "--json"], False)
    add("identify", base + ["--bogus"], False)
    for b in bdfs:
        add("identify", ["identify", "--target", b, "--allow-unsafe", "--bind"], False)

    # log
    base = ["log"] + SIM
    sweep("log", base, [
        Opt("--lid", num8, 0, 255, good=["2", "0x02"]),
        Opt("--length", i64, 4, 524288, good=["4", "524288", "4096"]),
        Opt("--nsid", num32, 0, 2 ** 32 - 1, good=["0xFFFFFFFF"]),
        Opt("--offset", u64, 0, 0, values=GARBAGE + ["-1", "1", "2", "3", "5", "18446744073709551616", "-0", "0"], good=["0", "-0"]),
        Opt("--lsp", num8, 0, 127, good=["0"]),
    ])
    for v in ["5", "6", "7", "1022", "4098"]:
        add("log", base + [f"--length={v}"], False)
    for v in ["1", "2", "3", "5"]:
        add("log", base + [f"--offset={v}"], False)
    for v in ["128", "255", "0x80"]:
        add("log", base + [f"--lsp={v}"], False)
    add("log", base + ["--length=1048576"], False)   # beyond MDTS (512 KiB on the simulator)
    add("log", base + ["--rae"], True)
    add("log", base + ["--output={tmp}/log.bin"], True)
    for p in ["", "{tmp}", "{tmp}/missing/dir/log.bin", "/proc/version/x"]:
        add("log", base + [f"--output={p}"], False)

    # features
    for sub in ["get", "set"]:
        add("features", ["features", sub] + SIM, False)  # --fid missing
    add("features", ["features"] + SIM, False)
    add("features", ["features", "frob"] + SIM, False)
    base = ["features", "get"] + SIM + ["--fid", "7"]
    sweep("features", base, [
        Opt("--fid", num8, 0, 255, good=[]),
        Opt("--sel", num8, 0, 3, good=["0", "3"]),
        Opt("--cdw11", num32, 0, 2 ** 32 - 1, good=["0xFFFFFFFF"]),
        Opt("--nsid", num32, 0, 2 ** 32 - 1, good=["0"]),
    ])
    for v in ["4", "5", "7", "8", "9", "255"]:
        add("features", base + [f"--sel={v}"], False)
    base = ["features", "set"] + SIM + ["--fid", "4", "--value", "0x0160"]
    sweep("features", base, [
        Opt("--fid", num8, 0, 255, good=["4"]),
        Opt("--value", num32, 0, 2 ** 32 - 1, good=["0"]),
        Opt("--cdw12", num32, 0, 2 ** 32 - 1, good=[]),
        Opt("--nsid", num32, 0, 2 ** 32 - 1, good=["0"]),
    ])
    add("features", base + ["--save"], False)   # the simulator's temperature threshold is not saveable
    add("features", ["features", "set"] + SIM + ["--fid", "4"], False)   # --value missing

    # cmd
    base = ["cmd"] + SIM + ["--opcode", "6", "--cdw10", "1", "--data-len", "4096"]
    sweep("cmd", base, [
        Opt("--data-len", i64, 0, 16 << 20, good=["4096", "16777216"]),
        Opt("--timeout-ms", i64, 1, 3600000, good=["1000", "3600000"]),
        Opt("--fuse", num8, 0, 3, good=[]),
        Opt("--psdt", num8, 0, 3, good=[]),
        Opt("--queue", None, extra_valid=one_of("admin", "0"), values=["", "x", "io2", "-1", "65536", "0x10000", "😀", "１", "2", "65535", "0"], good=["admin", "0"]),
        Opt("--nsid", num32, 0, 2 ** 32 - 1, good=[]),
        Opt("--cdw2", num32, 0, 2 ** 32 - 1, good=[]),
        Opt("--cdw3", num32, 0, 2 ** 32 - 1, good=[]),
        Opt("--cdw11", num32, 0, 2 ** 32 - 1, good=[]),
        Opt("--cdw12", num32, 0, 2 ** 32 - 1, good=[]),
        Opt("--cdw13", num32, 0, 2 ** 32 - 1, good=[]),
        Opt("--cdw14", num32, 0, 2 ** 32 - 1, good=[]),
        Opt("--cdw15", num32, 0, 2 ** 32 - 1, good=[]),
        Opt("--mptr", num64, 0, 2 ** 64 - 1, good=[]),
    ])
    # Raw command fields go to the controller as written: the controller's answer decides the exit, so these only
    # must not crash, hang or print a runtime error (valid None).
    for o in ["--fuse", "--psdt"]:
        for v in ["1", "2", "3"]:
            add("cmd", base + [f"{o}={v}"], None)
    # Raw command fields go to the controller as written: an error status (exit 2) is a valid outcome, not a
    # crash. None marks "any exit but a crash, a hang or a runtime error".
    for o in ["--opcode", "--cdw10"]:
        for v in GARBAGE + ["-1", "256" if o == "--opcode" else "4294967296", "0x100" if o == "--opcode" else "0x100000000",
                            "18446744073709551616"]:
            add("cmd", ["cmd"] + SIM + ["--opcode", "6"] + [f"{o}={v}"], False)
    for o in ["--prp1", "--prp2"]:
        for v in GARBAGE + ["-1", "18446744073709551616", "0x10000000000000000"]:
            add("cmd", base + [f"{o}={v}"], False)
        for v in ["0", "0xFFFFFFFFFFFFFFFF", "0x1000"]:
            add("cmd", base + ["--data-len=4096", f"{o}={v}"], None)
    add("cmd", ["cmd"] + SIM, False)   # no opcode, no hex
    for h in ["", "zz", "0" * 127, "0" * 129, "0" * 126 + "０" * 2, "0" * 126 + "😀", SQE_ZERO + "00", "g" * 128,
              "0x" + "00" * 64, "-" + "0" * 127]:
        add("cmd", ["cmd"] + SIM + [f"--hex={h}"], False)
    add("cmd", ["cmd"] + SIM + ["--hex", SQE_ZERO, "--dry-run"], True)
    add("cmd", ["cmd"] + SIM + ["--hex", " ".join([IDENTIFY_SQE[i:i + 8] for i in range(0, 128, 8)]), "--data-len", "4096"], True)
    add("cmd", base + ["--data-len", "4096", "--show-cmd"], True)
    add("cmd", base + ["--data-len", "4096", "--keep-cid"], True)
    add("cmd", base + ["--dry-run", "--show-cmd"], True)
    add("cmd", ["cmd"] + SIM + ["--queue", "io", "--opcode", "2", "--nsid", "1", "--data-len", "512"], True)
    add("cmd", ["cmd"] + SIM + ["--queue", "5", "--opcode", "2"], False)
    add("cmd", ["cmd"] + SIM + ["--opcode", "9", "--cdw10", "4", "--input-file", "{tmp}/small.bin"], True,
        files={"small.bin": b"\x60\x01\x00\x00"})
    add("cmd", ["cmd"] + SIM + ["--opcode", "9", "--cdw10", "4", "--input-file", "{tmp}/small.bin", "--data-len", "4096"], True,
        files={"small.bin": b"\x60\x01\x00\x00"})
    add("cmd", ["cmd"] + SIM + ["--opcode", "9", "--input-file", "{tmp}/big.bin", "--data-len", "16"], False,
        files={"big.bin": b"\x01" * 64})
    for p in ["", "{tmp}", "{tmp}/nope.bin", "/dev/zero", "/dev/null", "{tmp}/empty.bin", "{tmp}/huge.bin", "/proc/self/mem", "😀"]:
        add("cmd", ["cmd"] + SIM + ["--opcode", "9", f"--input-file={p}"], False, files={"empty.bin": b"", "huge.bin": ("sparse", 17 << 20)})

    # reset
    base = ["reset"] + SIM
    sweep("reset", base, [
        Opt("--kind", None, extra_valid=one_of("controller"), values=["", "Controller", "warm", "😀", "-1", "controller"], good=["controller"]),
        Opt("--inflight", i64, 0, 1023, good=["0", "1", "1023"]),
    ])

    # cmdlog
    base = ["cmdlog"] + SIM
    files = {"cmdlog-sim.json": CMDLOG.encode()}
    for o in [Opt("--last", i64, 1, 1000000, good=["1", "1000000"])]:
        for v in o.pool():
            ok = o.valid(v)
            if ok and v not in o.good:
                continue
            add("cmdlog", base + [f"--last={v}"], ok, files=files)
        add("cmdlog", base + ["--last"], False, files=files)
    add("cmdlog", base, True, files=files)
    add("cmdlog", base + ["--json"], True, files=files)
    add("cmdlog", base, False)   # no log yet
    for bad in [b"", b"{", b"{}", b"[1,2]", b"null", b"\xff\xfe"]:
        add("cmdlog", base, False, files={"cmdlog-sim.json": bad})
    for odd in [b'[{"qid": 1e400}]', b'[{"opcode": -5, "latencyNs": "x", "qid": 99999999999999999999}]', b'[{}]']:
        add("cmdlog", base, None, files={"cmdlog-sim.json": odd})
    sweep("cmdlog", ["cmdlog"], target_opts[:1])

    # demo
    base = ["demo"] + SIM
    sweep("demo", base, [Opt("--blocks", i64, 1, 1024, good=["1", "1024"])])
    add("demo", base + ["--interrupts", "polling"], True)

    # queue-bench (hidden)
    base = ["queue-bench", "--ios", "1000", "--repeat", "1", "--only", "raw/inline/1"]
    sweep("queue-bench", base, [
        Opt("--ios", i64, 1, 1_000_000_000, good=["1"]),
        Opt("--depth", i64, 2, 2048, good=["2", "2048"]),
        Opt("--repeat", i64, 1, 1000, good=["1"]),
        Opt("--only", None, extra_valid=one_of("raw/inline/1", "raw/inline/32"), values=["", "raw", "raw/inline/7", "😀", "raw/inline/32"], good=["raw/inline/32"]),
        Opt("--backend", None, extra_valid=one_of(), values=["", "vfio", "uio", "x"]),
    ])
    add("queue-bench", base + ["--json-file", "{tmp}/qb.json"], True)
    for p in ["", "{tmp}", "{tmp}/no/such/qb.json"]:
        add("queue-bench", base + [f"--json-file={p}"], False)
    for b in BAD_BDFS[:4] + bdfs:
        add("queue-bench", base + [f"--device={b}"], False)

    # io
    base = ["io"] + SIM + ["--time", "0.05", "--no-progress"]
    sweep("io", ["io", "--time", "0.05", "--no-progress"], target_opts)
    sweep("io", base, [
        Opt("--nsid", u32, 1, 1, good=["1"]),
        Opt("--workers", i64, 1, 64, good=["2"]),
        Opt("--threads", i64, 1, 1, good=["1"]),
        Opt("--submit-batch", i64, 1, 32, good=["32"]),
        Opt("--align", i64, 1, 262144, good=["262144"]),
        Opt("--random", i64, 0, 100, good=["0"]),
        Opt("--read", i64, 0, 100, good=["0", "100"]),
        Opt("--qd", i64, 1, 2047, good=["1", "2047"]),
        Opt("--cq-depth", i64, 33, 2048, good=["33", "2048"]),
        Opt("--qprio", u8, 0, 3, good=["3"]),
        Opt("--time", swift_double_p, 0.001, 604800, good=["0.001"]),
        Opt("--iops", i64, 1, 100_000_000, good=["1", "100000000"]),
        Opt("--cmdlog", i64, 0, 1_000_000, good=["1000000"]),
        Opt("--reset-at", swift_double_p, 0, 0.05, values=GARBAGE + FLOATS + ["-1", "0.06", "1", "604800"]),
        Opt("--yield-after", i64, 0, 1_000_000_000, good=["1000000000"]),
        Opt("--sim-blocks", u64, 64, 1 << 24, good=["64", "16777216"]),
        Opt("--region-start", u64, 0, 262143, good=[]),
        Opt("--region-end", u64, 8, 262144, good=["8"]),
        Opt("--seed", u64, 0, 2 ** 64 - 1, good=["18446744073709551615"]),
        Opt("--pattern", None, extra_valid=one_of("stamped", "zeroes", "ones", "random"), values=["", "Stamped", "zero", "😀", "random"], good=["random"]),
        Opt("--reset-kind", None, extra_valid=one_of(), values=["", "warm", "😀", "Controller"]),
        Opt("--and-target", None, extra_valid=one_of(), values=["", " ", "garbage", "sim:", "😀"] + BAD_BDFS[:3] + bdfs),
    ])
    for v in ["0", "-1", "4m", "1025", "512k+1", "4k:0", "4k:-1", "4k:1000001", "4k:9223372036854775807,8k:1",
              "9223372036854775807k", "18014398509481984m", "", ",", ":", "4k:", "😀", "1.5", "4q", "4xk", "0k",
              "100000", "65537", "4 k", "1000b", "0x10", "１"]:
        add("io", base + [f"--io-size={v}"], False)
    for v in ["1", "1024", "4k", "512k", "1,8,64", "4k:70,128k:30", "512k:1000000,4k:0", "3k", "1k:50,3k:50", "4k,"]:
        add("io", base + [f"--io-size={v}"], True)
    for v in ["", "read", "read:", "read:-1", "read:0", "read:9223372036854775807,read:1", "write:1000001", "foo:1",
              "read:1:2", "😀:1", ",,", "read:70,write:30,bogus:1"]:
        add("io", base + [f"--mix={v}"], False)
    for v in ["read:1", "read:60,write:30,trim:4,flush:2,write-zeroes:2,compare:1,verify:1", "write:1000000"]:
        add("io", base + [f"--mix={v}"], True)
    add("io", base + ["--region-start", "100", "--region-end", "100"], False)
    add("io", base + ["--region-start", "262144"], False)
    add("io", base + ["--region-end", "262145"], False)
    add("io", base + ["--region-start", "262140", "--io-size", "8"], False)
    add("io", base + ["--workers", "65"], False)
    add("io", base + ["--workers", "2", "--threads", "3"], False)
    add("io", base + ["--workers", "2", "--threads", "1"], True)
    add("io", base + ["--qd", "2048"], False)
    add("io", base + ["--qd", "64", "--cq-depth", "64"], False)
    add("io", base + ["--cq-depth", "2049"], False)
    add("io", base + ["--submit-batch", "33"], False)
    add("io", base + ["--qd", "4", "--submit-batch", "5"], False)
    add("io", base + ["--sim-blocks", "16777217"], False)
    add("io", base + ["--sim-blocks", "4", "--io-size", "8"], False)
    add("io", ["io"] + SIM + ["--io-count", "1", "--no-progress"], True)
    add("io", ["io"] + SIM + ["--io-count", "4611686018427387904", "--time", "0.02", "--no-progress"], True)
    for v in ["0", "-1", "4611686018427387905", "18446744073709551615", "18446744073709551616", "nan", ""]:
        add("io", ["io"] + SIM + [f"--io-count={v}", "--no-progress"], False)
    add("io", ["io"] + SIM + ["--io-count", "10", "--reset-at", "60", "--no-progress"], False)
    add("io", base + ["--sim-null", "--no-verify", "--json"], True)
    add("io", base + ["--wrr", "--qprio", "0", "--keep-going", "--shadow-doorbells"], True)
    add("io", base + ["--report", "{tmp}/r.html", "--json-file", "{tmp}/r.json"], True)
    add("io", base + ["--map-file", "{tmp}/map.bin"], True)
    for o in ["--report", "--json-file", "--map-file"]:
        for p in ["", "{tmp}", "{tmp}/no/such/dir/x"]:
            add("io", base + [f"{o}={p}"], False)
    add("io", base + ["--bogus"], False)
    # --timeout (per-command timeout, seconds): only out-of-range values, refused whether or not the build has it.
    for v in GARBAGE + ["nan", "inf", "-inf", "-1", "0", "-0", "0.0001", "86401", "1e300", "1e999"]:
        add("io", base + [f"--timeout={v}"], False)
    for b in bdfs[:2]:
        add("io", ["io", "--target", b, "--time", "0.05", "--no-progress", "--sim-null"], False)
        add("io", ["io", "--target", b, "--time", "0.05", "--no-progress", "--sim-blocks", "64"], False)   # no such device
    add("io", base + ["extra"], False)

    # fuzz
    base = ["fuzz"] + SIM + ["--cases", "3", "--quiet", "--out", "{tmp}/findings"]
    sweep("fuzz", ["fuzz", "--cases", "3", "--quiet"], target_opts)
    sweep("fuzz", base, [
        Opt("--seed", num64, 0, 2 ** 64 - 1, good=["0xFFFFFFFFFFFFFFFF", "0"]),
        Opt("--cases", i64, 1, 10 ** 12, good=["1"]),
        Opt("--first-case", u64, 0, 2 ** 63 - 4, good=["9223372036854775804"]),
        Opt("--deadline-ms", i64, 1, 600000, good=["1", "600000"]),
    ])
    base_t = ["fuzz"] + SIM + ["--quiet", "--out", "{tmp}/findings"]
    for v in GARBAGE + FLOATS + ["0", "-0", "-1", "0s", "0ms", "0.0001s", "1w", "1d", "605000s", "10081m", "169h",
                                 "1e10", "9223372036854775807", "5 m", "m", "ms", "-5m", "nanms", "infh", "1e999s"]:
        add("fuzz", base_t + [f"--time={v}"], v in ("0.001", "1.5"))
    for v in ["1ms", "0.05", "0.05s", "20ms"]:
        add("fuzz", base_t + [f"--time={v}"], True)
    add("fuzz", base + ["--first-case", "9223372036854775805"], False)   # first-case + cases past 2^63-1
    for v in ["", ",", ",,", " ", "PRP", "prp,nonsense", "😀", "opcodes;fields", " , "]:
        add("fuzz", base + [f"--generators={v}"], False)
    for v in ["prp", "opcodes,fields,namespaces,prp,sgl,transferSize,doorbells,queueCreation,initSequence", " prp , sgl "]:
        add("fuzz", base + [f"--generators={v}"], True)
    for v in ["", ",", " ", "nonsense", "😀"]:
        add("fuzz", base + [f"--oracles={v}"], False)
    add("fuzz", base + ["--oracles=deadline,status"], True)
    for v in ["", " ", "\t"]:
        add("fuzz", base + [f"--avoid={v}"], False)
    add("fuzz", base + ["--avoid", "SGL segment chain looping on itself", "--trace", "--json"], True)
    add("fuzz", base + ["--heartbeat"], True)
    add("fuzz", base + ["--summary-file", "{tmp}/s.json", "--minimize"], True)
    for p in ["", "{tmp}", "{tmp}/no/such/s.json"]:
        add("fuzz", base + [f"--summary-file={p}"], False)
    for p in ["", "{tmp}/file.txt", "{tmp}/no/such/dir"]:
        add("fuzz", ["fuzz"] + SIM + ["--cases", "3", "--quiet", f"--out={p}"], False, files={"file.txt": b"x"})
    # --replay: files that are missing, not regular, malformed or out of range; options a replay would ignore.
    for p in ["", "{tmp}/none.json", "{tmp}", "/dev/zero", "/dev/null", "{tmp}/empty.json"]:
        add("fuzz", ["fuzz"] + SIM + [f"--replay={p}"], False, files={"empty.json": b""})
    for name, text in BAD_REPROS.items():
        add("fuzz", ["fuzz"] + SIM + ["--replay", "{tmp}/r.json"], False, files={"r.json": text.encode()}, note=name)
        add("fuzz", ["fuzz"] + SIM + ["--replay", "{tmp}/r.json", "--minimize", "--json"], False, files={"r.json": text.encode()}, note=name)
    good_repro = {"r.json": repro().encode()}
    add("fuzz", ["fuzz"] + SIM + ["--replay", "{tmp}/r.json"], True, files=good_repro)
    add("fuzz", ["fuzz"] + SIM + ["--replay", "{tmp}/r.json", "--json", "--minimize"], True, files=good_repro)
    for extra in [["--cases", "5"], ["--time", "1"], ["--first-case", "3"], ["--generators", "prp"], ["--avoid", "x"],
                  ["--heartbeat"], ["--trace"], ["--summary-file", "{tmp}/s.json"]]:
        add("fuzz", ["fuzz"] + SIM + ["--replay", "{tmp}/r.json"] + extra, False, files=good_repro)

    # conformance: two quick tests on the simulator for the valid cases; paths and the regex are checked up front.
    base = ["conformance"] + SIM + ["--filter", "registers\\.00[12]"]
    sweep("conformance", ["conformance"], target_opts[1:])
    sweep("conformance", base, [
        Opt("--deadline", lambda t: swift_int(t), 1, 600, good=["600"]),
        Opt("--command-timeout", lambda t: swift_int(t), 1, 59, good=["1"]),
        Opt("--filter", None, extra_valid=one_of(), values=["(", "[", "*", "\\", "nomatch-xyz", "😀"]),
        Opt("--junit", None, extra_valid=one_of(), values=["", "{tmp}", "{tmp}/missing/dir/c.xml", "/proc/version/x"]),
        Opt("--json", None, extra_valid=one_of(), values=["", "{tmp}", "{tmp}/missing/dir/c.json", "/proc/version/x"]),
    ])
    add("conformance", base + ["--deadline", "5"], False)                          # not above --command-timeout 10
    add("conformance", base + ["--deadline", "5", "--command-timeout", "4"], True)
    add("conformance", base + ["--junit", "{tmp}/c.xml", "--json", "{tmp}/c.json"], True)
    add("conformance", ["conformance", "--list"], True)
    add("conformance", base + ["extra"], False)
    add("conformance", base + ["--bogus"], False)

    # list
    if os.path.isdir("/sys/bus/pci/devices"):
        add("list", ["list"], True)
        add("list", ["list", "--json"], True)
    add("list", ["list", "extra"], False)
    add("list", ["list", "--json=1"], False)
    add("list", ["list", "--bogus"], False)

    # bind / unbind / regs / irq: PCI addresses that are malformed or absent on this machine only.
    for b in BAD_BDFS + bdfs:
        add("bind", ["bind", b], False)
        add("bind", ["bind", "--driver", "uio", "--force", b], False)
        add("unbind", ["unbind", b], False)
        add("unbind", ["unbind", "--force", b], False)
        add("regs", ["regs", b], False)
        add("regs", ["regs", "--backend", "uio", "--unsafe", "--bind", "--json", b], False)
        add("irq", ["irq", b], False)
        add("irq", ["irq", "--identify", "--seconds", "1", "--backend", "noiommu", "--unsafe", b], False)
    for cmd in ["bind", "unbind", "regs", "irq"]:
        add(cmd, [cmd], False)   # the address is required
        add(cmd, [cmd, "--bogus", bdfs[0] if bdfs else "garbage"], False)
    for v in ["", "vfio-pci", "kernel", "😀"]:
        add("bind", ["bind", f"--driver={v}", bdfs[0] if bdfs else "garbage"], False)
    for v in ["", "kernel", "x"]:
        add("regs", ["regs", f"--backend={v}", bdfs[0] if bdfs else "garbage"], False)
    absent = bdfs[0] if bdfs else "garbage"
    for o in [Opt("--vectors", i64, 1, 2048), Opt("--seconds", i64, 1, 3600)]:
        for v in o.pool():
            if not o.valid(v):
                add("irq", ["irq", f"{o.name}={v}", absent], False)
        add("irq", ["irq", absent, o.name], False)

    # decode
    sqe = SQE_ZERO
    add("decode", ["decode", sqe], True)
    add("decode", ["decode", "--kind", "cqe", "00" * 16], True)
    add("decode", ["decode", "--queue", "io", "--json", IDENTIFY_SQE], True)
    add("decode", ["decode", "--kind", "error-log", "00" * 128], True)
    add("decode", ["decode", "--kind", "id-ctrl", "--file", "{tmp}/id.bin", "--json"], True, files={"id.bin": b"\x00" * 4096})
    add("decode", ["decode", "--kind", "smart", "--file", "{tmp}/s.bin"], True, files={"s.bin": b"\xff" * 512})
    for k in ["sqe", "cqe", "id-ctrl", "id-ns", "ns-list", "zns-id-ctrl", "zns-id-ns", "error-log", "smart", "fw-slot", "effects", "changed-ns"]:
        add("decode", ["decode", "--kind", k, "00"], False)
        add("decode", ["decode", "--kind", k, "--file", "{tmp}/g.bin"], k == "error-log", files={"g.bin": bytes(range(256)) * 3})
    add("decode", ["decode", "--kind", "id-ctrl", "--file", "{tmp}/ff.bin", "--json"], True, files={"ff.bin": b"\xff" * 4096})
    add("decode", ["decode", "--kind", "id-ns", "--file", "{tmp}/ff.bin"], True, files={"ff.bin": b"\xff" * 4096})
    add("decode", ["decode", "--kind", "zns-id-ns", "--file", "{tmp}/ff.bin", "--json"], True, files={"ff.bin": b"\xff" * 4096})
    add("decode", ["decode", "--kind", "effects", "--file", "{tmp}/ff.bin"], True, files={"ff.bin": b"\xff" * 4096})
    add("decode", ["decode", "--kind", "changed-ns", "--file", "{tmp}/ff.bin"], True, files={"ff.bin": b"\xff" * 4096})
    add("decode", ["decode", "--kind", "fw-slot", "--file", "{tmp}/f5.bin"], True, files={"f5.bin": b"\xff" * 512})
    for h in ["", "0", "zz", "０" * 128, "😀", "0x", "0x0x00", "-00", "00" * 63, "00" * 65, "00" * 4096, "00" * 512, "ab" * 50000]:
        add("decode", ["decode", h], False)
    for v in ["", "SQE", "id_ctrl", "😀"]:
        add("decode", ["decode", f"--kind={v}", sqe], False)
    for v in ["", "IO", "1"]:
        add("decode", ["decode", f"--queue={v}", sqe], False)
    for p in ["", "{tmp}", "{tmp}/none.bin", "/dev/zero", "/dev/null", "{tmp}/huge.bin"]:
        add("decode", ["decode", f"--file={p}"], False, files={"huge.bin": ("sparse", 17 << 20)})
    add("decode", ["decode", "--file", "{tmp}/id.bin", sqe], False, files={"id.bin": b"\x00" * 64})
    add("decode", ["decode"], False)

    # Every subcommand's --help exits 0.
    for cmd in ["identify", "log", "features", "features get", "features set", "cmd", "reset", "cmdlog", "demo",
                "queue-bench", "io", "fuzz", "list", "bind", "unbind", "regs", "irq", "decode", "conformance"]:
        add(cmd.split()[0], cmd.split() + ["--help"], True)
    add("nvmekit", [], None)
    add("nvmekit", ["nonsense"], False)
    add("nvmekit", ["--version"], None)
    add("nvmekit", ["😀"], False)
    return cases


# ---- running --------------------------------------------------------------------------------------------------

def strip_usage(lines):
    """Removes ArgumentParser's usage block ("Usage: ..." through "  See '... --help' for more information.") and the
    list of choices it prints under a parse error for an enumerated option ("Please provide one of the following:")."""
    out, skipping, choices = [], False, False
    for line in lines:
        if choices and re.match(r"\s+- \S", line):
            continue
        choices = "Please provide one of the following" in line
        if line.startswith("Usage:") or line.startswith("Help:"):
            skipping = line.startswith("Usage:")
            continue
        if skipping:
            if re.match(r"\s*See '.*' for more information\.", line):
                skipping = False
            continue
        out.append(line)
    return [l for l in out if l.strip()]


def run_case(binary, case, timeout):
    tmp = tempfile.mkdtemp(prefix="nvmekit-badinput-")
    try:
        for name, content in case.files.items():
            path = os.path.join(tmp, name)
            if isinstance(content, tuple) and content[0] == "sparse":
                with open(path, "wb") as f:
                    f.truncate(content[1])
            else:
                with open(path, "wb") as f:
                    f.write(content)
        argv = [a.replace("{tmp}", tmp) for a in case.argv]
        env = {k: v for k, v in os.environ.items() if not k.startswith("NVMEKIT_")}
        env.update(NVMEKIT_STATE_DIR=tmp, CI="1", NO_COLOR="1", SWIFT_BACKTRACE="enable=no")
        t0 = time.monotonic()
        try:
            p = subprocess.run([binary] + argv, cwd=tmp, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=case.timeout or timeout)
        except (OSError, ValueError) as e:
            return argv, None, f"could not start: {e}", [""], 0.0
        except subprocess.TimeoutExpired as e:
            err = (e.stderr or b"").decode("utf-8", "replace").splitlines()
            return argv, None, "hang: no exit within %d s" % (case.timeout or timeout), err[-1:] or [""], time.monotonic() - t0
        dt = time.monotonic() - t0
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        lines = err.splitlines()
        last = lines[-1:] or [""]
        problem = None
        if p.returncode < 0 or p.returncode >= 128:
            problem = "signal (exit %d)" % p.returncode
        elif any(t in out or t in err for t in RUNTIME_TEXT):
            problem = "Swift runtime error text"
        elif case.valid is True and p.returncode != 0:
            problem = "valid invocation exited %d" % p.returncode
        elif case.valid is False and p.returncode == 0:
            problem = "invalid invocation exited 0"
        elif case.valid is False:
            errors = strip_usage(lines)
            if len(errors) != 1:
                problem = "error is %d lines on stderr (want exactly 1)" % len(errors)
                last = errors[-3:] or [""]
        return argv, p.returncode, problem, last, dt
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=".build/release/nvmekit")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--filter", help="only subcommands matching this regex")
    ap.add_argument("--list", action="store_true", help="print the invocations and exit")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    cases = build_cases()
    if a.filter:
        cases = [c for c in cases if re.search(a.filter, c.cmd)]
    if a.list:
        for c in cases:
            print({True: "valid  ", False: "invalid", None: "any    "}[c.valid], c.cmd, json.dumps(c.argv, ensure_ascii=False))
        print(len(cases), "cases")
        return 0
    assert_no_present_device(cases)
    binary = os.path.abspath(a.binary)
    if not os.access(binary, os.X_OK):
        print(f"badinput: {binary} is not an executable: build it first (swift build -c release --product nvmekit)")
        print("badinput: 0 passed, 1 failed")
        return 1
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=a.workers) as pool:
        results = list(pool.map(lambda c: (c, run_case(binary, c, a.timeout)), cases))
    per = {}
    failures = []
    slow = []
    for c, (argv, rc, problem, last, dt) in results:
        s = per.setdefault(c.cmd, {"cases": 0, "valid": 0, "invalid": 0, "any": 0, "failed": 0})
        s["cases"] += 1
        s["valid" if c.valid else "invalid" if c.valid is False else "any"] += 1
        if problem:
            s["failed"] += 1
            failures.append((c, argv, rc, problem, last))
        slow.append((dt, argv))
    print(f"{'subcommand':<12} {'cases':>6} {'valid':>6} {'invalid':>8} {'any':>5} {'failed':>7}")
    for cmd in sorted(per):
        s = per[cmd]
        print(f"{cmd:<12} {s['cases']:>6} {s['valid']:>6} {s['invalid']:>8} {s['any']:>5} {s['failed']:>7}")
    total = sum(s["cases"] for s in per.values())
    print(f"{'total':<12} {total:>6} {sum(s['valid'] for s in per.values()):>6} "
          f"{sum(s['invalid'] for s in per.values()):>8} {sum(s['any'] for s in per.values()):>5} {len(failures):>7}"
          f"   ({time.monotonic() - t0:.1f} s, {a.workers} workers)")
    print("valid: must exit 0; invalid: must exit non-zero with a one-line error; any: a raw value the controller "
          "judges (exit 0 or its error status); every case: no signal, hang or Swift runtime error")
    for c, argv, rc, problem, last in failures[:200]:
        note = f" [{c.note}]" if c.note else ""
        print(f"FAIL {c.cmd}{note}: {problem}; exit {rc}; argv {json.dumps(argv, ensure_ascii=False)[:300]}")
        for l in last:
            print(f"     stderr: {l[:300]}")
    if len(failures) > 200:
        print(f"... and {len(failures) - 200} more failures")
    if a.verbose:
        for dt, argv in sorted(slow, reverse=True)[:10]:
            print(f"slow {dt:.2f} s: {json.dumps(argv, ensure_ascii=False)[:200]}")
    failed_cmds = sum(1 for s in per.values() if s["failed"])
    print(f"badinput: {len(per) - failed_cmds} passed, {failed_cmds} failed")
    return 1 if failed_cmds else 0


if __name__ == "__main__":
    sys.exit(main())
