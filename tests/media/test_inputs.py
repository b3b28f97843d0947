"""Turning `image` into what WaveSpeed takes: URLs, local files (uploaded), data: URIs and base64."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from fakes import API_KEY, FakeClock
from qwen_image_edit_mcp.emulator import EmulatorConfig, EmulatorState, create_emulator_app
from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.media.image_bytes import decode_base64
from qwen_image_edit_mcp.media.inputs import UPLOAD_ABOVE_BYTES, ImageInputs, resolve_image
from qwen_image_edit_mcp.media.uploads import Uploader
from qwen_image_edit_mcp.state.store import open_store
from qwen_image_edit_mcp.wavespeed.client import WaveSpeedClient

pytestmark = pytest.mark.anyio
PUBLIC_API = "https://api.wavespeed.ai"
EMULATOR = "http://emulator.test"


def encoded(fmt: str = "PNG", size: tuple[int, int] = (32, 24), noisy: bool = False) -> bytes:
    image = Image.effect_noise(size, 90).convert("RGB") if noisy else Image.new("RGB", size, "teal")
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


class Setup:
    def __init__(self, clock: FakeClock, tmp_path: Path) -> None:
        self.folder = (tmp_path / "Pictures").resolve()
        self.folder.mkdir()
        self.state = EmulatorState(EmulatorConfig(api_key=API_KEY, public_base_url=EMULATOR), clock=clock)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_emulator_app(self.state)))
        client = WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url=EMULATOR)
        self.inputs = ImageInputs(
            EMULATOR, [self.folder], Uploader(client, open_store(None, tmp_path / "cache").uploads)
        )

    def uploads(self) -> int:
        return sum(1 for entry in self.state.request_log() if entry["path"].startswith("/api/v3/media/"))


@pytest.fixture
def setup(clock: FakeClock, tmp_path: Path) -> Setup:
    return Setup(clock, tmp_path)


PUBLIC = ImageInputs(PUBLIC_API, [], None)


async def test_an_http_url_is_passed_through_untouched() -> None:
    url = "https://example.com/photos/cat.png?sig=a%20b&x=1"
    assert (await resolve_image(url, PUBLIC)).value == url


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("https://user:secret@example.com/a.png", "credentials"),
        ("http://localhost:8000/a.png", "cannot reach localhost"),
        ("http://192.168.1.20/a.png", "private"),
        ("http://[::1]/a.png", "cannot reach"),
        ("https:///a.png", "no host"),
        ("https://example.com/my photo.png", "spaces"),
        ("https://example.com:99999/a.png", "not a valid URL"),
        ("ftp://example.com/a.png", "public http(s) URL, a local file path"),
        ("just some words", "public http(s) URL, a local file path"),
        ("data:image/png," + "plain", "base64-encoded"),
        ("data:image/png;base64,%%%", "not valid base64"),
        ("data:image/png;base64," + base64.b64encode(b"a text file, not a picture").decode(), "readable image"),
        ("A" * 100, "base64 string"),
    ],
)
async def test_unusable_images_are_refused_with_the_reason(value: str, says: str) -> None:
    with pytest.raises(InputError) as caught:
        await resolve_image(value, PUBLIC)
    assert says in str(caught.value)


async def test_local_addresses_are_fine_when_the_api_itself_is_local() -> None:
    url = "http://127.0.0.1:9000/media/a.png"
    assert (await resolve_image(url, ImageInputs("http://127.0.0.1:9000", [], None))).value == url


async def test_a_small_data_uri_goes_inline_relabelled_with_its_real_type(setup: Setup) -> None:
    png = encoded("PNG")
    resolved = await resolve_image("data:image/jpeg;base64," + base64.b64encode(png).decode(), setup.inputs)
    assert resolved.value.startswith("data:image/png;base64,")
    assert decode_base64(resolved.value) == png
    assert setup.uploads() == 0


async def test_bare_base64_is_accepted_as_an_image(setup: Setup) -> None:
    jpeg = encoded("JPEG", (64, 64))
    resolved = await resolve_image(base64.b64encode(jpeg).decode(), setup.inputs)
    assert resolved.value.startswith("data:image/jpeg;base64,")


async def test_a_large_data_uri_is_uploaded_rather_than_sent_inline(setup: Setup) -> None:
    big = encoded("PNG", (1024, 768), noisy=True)
    assert len(big) > UPLOAD_ABOVE_BYTES
    resolved = await resolve_image("data:image/png;base64," + base64.b64encode(big).decode(), setup.inputs)
    assert resolved.value.startswith(f"{EMULATOR}/media/")
    assert setup.state.uploads[next(iter(setup.state.uploads))].data == big


async def test_a_local_file_is_uploaded_and_its_download_url_sent(setup: Setup) -> None:
    data = encoded("PNG")
    (setup.folder / "cat.png").write_bytes(data)
    resolved = await resolve_image(str(setup.folder / "cat.png"), setup.inputs)
    assert resolved.value.startswith(f"{EMULATOR}/media/")
    assert resolved.value.endswith("/cat.png")
    assert resolved.note is not None
    assert "uploaded" in resolved.note
    assert setup.uploads() == 1


async def test_the_second_edit_of_a_file_reuses_its_upload(setup: Setup) -> None:
    (setup.folder / "cat.png").write_bytes(encoded("PNG"))
    first = await resolve_image(str(setup.folder / "cat.png"), setup.inputs)
    second = await resolve_image((setup.folder / "cat.png").as_uri(), setup.inputs)
    assert first.value == second.value
    assert second.note is not None
    assert "reused" in second.note
    assert setup.uploads() == 1


@pytest.mark.parametrize(
    ("make", "says"),
    [
        ("outside", "outside the folders"),
        ("traversal", "outside the folders"),
        ("symlink", "outside the folders"),
        ("text", "not a readable image"),
        ("truncated", "not a readable image"),
        ("missing", "no file at"),
        ("huge", "the limit is 20 MiB"),
    ],
)
async def test_a_refused_file_is_never_uploaded(setup: Setup, tmp_path: Path, make: str, says: str) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(encoded("PNG"))
    target = {
        "outside": outside,
        "traversal": setup.folder / ".." / "outside.png",
        "symlink": setup.folder / "link.png",
        "text": setup.folder / "notes.png",
        "truncated": setup.folder / "cut.jpg",
        "missing": setup.folder / "missing.png",
        "huge": setup.folder / "huge.png",
    }[make]
    if make == "symlink":
        target.symlink_to(outside)
    if make == "text":
        target.write_text("not an image")
    if make == "truncated":  # WaveSpeed would be paid for it and fail: a JPEG that verify() alone passes
        whole = encoded("JPEG", (256, 192), noisy=True)
        target.write_bytes(whole[: len(whole) // 2])
    if make == "huge":
        with target.open("wb") as handle:
            handle.truncate(25 * 1024 * 1024)
    with pytest.raises(InputError) as caught:
        await resolve_image(str(target), setup.inputs)
    assert says in str(caught.value)
    assert setup.state.request_log() == []
