"""The one invariant of the use-case layer: once a prediction exists, any failure at all comes back with its id.

Each case lets WaveSpeed create the job, then breaks something after that point: the preview (a Pillow error), the
output download (too many redirects, an undecodable body) or the reading of a poll (a RecursionError or ValueError
from a pathological answer). Every result must carry the id, say how to resume, and cost no second submit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.types import CallToolResult
from PIL import UnidentifiedImageError

from fakes import FakeClock
from harness import World, family_arguments, make_world, text_of
from qwen_image_edit_mcp.media import outputs
from qwen_image_edit_mcp.upstream.curated import BUILT_IN
from qwen_image_edit_mcp.wavespeed import client as wavespeed_client
from qwen_image_edit_mcp.wavespeed import envelope

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"

Failure = Callable[[httpx.Request], Exception]


class Saboteur(httpx.AsyncBaseTransport):
    """Passes API requests through to the emulator and fails every output download with `failure`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, failure: Failure) -> None:
        self._inner, self._failure = inner, failure

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.startswith("/api/"):
            raise self._failure(request)
        return await self._inner.handle_async_request(request)


async def edit(world: World, model: str = "edit") -> CallToolResult:
    async with Client(world.server) as client:
        return await client.call_tool("edit_image", family_arguments(model, [URL_IMAGE], prompt="add a kite"))


def assert_resumable(world: World, result: CallToolResult) -> str:
    assert len(world.submits()) == 1
    (prediction,) = world.emulator.predictions.values()
    text = text_of(result)
    assert prediction.id in text
    assert result.structured_content is not None
    assert result.structured_content["prediction_id"] == prediction.id
    assert f'get_prediction(prediction_id="{prediction.id}"' in text
    assert "Error executing tool" not in text
    return text


def too_many_redirects(request: httpx.Request) -> Exception:
    return httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)


def undecodable_body(request: httpx.Request) -> Exception:
    return httpx.DecodingError("Error -3 while decompressing data", request=request)


@pytest.mark.parametrize("failure", [too_many_redirects, undecodable_body])
async def test_a_download_that_breaks_after_the_job_completed_returns_the_id_and_the_output_url(
    clock: FakeClock, tmp_path: Path, failure: Failure
) -> None:
    world = make_world(clock, tmp_path, wrap=lambda inner: Saboteur(inner, failure))
    result = await edit(world)
    text = assert_resumable(world, result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    (url,) = result.structured_content["outputs"]
    assert url.startswith("http://")
    assert url in text


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (UnidentifiedImageError("cannot identify image file"), "could not be decoded"),
        (RuntimeError("a bug of ours"), "RuntimeError"),
    ],
    ids=["pillow-error", "any-other-error"],
)
async def test_an_error_while_previewing_returns_the_id_and_the_output_url(
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    said: str,
) -> None:
    def broken_preview(data: bytes, mime: str, budget: int) -> None:
        raise error

    monkeypatch.setattr(outputs, "make_preview", broken_preview)
    world = make_world(clock, tmp_path)
    with caplog.at_level(logging.ERROR):
        result = await edit(world)
    text = assert_resumable(world, result)
    assert said in text
    assert result.structured_content is not None
    (url,) = result.structured_content["outputs"]
    assert url.startswith("http://")
    assert url in text
    if isinstance(error, RuntimeError):  # the unforeseen is logged with its traceback, for whoever runs the server
        assert any(record.exc_info and record.exc_info[1] is error for record in caplog.records)


def break_every_poll(monkeypatch: pytest.MonkeyPatch, error: type[Exception]) -> None:
    """The submit's answer is read as usual; reading any poll's answer raises `error`."""
    real = envelope.prediction_from
    calls = 0

    def parse_then_break(response: httpx.Response) -> object:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise error("maximum recursion depth exceeded")
        return real(response)

    monkeypatch.setattr(wavespeed_client, "prediction_from", parse_then_break)


@pytest.mark.parametrize("error", [RecursionError, ValueError])
async def test_an_error_while_reading_a_poll_returns_the_id_and_how_to_resume(
    clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    break_every_poll(monkeypatch, error)
    world = make_world(clock, tmp_path)
    result = await edit(world)
    text = assert_resumable(world, result)
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["pending"] is True
    assert error.__name__ in text


@pytest.mark.parametrize("model", list(BUILT_IN))
@pytest.mark.parametrize("failure", [too_many_redirects, undecodable_body])
async def test_every_variant_keeps_the_id_when_its_output_breaks(
    clock: FakeClock, tmp_path: Path, failure: Failure, model: str
) -> None:
    world = make_world(clock, tmp_path, wrap=lambda inner: Saboteur(inner, failure))
    result = await edit(world, model)
    assert_resumable(world, result)
    assert result.structured_content is not None
    assert result.structured_content["variant"] == model


@pytest.mark.parametrize("model", list(BUILT_IN))
async def test_every_variant_keeps_the_id_when_its_polls_break(
    clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    break_every_poll(monkeypatch, RecursionError)
    world = make_world(clock, tmp_path)
    result = await edit(world, model)
    assert_resumable(world, result)
