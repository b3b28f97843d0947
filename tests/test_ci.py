"""The conformance step's summary: one line per outcome, and a failure on anything unexpected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tooling import REPO

SUMMARY = REPO / ".ci" / "conformance_summary.py"
BASELINE = "server:\n  # a fixture\n  - tools-call-image\n  - prompts-get-simple\n"
AS_EXPECTED = """=== SUMMARY ===
✓ server-initialize: 1 passed, 0 failed
✓ dns-rebinding-protection: 2 passed, 0 failed
✗ tools-call-image: 0 passed, 1 failed
✗ prompts-get-simple: 0 passed, 1 failed
"""


def summarize(tmp_path: Path, output: str, baseline: str = BASELINE) -> tuple[int, list[str]]:
    (tmp_path / "output").write_text(output)
    (tmp_path / "baseline.yml").write_text(baseline)
    done = subprocess.run(
        [sys.executable, str(SUMMARY), str(tmp_path / "output"), str(tmp_path / "baseline.yml")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.returncode, done.stdout.splitlines()


def test_a_run_as_expected_is_three_lines_and_passes(tmp_path: Path) -> None:
    status, lines = summarize(tmp_path, AS_EXPECTED)
    assert status == 0
    assert lines == [
        "conformance: 2 passed: server-initialize, dns-rebinding-protection",
        "conformance: 2 expected failures (the suite's own fixture tools, prompts and resources, which this server "
        "does not have; see .ci/conformance-baseline.yml)",
        "conformance: 0 unexpected",
    ]
    assert not any("✗" in line for line in lines)


@pytest.mark.parametrize(
    ("output", "says"),
    [
        (
            AS_EXPECTED.replace("✓ server-initialize: 1 passed, 0 failed", "✗ server-initialize: 0 passed, 1 failed"),
            "1 unexpected: server-initialize failed (not in the baseline)",
        ),
        (
            AS_EXPECTED.replace("✗ tools-call-image: 0 passed, 1 failed", "✓ tools-call-image: 1 passed, 0 failed"),
            "1 unexpected: tools-call-image passed (remove it from the baseline)",
        ),
        (
            AS_EXPECTED.replace("✗ prompts-get-simple: 0 passed, 1 failed\n", ""),
            "1 unexpected: prompts-get-simple did not run",
        ),
        ("npm error could not determine executable to run\n", "FAILED: the suite reported no scenario results"),
    ],
)
def test_anything_unexpected_is_named_and_fails(tmp_path: Path, output: str, says: str) -> None:
    status, lines = summarize(tmp_path, output)
    assert status == 1
    assert lines[-1] == f"conformance: {says}"


def test_the_real_baseline_lists_the_fixture_scenarios_and_logging(tmp_path: Path) -> None:
    baseline = (REPO / ".ci" / "conformance-baseline.yml").read_text()
    status, lines = summarize(tmp_path, "✓ ping: 1 passed, 0 failed\n", baseline)
    assert status == 1
    assert "logging-set-level did not run" in lines[-1]
    assert lines[-1].count(" did not run") == 21
