#!/usr/bin/env python3
"""Compares an `nvmekit conformance --json` result with a deviation list (Fixtures/conformance/*.json).

  tools/conformance-check.py RESULT.json [DEVIATIONS.json]

Without a deviation list every failure counts. Exits 1 when a test failed that the list does not name (new
nonconformance, or a regression of the toolkit), or a listed deviation ran and passed (the list is stale), or the
result holds no tests. Prints one line per difference and a summary line.
"""
import json
import sys


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    result = json.load(open(argv[1]))
    listed = {}
    if len(argv) == 3:
        listed = {d["id"]: d for d in json.load(open(argv[2]))["deviations"]}
    tests = result.get("tests", [])
    ran = {t["id"] for t in tests}
    failed = {t["id"]: t for t in tests if t["result"] == "fail"}
    unexpected = sorted(set(failed) - set(listed))
    fixed = sorted(i for i in listed if i in ran and i not in failed)
    for i in unexpected:
        t = failed[i]
        print(f"  not in the deviation list: {i}: expected {t.get('expected')}; observed {t.get('observed')}")
    for i in fixed:
        print(f"  listed deviation now passes (remove it from the list): {i}")
    known = len(set(failed) & set(listed))
    print(f"conformance: {result['passed']} passed, {result['failed']} failed ({known} known deviations), "
          f"{result['notApplicable']} not applicable; {len(unexpected)} unexpected, {len(fixed)} stale")
    return 0 if tests and not unexpected and not fixed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
