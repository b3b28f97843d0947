"""The demo as a person uses it: their own picture from any folder, an output folder that does not exist yet, and
every bad argument refused up front in one line that names the option (exit code 2)."""

from __future__ import annotations

import base64
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp.types import CallToolResult, TextContent
from PIL import Image

from qwen_image_edit_mcp.emulator.demo import finished
from qwen_image_edit_mcp.emulator.demo_options import parse

pytestmark = pytest.mark.timeout(60)


def picture(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "orchid").save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def demo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    home = cwd / "home"
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "qwen_image_edit_mcp", "demo", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
        cwd=cwd,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--latency", "-1"], "--latency must be between 0 and 600 seconds; got -1"),
        (["--latency", "nan"], "--latency must be between 0 and 600 seconds"),
        (["--latency", "soon"], "argument --latency: invalid float value: 'soon'"),
        (["--size", "10*10"], "--size width must be between 256 and 1536 pixels"),
        (["--size", "large"], "--size must look like 'WIDTH*HEIGHT'"),
        (["--format", "gif"], "argument --format: invalid choice: 'gif' (choose from 'jpeg', 'png', 'webp')"),
        (["--prompt", "  "], "--prompt must describe the edit; it is empty"),
        (["--prompt", "x" * 4001], "--prompt must be at most 4000 characters; it has 4001"),
        (["--image", "missing.png"], "--image: no such file: "),
        (["--image", "ftp://example.com/a.png"], "--image takes a file, an http(s) URL or a data: URI"),
        (["--mask", "missing.png"], "--mask: no such file: "),
        (["--mask", "ftp://example.com/m.png"], "--mask takes a file, an http(s) URL or a data: URI"),
        (["--out", "a-file.txt/edited.png"], "--out: cannot create the folder "),
        (["--out", "x.gif"], "--out: cannot save as .gif: the edit comes as JPEG, PNG or WebP"),
        (["--out", "x.png", "--format", "jpeg"], "--out names a .png file but --format is jpeg; make them agree"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (
            ["--model", "edit-max"],
            "--model takes edit, edit-plus, edit-2511, edit-lora, edit-plus-lora, edit-2511-lora ",
        ),
        (
            ["--model", "wavespeed-ai/qwen-image/layered"],
            "--model wavespeed-ai/qwen-image/layered is not a Qwen image ",
        ),
        (["--model", "google/nano-banana/edit"], "--model google/nano-banana/edit is not a Qwen image edit model"),
    ],
)
def test_a_bad_argument_is_one_line_naming_the_option_and_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file.txt").write_text("not a folder")
    with pytest.raises(SystemExit) as exited:
        parse(args)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("qwen-image-edit-mcp demo: ")
    assert says in line


def test_an_unreadable_picture_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = picture(tmp_path / "locked.png")
    readable = os.access

    # Permissions cannot lock root out, and CI runs as root: the check is asked what a user without access gets.
    def access(path: str | Path, mode: int) -> bool:
        return Path(path) != locked and readable(path, mode)

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(SystemExit):
        parse(["--image", str(locked)])
    assert f"--image: cannot read {locked} (permission denied)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "saved_as"),
    [
        (["--out", "shot.png"], "png"),
        (["--out", "shot.JPG"], "jpeg"),
        (["--out", "shot.webp", "--format", "webp"], "webp"),
        (["--out", "folder/"], "jpeg"),
        (["--out", "folder/", "--format", "webp"], "webp"),
        ([], "jpeg"),
    ],
)
def test_the_saved_file_holds_the_format_its_name_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], saved_as: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse(args).output_format == saved_as


def test_the_output_folders_are_made_before_anything_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    options = parse(["--out", "results/today/edited.png", "--image", str(picture(tmp_path / "work" / "kite.png"))])
    assert (tmp_path / "results" / "today").is_dir()
    assert options.out == tmp_path / "results" / "today" / "edited.png"
    assert (options.images, options.allowed_dirs) == ((str(tmp_path / "work" / "kite.png"),), (tmp_path / "work",))
    assert parse(["--out", "folder"]).out == tmp_path / "folder"
    assert (tmp_path / "folder").is_dir()
    assert parse(["--image", "https://example.com/a.png"]).allowed_dirs == ()


def test_the_demo_edits_the_users_own_picture_into_a_new_folder_and_says_what_happened(tmp_path: Path) -> None:
    kite = picture(tmp_path / "work" / "kite.png")  # not one of the server's default folders
    done = demo(tmp_path, "--latency", "0.2", "--image", "work/kite.png", "--format", "png", "--out", "new/dir/")
    assert done.returncode == 0, done.stdout + done.stderr
    saved = list((tmp_path / "new" / "dir").glob("edited-*.png"))
    assert len(saved) == 1
    with Image.open(saved[0]) as edited:
        assert edited.size == (300, 200)
    assert f"Editing {kite}:" in done.stdout
    assert "Edit completed: prediction " in done.stdout
    # The edit's own time, apart from the server's start-up, and what the emulated job itself took.
    assert re.search(r"\(started in \d+\.\d s\)", done.stdout)
    assert re.search(
        r"status completed, in \d+\.\d s from the call to the result \(\d+ polls?; the emulated job "
        r"takes 0\.2 s\)",
        done.stdout,
    )
    assert f"Saved the edited image to {saved[0]}" in done.stdout
    # Nothing meant for a model, and no output URL that dies with the emulator when the demo exits.
    assert "Show the user" not in done.stdout
    assert "/outputs/" not in done.stdout
    assert "get_prediction(" not in done.stdout


def test_the_demo_edits_a_picture_given_as_a_data_uri(tmp_path: Path) -> None:
    uri = "data:image/png;base64," + base64.b64encode(picture(tmp_path / "p.png").read_bytes()).decode()
    done = demo(tmp_path, "--latency", "0.2", "--image", uri, "--format", "png", "--out", "out")
    assert done.returncode == 0, done.stdout + done.stderr
    (saved,) = (tmp_path / "out").glob("edited-*.png")
    with Image.open(saved) as edited:
        assert edited.size == (300, 200)
    assert "Edit completed: prediction " in done.stdout
    assert uri not in done.stdout  # named by its size, not printed back
    assert "Editing a data: URI (" in done.stdout


def test_the_demo_runs_a_multi_image_model_on_two_pictures(tmp_path: Path) -> None:
    picture(tmp_path / "work" / "kite.png")
    second = tmp_path / "other" / "hat.png"
    second.parent.mkdir()
    Image.new("RGB", (80, 80), "yellow").save(second)
    done = demo(
        tmp_path,
        "--latency",
        "0.2",
        "--model",
        "edit-plus",
        "--image",
        "work/kite.png",
        "--image",
        "other/hat.png",
        "--format",
        "png",
        "--out",
        "out/",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(model edit-plus)" in done.stdout
    (saved,) = (tmp_path / "out").glob("edited-*.png")
    with Image.open(saved) as edited:
        corner = edited.convert("RGB").getpixel((300 - 8, 200 - 8))  # the second picture, inset by the emulator
    assert isinstance(corner, tuple)
    assert corner[0] > 200
    assert corner[2] < 80


def test_the_demo_refuses_a_bad_argument_before_starting_anything(tmp_path: Path) -> None:
    done = demo(tmp_path, "--latency", "-1")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "qwen-image-edit-mcp demo: --latency must be between 0 and 600 seconds; got -1 (see --help)"
    ]


def test_the_usage_line_lists_the_subcommands(tmp_path: Path) -> None:
    done = demo(tmp_path, "--help")
    assert "--prompt PROMPT       the edit to make" in done.stdout
    assert "--format {jpeg,png,webp}" in done.stdout
    usage = subprocess.run(
        [sys.executable, "-m", "qwen_image_edit_mcp", "--bogus"], capture_output=True, text=True, check=False
    )
    assert "qwen-image-edit-mcp demo [options]" in usage.stderr
    assert "qwen-image-edit-mcp emulator [options]" in usage.stderr


def report(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"prediction_id": "abc123", "status": "completed", "pending": False, "outputs": []}
    return {**base, "elapsed_seconds": 1.0, "polls": 1, **fields}


@pytest.mark.parametrize(
    ("result", "says"),
    [
        (
            CallToolResult(content=[], structured_content=report(status="failed", error="Bad image", error_code=1402)),
            "Edit failed: prediction abc123, status failed: Bad image (code 1402)",
        ),
        (
            CallToolResult(content=[], structured_content=report(status="processing", pending=True)),
            "Still running after 50 s: prediction abc123 (processing).",
        ),
        (
            CallToolResult(
                content=[TextContent(type="text", text="Error executing tool edit_image: image: not an image\nmore")],
                is_error=True,
            ),
            "The server refused the edit: image: not an image",
        ),
    ],
)
def test_an_edit_that_did_not_complete_is_said_in_one_line(
    capsys: pytest.CaptureFixture[str], result: CallToolResult, says: str
) -> None:
    assert finished(result, 50.0) is None
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(says)


def test_several_images_need_a_multi_image_model(tmp_path: Path) -> None:
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"x")
    images = ["--image", str(tmp_path / "a.png"), "--image", str(tmp_path / "b.png")]
    options = parse([*images, "--model", "edit-plus"])
    assert options.images == (str(tmp_path / "a.png"), str(tmp_path / "b.png"))
    assert options.allowed_dirs == (tmp_path,)
    with pytest.raises(SystemExit):
        parse(images)


def test_any_qwen_edit_model_id_is_taken_with_as_many_images_as_its_catalog_entry_allows(tmp_path: Path) -> None:
    files = [picture(tmp_path / f"{index}.png") for index in range(11)]
    images = [argument for path in files for argument in ("--image", str(path))]
    options = parse([*images[:20], "--model", "wavespeed-ai/qwen-image-2.1/edit"])
    assert (options.model, len(options.images)) == ("wavespeed-ai/qwen-image-2.1/edit", 10)
    assert parse(["--model", "alibaba/qwen-image-3.0/edit"]).model == "alibaba/qwen-image-3.0/edit"


@pytest.mark.parametrize(
    ("count", "model", "says"),
    [
        (2, "edit", "--image was given 2 times; --model edit takes 1 (use --model edit-plus or edit-2511 for up to 3)"),
        (
            4,
            "edit-plus",
            "--image was given 4 times; --model edit-plus takes 3 "
            "(use --model wavespeed-ai/qwen-image-2.1/edit for up to 10)",
        ),
        (7, "wavespeed-ai/qwen-image-max/edit", "--model wavespeed-ai/qwen-image-max/edit takes 6 "),
    ],
)
def test_more_images_than_the_model_takes_are_refused_naming_one_that_takes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], count: int, model: str, says: str
) -> None:
    files = [picture(tmp_path / f"{index}.png") for index in range(count)]
    with pytest.raises(SystemExit):
        parse([*(argument for path in files for argument in ("--image", str(path))), "--model", model])
    assert says in capsys.readouterr().err
