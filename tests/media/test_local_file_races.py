"""What was opened is what is checked: a folder or file swapped between the check and the open changes nothing."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.media.local_files import read_local_image


def png(path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(buffer, "PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    allowed, outside = tmp_path / "Pictures", tmp_path / "private"
    png(allowed / "album" / "cat.png")
    png(outside / "cat.png")  # the same name, outside: what an attacker wants read
    return allowed.resolve(), outside.resolve()


def swap_before_open(monkeypatch: pytest.MonkeyPatch, swap: Callable[[], None]) -> None:
    """Run `swap()` after the path was vetted and just before the file is opened: the race, made certain."""
    real_open = os.open

    def racing_open(path: str | Path, flags: int, *args: int) -> int:
        swap()
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", racing_open)


def test_a_folder_swapped_for_a_symlink_after_the_check_is_refused(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed, outside = folders

    def swap() -> None:
        (allowed / "album" / "cat.png").unlink()
        (allowed / "album").rmdir()
        (allowed / "album").symlink_to(outside, target_is_directory=True)

    swap_before_open(monkeypatch, swap)
    with pytest.raises(InputError, match="changed while it was being opened"):
        read_local_image(str(allowed / "album" / "cat.png"), [allowed])


def test_a_fifo_swapped_in_after_the_check_is_refused_without_blocking(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed, _ = folders
    target = allowed / "album" / "cat.png"

    def swap() -> None:
        target.unlink()
        os.mkfifo(target)  # with no writer, a blocking open() would wait forever

    swap_before_open(monkeypatch, swap)
    with pytest.raises(InputError, match="not a regular file"):
        read_local_image(str(target), [allowed])


@pytest.mark.parametrize("value", ["/tmp/a\x00b.png", "~/Pictures/\x00", "file:///tmp/x%00.png"])
def test_a_nul_in_a_path_is_a_clear_error_naming_the_field(folders: tuple[Path, Path], value: str) -> None:
    allowed, _ = folders
    with pytest.raises(InputError, match=r"^images\[2\]: "):
        read_local_image(value, [allowed], field="images[2]")
