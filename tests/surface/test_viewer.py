"""The viewer on the server side: the ui:// resource, the linked tools, and what preview_image will and won't read."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from mcp import Client
from mcp.types import CallToolResult, ImageContent, TextResourceContents
from PIL import Image

from fakes import AppsSupport, FakeClock, beyond_the_catalog
from harness import World, make_world, pictures_dir
from qwen_image_edit_mcp.surface.viewer import VIEWER_URI, ReturnedUrls, viewer_html

pytestmark = pytest.mark.anyio

URL_IMAGE = "https://example.com/cat.png"
APP_MIME = "text/html;profile=mcp-app"


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def world(clock: FakeClock, tmp_path: Path) -> World:
    return make_world(clock, tmp_path, latency=0.0)


def image_of(result: CallToolResult) -> Image.Image:
    [block] = [b for b in result.content if isinstance(b, ImageContent)]
    return Image.open(io.BytesIO(base64.b64decode(block.data)))


async def test_edit_and_get_are_linked_to_the_viewer_which_is_served_with_no_domains(world: World, mode: str) -> None:
    async with Client(world.server, mode=mode, extensions=[AppsSupport()]) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        resources = (await client.list_resources()).resources
        read = await client.read_resource(VIEWER_URI)
    assert tools["edit_image"].meta == {"ui": {"resourceUri": VIEWER_URI}}
    assert tools["get_prediction"].meta == {"ui": {"resourceUri": VIEWER_URI}}
    assert tools["preview_image"].meta == {"ui": {"resourceUri": VIEWER_URI, "visibility": ["app"]}}
    assert tools["list_predictions"].meta is None
    preview_annotations = tools["preview_image"].annotations
    assert preview_annotations is not None
    assert preview_annotations.read_only_hint is True
    assert [(r.uri, r.mime_type) for r in resources] == [(VIEWER_URI, APP_MIME)]
    [content] = read.contents
    assert isinstance(content, TextResourceContents)
    assert content.mime_type == APP_MIME
    assert content.text == viewer_html()
    assert content.meta == {"ui": {"csp": {}, "prefersBorder": False}}


async def test_a_client_without_apps_gets_the_same_results_as_one_with_them(world: World, mode: str) -> None:
    async with Client(world.server, mode=mode) as plain:
        edited = await plain.call_tool("edit_image", {"prompt": "add a hat", "image": URL_IMAGE})
    assert edited.structured_content is not None
    prediction_id = edited.structured_content["prediction_id"]
    arguments = {"prediction_id": prediction_id, "wait_seconds": 0}
    async with Client(world.server, mode=mode) as plain:
        without = await plain.call_tool("get_prediction", arguments)
    async with Client(world.server, mode=mode, extensions=[AppsSupport()]) as apps:
        with_apps = await apps.call_tool("get_prediction", arguments)
    assert not without.is_error
    assert with_apps.model_dump(exclude={"meta"}) == without.model_dump(exclude={"meta"})


async def test_a_client_without_apps_is_not_shown_the_app_only_tool(world: World, mode: str) -> None:
    async with Client(world.server, mode=mode) as plain:
        listed = [tool.name for tool in (await plain.list_tools()).tools]
    async with Client(world.server, mode=mode, extensions=[AppsSupport()]) as apps:
        listed_to_apps = [tool.name for tool in (await apps.list_tools()).tools]
    assert listed == ["edit_image", "get_prediction", "list_predictions", "list_models", "get_balance"]
    assert listed_to_apps == [
        "edit_image",
        "get_prediction",
        "preview_image",
        "recent_edits",
        "list_predictions",
        "list_models",
        "get_balance",
    ]


async def test_preview_image_scales_an_output_the_server_returned_within_max_side(world: World) -> None:
    async with Client(world.server, extensions=[AppsSupport()]) as client:
        edited = await client.call_tool("edit_image", {"prompt": "add a hat", "image": URL_IMAGE})
        assert edited.structured_content is not None
        [output] = edited.structured_content["outputs"]
        requests_before = len(world.requests("GET"))
        preview = await client.call_tool("preview_image", {"source": output, "max_side": 96})
        source = await client.call_tool("preview_image", {"source": URL_IMAGE, "max_side": 200})
    assert not preview.is_error, preview.content
    picture = image_of(preview)
    assert max(picture.size) <= 96
    facts = preview.structured_content
    assert facts is not None
    assert (facts["preview_width"], facts["preview_height"]) == picture.size
    assert max(facts["width"], facts["height"]) > 96, "the original size, not the preview's"
    assert len(world.requests("GET")) == requests_before + 1, "one download of the output, nothing else"
    assert source.is_error, "the input URL is not one this emulator serves, so fetching it fails"
    assert "fetching the image failed" in str(source.content[0])


async def test_preview_image_reads_files_only_inside_the_allowed_and_output_folders(
    world: World, tmp_path: Path
) -> None:
    inside = pictures_dir(tmp_path) / "cat.png"
    Image.new("RGB", (640, 320), (200, 30, 30)).save(inside)
    outside = tmp_path / "elsewhere.png"
    Image.new("RGB", (64, 64)).save(outside)
    async with Client(world.server) as client:
        ok = await client.call_tool("preview_image", {"source": inside.as_uri(), "max_side": 128})
        refused = await client.call_tool("preview_image", {"source": str(outside), "max_side": 128})
        not_image = await client.call_tool("preview_image", {"source": str(tmp_path), "max_side": 128})
    assert not ok.is_error, ok.content
    assert image_of(ok).size == (128, 64)
    assert refused.is_error
    assert "outside the folders this server may read" in str(refused.content[0])
    assert not_image.is_error
    assert beyond_the_catalog(world.emulator.request_log()) == []


async def test_the_preview_fits_the_inline_budget(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path, inline_max_bytes=40_000)
    noisy = pictures_dir(tmp_path) / "noise.png"
    Image.effect_noise((1200, 900), 90).convert("RGB").save(noisy)
    async with Client(world.server) as client:
        result = await client.call_tool("preview_image", {"source": str(noisy), "max_side": 1536})
    assert not result.is_error, result.content
    assert len(result.model_dump_json()) < 40_000
    assert max(image_of(result).size) < 1200


def test_returned_urls_keep_outputs_inputs_and_masks_only_once_a_prediction_exists() -> None:
    urls = ReturnedUrls(limit=3)
    no_job = CallToolResult(content=[], structured_content=None, is_error=True)
    urls.note_result(no_job, {"image": "https://a.test/in.png"})
    assert "https://a.test/in.png" not in urls
    report = {"prediction_id": "p1", "outputs": ["https://a.test/out.png", "file:///tmp/x.png"], "mask": None}
    urls.note_result(CallToolResult(content=[], structured_content=report), {"image": "https://a.test/in.png"})
    assert "https://a.test/out.png" in urls
    assert "https://a.test/in.png" in urls
    assert "file:///tmp/x.png" not in urls, "local files are checked against the folders instead"
    urls.add(["https://a.test/1", "https://a.test/2"])
    assert "https://a.test/out.png" not in urls, "the oldest go first"
    assert "https://a.test/2" in urls


def test_a_masked_edits_mask_and_unmasked_outputs_may_be_previewed_too() -> None:
    urls = ReturnedUrls()
    report = {
        "prediction_id": "p1",
        "outputs": ["https://a.test/composite.png"],
        "mask": "https://a.test/mask.png",
        "unmasked_outputs": ["https://a.test/raw.png"],
    }
    urls.note_result(CallToolResult(content=[], structured_content=report), {"image": "https://a.test/in.png"})
    assert all(
        url in urls for url in ("https://a.test/composite.png", "https://a.test/mask.png", "https://a.test/raw.png")
    )


def test_a_package_without_the_built_viewer_still_serves_a_page_that_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from importlib import resources

    from qwen_image_edit_mcp.surface import viewer

    def empty_package(_: object) -> Path:
        return tmp_path

    monkeypatch.setattr(resources, "files", empty_package)
    page = viewer.viewer_html.__wrapped__()
    assert "packaged without its viewer" in page
    assert viewer_html().startswith("<!doctype html>")
    assert "callServerTool" in viewer_html(), "the real one is in this checkout"
