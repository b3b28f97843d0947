"""External tools some tests drive (npx for the official MCP tools, uv/uvx for launches as hosts do them)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def require(tool: str) -> str:
    """The tool's path. Missing in CI is a failure (CI installs everything); missing on a dev machine is a skip."""
    found = shutil.which(tool, path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is required in CI; .ci/run installs it")
        pytest.skip(f"{tool} is not installed here (CI runs this test)")
    return found


def host_env(home: Path, **extra: str) -> dict[str, str]:
    """What a GUI host gives a server: a bare PATH (plus where uv lives) and HOME, nothing else of ours.

    HOME is the test's own folder, so that the server's per-user files (its upload cache above all, which a run
    on the same emulator port could otherwise read from another run) stay out of the user's. uv keeps the user's
    cache, Pythons and settings: they are uv's, safe to share between runs, and a warm cache saves a minute.
    """
    home.mkdir(parents=True, exist_ok=True)
    env = {"PATH": f"{VENV_BIN}{os.pathsep}/usr/bin:/bin", "HOME": str(home), **uv_locations()}
    # uv on these machines must trust the system's certificates to reach the package registry; a user's needs nothing.
    env["UV_SYSTEM_CERTS"] = "1"
    if "SSL_CERT_FILE" in os.environ:
        env["SSL_CERT_FILE"] = os.environ["SSL_CERT_FILE"]
    env.update(extra)
    return env


@functools.cache
def uv_locations() -> dict[str, str]:
    """uv's cache, Python installs and settings file where the user's uv keeps them (none when uv is missing)."""
    uv = shutil.which("uv", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if uv is None:
        return {}

    def ask(*args: str) -> str:
        return subprocess.run([uv, *args], capture_output=True, text=True, check=True, timeout=60).stdout.strip()

    found = {"UV_CACHE_DIR": ask("cache", "dir"), "UV_PYTHON_INSTALL_DIR": ask("python", "dir")}
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "uv" / "uv.toml"
    if config.is_file():
        found["UV_CONFIG_FILE"] = str(config)
    return found


@functools.cache
def package_caches() -> dict[str, str]:
    """pip's and npm's download caches where the user's own are. A test's fresh HOME would otherwise start both
    empty, and download every package again on each run: the caches are the tools' own, safe to share, and a user
    who follows the README has them filled."""
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True, check=False, timeout=60
    )
    found = {"PIP_CACHE_DIR": pip.stdout.strip()} if pip.returncode == 0 and pip.stdout.strip() else {}
    npm = shutil.which("npm")
    if npm is not None:
        done = subprocess.run([npm, "config", "get", "cache"], capture_output=True, text=True, check=False, timeout=60)
        if done.returncode == 0 and done.stdout.strip():
            found["npm_config_cache"] = done.stdout.strip()
    return found
