"""What the package ships: the licence it names, a lock file that matches pyproject.toml, and an sdist that holds
everything its own tests need."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

from tooling import REPO, require

pytestmark = pytest.mark.timeout(300)


def uv(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UV_SYSTEM_CERTS": "1"}  # these machines' registry needs the system's certificates
    return subprocess.run(
        [require("uv"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )


def test_the_licence_is_the_mit_licence_the_package_and_the_bundle_name() -> None:
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"] == "MIT"
    assert json.loads((REPO / "manifest.json").read_text())["license"] == "MIT"


def test_the_lock_file_matches_pyproject() -> None:
    done = uv("lock", "--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_sdist_holds_what_its_tests_need_and_they_collect_from_it(tmp_path: Path) -> None:
    built = uv("build", "--sdist", "--out-dir", str(tmp_path / "dist"))
    assert built.returncode == 0, built.stdout + built.stderr
    (archive,) = (tmp_path / "dist").glob("*.tar.gz")
    with tarfile.open(archive) as sdist:
        sdist.extractall(tmp_path / "unpacked", filter="data")
    (root,) = (tmp_path / "unpacked").iterdir()
    for needed in ("tests", "examples", "examples/hosts", "bench/bench.py", "manifest.json", "assets/icon.png"):
        assert (root / needed).exists(), needed
    for needed in ("uv.lock", "LICENSE", ".ci/run", ".mcpbignore", "view/package.json", "server/qwen_image_edit_mcp"):
        assert (root / needed).exists(), needed
    assert not (root / "view" / "node_modules").exists()
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert " tests collected" in collected.stdout
