"""End to end as a user runs it: the emulator on loopback, our server as a stdio subprocess, the SDK's client."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.types import CallToolResult
from PIL import Image

from fakes import API_KEY, MODEL_TOOLS, beyond_the_catalog
from harness import images_of, links_of, pictures_dir, png_data_uri, result_size, text_of
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from stdio_harness import ServerLog, server_env, stdio_server

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
SUBMIT = "/api/v3/wavespeed-ai/qwen-image/edit"
URL_IMAGE = "https://example.com/street.jpg"


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.4, sync_timeout=90)) as running:
        yield running


def logged(emulator: RunningEmulator, method: str, suffix: str) -> list[dict[str, Any]]:
    return [e for e in emulator.state.request_log() if e["method"] == method and e["path"].endswith(suffix)]


def assert_no_secret(results: list[CallToolResult], log: ServerLog) -> None:
    assert log.lines, "the server should have logged something to stderr"
    assert API_KEY not in log.text
    for result in results:
        assert API_KEY not in result.model_dump_json()


async def test_a_url_edit_completes_with_progress_preview_and_link(emulator: RunningEmulator, tmp_path: Path) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with stdio_server(server_env(emulator, tmp_path)) as (client, log):
        result = await client.call_tool(
            "edit_image",
            {"prompt": "add a red umbrella", "image": URL_IMAGE, "size": "640*480"},
            progress_callback=on_progress,
        )
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    assert report["status"] == "completed"
    (url,) = report["outputs"]
    assert url.startswith(emulator.base_url)
    assert url in text_of(result)
    (preview,) = images_of(result)
    assert (preview.format, preview.size) == ("JPEG", (640, 480))
    (saved,) = report["saved_paths"]
    assert [link.uri for link in links_of(result)] == [url, Path(saved).as_uri()]
    assert any(report["prediction_id"] in message for message in messages)
    assert len(logged(emulator, "POST", SUBMIT)) == 1
    assert_no_secret([result], log)


async def test_base64_output_comes_back_in_the_requested_size_and_format(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    async with stdio_server(server_env(emulator, tmp_path)) as (client, log):
        result = await client.call_tool(
            "edit_image",
            {
                "prompt": "turn it into a pencil sketch",
                "image": png_data_uri((200, 150)),
                "size": "300*260",
                "output_format": "webp",
                "enable_base64_output": True,
            },
        )
    assert not result.is_error, text_of(result)
    (preview,) = images_of(result)
    assert (preview.format, preview.size) == ("WEBP", (300, 260))
    report = result.structured_content
    assert report is not None
    (saved,) = report["saved_paths"]
    saved_image = Image.open(io.BytesIO(Path(saved).read_bytes()))
    assert (saved_image.format, saved_image.size) == ("WEBP", (300, 260))
    assert Path(saved).parent == tmp_path / "outputs"
    assert_no_secret([result], log)


async def test_sync_mode_completes_in_one_request(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with stdio_server(server_env(emulator, tmp_path)) as (client, _):
        result = await client.call_tool(
            "edit_image", {"prompt": "add snow", "image": URL_IMAGE, "enable_sync_mode": True}
        )
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    assert logged(emulator, "GET", "/result") == []


async def test_sync_mode_falls_back_to_polling_after_wavespeeds_sync_timeout(tmp_path: Path) -> None:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=1.0, sync_timeout=0.3)) as emulator:
        async with stdio_server(server_env(emulator, tmp_path)) as (client, _):
            result = await client.call_tool(
                "edit_image", {"prompt": "add snow", "image": URL_IMAGE, "enable_sync_mode": True}
            )
        assert not result.is_error, text_of(result)
        assert result.structured_content is not None
        assert result.structured_content["status"] == "completed"
        assert len(logged(emulator, "POST", SUBMIT)) == 1
        assert len(logged(emulator, "GET", "/result")) >= 1


async def test_a_failed_task_reports_the_id_and_reason(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.state.update_faults(
        {"fail_code": 5003, "fail_message": "Service temporarily unavailable", "fail_count": 1}
    )
    async with stdio_server(server_env(emulator, tmp_path)) as (client, log):
        result = await client.call_tool("edit_image", {"prompt": "add a hat", "image": URL_IMAGE})
    assert result.is_error
    assert result.structured_content is not None
    prediction_id = result.structured_content["prediction_id"]
    assert prediction_id in text_of(result)
    assert "Service temporarily unavailable" in text_of(result)
    assert "Try again in a minute" in text_of(result)
    assert_no_secret([result], log)


async def test_the_deadline_gives_a_pending_result_and_get_prediction_finishes_it(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    emulator.state.update_faults({"hold": True})
    async with stdio_server(server_env(emulator, tmp_path)) as (client, log):
        pending = await client.call_tool("edit_image", {"prompt": "add a hat", "image": URL_IMAGE, "wait_seconds": 0.5})
        assert not pending.is_error
        assert pending.structured_content is not None
        assert pending.structured_content["pending"] is True
        prediction_id = pending.structured_content["prediction_id"]
        emulator.state.update_faults({"hold": False})
        done = await client.call_tool("get_prediction", {"prediction_id": prediction_id, "wait_seconds": 20})
    assert not done.is_error, text_of(done)
    assert done.structured_content is not None
    assert done.structured_content["status"] == "completed"
    assert len(images_of(done)) == 1
    assert len(logged(emulator, "POST", SUBMIT)) == 1
    assert_no_secret([pending, done], log)


async def test_cancelling_a_call_stops_the_wait_at_once_logs_the_id_and_the_server_serves_on(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    emulator.state.update_faults({"hold": True})
    submitted = anyio.Event()
    seen: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message or "")
        if "submitted: prediction" in (message or ""):
            submitted.set()

    async with stdio_server(server_env(emulator, tmp_path)) as (client, log):
        async with anyio.create_task_group() as group:

            async def call() -> None:
                await client.call_tool(
                    "edit_image", {"prompt": "add a hat", "image": URL_IMAGE}, progress_callback=on_progress
                )

            group.start_soon(call)
            with anyio.fail_after(15):
                await submitted.wait()
            group.cancel_scope.cancel()
        prediction_id = next(m for m in seen if "submitted: prediction" in m).split()[2]
        line = await log.wait_for(rf"cancelled while following prediction {prediction_id}")
        assert "INFO" in line
        polls_at_cancel = len(logged(emulator, "GET", f"{prediction_id}/result"))
        # Still serving: a look at the same job answers at once, and the cancelled wait made no poll since.
        again = await client.call_tool("get_prediction", {"prediction_id": prediction_id})
        assert again.structured_content is not None
        assert again.structured_content["pending"] is True
        assert len(logged(emulator, "GET", f"{prediction_id}/result")) == polls_at_cancel + 1


async def test_without_a_key_tools_list_and_calls_ask_for_it(emulator: RunningEmulator, tmp_path: Path) -> None:
    env = server_env(emulator, tmp_path)
    del env["WAVESPEED_API_KEY"]
    async with stdio_server(env) as (client, log):
        tools = await client.list_tools()
        result = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE})
    assert {tool.name for tool in tools.tools} == MODEL_TOOLS
    assert result.is_error
    assert "WAVESPEED_API_KEY" in text_of(result)
    assert "NOT set" in log.text
    assert beyond_the_catalog(emulator.state.request_log()) == []


async def test_malformed_arguments_never_reach_the_api(emulator: RunningEmulator, tmp_path: Path) -> None:
    bad: list[dict[str, Any]] = [
        {"prompt": "", "image": URL_IMAGE},
        {"prompt": "x", "image": URL_IMAGE, "size": "4096*4096"},
        {"prompt": "x", "image": URL_IMAGE, "seed": "lots"},
        {"prompt": "x", "image": URL_IMAGE, "output_format": "bmp"},
        {"prompt": "x", "image": "data:image/png;base64," + base64.b64encode(b"not an image").decode()},
        {"prompt": "x", "image": "C:\\photos\\cat.png"},
    ]
    async with stdio_server(server_env(emulator, tmp_path)) as (client, log):
        results = [await client.call_tool("edit_image", arguments) for arguments in bad]
        after = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE})
    assert all(result.is_error for result in results)
    assert not after.is_error
    # The good call's price look-up (free, once per model) is the only other request.
    assert len(emulator.state.request_log()) == len(logged(emulator, "POST", SUBMIT)) + len(
        [e for e in emulator.state.request_log() if e["method"] == "GET"]
    ) + len(logged(emulator, "POST", "/api/v3/model/price"))
    assert len(logged(emulator, "POST", SUBMIT)) == 1
    assert_no_secret([*results, after], log)


async def test_a_chinese_prompt_is_sent_unchanged(emulator: RunningEmulator, tmp_path: Path) -> None:
    prompt = "把天空换成黄昏的晚霞，招牌文字改为「营业中」"
    async with stdio_server(server_env(emulator, tmp_path)) as (client, _):
        result = await client.call_tool("edit_image", {"prompt": prompt, "image": URL_IMAGE})
    assert not result.is_error
    (submit,) = logged(emulator, "POST", SUBMIT)
    assert submit["json"]["prompt"] == prompt


async def test_a_local_file_is_uploaded_once_and_edited(emulator: RunningEmulator, tmp_path: Path) -> None:
    source = pictures_dir(tmp_path) / "portrait.png"
    source.write_bytes(base64.b64decode(png_data_uri((120, 90)).split(",", 1)[1]))
    async with stdio_server(server_env(emulator, tmp_path)) as (client, log):
        first = await client.call_tool("edit_image", {"prompt": "add glasses", "image": str(source)})
        second = await client.call_tool("edit_image", {"prompt": "add a hat", "image": source.as_uri()})
        refused = await client.call_tool("edit_image", {"prompt": "x", "image": "/etc/hostname"})
    assert not first.is_error, text_of(first)
    assert not second.is_error, text_of(second)
    assert refused.is_error
    assert "outside the folders" in text_of(refused)
    assert len(logged(emulator, "POST", "/api/v3/media/uploads")) == 1
    submitted = {entry["json"]["image"] for entry in logged(emulator, "POST", SUBMIT)}
    assert len(submitted) == 1
    assert submitted.pop().startswith(emulator.base_url + "/media/")
    assert_no_secret([first, second, refused], log)


@pytest.mark.parametrize("base64_mode", [False, True], ids=["url-mode", "base64-mode"])
async def test_a_1536_noisy_png_comes_back_under_1_mib_over_stdio(
    emulator: RunningEmulator, tmp_path: Path, base64_mode: bool
) -> None:
    emulator.state.update_faults({"noisy_output": True})
    arguments = {
        "prompt": "x",
        "image": URL_IMAGE,
        "size": "1536*1536",
        "output_format": "png",
        "enable_base64_output": base64_mode,
    }
    async with stdio_server(server_env(emulator, tmp_path)) as (client, _):
        result = await client.call_tool("edit_image", arguments)
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    served = emulator.state.predictions[report["prediction_id"]].outputs
    assert served is not None
    size = result_size(result)
    print(
        f"1536x1536 noisy PNG, {'base64' if base64_mode else 'URL'} mode: result {size} bytes, served {len(served[0])}"
    )
    assert size < 1024 * 1024
    assert len(images_of(result)) == 1
    (saved,) = report["saved_paths"]
    assert Path(saved).read_bytes() == served[0]
