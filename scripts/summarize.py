#!/usr/bin/env python3
"""Prints one summary line over the meson test logs of several build dirs.

A Criterion binary counts as the tests it ran (its "Synthesis" line); any
other meson test counts as one. A build dir without a test log (its build
failed) counts as one failure. The last line is
"tests: N passed, N failed[, N skipped]"; exit status 1 if anything failed.
"""
import json
import os
import re
import sys

SYNTH = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")
# Python unittest (the integration tests): "Ran N tests", then "OK" or
# "FAILED (failures=F, errors=E, skipped=S)".
RAN = re.compile(r"^Ran (\d+) tests? in", re.M)
UNITTEST_BAD = re.compile(r"^FAILED \(([^)]*)\)", re.M)

passed = failed = skipped = 0
for d in sys.argv[1:]:
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"{d}: no test log (setup or build failed)")
        failed += 1
        continue
    with open(log) as f:
        for line in f:
            t = json.loads(line)
            out = (t.get("stdout") or "") + (t.get("stderr") or "")
            res = t.get("result")
            clean = re.sub(r"\x1b\[[0-9;]*m", "", out)
            m = SYNTH.search(clean)
            ran = RAN.search(clean)
            if ran and not m:
                n = int(ran.group(1))
                bad = skip = 0
                fm = UNITTEST_BAD.search(clean)
                for part in (fm.group(1).split(",") if fm else []):
                    k, _, v = part.strip().partition("=")
                    if k in ("failures", "errors", "unexpected successes"):
                        bad += int(v)
                sk = re.search(r"skipped=(\d+)", clean)
                if sk:
                    skip = int(sk.group(1))
                passed += max(n - bad - skip, 0)
                failed += bad
                skipped += skip
                if res not in ("OK", "EXPECTEDFAIL", "SKIP") and bad == 0:
                    failed += 1
            elif m:
                _, p, fl, cr = map(int, m.groups())
                passed += p
                failed += fl + cr
                if res != "OK" and fl + cr == 0:
                    failed += 1
            elif res in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif res == "SKIP":
                skipped += 1
            else:
                failed += 1
            if res not in ("OK", "EXPECTEDFAIL", "SKIP"):
                print(f"{d}: {t.get('name')}: {res}")

line = f"tests: {passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
