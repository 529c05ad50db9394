# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Summarise a `make test` run from build/reports/.

Reads build/reports/steps.tsv (step, exit code, seconds; written by
scripts/run-steps.sh) and the JUnit XML files each step left in
build/reports/<step>/ (ansible-test sanity/units/integration, pytest).
Each JUnit test case counts once: passed, failed (failure or error) or
skipped. A step that failed without a failed test case in its reports
(a crash, ansible-lint, ansible-doc, the build) counts as one failure,
so the closing line never says "0 failed" for a failed run.

Prints one line per step and ends with:  total: N passed, N failed, N skipped
Exit status: 1 if any step failed, else 0.
"""

from __future__ import annotations

import glob
import os
import sys
import xml.etree.ElementTree as ET


def count_junit(directory: str) -> tuple[int, int, int, list[str]]:
    passed = failed = skipped = 0
    failures: list[str] = []
    for path in sorted(glob.glob(os.path.join(directory, "**", "*.xml"), recursive=True)):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError:
            failed += 1
            failures.append(f"{os.path.basename(path)}: unreadable JUnit XML")
            continue
        for case in root.iter("testcase"):
            name = ".".join(x for x in (case.get("classname"), case.get("name")) if x)
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                failures.append(name)
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped, failures


def main() -> int:
    reports = sys.argv[1] if len(sys.argv) > 1 else "build/reports"
    steps = []
    try:
        with open(os.path.join(reports, "steps.tsv"), encoding="utf-8") as f:
            for line in f:
                name, rc, secs = line.rstrip("\n").split("\t")
                steps.append((name, int(rc), int(secs)))
    except FileNotFoundError:
        print("\n==================== summary ====================")
        print(f"no test step ran ({reports}/steps.tsv is missing): make test failed before its steps")
        print("total: 0 passed, 1 failed, 0 skipped")
        return 1

    total_p = total_f = total_s = 0
    any_failed = False
    print("\n==================== summary ====================")
    for name, rc, secs in steps:
        p, fl, s, failures = count_junit(os.path.join(reports, name))
        if rc != 0:
            any_failed = True
            if fl == 0:
                fl = 1
                failures.append(f"make {name} exited {rc}")
        status = "ok" if rc == 0 else f"FAILED (exit {rc})"
        print(f"{name:<12} {status:<16} {secs:>5}s   {p} passed, {fl} failed, {s} skipped")
        for item in failures[:20]:
            print(f"    failed: {item}")
        if len(failures) > 20:
            print(f"    ... and {len(failures) - 20} more")
        total_p, total_f, total_s = total_p + p, total_f + fl, total_s + s
    print(f"total: {total_p} passed, {total_f} failed, {total_s} skipped")
    return 1 if any_failed else 0


if __name__ == "__main__":
    sys.exit(main())
