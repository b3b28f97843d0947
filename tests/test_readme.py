"""The README's commands, run as a user would paste them: the Quick start's run line on a fresh copy of the
checkout, and the Examples and Inspector blocks in bash, in a folder laid out like a checkout (its examples and its
.venv), against the emulator. Only the ports are changed, to free ones; the test waits, bounded, for each server a
line starts in the background before running the next line."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from fakes import SCAN
from http_harness import free_port
from tooling import REPO, VENV_BIN, package_caches, require

pytestmark = pytest.mark.timeout(600)
README = (REPO / "README.md").read_text()


def bash_block(after_heading: str) -> str:
    """The first ```bash block after the heading."""
    section = README[README.index(after_heading) :]
    found = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert found is not None, after_heading
    return found.group(1)


def runnable(block: str, ports: dict[str, int]) -> str:
    """The block with free ports and a bounded wait after each background start; whatever happens, the servers it
    started are stopped when it ends."""
    lines = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for line in block.replace("\\\n", "").splitlines():
        for documented, free in ports.items():
            line = line.replace(f"--port {documented}", f"--port {free}").replace(f":{documented}", f":{free}")
        lines.append(line)
        started = re.search(r"--port (\d+) &", line)
        if started:
            lines.append(
                f"for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/{started.group(1)}) 2>/dev/null && break; "
                "sleep 0.05; done"
            )
    return "\n".join(lines) + "\n"


def run_bash(script: str, cwd: Path, path: str, home: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """The script in bash with only PATH and HOME set, as a fresh shell would have (plus the user's package caches);
    its output joins the leak scan."""
    done = subprocess.run(
        ["/bin/bash", "-c", script],
        cwd=cwd,
        env={"PATH": path, "HOME": str(home), **package_caches()},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    SCAN.add(done.stdout + done.stderr)
    return done


def test_the_examples_block_runs_as_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "Pictures").mkdir(parents=True)
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), "olive").save(buffer, "PNG")
    (home / "Pictures" / "photo.png").write_bytes(buffer.getvalue())
    (tmp_path / "examples").symlink_to(REPO / "examples")
    (tmp_path / ".venv").symlink_to(VENV_BIN.parent)
    script = runnable(bash_block("## Examples"), {"8765": free_port(), "8000": free_port()})
    done = run_bash(script, tmp_path, "/usr/bin:/bin", home, 120)
    assert done.returncode == 0, script + done.stdout + done.stderr
    assert "assistant: Done! Your edited image: http://127.0.0.1:" in done.stdout
    for saved, size in (("edited-umbrella.jpeg", (160, 120)), ("edited-kite.jpeg", None)):
        with Image.open(tmp_path / saved) as edited:
            assert edited.format == "JPEG"
            assert size is None or edited.size == size


def test_the_quick_start_run_line_works_as_written_in_a_fresh_copy(tmp_path: Path) -> None:
    """The README's first command, on a copy of the checkout with no environment yet: a new venv, `pip install .`,
    and the demo, with nothing but Python on PATH."""
    (run_line,) = [line for line in bash_block("## Quick start").splitlines() if line.startswith("python3 -m venv")]
    copy = tmp_path / "checkout"
    leave_out = shutil.ignore_patterns(".venv", ".git", ".node", "node_modules", "__pycache__", "*.egg-info", "build")
    shutil.copytree(REPO, copy, ignore=leave_out, symlinks=True)
    # As a user's checkout is after the Quick start and the examples ran once: their outputs lie in its root.
    for stray in ("edited-0123abcd.jpeg", "edited-umbrella.jpeg", "edited-kite.jpeg"):
        shutil.copyfile(REPO / "assets" / "icon.png", copy / stray)
    python_only = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    done = run_bash(f"set -euo pipefail\n{run_line}\n", copy, python_only, tmp_path / "home", 540)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Edit completed: prediction" in done.stdout
    # The path the demo says it saved to: a checkout where the demo already ran holds earlier edits beside it.
    (saved,) = re.findall(r"^Saved the edited image to (\S+) \(", done.stdout, re.MULTILINE)
    assert Path(copy, saved).parent.resolve() == copy.resolve()
    with Image.open(copy / saved) as edited:
        assert edited.format == "JPEG"


def test_the_inspector_block_runs_as_written(tmp_path: Path) -> None:
    npx = Path(require("npx"))
    (tmp_path / ".venv").symlink_to(VENV_BIN.parent)
    port = free_port()
    # The block's own comment says to start the emulator first; the lines after it run as written.
    block = f".venv/bin/qwen-image-edit-mcp emulator --port {port} &\n" + bash_block("## Debugging with the Inspector")
    script = runnable(block, {"8765": port})
    done = run_bash(script, tmp_path, f"{npx.parent}:/usr/bin:/bin", tmp_path / "home", 240)
    assert done.returncode == 0, script + done.stdout + done.stderr
    assert '"name": "edit_image"' in done.stdout  # the listing
    assert '"status": "completed"' in done.stdout  # the edit
    assert "Warning" not in done.stdout + done.stderr


def test_the_development_tree_names_every_module() -> None:
    tree = README[README.index("## Development") :]
    tree = tree[: tree.index("```\n", tree.index("```text") + 7)]
    package = REPO / "server" / "qwen_image_edit_mcp"
    missing = [
        str(module.relative_to(package))
        for module in package.rglob("*.py")
        if module.name != "__init__.py" and not re.search(rf"\b{re.escape(module.name)}\b", tree)
    ]
    assert not missing
