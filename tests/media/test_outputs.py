from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import pytest
from mcp.types import CallToolResult, ImageContent, ResourceLink, TextContent
from PIL import Image
from pydantic import SecretStr

from fakes import API_KEY
from qwen_image_edit_mcp.jobs.outcome import Completed
from qwen_image_edit_mcp.media import outputs as results
from qwen_image_edit_mcp.media.outputs import Fetching, gather_outputs
from qwen_image_edit_mcp.models import Prediction
from qwen_image_edit_mcp.surface.rendering import render
from qwen_image_edit_mcp.wavespeed.client import WaveSpeedClient

pytestmark = pytest.mark.anyio


def jpeg(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 64).convert("RGB").save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


SMALL, LARGE = jpeg((64, 64)), jpeg((900, 600))


def cdn(files: dict[str, bytes], seen: list[str] | None = None) -> WaveSpeedClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request.url.path)
        body = files.get(request.url.path)
        return httpx.Response(200, content=body) if body is not None else httpx.Response(404)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url="https://api.test")


def done(*outputs: str, prediction_id: str = "p1") -> Prediction:
    return Prediction(
        id=prediction_id, status="completed", outputs=list(outputs), has_nsfw_contents=[False] * len(outputs)
    )


def result_for(prediction: Prediction, outputs: list[results.Output]) -> CallToolResult:
    return render(Completed(prediction, 1.0, 2, outputs=outputs), resume_wait=50)


def text_for(prediction: Prediction, outputs: list[results.Output]) -> str:
    first = result_for(prediction, outputs).content[0]
    assert isinstance(first, TextContent)
    return first.text


async def test_outputs_share_the_budget_and_one_that_does_not_fit_is_previewed_downscaled() -> None:
    prediction = done("https://cdn.test/a.jpeg", "https://cdn.test/b.jpeg")
    budget = 150_000
    outputs = await gather_outputs(cdn({"/a.jpeg": SMALL, "/b.jpeg": LARGE}), prediction, Fetching(budget, None))
    first, second = outputs
    assert first.preview is not None
    assert first.preview.data == SMALL
    assert second.preview is not None
    assert second.preview.original_size == (900, 600)
    result = result_for(prediction, outputs)
    images = [block for block in result.content if isinstance(block, ImageContent)]
    links = [block.uri for block in result.content if isinstance(block, ResourceLink)]
    assert len(images) == 2
    assert links == ["https://cdn.test/a.jpeg", "https://cdn.test/b.jpeg"]
    assert "scaled down from 900x600" in text_for(prediction, outputs)
    assert len(result.model_dump_json(by_alias=True, exclude_none=True)) <= budget


async def test_with_no_budget_and_no_output_dir_nothing_is_downloaded() -> None:
    seen: list[str] = []
    outputs = await gather_outputs(cdn({"/a.jpeg": SMALL}, seen), done("https://cdn.test/a.jpeg"), Fetching(0, None))
    assert seen == []
    assert outputs[0].preview is None
    assert outputs[0].url == "https://cdn.test/a.jpeg"


async def test_an_output_url_that_fails_still_gives_the_url_and_says_why_there_is_no_preview() -> None:
    prediction = done("https://cdn.test/gone.jpeg")
    outputs = await gather_outputs(cdn({}), prediction, Fetching(700_000, None))
    text = text_for(prediction, outputs)
    assert "https://cdn.test/gone.jpeg" in text
    assert "fetching the output failed (the output URL answered HTTP 404)" in text


async def test_with_an_output_dir_each_output_is_saved_byte_for_byte_and_linked(tmp_path: Path) -> None:
    prediction = done("https://cdn.test/x/a.jpeg", "https://cdn.test/x/b", prediction_id="e683d4")
    outputs = await gather_outputs(cdn({"/x/a.jpeg": LARGE, "/x/b": SMALL}), prediction, Fetching(700_000, tmp_path))
    assert [o.saved_path for o in outputs] == [tmp_path / "e683d4-1.jpeg", tmp_path / "e683d4-2.jpeg"]
    assert (tmp_path / "e683d4-1.jpeg").read_bytes() == LARGE
    assert (tmp_path / "e683d4-2.jpeg").read_bytes() == SMALL  # named by what it is: the URL had no extension
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e683d4-1.jpeg", "e683d4-2.jpeg"]  # no partial files left
    links = [block.uri for block in result_for(prediction, outputs).content if isinstance(block, ResourceLink)]
    assert (tmp_path / "e683d4-1.jpeg").as_uri() in links
    assert "https://cdn.test/x/a.jpeg" in links


async def test_an_output_over_the_download_cap_is_not_kept_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results, "MAX_OUTPUT_BYTES", 1000)
    outputs = await gather_outputs(
        cdn({"/a.jpeg": LARGE}), done("https://cdn.test/a.jpeg"), Fetching(700_000, tmp_path)
    )
    assert outputs[0].saved_path is None
    assert outputs[0].note is not None
    assert "larger than" in outputs[0].note
    assert list(tmp_path.iterdir()) == []


async def test_base64_outputs_are_saved_under_a_safe_name_from_the_prediction_id(tmp_path: Path) -> None:
    prediction = Prediction(id="../../evil id", status="completed", outputs=[base64.b64encode(LARGE).decode()])
    (output,) = await gather_outputs(cdn({}), prediction, Fetching(30_000, tmp_path))
    saved = output.saved_path
    assert saved is not None
    assert saved == tmp_path / "______evil_id-1.jpeg"
    assert saved.read_bytes() == LARGE
    assert output.preview is not None
    assert output.preview.downscaled
    assert output.link == saved.as_uri()


async def test_a_base64_output_that_cannot_be_saved_is_still_previewed_and_the_reason_given(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    prediction = Prediction(id="p1", status="completed", outputs=[base64.b64encode(SMALL).decode()])
    (output,) = await gather_outputs(cdn({}), prediction, Fetching(700_000, blocker))
    assert output.preview is not None
    assert output.preview.data == SMALL
    assert output.saved_path is None
    assert output.note is not None
    assert "could not save" in output.note


@pytest.mark.parametrize("as_base64", [False, True], ids=["url", "base64"])
async def test_a_truncated_jpeg_output_is_refused_not_saved_and_not_previewed(tmp_path: Path, as_base64: bool) -> None:
    cut = LARGE[: len(LARGE) * 9 // 10]  # what a dropped connection leaves: the header and most of the pixels
    value = base64.b64encode(cut).decode() if as_base64 else "https://cdn.test/a.jpeg"
    (output,) = await gather_outputs(cdn({"/a.jpeg": cut}), done(value), Fetching(700_000, tmp_path))
    assert output.preview is None
    assert output.saved_path is None
    assert list(tmp_path.iterdir()) == []
    assert output.note is not None
    assert "not a readable image" in output.note


def jpeg_decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The size each JPEG decode from now on decodes at (after any draft)."""
    from PIL import JpegImagePlugin

    seen: list[tuple[int, int]] = []
    real_load = JpegImagePlugin.JpegImageFile.load

    def load(self: JpegImagePlugin.JpegImageFile) -> object:
        if self.tile:  # pixels still to decode (a second load() of the same image does nothing)
            seen.append(self.size)
        return real_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", load)
    return seen


async def test_an_output_that_is_its_own_preview_is_checked_at_an_eighth_of_its_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decodes = jpeg_decodes(monkeypatch)
    (output,) = await gather_outputs(
        cdn({"/a.jpeg": LARGE}), done("https://cdn.test/a.jpeg"), Fetching(700_000, tmp_path)
    )
    assert output.preview is not None
    assert output.preview.data == LARGE
    assert output.saved_path is not None
    assert output.saved_path.read_bytes() == LARGE
    assert decodes == [(113, 75)]  # 900x600 at 1/8, once, for the check; the preview is the original


async def test_an_output_too_big_to_show_whole_is_decoded_once_for_its_check_and_its_preview(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decodes = jpeg_decodes(monkeypatch)
    (output,) = await gather_outputs(cdn({"/a.jpeg": LARGE}), done("https://cdn.test/a.jpeg"), Fetching(60_000, None))
    assert output.preview is not None
    assert output.preview.original_size == (900, 600)
    assert output.preview.size[0] < 900
    assert decodes == [(900, 600)]  # its largest preview (768 wide) needs every pixel: one decode serves both
