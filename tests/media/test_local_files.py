"""The allowed-directories policy: what may be read, and that nothing else is."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.media.local_files import looks_like_path, read_local_image, to_path


def png(path: Path, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, "PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    folder = tmp_path / "Pictures"
    folder.mkdir()
    return folder.resolve()


def test_an_image_inside_an_allowed_directory_is_read(allowed: Path) -> None:
    data = png(allowed / "holiday" / "beach.png")
    image = read_local_image(str(allowed / "holiday" / "beach.png"), [allowed])
    assert image.data == data
    assert image.path == allowed / "holiday" / "beach.png"


def test_file_uris_and_home_paths_name_the_same_file(
    allowed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = png(allowed / "my cat.png")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert read_local_image((allowed / "my cat.png").as_uri(), [allowed]).data == data
    assert read_local_image("~/Pictures/my cat.png", [allowed]).data == data


def test_a_file_outside_the_allowed_directories_is_refused_naming_them(allowed: Path, tmp_path: Path) -> None:
    png(tmp_path / "secret" / "id-card.png")
    with pytest.raises(InputError) as caught:
        read_local_image(str(tmp_path / "secret" / "id-card.png"), [allowed])
    assert "outside the folders this server may read" in str(caught.value)
    assert str(allowed) in str(caught.value)
    assert "--allow-dir" in str(caught.value)


def test_dot_dot_cannot_climb_out(allowed: Path, tmp_path: Path) -> None:
    png(tmp_path / "secret.png")
    with pytest.raises(InputError, match="outside"):
        read_local_image(str(allowed / ".." / "secret.png"), [allowed])


def test_a_symlink_that_leaves_the_allowed_directories_is_refused(allowed: Path, tmp_path: Path) -> None:
    png(tmp_path / "outside.png")
    (allowed / "innocent.png").symlink_to(tmp_path / "outside.png")
    with pytest.raises(InputError, match="outside"):
        read_local_image(str(allowed / "innocent.png"), [allowed])


def test_a_symlinked_folder_that_leaves_is_refused_too(allowed: Path, tmp_path: Path) -> None:
    png(tmp_path / "elsewhere" / "a.png")
    (allowed / "door").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(InputError, match="outside"):
        read_local_image(str(allowed / "door" / "a.png"), [allowed])


def test_whether_a_file_outside_exists_is_not_revealed(allowed: Path, tmp_path: Path) -> None:
    png(tmp_path / "exists.png")
    messages: list[str] = []
    for name in ("exists.png", "does-not-exist.png"):
        with pytest.raises(InputError) as caught:
            read_local_image(str(tmp_path / name), [allowed])
        messages.append(str(caught.value).replace(name, "NAME"))
    assert messages[0] == messages[1]


def test_a_text_file_named_png_is_not_an_image(allowed: Path) -> None:
    (allowed / "notes.png").write_text("shopping list: milk, eggs")
    with pytest.raises(InputError, match="not a readable image"):
        read_local_image(str(allowed / "notes.png"), [allowed])


def test_a_missing_file_says_so(allowed: Path) -> None:
    with pytest.raises(InputError, match="no file at"):
        read_local_image(str(allowed / "gone.png"), [allowed])


def test_a_file_over_the_cap_is_refused_before_it_is_read(allowed: Path) -> None:
    big = allowed / "huge.png"
    with big.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)  # sparse: costs no disk and would be slow to read
    with pytest.raises(InputError, match=r"21\.0 MiB; the limit is 20 MiB"):
        read_local_image(str(big), [allowed])


def test_a_directory_is_not_a_file(allowed: Path) -> None:
    (allowed / "album").mkdir()
    with pytest.raises(InputError, match="not a regular file"):
        read_local_image(str(allowed / "album"), [allowed])


def test_a_symlink_loop_is_a_clear_refusal_naming_the_field(allowed: Path) -> None:
    (allowed / "a").symlink_to(allowed / "b")
    (allowed / "b").symlink_to(allowed / "a")
    with pytest.raises(InputError, match=r"^mask: .* (not a usable path|no file at|cannot be read)"):
        read_local_image(str(allowed / "a" / "cat.png"), [allowed], field="mask")


def test_relative_paths_and_other_hosts_are_refused() -> None:
    with pytest.raises(InputError, match="relative path"):
        to_path("./cat.png")
    with pytest.raises(InputError, match="another machine"):
        to_path("file://fileserver/share/cat.png")


def test_no_allowed_directories_means_no_local_files(tmp_path: Path) -> None:
    png(tmp_path / "a.png")
    with pytest.raises(InputError, match="turned off"):
        read_local_image(str(tmp_path / "a.png"), [])


@pytest.mark.parametrize(
    ("value", "is_path"),
    [
        ("/home/me/a.png", True),
        ("~/a.png", True),
        ("file:///tmp/a.png", True),
        ("C:\\Users\\me\\a.png", True),
        ("./a.png", True),
        ("https://example.com/a.png", False),
        ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk", False),
    ],
)
def test_what_counts_as_a_path(value: str, is_path: bool) -> None:
    assert looks_like_path(value) is is_path
