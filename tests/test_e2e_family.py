"""The whole family end to end over stdio: each variant is sent to its own endpoint with exactly its documented
fields, from a URL, a local file and a data URI, and its result says which variant ran."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fakes import API_KEY
from harness import family_arguments, pictures_dir, png_data_uri, text_of
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from qwen_image_edit_mcp.upstream.curated import BUILT_IN
from qwen_image_edit_mcp.wavespeed.endpoints import submit_path
from stdio_harness import server_env, stdio_server

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
URL_IMAGE = "https://example.com/street.jpg"
COMMON = {"prompt", "seed", "output_format", "enable_base64_output", "enable_sync_mode"}


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.2)) as running:
        yield running


def local_png(tmp_path: Path, colour: str, size: tuple[int, int] = (96, 64)) -> Path:
    path = pictures_dir(tmp_path) / f"{colour}.png"
    Image.new("RGB", size, colour).save(path)
    return path


def arguments_for(name: str, tmp_path: Path) -> dict[str, Any]:
    return family_arguments(
        name,
        [str(local_png(tmp_path, "navy")), URL_IMAGE, png_data_uri((40, 40))],
        loras=[{"path": "owner/warm-light", "scale": 0.8}, {"path": "https://x.test/angle.safetensors"}],
        prompt="put the hat from image 2 on the cat in image 1",
    )


@pytest.mark.parametrize("name", list(BUILT_IN))
async def test_each_variant_runs_end_to_end_with_exactly_its_documented_fields(
    emulator: RunningEmulator, tmp_path: Path, name: str
) -> None:
    variant = BUILT_IN[name]
    async with stdio_server(server_env(emulator, tmp_path)) as (client, _):
        result = await client.call_tool("edit_image", arguments_for(name, tmp_path))
        assert not result.is_error, text_of(result)
        assert result.structured_content is not None
        prediction_id = result.structured_content["prediction_id"]
        looked_up = await client.call_tool("get_prediction", {"prediction_id": prediction_id})
    (submit,) = [e for e in emulator.state.request_log() if e["method"] == "POST" and "qwen-image" in e["path"]]
    assert submit["path"] == submit_path(variant.model_id)
    expected = COMMON | {variant.images_field} | ({"loras"} if variant.loras else set[str]())
    assert set(submit["json"]) == expected
    sent = submit["json"][variant.images_field]
    if variant.images_field == "images":
        assert len(sent) == 3
        assert sent[1] == URL_IMAGE  # a URL is passed through untouched, in its place
        assert sent[0].startswith(emulator.base_url)  # the local file was uploaded
        assert sent[2].startswith("data:image/png;base64,")  # a small data URI is sent inline
    if variant.loras:
        assert submit["json"]["loras"] == [
            {"path": "owner/warm-light", "scale": 0.8},
            {"path": "https://x.test/angle.safetensors", "scale": 1.0},
        ]
    for report in (result.structured_content, looked_up.structured_content):
        assert report is not None
        assert report["variant"] == name
        assert report["model"] == variant.model_id
        assert report["status"] == "completed"


async def test_the_synthetic_result_shows_the_other_images_and_the_loras(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    arguments = {
        "prompt": "combine",
        "model": "edit-plus-lora",
        "images": [str(local_png(tmp_path, "navy", (300, 200))), str(local_png(tmp_path, "yellow"))],
        "loras": [{"path": "owner/warm-light"}],
        "output_format": "png",
    }
    async with stdio_server(server_env(emulator, tmp_path)) as (client, _):
        result = await client.call_tool("edit_image", arguments)
    assert result.structured_content is not None
    (saved,) = result.structured_content["saved_paths"]
    with Image.open(io.BytesIO(Path(saved).read_bytes())) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (300, 200)  # the first image is the one edited
        inset = rgb.getpixel((300 - 10, 200 - 10))  # the yellow second image, inset at the bottom right
        assert isinstance(inset, tuple)
        assert inset[0] > 200 and inset[1] > 200 and inset[2] < 80  # noqa: PT018 - one colour, three channels
