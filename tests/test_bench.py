"""The benchmark stays runnable: a quick run produces the whole report. No timing is asserted here (speed is
measured by the benchmark itself, not by tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tooling import REPO


@pytest.mark.timeout(600)
def test_a_quick_benchmark_run_writes_every_section_and_the_targets(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = (tmp_path / "latest.md").read_text()
    for heading in ("median overhead", "concurrent edits", "cold start to tools/list", "peak RSS", "Targets:"):
        assert heading in report
    (raw,) = tmp_path.glob("*.json")
    data = json.loads(raw.read_text())
    assert {row["mode"] for row in data["overhead"]} == {"async", "sync"}
    assert {row["transport"] for row in data["concurrency"]} == {"stdio", "http"}
    assert data["memory"]["largest_result_bytes"] > 0
    assert data["cold_start"]["ours"] > 0
    assert data["composite"]["blend_ms"] > 0
    assert "masked composite: peak memory" in report
