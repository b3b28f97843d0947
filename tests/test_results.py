from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import pytest
from mcp.types import ImageContent, ResourceLink
from PIL import Image
from pydantic import SecretStr

from fakes import API_KEY
from qwen_image_edit_mcp.client import WaveSpeedClient
from qwen_image_edit_mcp.models import Prediction
from qwen_image_edit_mcp.results import build_report, build_result, completed_text, gather_outputs

pytestmark = pytest.mark.anyio


def jpeg(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 64).convert("RGB").save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


SMALL, LARGE = jpeg((64, 64)), jpeg((400, 400))


def cdn(files: dict[str, bytes], seen: list[str] | None = None) -> WaveSpeedClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request.url.path)
        body = files.get(request.url.path)
        return httpx.Response(200, content=body) if body is not None else httpx.Response(404)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="https://api.test")


def done(*outputs: str) -> Prediction:
    return Prediction(id="p1", status="completed", outputs=list(outputs), has_nsfw_contents=[False] * len(outputs))


async def test_outputs_share_one_inline_budget_and_the_one_that_does_not_fit_says_so() -> None:
    client = cdn({"/a.jpeg": SMALL, "/b.jpeg": LARGE})
    budget = len(base64.b64encode(SMALL)) + len(base64.b64encode(LARGE)) - 1
    outputs = await gather_outputs(
        client, done("https://cdn.test/a.jpeg", "https://cdn.test/b.jpeg"), inline_max_bytes=budget, output_dir=None
    )
    assert outputs[0].data == SMALL
    assert outputs[1].data is None
    assert outputs[1].note is not None
    assert "larger than the inline budget" in outputs[1].note
    report = build_report(done(), outputs, elapsed=1.0, polls=2, next_step=None)
    result = build_result(report, outputs, completed_text(report, outputs))
    images = [block for block in result.content if isinstance(block, ImageContent)]
    links = [block.uri for block in result.content if isinstance(block, ResourceLink)]
    assert len(images) == 1
    assert links == ["https://cdn.test/a.jpeg", "https://cdn.test/b.jpeg"]
    total = sum(len(block.model_dump_json()) for block in result.content)
    assert total < budget + 4000


async def test_with_no_inline_budget_nothing_is_downloaded() -> None:
    seen: list[str] = []
    outputs = await gather_outputs(
        cdn({"/a.jpeg": SMALL}, seen), done("https://cdn.test/a.jpeg"), inline_max_bytes=0, output_dir=None
    )
    assert seen == []
    assert outputs[0].note is not None
    assert "budget" in outputs[0].note


async def test_an_output_url_that_fails_still_gives_the_url_and_says_why_there_is_no_preview() -> None:
    outputs = await gather_outputs(
        cdn({}), done("https://cdn.test/gone.jpeg"), inline_max_bytes=700_000, output_dir=None
    )
    report = build_report(done("https://cdn.test/gone.jpeg"), outputs, elapsed=1.0, polls=1, next_step=None)
    text = completed_text(report, outputs)
    assert "https://cdn.test/gone.jpeg" in text
    assert "downloading the output failed" in text
    assert report.outputs == ["https://cdn.test/gone.jpeg"]


async def test_base64_outputs_are_saved_byte_for_byte_under_a_name_from_the_prediction_id(tmp_path: Path) -> None:
    encoded = base64.b64encode(LARGE).decode()
    prediction = Prediction(id="../../evil id", status="completed", outputs=[encoded])
    outputs = await gather_outputs(cdn({}), prediction, inline_max_bytes=10, output_dir=tmp_path)
    (output,) = outputs
    assert output.saved_path is not None
    assert output.saved_path.parent == tmp_path
    assert output.saved_path.name == "______evil_id-1.jpeg"
    assert output.saved_path.read_bytes() == LARGE
    assert output.data is None  # too big for a 10-byte budget, but kept on disk
    assert output.link == output.saved_path.as_uri()


async def test_a_base64_output_that_cannot_be_saved_is_still_previewed_and_the_reason_given(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    prediction = Prediction(id="p1", status="completed", outputs=[base64.b64encode(SMALL).decode()])
    (output,) = await gather_outputs(cdn({}), prediction, inline_max_bytes=700_000, output_dir=blocker)
    assert output.data == SMALL
    assert output.saved_path is None
    assert output.note is not None
    assert "could not save" in output.note
