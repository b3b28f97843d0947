"""`qwen-image-edit-mcp demo` end to end, as a user runs it: its own process with a clean environment and a HOME of
its own (so the server it launches keeps its upload cache there), the emulator, our server over stdio, the saved
image."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from harness import uploads_remembered
from qwen_image_edit_mcp.folders import default_cache_dir

pytestmark = pytest.mark.timeout(60)


def run_demo(home: Path, *args: str) -> str:
    """The demo's stdout; it must exit 0."""
    home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "qwen_image_edit_mcp", "demo", "--latency", "0.2", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
        cwd=home,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def prediction_id(stdout: str) -> str:
    found = re.search(r"submitted: prediction ([0-9a-f]{32})", stdout)
    assert found is not None, stdout
    return found.group(1)


def test_the_demo_edits_its_sample_picture_and_saves_the_result(tmp_path: Path) -> None:
    out = tmp_path / "x.jpeg"
    stdout = run_demo(tmp_path / "home", "--out", str(out))
    assert "not the real API" in stdout
    (listed,) = [line.removeprefix("Server tools: ") for line in stdout.splitlines() if "Server tools: " in line]
    assert "edit_image" in listed.split(", ")
    assert f"Edit completed: prediction {prediction_id(stdout)}" in stdout
    assert f"Saved the edited image to {out}" in stdout
    with Image.open(out) as edited:
        assert (edited.format, edited.size) == ("JPEG", (512, 384))


def test_the_demo_edits_a_local_picture_uploading_it_into_its_own_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    pictures = home / "Pictures"  # a folder the server may read by default
    pictures.mkdir(parents=True)
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "orchid").save(buffer, "PNG")
    (pictures / "photo.png").write_bytes(buffer.getvalue())
    out = tmp_path / "y.png"
    stdout = run_demo(home, "--image", str(pictures / "photo.png"), "--format", "png", "--out", str(out))
    assert f"Edit completed: prediction {prediction_id(stdout)}" in stdout
    with Image.open(out) as edited:
        assert (edited.format, edited.size) == ("PNG", (300, 200))
    # The photo was uploaded, and the server remembered the upload in the default cache under this HOME.
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert "/media/" in uploads_remembered(default_cache_dir())


def test_the_demo_edits_one_region_with_a_mask(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pictures = home / "Pictures"
    pictures.mkdir(parents=True)
    Image.effect_noise((300, 200), 50).convert("RGB").save(pictures / "photo.png")
    mask = Image.new("L", (150, 100), 0)  # half the picture's size: scaled to it
    mask.paste(255, (75, 0, 150, 100))  # the right half may change
    mask.save(tmp_path / "mask.png")  # any folder: naming the file lets the server read it
    out = tmp_path / "z.png"
    prompt = ("--prompt", "invert the colours")
    args = ("--image", str(pictures / "photo.png"), "--mask", str(tmp_path / "mask.png"), *prompt, "--out", str(out))
    stdout = run_demo(home, *args)
    assert "Masked: the edit may change 50.0% of the picture; the rest is the input's, exactly." in stdout
    with Image.open(out) as edited, Image.open(pictures / "photo.png") as source:
        assert (edited.format, edited.size) == ("PNG", (300, 200))  # png by default with a mask
        assert edited.getpixel((140, 150)) == source.getpixel((140, 150))
        inside, before = edited.getpixel((250, 150)), source.getpixel((250, 150))
        assert isinstance(inside, tuple) and isinstance(before, tuple)  # noqa: PT018
        assert inside == tuple(255 - v for v in before)


def test_the_demo_runs_a_model_by_its_catalog_id(tmp_path: Path) -> None:
    out = tmp_path / "z.jpeg"
    stdout = run_demo(tmp_path / "home", "--model", "wavespeed-ai/qwen-image-2.1/edit", "--out", str(out))
    assert f"Edit completed: prediction {prediction_id(stdout)}" in stdout
    assert out.is_file()
