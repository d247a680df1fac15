#!/usr/bin/env python3
"""Fails when the docs name a Swift symbol that the sources no longer declare.

    tools/doccheck.py [REPO]

Looks at README.md and docs/*.md:
  - code spans `Type.member` (and `Type.member(...)`): Type must be declared (class, struct, enum, protocol, actor,
    typealias or extension) and member declared somewhere (func, var, let, case, init label is not enough);
  - Swift code blocks: every `public func/var/let/class/struct/enum/protocol/typealias NAME` must be declared in the
    sources, and every `.name` value (an enum case or static member written with a leading dot) must be declared.
Prints one line per stale name (file:line: what) and exits 1 when there is any; exits 0 with a count otherwise.
"""
import os
import re
import sys

TYPE_DECL = re.compile(r"\b(?:class|struct|enum|protocol|actor|typealias|extension)\s+([A-Z][A-Za-z0-9_]*)")
MEMBER_DECL = re.compile(r"\b(?:func|var|let|case|associatedtype)\s+`?([A-Za-z_][A-Za-z0-9_]*)")
CASE_LIST = re.compile(r"\bcase\s+([^\n{}]+)")
FILE_EXTENSIONS = {"swift", "md", "json", "yaml", "yml", "txt", "sh", "py", "c", "h", "html", "xml", "log"}
SPAN = re.compile(r"`([A-Z][A-Za-z0-9_]*)\.([a-z_][A-Za-z0-9_]*)")
PUBLIC_DECL = re.compile(r"\bpublic\s+(?:(?:final|static|internal\(set\)|private\(set\)|mutating|override|nonisolated|"
                         r"@discardableResult)\s+)*(func|var|let|class|struct|enum|protocol|typealias)\s+"
                         r"`?([A-Za-z_][A-Za-z0-9_]*)")
DOT_VALUE = re.compile(r"(?:(?<=[\s(|=,\[:])|^)\.([a-z][A-Za-z0-9_]*)\b")
# Words that follow a dot in prose or Swift syntax without being a declaration of ours.
SWIFT_BUILTINS = {"init", "self", "max", "min", "zero", "none", "some", "success", "failure", "milliseconds",
                  "seconds", "microseconds", "nanoseconds", "count", "first", "last", "isEmpty", "rawValue",
                  "description", "map", "filter", "reduce", "sorted", "contains", "append", "random", "max",
                  "relaxed", "acquiring", "releasing", "sequentiallyConsistent", "infinity", "nan", "pi",
                  "bigEndian", "littleEndian", "byteSwapped", "bitWidth", "utf8", "type", "toggle", "swift", "md",
                  "minutes", "hours", "serialized", "enabled", "disabled", "bug", "tags", "timeLimit"}
# Types of the standard library, Foundation, Swift Testing and SwiftPM that docs name beside ours.
EXTERNAL_TYPES = {"Test", "Issue", "Trait", "Tag", "Attachment", "Confirmation", "Testing", "Package", "Duration",
                  "Histogram", "String", "Array", "Int", "UInt8", "UInt16", "UInt32", "UInt64", "Data", "FileManager", "Task"}


def declarations(repo):
    types, members = set(), set(SWIFT_BUILTINS)
    for root, _, files in os.walk(os.path.join(repo, "Sources")):
        for f in files:
            if not f.endswith(".swift"):
                continue
            text = open(os.path.join(root, f), encoding="utf-8", errors="replace").read()
            types.update(TYPE_DECL.findall(text))
            members.update(MEMBER_DECL.findall(text))
            # Enum case lists, also one-line enums (`enum State { case ready, unavailable }`); a switch's
            # `case .x:` starts with a dot and adds nothing.
            for body in CASE_LIST.findall(text):
                depth, part, parts = 0, "", []
                for ch in body:
                    depth += ch in "(["
                    depth -= ch in ")]"
                    if ch == "," and depth == 0:
                        parts.append(part); part = ""
                    else:
                        part += ch
                parts.append(part)
                for p in parts:
                    name = re.match(r"\s*`?([A-Za-z_][A-Za-z0-9_]*)", p)
                    if name:
                        members.add(name.group(1))
    return types, members


def doc_files(repo):
    out = [os.path.join(repo, "README.md")] if os.path.isfile(os.path.join(repo, "README.md")) else []
    d = os.path.join(repo, "docs")
    if os.path.isdir(d):
        out += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".md"))
    return out


def check(repo):
    types, members = declarations(repo)
    stale = []
    for path in doc_files(repo):
        rel = os.path.relpath(path, repo)
        fence = None
        for n, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
            s = line.rstrip("\n")
            if s.lstrip().startswith("```"):
                fence = None if fence is not None else s.strip()[3:].strip().lower()
                continue
            if fence == "swift" and ("PackageDescription" in s or "swift-tools-version" in s):
                fence = "manifest"   # a Package.swift: its names are SwiftPM's
                continue
            if fence is None:
                for t, m in SPAN.findall(s):
                    if m in FILE_EXTENSIONS or t in EXTERNAL_TYPES:
                        continue
                    if t not in types:
                        stale.append(f"{rel}:{n}: `{t}.{m}` — no type {t} in Sources/")
                    elif m not in members:
                        stale.append(f"{rel}:{n}: `{t}.{m}` — {t} declares no {m}")
            elif fence == "swift":
                for kind, name in PUBLIC_DECL.findall(s):
                    known = name in types if kind in ("class", "struct", "enum", "protocol", "typealias") else name in members
                    if not known:
                        stale.append(f"{rel}:{n}: public {kind} {name} — not declared in Sources/")
                for name in DOT_VALUE.findall(s):
                    if name not in members:
                        stale.append(f"{rel}:{n}: .{name} — not declared in Sources/")
    return stale


def self_test():
    """The check must be able to fail: a doc naming a removed member, case or type is caught; a true one is not."""
    import tempfile
    with tempfile.TemporaryDirectory() as repo:
        os.makedirs(os.path.join(repo, "Sources", "M"))
        os.makedirs(os.path.join(repo, "docs"))
        open(os.path.join(repo, "Sources", "M", "a.swift"), "w").write(
            "public enum Policy { case keep, drop }\npublic final class Queue { public func ring() {} }\n")
        good = "`Queue.ring()` rings.\n```swift\npublic func ring()\nvar p: Policy = .keep // .keep | .drop\n```\n"
        open(os.path.join(repo, "docs", "a.md"), "w").write(good)
        assert check(repo) == [], check(repo)
        open(os.path.join(repo, "docs", "a.md"), "w").write(
            good + "`Queue.post` posts; `Gone.x` too.\n```swift\npublic func reap()\nlet p = .reset\n```\n")
        found = check(repo)
        assert len(found) == 4 and all("a.md" in f for f in found), found
    print("doccheck self-test: a stale member, type, declaration and case are each caught")


def main(argv):
    if argv[1:] == ["--self-test"]:
        self_test()
        return 0
    repo = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    stale = check(repo)
    for s in stale:
        print(s)
    if stale:
        print(f"doccheck: {len(stale)} name(s) in the docs are not in the sources; fix the doc or the code")
        return 1
    print(f"doccheck: every Swift name the docs use is declared ({len(doc_files(repo))} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
