"""Every hostile answer the emulator can give, against the whole server: the paid job's id always reaches the caller,
with the output URL as WaveSpeed gave it and what went wrong, and no job is ever submitted twice."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.types import CallToolResult
from pydantic import SecretStr

from fakes import API_KEY, FakeClock
from harness import World, family_arguments, make_world, pictures_dir, text_of
from qwen_image_edit_mcp.config import Settings
from qwen_image_edit_mcp.emulator import EmulatorConfig, running_emulator
from qwen_image_edit_mcp.jobs import prepare as prepare_case
from qwen_image_edit_mcp.jobs import start as edit_case
from qwen_image_edit_mcp.surface.server import create_server
from qwen_image_edit_mcp.upstream.curated import BUILT_IN
from qwen_image_edit_mcp.wavespeed.endpoints import submit_path

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"

# (faults, extra arguments, what the text must say)
OUTPUT_FAULTS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"output_corrupt": "truncated"}, {"output_format": "png"}, "not a readable image"),
    ({"output_corrupt": "truncated"}, {}, "not a readable image"),  # the default JPEG: verify() alone passes it
    ({"output_corrupt": "not_image"}, {}, "not a readable image"),
    ({"output_corrupt": "bomb"}, {}, "not a readable image"),
    ({"output_corrupt": "empty"}, {}, "not a readable image"),
    ({"output_redirect_loop": True}, {}, "redirected more than 5 times"),
    ({"output_bad_encoding": True}, {}, "could not be read"),
    ({"base64_garbage": "empty"}, {"enable_base64_output": True}, "not a readable image"),
    ({"base64_garbage": "not_image"}, {"enable_base64_output": True}, "not a readable image"),
]
POLL_FAULTS: list[dict[str, Any]] = [{"poll_deep_json": 2}, {"poll_bad_encoding": 2}, {"poll_wrong_id": 2}]


async def edit(world: World, model: str = "edit", **arguments: Any) -> CallToolResult:
    async with Client(world.server) as client:
        return await client.call_tool(
            "edit_image", family_arguments(model, [URL_IMAGE], prompt="add a kite", **arguments)
        )


def the_job(world: World, result: CallToolResult) -> str:
    """The one job this call created; asserts its id reached the caller, in the text and the structured report."""
    assert len(world.submits()) == 1, "never submitted twice"
    (prediction_id,) = world.emulator.predictions
    assert result.structured_content is not None
    assert result.structured_content["prediction_id"] == prediction_id
    assert prediction_id in text_of(result)
    assert "Error executing tool" not in text_of(result)
    return prediction_id


@pytest.mark.parametrize(("faults", "arguments", "said"), OUTPUT_FAULTS)
async def test_an_output_that_cannot_be_used_still_returns_the_id_the_url_and_why(
    clock: FakeClock, tmp_path: Path, faults: dict[str, Any], arguments: dict[str, Any], said: str
) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.update_faults(faults)
    result = await edit(world, **arguments)
    prediction_id = the_job(world, result)
    assert said in text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    if not arguments.get("enable_base64_output"):
        (url,) = result.structured_content["outputs"]
        assert url.startswith("http://emulator.test/outputs/")
        assert url in text_of(result)  # the output URL as WaveSpeed gave it
        assert f'get_prediction(prediction_id="{prediction_id}"' in text_of(result)  # fetching again may work
    saved = list((tmp_path / "outputs").glob("*")) if (tmp_path / "outputs").exists() else []
    assert saved == [], "nothing that is not an image is ever saved"


class PrivateOutputs(httpx.AsyncBaseTransport):
    """The API stays public, but its answers point output URLs at the cloud's metadata address, which (were it
    fetched) would answer with the image: what a server inside a cloud network would see."""

    PRIVATE = "http://169.254.169.254"

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.fetched: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "169.254.169.254":
            self.fetched.append(str(request.url))
            request = httpx.Request(request.method, request.url.copy_with(host="emulator.test"))
        response = await self._inner.handle_async_request(request)
        if request.url.path.endswith("/result"):
            body = (await response.aread()).replace(
                b"http://emulator.test/outputs/", self.PRIVATE.encode() + b"/outputs/"
            )
            return httpx.Response(response.status_code, content=body, headers={"Content-Type": "application/json"})
        return response


async def test_an_output_url_on_a_private_host_is_not_fetched_and_the_id_and_url_say_why(
    clock: FakeClock, tmp_path: Path
) -> None:
    transports: list[PrivateOutputs] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        transports.append(PrivateOutputs(inner))
        return transports[0]

    world = make_world(clock, tmp_path, wrap=wrap)
    result = await edit(world)
    prediction_id = the_job(world, result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    (url,) = result.structured_content["outputs"]
    assert url.startswith("http://169.254.169.254/outputs/")
    assert url in text_of(result)  # the output URL as WaveSpeed gave it
    assert "169.254.169.254, a local or private address, which this server will not fetch" in text_of(result)
    assert "may still work" not in text_of(result)  # a private address stays refused: no point trying later
    assert f'get_prediction(prediction_id="{prediction_id}"' in text_of(result)
    assert transports[0].fetched == []
    assert not (tmp_path / "outputs").exists() or list((tmp_path / "outputs").glob("*")) == []


@pytest.mark.parametrize("faults", POLL_FAULTS)
async def test_a_malformed_poll_answer_is_ridden_out_and_the_edit_completes(
    clock: FakeClock, tmp_path: Path, faults: dict[str, Any]
) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.update_faults(faults)
    result = await edit(world)
    the_job(world, result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"


@pytest.mark.parametrize("fault", ["poll_deep_json", "poll_bad_encoding", "poll_wrong_id"])
async def test_a_poll_answer_that_stays_malformed_ends_pending_with_the_id(
    clock: FakeClock, tmp_path: Path, fault: str
) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.update_faults({fault: 1000})
    result = await edit(world)
    prediction_id = the_job(world, result)
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["pending"] is True
    assert f'get_prediction(prediction_id="{prediction_id}"' in text_of(result)


@pytest.mark.parametrize("model", list(BUILT_IN))
async def test_a_stalled_submit_says_a_job_may_exist_and_is_never_resent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, model: str
) -> None:

    monkeypatch.setattr(edit_case, "ANSWER_MARGIN", 0.3)
    monkeypatch.setattr(prepare_case, "ANSWER_MARGIN", 0.3)
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.2)) as emulator:
        emulator.state.update_faults({"submit_stall_seconds": 1})  # well past the 0.3 s the call may take
        settings = Settings(
            api_key=SecretStr(API_KEY),
            base_url=emulator.base_url,
            allowed_dirs=(pictures_dir(tmp_path),),
            cache_dir=tmp_path / "cache",
        )
        with caplog.at_level(logging.WARNING):
            async with Client(create_server(settings)) as client:
                arguments = family_arguments(model, [URL_IMAGE], prompt="p", wait_seconds=0)
                result = await client.call_tool("edit_image", arguments)
        assert result.is_error
        assert "may have created a job" in text_of(result)
        assert "list_predictions" in text_of(result)
        assert len(emulator.state.predictions) == 1  # the job exists; the caller is told to look for it
        submits = [e for e in emulator.state.request_log() if e["method"] == "POST" and "qwen-image" in e["path"]]
        assert [submit["path"] for submit in submits] == [submit_path(BUILT_IN[model].model_id)]
    assert "abandoned a submit of unknown outcome at" in caplog.text


class BrokenSubmit(httpx.AsyncBaseTransport):
    """The submit reaches the emulator (the job exists), and its answer is lost: a body that cannot be decoded, or
    the connection reset before the answer is read."""

    def __init__(self, inner: httpx.AsyncBaseTransport, breaks: str) -> None:
        self._inner, self._breaks = inner, breaks

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method == "POST" and "/qwen-image/" in request.url.path:
            await response.aread()
            if self._breaks == "reset":
                raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
            return httpx.Response(
                200, stream=httpx.ByteStream(b"\x1f\x8b broken"), headers={"Content-Encoding": "gzip"}
            )
        return response


@pytest.mark.parametrize("model", list(BUILT_IN))
@pytest.mark.parametrize(
    ("breaks", "said"), [("unreadable", "may or may not have been created"), ("reset", "It may have created a job")]
)
async def test_a_submit_whose_answer_is_lost_says_a_job_may_exist_and_where_to_look(
    clock: FakeClock, tmp_path: Path, breaks: str, said: str, model: str
) -> None:
    world = make_world(clock, tmp_path, wrap=lambda inner: BrokenSubmit(inner, breaks))
    result = await edit(world, model)
    assert result.is_error
    assert said in text_of(result)
    assert "list_predictions" in text_of(result)
    assert len(world.submits()) == 1
    assert len(world.emulator.predictions) == 1  # it did exist: the caller was right to be told to look
