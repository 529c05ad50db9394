# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Summarise a `make test` run from build/reports/, honestly.

Reads build/reports/steps.tsv (step, exit code, seconds; written by scripts/run-steps.sh) and the JUnit XML files each
step left in build/reports/<step>/ (ansible-test sanity/units/integration, pytest). Each JUnit test case counts once:
passed, failed (failure or error), skipped, or xfailed (an expected failure; pytest writes it as a skip of type
pytest.xfail).

A step is ok only if it exited 0, none of its test cases failed and, for a step that runs tests, at least one of its
JUnit files ran a test: a step or suite that ran nothing (no JUnit file, no test case, or every case skipped) is not
ok, unless it is named in ALLOW_EMPTY (space separated: a step such as `integration`, or a JUnit file's name without
.xml). Each pytest suite of `functional` and the integration report must run a test on its own; sanity and units
count as a whole. A step that failed without a failed test case in its reports (a crash, ansible-lint, ansible-doc, the build)
counts as one failure, so the closing line never says "0 failed" for a failed run. Skipped tests are listed by reason.

Prints one line per step and ends with:  total: N passed, N failed, N skipped
Exit status: 1 if anything failed, else 0.
"""

from __future__ import annotations

import collections
import glob
import os
import sys
import xml.etree.ElementTree as ET

# Steps whose work is running tests, and which leave JUnit reports; the others (lint, docs, dist) are judged by exit code.
TEST_STEPS = ("sanity", "units", "matrix", "integration", "functional", "integration-floor", "functional-floor")
# Steps where each JUnit file is a suite of its own that must run something (in sanity and the matrix, a file of
# skipped cases is a test that does not apply to this content or Python, which is normal).
PER_FILE_STEPS = ("integration", "functional", "integration-floor", "functional-floor")


class Counts:
    def __init__(self) -> None:
        self.passed = self.failed = self.skipped = self.xfailed = 0
        self.failures: list[str] = []
        self.skip_reasons: collections.Counter[str] = collections.Counter()
        self.empty: list[str] = []   # JUnit files that ran no test
        self.files = 0


def _skip_reason(element: ET.Element) -> str:
    reason = (element.get("message") or element.text or "no reason given").strip()
    return " ".join(reason.split())[:200]


def count_junit(directory: str) -> Counts:
    counts = Counts()
    for path in sorted(glob.glob(os.path.join(directory, "**", "*.xml"), recursive=True)):
        counts.files += 1
        name = os.path.splitext(os.path.basename(path))[0]
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError:
            counts.failed += 1
            counts.failures.append(f"{name}.xml: unreadable JUnit XML")
            continue
        ran = 0
        for case in root.iter("testcase"):
            label = ".".join(x for x in (case.get("classname"), case.get("name")) if x)
            skipped = case.find("skipped")
            if case.find("failure") is not None or case.find("error") is not None:
                counts.failed += 1
                counts.failures.append(label)
                ran += 1
            elif skipped is not None and skipped.get("type") == "pytest.xfail":
                counts.xfailed += 1
                ran += 1
            elif skipped is not None:
                counts.skipped += 1
                counts.skip_reasons[_skip_reason(skipped)] += 1
            else:
                counts.passed += 1
                ran += 1
        # Errors outside any test case (a collection error) count too.
        for suite in root.iter("testsuite"):
            declared = int(suite.get("errors") or 0) + int(suite.get("failures") or 0)
            found = sum(1 for c in suite.iter("testcase") if c.find("failure") is not None or c.find("error") is not None)
            if declared > found:
                counts.failed += declared - found
                counts.failures.append(f"{name}.xml: {declared - found} error(s) outside any test case")
        if ran == 0:
            counts.empty.append(name)
    return counts


def read_steps(reports: str) -> list[tuple[str, int, int]]:
    steps = []
    with open(os.path.join(reports, "steps.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                name, rc, secs = line.rstrip("\n").split("\t")
                steps.append((name, int(rc), int(secs)))
    return steps


def main(argv: list[str]) -> int:
    reports = argv[1] if len(argv) > 1 else "build/reports"
    allowed = set(os.environ.get("ALLOW_EMPTY", "").split())
    print("\n==================== summary ====================")
    try:
        steps = read_steps(reports)
    except FileNotFoundError:
        print(f"no test step ran ({reports}/steps.tsv is missing): make test failed before its steps")
        print("total: 0 passed, 1 failed, 0 skipped")
        return 1
    if not steps:
        print(f"no test step ran ({reports}/steps.tsv is empty)")
        print("total: 0 passed, 1 failed, 0 skipped")
        return 1

    total_p = total_f = total_s = total_x = 0
    all_skips: collections.Counter[str] = collections.Counter()
    for name, rc, secs in steps:
        c = count_junit(os.path.join(reports, name))
        problems = []
        if rc != 0:
            problems.append(f"exit {rc}")
            if c.failed == 0:
                c.failed = 1
                c.failures.append(f"make {name} exited {rc}")
        elif c.failed:
            problems.append(f"{c.failed} failed test(s) although make {name} exited 0")
        if name in TEST_STEPS and name not in allowed:
            if c.files == 0:
                problems.append("no JUnit report: ran no test")
                c.failed += 1
                c.failures.append(f"make {name} left no test report")
            whole = [] if c.passed + c.failed + c.xfailed else [name]
            for empty in (c.empty if name in PER_FILE_STEPS else whole):
                if empty not in allowed:
                    problems.append(f"{empty} ran no test")
                    c.failed += 1
                    c.failures.append(f"{empty}: ran no test (every case skipped, or none collected)")
        status = "ok" if not problems else "FAILED (" + "; ".join(problems) + ")"
        extra = f", {c.xfailed} xfailed" if c.xfailed else ""
        print(f"{name:<12} {secs:>5}s   {c.passed} passed, {c.failed} failed, {c.skipped} skipped{extra}   {status}")
        for item in c.failures[:20]:
            print(f"    failed: {item}")
        if len(c.failures) > 20:
            print(f"    ... and {len(c.failures) - 20} more")
        total_p, total_f, total_s, total_x = total_p + c.passed, total_f + c.failed, total_s + c.skipped, total_x + c.xfailed
        all_skips.update(c.skip_reasons)
    if all_skips:
        print(f"SKIPPED: {sum(all_skips.values())} test(s) did not run:")
        for reason, number in all_skips.most_common():
            print(f"    {number:>4} x {reason}")
    if total_x:
        print(f"XFAILED: {total_x} test(s) failed as expected (counted as run, not as passed)")
    print(f"total: {total_p} passed, {total_f} failed, {total_s} skipped")
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
