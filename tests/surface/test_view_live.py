"""The shipped viewer in chromium, behind the AppBridge test host, with the real server (in memory, through the
SDK's Client) and the emulator behind it: every picture, resume and edit goes through real tool calls."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from mcp import Client
from PIL import Image
from view_support import SHIPPED_VIEWER, Host, ServerBackend, build_view, open_host, require_browser

from fakes import FakeClock
from harness import World, make_world, pictures_dir
from qwen_image_edit_mcp.emulator.demo import sample_image_uri

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"  # one event loop for the whole module, so that one Chromium (conftest.py) serves all its tests


BLUE = (40, 90, 200)


@pytest.fixture(scope="module")
def host_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_browser()
    _, page = build_view(tmp_path_factory.mktemp("view"), host=True)
    assert page is not None
    return page


@pytest.fixture(scope="module")
def viewer_html() -> str:
    return SHIPPED_VIEWER.read_text(encoding="utf-8")


def blue_picture(tmp_path: Path) -> Path:
    path = pictures_dir(tmp_path) / "cat.png"
    Image.new("RGB", (768, 512), BLUE).save(path)
    return path


def near(pixel: tuple[int, int, int], colour: tuple[int, int, int], tolerance: int = 30) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


async def host_runs(host: Host, client: Client, arguments: dict[str, Any]) -> dict[str, Any]:
    """What a host does for a model's call of edit_image: show the view, call the tool, hand the view the result."""
    await host.send_input(arguments)
    result = await client.call_tool("edit_image", arguments)
    payload = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    await host.send_result(payload)
    return payload


async def test_a_real_edit_shows_before_and_after_and_the_slider_moves_by_mouse_and_keyboard(
    browser: Browser, clock: FakeClock, tmp_path: Path, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    world = make_world(clock, tmp_path)
    picture = blue_picture(tmp_path)
    async with Client(world.server) as client:
        backend = ServerBackend(client)
        async with open_host(browser, host_page, viewer_html, backend) as host:
            payload = await host_runs(host, client, {"prompt": "add a red hat", "image": str(picture)})
            view = host.view
            await view.locator("#stage.comparing").wait_for()
            await view.locator("#after-img[src^='data:image/']").wait_for()
            report = payload["structuredContent"]
            await expect(view.locator("#facts [data-fact=prediction]")).to_have_text(report["prediction_id"])
            await expect(view.locator("#facts [data-fact=status]")).to_have_text("completed")
            await expect(view.locator("#facts [data-fact=size]")).to_have_text("768 × 512")
            pixels = await host.stage_pixels()
            assert near(pixels.at(0.1, 0.9), BLUE), "the input, read from the allowed folder, is on the left"
            assert not near(pixels.at(0.9, 0.9), BLUE, 10), "the emulator's tinted output is on the right"
            await host.screenshot("live-before-after")

            handle = view.get_by_role("slider", name="Before and after divider")
            box = await view.locator("#stage").bounding_box()
            assert box is not None
            y = box["y"] + box["height"] / 2
            await host.page.mouse.move(box["x"] + box["width"] / 2, y)
            await host.page.mouse.down()
            await host.page.mouse.move(box["x"] + box["width"] * 0.2, y, steps=5)
            await host.page.mouse.up()
            assert 18 <= float(await handle.get_attribute("aria-valuenow") or "nan") <= 22
            await host.page.keyboard.press("End")
            await expect(handle).to_have_attribute("aria-valuenow", "100")
            await host.page.keyboard.press("PageDown")
            await expect(handle).to_have_attribute("aria-valuenow", "90")
            pixels = await host.stage_pixels()
            assert near(pixels.at(0.8, 0.9), BLUE)

            previews = backend.called("preview_image")
            assert {p["source"] for p in previews} == {str(picture), report["outputs"][0]}
            assert backend.errors == []
            sizes = [entry for entry in await host.log("sizechange") if entry.get("height")]
            assert sizes, "the view told the host its height"
            host.assert_clean()


async def test_the_readme_screenshot_shows_a_real_picture_before_and_after(
    browser: Browser, clock: FakeClock, tmp_path: Path, host_page: Path, viewer_html: str
) -> None:
    """docs/viewer.png comes from here: the demo's sample picture, with the emulator's inverted edit beside it."""
    path = pictures_dir(tmp_path) / "sign.png"
    path.write_bytes(base64.b64decode(sample_image_uri().split(",", 1)[1]))
    world = make_world(clock, tmp_path)
    async with Client(world.server) as client:
        backend = ServerBackend(client)
        async with open_host(browser, host_page, viewer_html, backend) as host:
            await host_runs(host, client, {"prompt": "Invert the colours of the whole picture", "image": str(path)})
            view = host.view
            await view.locator("#stage.comparing").wait_for()
            await view.locator("#after-img[src^='data:image/']").wait_for()
            pixels = await host.stage_pixels()
            sky = (135, 190, 235)
            assert near(pixels.at(0.05, 0.5), sky), "the input's sky on the left"
            assert near(pixels.at(0.95, 0.5), (255 - sky[0], 255 - sky[1], 255 - sky[2]), 40), "inverted on the right"
            await host.screenshot("readme-viewer")
            assert backend.errors == []
            host.assert_clean()


async def test_a_pending_job_is_resumed_through_get_prediction_until_it_completes(
    browser: Browser, clock: FakeClock, tmp_path: Path, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    world = make_world(clock, tmp_path, latency=30.0)
    picture = blue_picture(tmp_path)
    async with Client(world.server) as client:
        backend = ServerBackend(client)
        async with open_host(browser, host_page, viewer_html, backend) as host:
            payload = await host_runs(host, client, {"prompt": "add a hat", "image": str(picture), "wait_seconds": 0})
            assert payload["structuredContent"]["pending"] is True
            prediction_id = payload["structuredContent"]["prediction_id"]
            view = host.view
            await expect(view.locator("#status")).to_have_text("completed", timeout=15_000)
            await view.locator("#stage.comparing").wait_for()
            await expect(view.locator("#pending")).to_be_hidden()
            resumes = backend.called("get_prediction")
            assert resumes == [{"prediction_id": prediction_id, "wait_seconds": 20}] * 2, "20 s pending, then done"
            calls = [entry["name"] for entry in await host.log("calltool")]
            assert calls.count("get_prediction") == 2
            assert backend.errors == []
            await host.screenshot("live-resumed")
            host.assert_clean()


async def test_edit_again_runs_edit_image_on_the_result_and_tells_the_model(
    browser: Browser, clock: FakeClock, tmp_path: Path, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    world = make_world(clock, tmp_path)
    picture = blue_picture(tmp_path)
    async with Client(world.server) as client:
        backend = ServerBackend(client)
        async with open_host(browser, host_page, viewer_html, backend) as host:
            first = await host_runs(host, client, {"prompt": "add a hat", "image": str(picture)})
            first_output = first["structuredContent"]["outputs"][0]
            view = host.view
            await view.locator("#stage.comparing").wait_for()
            await view.get_by_role("textbox", name="Edit again").fill("make the hat blue")
            await view.get_by_role("button", name="Edit", exact=True).click()
            [again] = await _edits(world, 2)
            await expect(view.locator("#facts [data-fact=prediction]")).to_have_text(again)
            expected = {"image": first_output, "prompt": "make the hat blue", "seed": -1, "model": "edit"}
            assert backend.called("edit_image") == [expected]  # the same model of the family, on the result
            await view.locator("#stage.comparing").wait_for()
            await view.locator("#after-img[src^='data:image/']").wait_for()
            sources = {p["source"] for p in backend.called("preview_image")}
            assert first_output in sources, "the first result is now the 'before'"
            await host.screenshot("live-edited-again")

            await view.get_by_role("button", name="Open full size").click()
            told = await host.log("updatemodelcontext")
            assert again in told[-1]["content"][0]["text"]
            opened = await host.log("openlink")
            assert opened[-1]["url"].startswith("http://emulator.test/")
            assert len(world.submits()) == 2, "one paid job per click, never a repeat"
            assert backend.errors == []
            host.assert_clean()


async def _edits(world: World, count: int) -> list[str]:
    """The ids of the jobs after the first, once `count` jobs were submitted (bounded wait)."""
    import anyio

    with anyio.fail_after(10):
        while len(world.emulator.predictions) < count:
            await anyio.sleep(0.02)
    return list(world.emulator.predictions)[1:count]
