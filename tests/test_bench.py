"""The benchmark stays runnable: each section of a quick run writes its rows and the targets, one test per section
(so no single test runs the whole benchmark). No timing is asserted here: speed is measured by the benchmark itself,
not by tests."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tooling import REPO

BENCH = str(REPO / "bench" / "bench.py")
# section: (a heading its rows bring into the report, the part of the JSON it fills)
SECTIONS: dict[str, tuple[str, str]] = {
    "overhead-async": ("median overhead", "overhead"),
    "overhead-sync": ("median overhead", "overhead"),
    "concurrency-stdio": ("concurrent edits", "concurrency"),
    "concurrency-http": ("concurrent edits", "concurrency"),
    "cold-start": ("cold start to tools/list", "cold_start"),
    "memory": ("peak RSS", "memory"),
    "uploads": ("call to submit, three local", "inputs"),
    "bystander": ("another session's tools/list", "inputs"),
    "composite": ("masked edit, 1536x1536 RGBA", "composite"),
    "masked": ("masked edit: extra time after the job", "masked"),
    "sessions": ("handshakes never closed", "sessions"),
    "cpu": ("server CPU per edit", "cpu"),
    "store": ("store operations per edit", "store"),
    "catalog": ("resolving a model on the cached catalog", "catalog"),
    "variations": ("4 variations of a", "variations"),
}
# section: what its own lines in the targets say, where it has some
TARGET_LINES: dict[str, list[str]] = {
    "store": ["- store operations per edit, SQLite:", "across 2 processes sharing SQLite vs one:"],
    "catalog": ["- the cached catalog's share of an edit's overhead:"],
    "variations": ["- 4 variations vs one edit:"],
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("section", list(SECTIONS))
def test_each_section_of_a_quick_run_writes_its_rows_and_the_targets(tmp_path: Path, section: str) -> None:
    done = subprocess.run(
        [sys.executable, BENCH, "--quick", "--only", section, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    heading, part = SECTIONS[section]
    report = (tmp_path / "latest.md").read_text()
    assert heading in report
    assert "Targets:" in report
    assert all(line in report.split("Targets:")[1] for line in TARGET_LINES.get(section, []))
    (raw,) = tmp_path.glob("*.json")
    data: dict[str, Any] = json.loads(raw.read_text())
    assert data[part], f"{section} filled nothing"
    assert all(not data[other] for other in {p for _, p in SECTIONS.values()} - {part})


def test_every_section_of_the_benchmark_is_tested() -> None:
    done = subprocess.run([sys.executable, BENCH, "--help"], capture_output=True, text=True, check=True, timeout=60)
    choices = re.search(r"--only \{([^}]*)\}", done.stdout)
    assert choices is not None
    assert set(choices.group(1).split(",")) == set(SECTIONS)


@pytest.mark.timeout(300)
def test_the_spend_limit_option_reaches_the_servers_it_starts(tmp_path: Path) -> None:
    command = [sys.executable, BENCH, "--quick", "--only", "overhead-async", "--max-spend-usd", "1000"]
    done = subprocess.run([*command, "--out", str(tmp_path)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (raw,) = tmp_path.glob("*.json")
    (row,) = json.loads(raw.read_text())["overhead"]
    assert row["spend_limit_usd"] == 1000  # as the server's get_balance reported it
    assert row["spent_usd"] == pytest.approx(0.02 * row["edits"])  # every edit went through its ledger
    assert "with a spend limit of $1000" in (tmp_path / "latest.md").read_text()
