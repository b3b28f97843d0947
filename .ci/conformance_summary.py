"""Read the conformance suite's output and say, in one line per outcome, what passed, what failed as expected and
what was unexpected; exit 1 on anything unexpected (or on output with no results at all).

    python .ci/conformance_summary.py SUITE_OUTPUT_FILE BASELINE_YML

The suite prints a line per scenario ("✓ ping: 1 passed, 0 failed" or "✗ ...: 0 passed, 1 failed"). A scenario
listed in the baseline is expected to fail; one that fails without being listed, or passes while listed (a stale
baseline), is unexpected.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

RESULT = re.compile(r"^\s*([✓✗])\s+([\w.-]+): (\d+) passed, (\d+) failed\s*$")
LISTED = re.compile(r"^\s+-\s+([\w.-]+)\s*(?:#.*)?$")


def summarize(output: str, baseline: str) -> tuple[list[str], bool]:
    """The summary lines, and whether everything went as expected."""
    expected = {m.group(1) for line in baseline.splitlines() if (m := LISTED.match(line))}
    results = {m.group(2): m.group(1) == "✓" for line in output.splitlines() if (m := RESULT.match(line))}
    if not results:
        return ["conformance: FAILED: the suite reported no scenario results"], False
    passed = [name for name, ok in results.items() if ok and name not in expected]
    failed_as_expected = [name for name, ok in results.items() if not ok and name in expected]
    unexpected = [
        f"{name} failed (not in the baseline)" if not ok else f"{name} passed (remove it from the baseline)"
        for name, ok in results.items()
        if ok == (name in expected)
    ]
    unexpected += [f"{name} did not run" for name in sorted(expected - results.keys())]
    lines = [
        f"conformance: {len(passed)} passed: {', '.join(passed)}",
        f"conformance: {len(failed_as_expected)} expected failures (the suite's own fixture tools, prompts and "
        "resources, which this server does not have; see .ci/conformance-baseline.yml)",
        f"conformance: {len(unexpected)} unexpected" + (f": {'; '.join(unexpected)}" if unexpected else ""),
    ]
    return lines, not unexpected


def main() -> None:
    output, baseline = (Path(arg).read_text(encoding="utf-8") for arg in sys.argv[1:3])
    lines, ok = summarize(output, baseline)
    print("\n".join(lines))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
