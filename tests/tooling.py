"""External tools some tests drive (npx for the official MCP tools, uv/uvx for launches as hosts do them)."""

from __future__ import annotations

import os
import shutil
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


def host_env(**extra: str) -> dict[str, str]:
    """What a GUI host gives a server: a bare PATH (plus where uv lives) and HOME, nothing else of ours."""
    env = {"PATH": f"{VENV_BIN}{os.pathsep}/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    # uv on these machines must trust the system's certificates to reach the package registry; a user's needs nothing.
    env["UV_SYSTEM_CERTS"] = "1"
    if "SSL_CERT_FILE" in os.environ:
        env["SSL_CERT_FILE"] = os.environ["SSL_CERT_FILE"]
    env.update(extra)
    return env
