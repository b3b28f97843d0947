"""edit_image and get_prediction through the SDK's in-memory Client, in both protocol eras, against the emulator."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from mcp import Client

from fakes import MODEL_TOOLS, AppsSupport, FakeClock
from harness import EMULATOR_URL, World, images_of, links_of, make_world, png_data_uri, text_of
from qwen_image_edit_mcp.upstream import curated
from qwen_image_edit_mcp.upstream.curated import CURATED, Curated, price_range_text

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"

EDIT_FIELDS = {
    "prompt",
    "image",
    "images",
    "model",
    "loras",
    "size",
    "seed",
    "output_format",
    "enable_base64_output",
    "enable_sync_mode",
    "wait_seconds",
    "mask",
    "feather",
    "options",
    "variations",
}


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def world(clock: FakeClock, tmp_path: Path) -> World:
    return make_world(clock, tmp_path)


async def test_the_tools_are_listed_with_the_documented_schema_annotations_and_output_schema(
    world: World, mode: str
) -> None:
    async with Client(world.server, mode=mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        instructions = client.instructions
    assert set(tools) == MODEL_TOOLS
    edit = tools["edit_image"].input_schema
    assert set(edit["required"]) == {"prompt"}  # image or images: the use case says which is missing
    props = edit["properties"]
    assert set(props) == EDIT_FIELDS
    size_schema = next(s for s in props["size"]["anyOf"] if s.get("type") == "string")
    assert "pattern" in size_schema
    assert (props["seed"]["minimum"], props["seed"]["maximum"], props["seed"]["default"]) == (-1, 2147483647, -1)
    assert next(s for s in props["output_format"]["anyOf"] if "enum" in s)["enum"] == ["jpeg", "png", "webp"]
    assert props["output_format"]["default"] is None  # jpeg, or png with a mask (see its description)
    assert (props["feather"]["minimum"], props["feather"]["maximum"], props["feather"]["default"]) == (0, 64, 4)
    assert props["enable_base64_output"]["type"] == props["enable_sync_mode"]["type"] == "boolean"
    assert all(props[name].get("description") for name in props)
    assert not any("title" in props[name] for name in props)  # pydantic's "Prompt" for prompt: dropped, said twice
    assert (props["model"]["type"], props["model"]["default"], props["model"]["maxLength"]) == ("string", "edit", 200)
    assert all(name in props["model"]["description"] for name in CURATED)
    assert "list_models" in props["model"]["description"]
    images_schema = next(s for s in props["images"]["anyOf"] if s.get("type") == "array")
    assert (images_schema["minItems"], images_schema["maxItems"]) == (1, 16)  # each model's own limit is checked
    loras_schema = next(s for s in props["loras"]["anyOf"] if s.get("type") == "array")
    assert loras_schema["maxItems"] == 8
    options_schema = next(s for s in props["options"]["anyOf"] if s.get("type") == "object")
    assert options_schema["additionalProperties"] is True
    lora = edit["$defs"]["Lora"]
    assert lora["required"] == ["path"]
    assert (lora["properties"]["scale"]["minimum"], lora["properties"]["scale"]["maximum"]) == (0, 4)
    annotations = tools["edit_image"].annotations
    assert annotations is not None
    assert annotations.read_only_hint is False
    assert annotations.idempotent_hint is False
    assert annotations.open_world_hint is True
    get_annotations = tools["get_prediction"].annotations
    assert get_annotations is not None
    assert get_annotations.read_only_hint is True
    for name in ("edit_image", "get_prediction"):
        schema = tools[name].output_schema
        assert schema is not None
        assert "prediction_id" in schema["properties"]
    listing = tools["list_predictions"]
    assert listing.output_schema is not None
    assert "predictions" in listing.output_schema["properties"]
    assert listing.annotations is not None
    assert listing.annotations.read_only_hint is True
    assert instructions is not None
    assert "get_prediction" in instructions


async def test_a_url_edit_returns_the_url_a_preview_a_link_and_a_structured_report(world: World, mode: str) -> None:
    async with Client(world.server, mode=mode) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "add a red umbrella", "image": URL_IMAGE, "size": "512*384"}
        )
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    assert report["status"] == "completed"
    assert report["pending"] is False
    (url,) = report["outputs"]
    assert url.startswith(f"{EMULATOR_URL}/outputs/")
    assert url in text_of(result)
    (preview,) = images_of(result)
    assert (preview.format, preview.size) == ("JPEG", (512, 384))
    (saved,) = report["saved_paths"]
    assert [link.uri for link in links_of(result)] == [url, Path(saved).as_uri()]
    assert Path(saved).read_bytes() == (world.emulator.predictions[report["prediction_id"]].outputs or [b""])[0]
    assert report["prediction_id"] in text_of(result)
    assert len(world.submits()) == 1
    assert report["polls"] == len(world.polls())
    assert 1 <= report["polls"] <= 8


async def test_base64_output_has_the_requested_size_and_format_and_is_saved_not_put_in_structured_content(
    world: World, mode: str, tmp_path: Path
) -> None:
    async with Client(world.server, mode=mode) as client:
        result = await client.call_tool(
            "edit_image",
            {
                "prompt": "make it a watercolor",
                "image": png_data_uri(),
                "size": "320*256",
                "output_format": "png",
                "enable_base64_output": True,
            },
        )
    assert not result.is_error, text_of(result)
    (preview,) = images_of(result)
    assert (preview.format, preview.size) == ("PNG", (320, 256))
    report = result.structured_content
    assert report is not None
    (saved,) = report["saved_paths"]
    assert Path(saved).parent == tmp_path / "outputs"
    assert Path(saved).read_bytes().startswith(b"\x89PNG")
    assert report["outputs"] == [Path(saved).as_uri()]
    assert len(json.dumps(report)) < 2000  # never image bytes
    assert world.submits()[0]["json"]["enable_base64_output"] is True


@pytest.mark.parametrize(
    ("latency", "sync_timeout", "polled"),
    [(3.0, 90.0, False), (8.0, 3.0, True)],
    ids=["answered-in-one-request", "sync-wait-timed-out"],
)
async def test_sync_mode_takes_one_submit_and_polls_only_when_wavespeed_times_out_the_sync_wait(
    clock: FakeClock, tmp_path: Path, latency: float, sync_timeout: float, polled: bool
) -> None:
    world = make_world(clock, tmp_path, latency=latency, sync_timeout=sync_timeout)
    async with Client(world.server) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "add snow", "image": URL_IMAGE, "enable_sync_mode": True}
        )
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    assert len(world.submits()) == 1
    if polled:
        assert len(world.polls()) >= 1
    else:
        assert world.polls() == []


async def test_a_failed_task_is_an_error_carrying_the_id_and_wavespeeds_reason(world: World, mode: str) -> None:
    world.emulator.update_faults({"fail_code": 1402, "fail_message": "Failed to download image.", "fail_count": 1})
    async with Client(world.server, mode=mode) as client:
        result = await client.call_tool("edit_image", {"prompt": "add a hat", "image": URL_IMAGE})
    assert result.is_error
    report = result.structured_content
    assert report is not None
    assert report["status"] == "failed"
    assert report["error_code"] == 1402
    text = text_of(result)
    assert report["prediction_id"] in text
    assert "Failed to download image." in text
    assert "publicly reachable" in text


async def test_at_the_deadline_the_call_returns_a_pending_result_that_get_prediction_completes(
    world: World, mode: str
) -> None:
    world.emulator.update_faults({"hold": True})
    async with Client(world.server, mode=mode) as client:
        pending = await client.call_tool("edit_image", {"prompt": "add a hat", "image": URL_IMAGE, "wait_seconds": 4})
        assert not pending.is_error
        report = pending.structured_content
        assert report is not None
        assert report["pending"] is True
        assert report["status"] in {"created", "processing"}
        prediction_id = report["prediction_id"]
        assert f'get_prediction(prediction_id="{prediction_id}"' in text_of(pending)

        still = await client.call_tool("get_prediction", {"prediction_id": prediction_id})
        assert still.structured_content is not None
        assert still.structured_content["pending"] is True

        world.emulator.update_faults({"hold": False})
        done = await client.call_tool("get_prediction", {"prediction_id": prediction_id, "wait_seconds": 30})
    assert not done.is_error, text_of(done)
    assert done.structured_content is not None
    assert done.structured_content["status"] == "completed"
    assert len(images_of(done)) == 1
    assert len(world.submits()) == 1


async def test_wait_seconds_zero_returns_right_after_the_submit(world: World) -> None:
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE, "wait_seconds": 0})
    assert result.structured_content is not None
    assert result.structured_content["pending"] is True
    assert world.polls() == []


async def test_progress_notifications_carry_the_id_and_strictly_increase(world: World, mode: str) -> None:
    received: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.append((progress, message))

    async with Client(world.server, mode=mode) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "add a hat", "image": URL_IMAGE}, progress_callback=on_progress
        )
    assert result.structured_content is not None
    prediction_id = result.structured_content["prediction_id"]
    values = [value for value, _ in received]
    assert values == sorted(values)
    assert len(set(values)) == len(values)
    assert any(f"submitted: prediction {prediction_id}" in (message or "") for _, message in received)
    assert any("completed" in (message or "") for _, message in received)


async def test_a_chinese_prompt_reaches_wavespeed_unchanged(world: World) -> None:
    prompt = '把招牌上的文字改成"欢迎光临", keep the font'
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": prompt, "image": URL_IMAGE})
    assert not result.is_error
    assert world.submits()[0]["json"]["prompt"] == prompt


async def test_an_unknown_prediction_id_is_a_clear_error(world: World) -> None:
    async with Client(world.server) as client:
        result = await client.call_tool("get_prediction", {"prediction_id": "0" * 32})
    assert result.is_error
    assert "no such prediction" in text_of(result)


async def test_the_whole_tools_list_stays_under_20_kb_of_every_turns_context(world: World) -> None:
    async with Client(world.server, extensions=[AppsSupport()]) as client:  # the longer listing, with preview_image
        listing = await client.list_tools()
    size = len(listing.model_dump_json(by_alias=True, exclude_none=True).encode())
    assert size < 20_000, f"tools/list is {size} bytes"


async def test_the_texts_state_the_price_range_and_the_multi_image_models_of_the_curated_table(world: World) -> None:
    stated = "$0.02-0.07"
    async with Client(world.server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        instructions = client.instructions or ""
    edit = tools["edit_image"]
    for text in (instructions, edit.description or "", tools["get_balance"].description or ""):
        assert stated in text
    for text in (instructions, edit.input_schema["properties"]["images"]["description"]):
        assert "edit-plus, edit-2511, edit-2.1 or edit-max" in text
    assert "list_models" in instructions


def test_a_new_row_of_the_curated_table_changes_the_stated_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        CURATED, "edit-ultra", Curated("edit-ultra", "wavespeed-ai/qwen-image-9/edit", "", Decimal("0.2"))
    )
    assert price_range_text() == "$0.02-0.2"
    monkeypatch.setattr(curated, "CURATED", {"edit": CURATED["edit"]})
    assert price_range_text() == "$0.02"
