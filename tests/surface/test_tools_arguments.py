"""What the tools refuse before anything reaches WaveSpeed (a missing or wrong key, malformed arguments), and that
the key never shows up in a result."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from PIL import Image

from fakes import API_KEY, MODEL_TOOLS, AppsSupport, FakeClock, beyond_the_catalog
from harness import World, family_arguments, make_world, png_data_uri, text_of
from qwen_image_edit_mcp.upstream.curated import BUILT_IN

pytestmark = pytest.mark.anyio


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


URL_IMAGE = "https://example.com/street.jpg"


@pytest.fixture
def world(clock: FakeClock, tmp_path: Path) -> World:
    return make_world(clock, tmp_path)


@pytest.mark.parametrize(
    ("name", "arguments"),
    [("edit_image", {"prompt": "x", "image": URL_IMAGE}), ("get_prediction", {"prediction_id": "abc"})],
)
async def test_without_a_key_the_tools_list_and_a_call_says_to_set_the_key(
    clock: FakeClock, tmp_path: Path, name: str, arguments: dict[str, Any]
) -> None:
    world = make_world(clock, tmp_path, api_key=None)
    async with Client(world.server) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == MODEL_TOOLS
        result = await client.call_tool(name, arguments)
    assert result.is_error
    assert "WAVESPEED_API_KEY" in text_of(result)
    assert beyond_the_catalog(world.emulator.request_log()) == []


async def test_a_wrong_key_is_explained_once_without_a_retry_storm(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path, api_key="sk-wrong-key-000000")
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE})
    assert result.is_error
    assert "401" in text_of(result)
    assert "top" in text_of(result)
    assert len(world.submits()) == 1
    assert "sk-wrong-key-000000" not in text_of(result)


X = {"prompt": "add a hat", "image": URL_IMAGE}
INLINE = {"prompt": "add a hat", "image": png_data_uri((64, 48))}
BLACK = "data:image/png;base64," + base64.b64encode(png_bytes(Image.new("L", (64, 48), 0))).decode()
SQUARE = "data:image/png;base64," + base64.b64encode(png_bytes(Image.new("L", (100, 100), 255))).decode()
THIN = Image.new("L", (64, 48), 0)
THIN.paste(255, (10, 0, 12, 48))  # a white stripe 2 px wide: narrower than the default soft edge
THIN_MASK = "data:image/png;base64," + base64.b64encode(png_bytes(THIN)).decode()
CMYK = io.BytesIO()
Image.new("CMYK", (64, 48), (0, 80, 80, 0)).save(CMYK, "JPEG")
CMYK_IMAGE = {"prompt": "add a hat", "image": "data:image/jpeg;base64," + base64.b64encode(CMYK.getvalue()).decode()}
WHITE = "data:image/png;base64," + base64.b64encode(png_bytes(Image.new("L", (64, 48), 255))).decode()
HUGE = "data:image/png;base64," + base64.b64encode(png_bytes(Image.new("L", (4100, 4100), 128))).decode()
# (tool, arguments, the field named, what is allowed): at least 30 cases, every field of every tool.
BAD_ARGUMENTS: list[tuple[str, dict[str, Any], str, str]] = [
    ("edit_image", {"image": URL_IMAGE}, "prompt", "Field required"),
    ("edit_image", {**X, "prompt": ""}, "prompt", "at least 1 character"),
    ("edit_image", {**X, "prompt": "   "}, "prompt", "must describe the edit"),
    ("edit_image", {**X, "prompt": 5}, "prompt", "valid string"),
    ("edit_image", {**X, "prompt": "x" * 4001}, "prompt", "at most 4000 characters"),
    ("edit_image", {"prompt": "x"}, "image", "image is required"),
    ("edit_image", {**X, "images": [URL_IMAGE]}, "images", "either image"),
    ("edit_image", {"prompt": "x", "images": []}, "images", "at least 1 item"),
    ("edit_image", {"prompt": "x", "images": [URL_IMAGE] * 4, "model": "edit-plus"}, "images", "takes at most 3"),
    ("edit_image", {"prompt": "x", "images": [URL_IMAGE] * 11, "model": "edit-2.1"}, "images", "takes at most 10"),
    ("edit_image", {"prompt": "x", "images": [URL_IMAGE, URL_IMAGE]}, "images", "edit-plus, edit-2511 or edit-2.1"),
    (
        "edit_image",
        {"prompt": "x", "images": [URL_IMAGE, "/etc/passwd"], "model": "edit-plus"},
        "images",
        "images[1]: ",
    ),
    ("edit_image", {**X, "model": "edit-3000"}, "model", "not a short name this server knows (edit, edit-plus"),
    ("edit_image", {**X, "model": "google/nano-banana/edit"}, "model", "not a Qwen-Image edit model"),
    ("edit_image", {**X, "model": "wavespeed-ai/qwen-image/text-to-image"}, "model", "a text-to-image model"),
    ("edit_image", {**X, "model": "x" * 201}, "model", "at most 200 characters"),
    ("edit_image", {**X, "options": {"guidance_scale": 5}}, "options", "model edit has no field 'guidance_scale'"),
    ("edit_image", {**X, "options": {"seed": 5}}, "options", "give seed as edit_image's own argument"),
    ("edit_image", {**X, "options": [1]}, "options", "valid dictionary"),
    ("edit_image", {**X, "variations": 5}, "variations", "less than or equal to 4"),
    ("edit_image", {**X, "variations": 0}, "variations", "greater than or equal to 1"),
    ("edit_image", {**X, "variations": 2.5}, "variations", "valid integer"),
    ("edit_image", {**X, "variations": 3, "seed": 2147483646}, "variations", "Use a seed of at most 2147483645"),
    (
        "edit_image",
        {**X, "model": "edit-2.1", "options": {"guidance_scale": 99}},
        "options",
        "options.guidance_scale is out of range (99) for model edit-2.1: it takes a number 1-10",
    ),
    ("edit_image", {**X, "loras": [{"path": "a/b"}]}, "loras", "use model edit-lora"),
    ("edit_image", {**X, "model": "edit-plus", "loras": [{"path": "a/b"}]}, "loras", "use model edit-plus-lora"),
    ("edit_image", {**X, "model": "edit-lora", "loras": [{"path": "a/b"}] * 4}, "loras", "at most 3"),
    ("edit_image", {**X, "model": "edit-lora", "loras": [{"path": "a/b", "scale": 4.5}]}, "loras", "between 0 and 4"),
    ("edit_image", {**X, "model": "edit-lora", "loras": [{"path": "a/b", "scale": -0.5}]}, "loras", "between 0 and 4"),
    (
        "edit_image",
        {"prompt": "x", "images": [URL_IMAGE], "model": "edit-2511", "loras": [{"path": "a/b"}]},
        "loras",
        "use model edit-2511-lora",
    ),
    ("edit_image", {**X, "model": "edit-lora", "loras": [{"path": ""}]}, "loras", "LoRA path is empty"),
    ("edit_image", {**X, "model": "edit-lora", "loras": [{"path": "just-a-name"}]}, "loras", "'owner/name'"),
    ("edit_image", {**X, "model": "edit-lora", "loras": [{"path": "https://x.io/a.bin"}]}, "loras", ".safetensors"),
    ("edit_image", {**X, "image": ""}, "image", "at least 1 character"),
    ("edit_image", {**X, "image": 42}, "image", "valid string"),
    ("edit_image", {**X, "size": "1024"}, "size", "'WIDTH*HEIGHT'"),
    ("edit_image", {**X, "size": "1024*"}, "size", "'WIDTH*HEIGHT'"),
    ("edit_image", {**X, "size": "a*b"}, "size", "'WIDTH*HEIGHT'"),
    ("edit_image", {**X, "size": "1024*768*2"}, "size", "'WIDTH*HEIGHT'"),
    ("edit_image", {**X, "size": "-512*512"}, "size", "'WIDTH*HEIGHT'"),
    ("edit_image", {**X, "size": "2000*1024"}, "size width", "between 256 and 1536"),
    ("edit_image", {**X, "size": "1024*100"}, "size height", "between 256 and 1536"),
    ("edit_image", {**X, "size": 1024}, "size", "valid string"),
    ("edit_image", {**X, "seed": -2}, "seed", "greater than or equal to -1"),
    ("edit_image", {**X, "seed": 2147483648}, "seed", "less than or equal to 2147483647"),
    ("edit_image", {**X, "seed": 1.5}, "seed", "fractional part"),
    ("edit_image", {**X, "seed": "lots"}, "seed", "valid integer"),
    ("edit_image", {**X, "output_format": "gif"}, "output_format", "'jpeg', 'png' or 'webp'"),
    ("edit_image", {**X, "enable_base64_output": "maybe"}, "enable_base64_output", "valid boolean"),
    ("edit_image", {**X, "enable_sync_mode": "maybe"}, "enable_sync_mode", "valid boolean"),
    ("edit_image", {**X, "wait_seconds": -1}, "wait_seconds", "greater than or equal to 0"),
    ("edit_image", {**X, "wait_seconds": 10_000}, "wait_seconds", "less than or equal to 900"),
    ("edit_image", {**X, "enable_sync_mode": True, "wait_seconds": 2}, "wait_seconds", "at least 10"),
    ("edit_image", {**X, "image": "data:image/png;base64,aGVsbG8="}, "image", "readable image"),
    ("edit_image", {**X, "image": "data:image/png;base64,%%%"}, "image", "not valid base64"),
    ("edit_image", {**X, "image": "ftp://example.com/a.png"}, "image", "public http(s) URL"),
    ("edit_image", {**X, "image": "https://u:p@example.com/a.png"}, "image", "credentials"),
    ("edit_image", {**X, "image": "/etc/passwd"}, "image", "outside the folders this server may read"),
    ("edit_image", {**X, "image": "~/../../etc/shadow"}, "image", "outside the folders this server may read"),
    ("edit_image", {**X, "image": "file:///etc/hosts"}, "image", "outside the folders this server may read"),
    ("edit_image", {**X, "image": "cat.png"}, "image", "a local file path (absolute or ~)"),
    ("edit_image", {**X, "image": "/tmp/a\x00b.png"}, "image", "NUL"),
    ("edit_image", {**X, "image": "~nosuchuser/a.png"}, "image", "which home folder"),
    ("edit_image", {**X, "image": "https://example.com/a\x00.png"}, "image", "control characters"),
    ("edit_image", {**X, "image": "http://localhost:9/a.png"}, "image", "cannot reach localhost"),
    ("edit_image", {**X, "mask": ""}, "mask", "at least 1 character"),
    ("edit_image", {**X, "mask": "/etc/passwd"}, "mask", "outside the folders this server may read"),
    ("edit_image", {**X, "mask": "~nosuchuser/m.png"}, "mask", "which home folder"),
    ("edit_image", {**X, "mask": "/tmp/m\x00.png"}, "mask", "NUL"),
    ("edit_image", {**X, "mask": "data:image/png;base64,aGVsbG8="}, "mask", "readable image"),
    ("edit_image", {**X, "mask": "http://localhost:9/m.png"}, "mask", "cannot reach localhost"),
    ("edit_image", {**X, "mask": SQUARE, "size": "512*512"}, "mask", "keeps the input's size"),
    ("edit_image", {**INLINE, "mask": BLACK}, "mask", "all black"),
    ("edit_image", {**INLINE, "mask": SQUARE}, "mask", "the mask is 100x100, the image 64x48"),
    ("edit_image", {**INLINE, "mask": THIN_MASK}, "mask", "thinner than the soft edge"),
    ("edit_image", {**CMYK_IMAGE, "mask": WHITE}, "mask", "CMYK mode, which cannot be composited exactly"),
    ("edit_image", {"prompt": "x", "image": HUGE, "mask": WHITE}, "mask", "megapixels"),
    ("edit_image", {**INLINE, "mask": SQUARE, "feather": -1}, "feather", "greater than or equal to 0"),
    ("edit_image", {**INLINE, "mask": SQUARE, "feather": 65}, "feather", "less than or equal to 64"),
    ("get_prediction", {}, "prediction_id", "Field required"),
    ("get_prediction", {"prediction_id": ""}, "prediction_id", "is empty"),
    ("get_prediction", {"prediction_id": "a" * 129}, "prediction_id", "at most 128"),
    ("get_prediction", {"prediction_id": "../etc/passwd"}, "prediction_id", "not a URL or path"),
    ("get_prediction", {"prediction_id": "abc/def"}, "prediction_id", "not a URL or path"),
    (
        "get_prediction",
        {"prediction_id": "https://api.wavespeed.ai/api/v3/predictions/x"},
        "prediction_id",
        "not a URL",
    ),
    ("get_prediction", {"prediction_id": "abc$%"}, "prediction_id", "letters, digits"),
    ("get_prediction", {"prediction_id": "abc", "wait_seconds": 10_000}, "wait_seconds", "less than or equal to 900"),
    ("list_predictions", {"page": 0}, "page", "greater than or equal to 1"),
    ("list_predictions", {"model": "edit-9"}, "model", "not a short name this server knows (edit, edit-plus"),
    ("list_predictions", {"page_size": 101}, "page_size", "less than or equal to 100"),
    ("list_predictions", {"status": "done"}, "status", "'completed', 'failed' or 'processing'"),
    ("list_predictions", {"since_hours": 0}, "since_hours", "greater than 0"),
    ("list_predictions", {"since_hours": 1000}, "since_hours", "less than or equal to 168"),
    ("preview_image", {"max_side": 256}, "source", "Field required"),
    ("preview_image", {"source": ""}, "source", "at least 1 character"),
    ("preview_image", {"source": "x" * 4097}, "source", "at most 4096 characters"),
    ("preview_image", {"source": URL_IMAGE}, "source", "only image URLs that this server returned"),
    ("preview_image", {"source": "relative/cat.png"}, "source", "relative path"),
    ("preview_image", {"source": "~nosuchuser/cat.png"}, "source", "which home folder"),
    ("preview_image", {"source": "/tmp/cat\x00.png"}, "source", "NUL"),
    ("preview_image", {"source": URL_IMAGE, "max_side": 63}, "max_side", "greater than or equal to 64"),
    ("preview_image", {"source": URL_IMAGE, "max_side": 1537}, "max_side", "less than or equal to 1536"),
    ("preview_image", {"source": URL_IMAGE, "max_side": "big"}, "max_side", "valid integer"),
    ("recent_edits", {"limit": 0}, "limit", "greater than or equal to 1"),
    ("recent_edits", {"limit": 25}, "limit", "less than or equal to 24"),
]


async def test_the_bad_input_table_covers_at_least_30_cases_and_every_published_field(world: World) -> None:
    async with Client(world.server, extensions=[AppsSupport()]) as client:  # every tool, preview_image included
        published = {tool.name: set(tool.input_schema["properties"]) for tool in (await client.list_tools()).tools}
    covered = {(tool, field.split()[0]) for tool, _, field, _ in BAD_ARGUMENTS}
    assert len(BAD_ARGUMENTS) >= 30
    for tool, fields in published.items():  # a parameter added later must join the table too
        assert {f for t, f in covered if t == tool} == fields, tool


@pytest.mark.parametrize(("tool", "arguments", "field", "allowed"), BAD_ARGUMENTS)
async def test_malformed_arguments_are_refused_before_any_request_and_the_server_keeps_serving(
    world: World, tool: str, arguments: dict[str, Any], field: str, allowed: str
) -> None:
    async with Client(world.server) as client:
        refused = await client.call_tool(tool, arguments)
        assert refused.is_error
        assert field in text_of(refused)
        assert allowed in text_of(refused)
        assert "pydantic" not in text_of(refused)
        assert "validation error for" not in text_of(refused)
        assert beyond_the_catalog(world.emulator.request_log()) == []
        works = await client.call_tool("edit_image", {"prompt": "add a hat", "image": URL_IMAGE})
    assert not works.is_error


@pytest.mark.parametrize("model", list(BUILT_IN))
async def test_every_model_refuses_a_bad_image_before_any_request(world: World, model: str) -> None:
    arguments = family_arguments(model, [URL_IMAGE, "/etc/passwd"], prompt="x")
    if "image" in arguments:  # a single-image model: the bad one is its only image
        arguments["image"] = "/etc/passwd"
    async with Client(world.server) as client:
        refused = await client.call_tool("edit_image", arguments)
    assert refused.is_error
    field = "image" if "image" in arguments else "images[1]"
    assert f"{field}: " in text_of(refused)
    assert "outside the folders this server may read" in text_of(refused)
    assert beyond_the_catalog(world.emulator.request_log()) == []


async def test_the_api_key_appears_in_no_result(world: World) -> None:
    world.emulator.update_faults({"fail_code": 1200, "fail_count": 1})
    dumps: list[str] = []
    async with Client(world.server) as client:
        for name, args in (
            ("edit_image", {"prompt": "x", "image": URL_IMAGE}),
            ("edit_image", {"prompt": "x", "image": URL_IMAGE}),
            ("edit_image", {"prompt": "x", "image": "/etc/passwd"}),
            ("get_prediction", {"prediction_id": "f" * 32}),
        ):
            result = await client.call_tool(name, args)
            dumps.append(result.model_dump_json())
    assert all(API_KEY not in dump for dump in dumps)
    assert any("Content Moderation" in dump for dump in dumps)
