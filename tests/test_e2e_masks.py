"""Masked edits end to end over stdio against the emulator, whose "invert" edit changes every pixel: outside the mask
the output is the input exactly, inside it is the edit, the soft edge lies where it should, masks from a local file, a
data URI and a URL all work, and each refusal is made before any paid request."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fakes import API_KEY
from harness import pictures_dir, text_of
from masked_pictures import FEATHER, SIZE, check_pixels, mask_as, mask_image, photo, png
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from stdio_harness import stdio_server

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.2)) as running:
        yield running


def env_for(emulator: RunningEmulator, tmp_path: Path) -> dict[str, str]:
    return {
        "WAVESPEED_API_KEY": API_KEY,
        "WAVESPEED_BASE_URL": emulator.base_url,
        "QWEN_EDIT_OUTPUT_DIR": str(tmp_path / "outputs"),
        "QWEN_EDIT_ALLOWED_DIRS": str(pictures_dir(tmp_path)),
        "QWEN_EDIT_CACHE_DIR": str(tmp_path / "cache"),
    }


def submits(emulator: RunningEmulator) -> list[dict[str, Any]]:
    return [e for e in emulator.state.request_log() if e["method"] == "POST" and "qwen-image" in e["path"]]


@pytest.mark.parametrize(("form", "mode"), [("file", "RGB"), ("data URI", "RGBA"), ("URL", "RGB")])
async def test_a_masked_edit_keeps_the_input_outside_and_shows_the_edit_inside(
    emulator: RunningEmulator, tmp_path: Path, form: str, mode: str
) -> None:
    source = photo(tmp_path, mode)
    image = str(source)
    if form == "URL":  # the image too: the server fetches its pixels to composite
        upload = emulator.state.create_upload("photo.png", 0, "image/png", source.read_bytes())
        image = f"{emulator.base_url}/media/{upload.token}/photo.png"
    arguments = {"prompt": "invert it", "image": image, "mask": mask_as(form, tmp_path, emulator)}
    async with stdio_server(env_for(emulator, tmp_path)) as (client, _):
        result = await client.call_tool("edit_image", {**arguments, "feather": FEATHER})
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    assert report["masked"] is True
    assert report["mask_coverage"] == pytest.approx(80 * 60 / (160 * 100), abs=1e-4)
    (saved,) = report["saved_paths"]
    check_pixels(Path(saved), source)
    assert len(submits(emulator)) == 1


async def test_the_mask_applies_to_the_first_image_of_a_multi_image_edit(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    source, other = photo(tmp_path), pictures_dir(tmp_path) / "other.png"
    Image.new("RGB", (40, 40), "yellow").save(other)
    arguments = {
        "prompt": "invert image 1",
        "model": "edit-plus",
        "images": [str(source), str(other)],
        "mask": mask_as("file", tmp_path, emulator),
        "feather": FEATHER,
    }
    async with stdio_server(env_for(emulator, tmp_path)) as (client, _):
        result = await client.call_tool("edit_image", arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    (saved,) = result.structured_content["saved_paths"]
    with Image.open(saved) as out, Image.open(source) as src:
        assert out.getpixel((5, 5)) == src.getpixel((5, 5))  # the emulator's inset of image 2 is masked away


async def test_each_refusal_is_made_before_any_paid_request(emulator: RunningEmulator, tmp_path: Path) -> None:
    source = str(photo(tmp_path))
    wrong_shape = "data:image/png;base64," + base64.b64encode(png(mask_image((100, 100), (10, 10, 50, 50)))).decode()
    black = "data:image/png;base64," + base64.b64encode(png(Image.new("L", SIZE, 0))).decode()
    cases = [
        ({"mask": "data:image/png;base64,aGVsbG8="}, "readable image"),
        ({"mask": wrong_shape}, "the mask is 100x100, the image 160x100"),
        ({"mask": black}, "all black"),
        ({"mask": mask_as("file", tmp_path, emulator), "size": "512*512"}, "keeps the input's size"),
        ({"mask": mask_as("file", tmp_path, emulator), "image": f"{emulator.base_url}/media/gone/x.png"}, "404"),
    ]
    async with stdio_server(env_for(emulator, tmp_path)) as (client, _):
        for extra, said in cases:
            result = await client.call_tool("edit_image", {"prompt": "invert", "image": source, **extra})
            assert result.is_error
            assert said in text_of(result)
    assert submits(emulator) == []
