"""edit_image and get_prediction through the SDK's in-memory Client, in both protocol eras, against the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from fakes import API_KEY, FakeClock
from harness import EMULATOR_URL, World, images_of, links_of, make_world, png_data_uri, text_of

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"


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
    assert set(tools) == {"edit_image", "get_prediction", "list_predictions", "preview_image"}
    edit = tools["edit_image"].input_schema
    assert set(edit["required"]) == {"prompt", "image"}
    props = edit["properties"]
    assert set(props) == {
        "prompt",
        "image",
        "size",
        "seed",
        "output_format",
        "enable_base64_output",
        "enable_sync_mode",
        "wait_seconds",
    }
    size_schema = next(s for s in props["size"]["anyOf"] if s.get("type") == "string")
    assert "pattern" in size_schema
    assert (props["seed"]["minimum"], props["seed"]["maximum"], props["seed"]["default"]) == (-1, 2147483647, -1)
    assert props["output_format"]["enum"] == ["jpeg", "png", "webp"]
    assert props["output_format"]["default"] == "jpeg"
    assert props["enable_base64_output"]["type"] == props["enable_sync_mode"]["type"] == "boolean"
    assert all(props[name].get("description") for name in props)
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


async def test_sync_mode_takes_one_request_and_no_polls(world: World) -> None:
    async with Client(world.server) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "add snow", "image": URL_IMAGE, "enable_sync_mode": True}
        )
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    assert len(world.submits()) == 1
    assert world.polls() == []


async def test_sync_mode_falls_back_to_polling_when_wavespeed_times_out_the_sync_wait(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path, latency=8.0, sync_timeout=3.0)
    async with Client(world.server) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "add snow", "image": URL_IMAGE, "enable_sync_mode": True}
        )
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    assert len(world.submits()) == 1
    assert len(world.polls()) >= 1


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


async def test_without_a_key_the_tools_list_and_a_call_says_to_set_the_key(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path, api_key=None)
    async with Client(world.server) as client:
        assert len((await client.list_tools()).tools) == 4
        for name, args in (
            ("edit_image", {"prompt": "x", "image": URL_IMAGE}),
            ("get_prediction", {"prediction_id": "abc"}),
        ):
            result = await client.call_tool(name, args)
            assert result.is_error
            assert "WAVESPEED_API_KEY" in text_of(result)
    assert world.emulator.request_log() == []


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
# (tool, arguments, the field named, what is allowed): at least 30 cases, every field of every tool.
BAD_ARGUMENTS: list[tuple[str, dict[str, Any], str, str]] = [
    ("edit_image", {"image": URL_IMAGE}, "prompt", "Field required"),
    ("edit_image", {**X, "prompt": ""}, "prompt", "at least 1 character"),
    ("edit_image", {**X, "prompt": "   "}, "prompt", "must describe the edit"),
    ("edit_image", {**X, "prompt": 5}, "prompt", "valid string"),
    ("edit_image", {**X, "prompt": "x" * 4001}, "prompt", "at most 4000 characters"),
    ("edit_image", {"prompt": "x"}, "image", "Field required"),
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
    ("edit_image", {**X, "image": "http://localhost:9/a.png"}, "image", "cannot reach localhost"),
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
    ("list_predictions", {"page_size": 101}, "page_size", "less than or equal to 100"),
    ("list_predictions", {"status": "done"}, "status", "'completed', 'failed' or 'processing'"),
    ("list_predictions", {"since_hours": 0}, "since_hours", "greater than 0"),
    ("list_predictions", {"since_hours": 1000}, "since_hours", "less than or equal to 168"),
    ("preview_image", {"max_side": 256}, "source", "Field required"),
    ("preview_image", {"source": ""}, "source", "at least 1 character"),
    ("preview_image", {"source": "x" * 4097}, "source", "at most 4096 characters"),
    ("preview_image", {"source": URL_IMAGE}, "source", "only image URLs that this server returned"),
    ("preview_image", {"source": "relative/cat.png"}, "source", "relative path"),
    ("preview_image", {"source": URL_IMAGE, "max_side": 63}, "max_side", "greater than or equal to 64"),
    ("preview_image", {"source": URL_IMAGE, "max_side": 1537}, "max_side", "less than or equal to 1536"),
    ("preview_image", {"source": URL_IMAGE, "max_side": "big"}, "max_side", "valid integer"),
]


async def test_the_bad_input_table_covers_at_least_30_cases_and_every_published_field(world: World) -> None:
    async with Client(world.server) as client:
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
        assert world.emulator.request_log() == []
        works = await client.call_tool("edit_image", {"prompt": "add a hat", "image": URL_IMAGE})
    assert not works.is_error


async def test_a_chinese_prompt_reaches_wavespeed_unchanged(world: World) -> None:
    prompt = '把招牌上的文字改成"欢迎光临", keep the font'
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": prompt, "image": URL_IMAGE})
    assert not result.is_error
    assert world.submits()[0]["json"]["prompt"] == prompt


async def test_a_rate_limited_submit_is_retried_and_creates_exactly_one_prediction(world: World) -> None:
    world.emulator.update_faults({"submit_429": 2, "retry_after": 1})
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE})
    assert not result.is_error, text_of(result)
    assert len(world.submits()) == 3
    assert len(world.emulator.predictions) == 1


async def test_poll_failures_and_gateway_pages_are_ridden_out(world: World) -> None:
    world.emulator.update_faults({"poll_errors": 2, "poll_error_status": 503, "poll_html_errors": 1})
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"


async def test_when_polls_keep_failing_the_result_is_an_error_that_keeps_the_id(world: World) -> None:
    world.emulator.update_faults({"poll_errors": 100})
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE})
    assert result.is_error
    report = result.structured_content
    assert report is not None
    assert report["pending"] is True
    assert report["prediction_id"] in text_of(result)
    assert "get_prediction" in text_of(result)


async def test_get_prediction_rides_out_a_brief_outage_even_when_it_only_looks(world: World) -> None:
    async with Client(world.server) as client:
        pending = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE, "wait_seconds": 0})
        assert pending.structured_content is not None
        world.emulator.update_faults({"poll_errors": 2})
        looked = await client.call_tool(
            "get_prediction", {"prediction_id": pending.structured_content["prediction_id"]}
        )
    assert not looked.is_error, text_of(looked)
    assert looked.structured_content is not None
    assert looked.structured_content["prediction_id"] == pending.structured_content["prediction_id"]


async def test_an_unknown_prediction_id_is_a_clear_error(world: World) -> None:
    async with Client(world.server) as client:
        result = await client.call_tool("get_prediction", {"prediction_id": "0" * 32})
    assert result.is_error
    assert "no such prediction" in text_of(result)


async def test_nsfw_flags_are_surfaced(world: World) -> None:
    world.emulator.update_faults({"nsfw": True})
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE})
    assert result.structured_content is not None
    assert result.structured_content["has_nsfw_contents"] == [True]
    assert "NSFW" in text_of(result)


async def test_a_sync_gateway_timeout_without_an_id_says_how_to_find_the_job(world: World) -> None:
    world.emulator.update_faults({"sync_504": 1})
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE, "enable_sync_mode": True})
    assert result.is_error
    text = text_of(result)
    assert "may still have been created" in text
    assert "dashboard" in text
    assert len(world.submits()) == 1  # never resent: it may have created a paid job


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
