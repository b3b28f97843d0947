"""Jobs in the viewer, with the fake backend: a pending job followed to its end, stopped and resumed, and edit
again on the result or the original (`test_view_live.py` does the same against the real server)."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest
from PIL import Image
from view_fakes import (
    GREEN,
    INPUT_URL,
    ORANGE,
    OUTPUT_URL,
    PROMPT,
    SECOND_URL,
    FakeBackend,
    colour_near,
    report,
    show_completed_edit,
    tool_result,
)
from view_support import SHIPPED_VIEWER, Host, build_view, open_host, require_browser

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"  # one event loop for the whole module, so that one Chromium (conftest.py) serves all its tests


@pytest.fixture(scope="module")
def host_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_browser()
    _, page = build_view(tmp_path_factory.mktemp("view"), host=True)
    assert page is not None
    return page


@pytest.fixture(scope="module")
def viewer_html() -> str:
    return SHIPPED_VIEWER.read_text(encoding="utf-8")


async def test_a_pending_job_is_followed_through_get_prediction_until_it_completes(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    pending = report(status="processing", pending=True, outputs=[], has_nsfw_contents=[], inference_ms=None)
    pending["next_step"] = "call get_prediction with this prediction_id"
    backend.queue("get_prediction", tool_result(pending), tool_result(report()))
    backend.hold = anyio.Event()
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await host.send_input({"prompt": PROMPT, "image": INPUT_URL})
        await host.send_result(tool_result(pending))
        view = host.view
        await expect(view.locator("#pending")).to_be_visible()
        await expect(view.locator("#pending-text")).to_contain_text("Status: processing")
        await expect(view.locator("#status")).to_have_text("processing (still running)")
        await host.view.locator("#after-img[src^='data:image/']").wait_for()  # the input, while waiting
        await host.screenshot("view-pending")
        calls = await backend.wait_calls("get_prediction", 1)
        assert calls[0] == {"prediction_id": "3f1c0e2a9b7d4c55", "wait_seconds": 20}
        backend.hold.set()
        calls = await backend.wait_calls("get_prediction", 2)
        assert calls[1] == calls[0]
        await expect(view.locator("#pending")).to_be_hidden()
        await expect(view.locator("#status")).to_have_text("completed")
        await view.locator("#stage.comparing").wait_for()
        await expect(view.locator("#facts [data-fact=status]")).to_have_text("completed")
        assert len(backend.called("get_prediction")) == 2, "no call after the job completed"
        await host.screenshot("view-pending-resumed")
        host.assert_clean()


async def test_edit_again_calls_edit_image_on_the_result_then_a_new_seed_on_the_original(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    second = report(prediction_id="9a8b7c6d5e4f3a2b", outputs=[SECOND_URL], inputs=[OUTPUT_URL], seed=7)
    third = report(prediction_id="1b2c3d4e5f6a7b8c", outputs=[SECOND_URL], inputs=[INPUT_URL], seed=99)
    backend.queue("edit_image", tool_result(second), tool_result(third))
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await show_completed_edit(host)
        view = host.view
        await view.get_by_role("textbox", name="Edit again").fill("make the hat blue")
        await view.get_by_role("button", name="Edit", exact=True).click()
        await expect(view.locator("#facts [data-fact=prediction]")).to_have_text("9a8b7c6d5e4f3a2b")
        assert backend.called("edit_image") == [
            {"image": OUTPUT_URL, "prompt": "make the hat blue", "seed": -1, "model": "edit"}
        ]
        await view.locator("#stage.comparing").wait_for()
        pixels = await host.stage_pixels()
        assert colour_near(pixels.at(0.1, 0.8), GREEN), "the old result is the new 'before'"
        assert colour_near(pixels.at(0.9, 0.8), ORANGE)
        await host.screenshot("view-edited-again")
        told = await host.log("updatemodelcontext")
        assert "9a8b7c6d5e4f3a2b" in told[-1]["content"][0]["text"]

        await view.get_by_label("the original").check()
        await view.get_by_role("button", name="New seed").click()
        await expect(view.locator("#facts [data-fact=prediction]")).to_have_text("1b2c3d4e5f6a7b8c")
        again = backend.called("edit_image")[1]
        seed = again.pop("seed")
        assert again == {"image": INPUT_URL, "prompt": "make the hat blue", "model": "edit"}
        assert isinstance(seed, int)
        assert 0 <= seed <= 2_147_483_647
        host.assert_clean()


async def test_stop_waiting_stops_the_resume_calls_and_keep_waiting_starts_them_again(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    pending = report(status="processing", pending=True, outputs=[], has_nsfw_contents=[])
    backend.queue("get_prediction", tool_result(pending), tool_result(report()))
    backend.hold = anyio.Event()
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await host.send_input({"prompt": PROMPT, "image": INPUT_URL})
        await host.send_result(tool_result(pending))
        view = host.view
        await backend.wait_calls("get_prediction", 1)
        await view.get_by_role("button", name="Stop waiting").click()
        await expect(view.locator("#pending-text")).to_contain_text("not waiting any more")
        backend.hold.set()  # the held call answers "still pending"; the view must not ask again by itself
        keep = view.get_by_role("button", name="Keep waiting")
        await expect(keep).to_be_visible()
        await host.screenshot("view-stopped-waiting")
        assert len(backend.called("get_prediction")) == 1
        await keep.click()
        await expect(view.locator("#status")).to_have_text("completed")
        assert len(backend.called("get_prediction")) == 2
        host.assert_clean()


def decode_mask(uri: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    return Image.open(io.BytesIO(base64.b64decode(uri[len(prefix) :]))).convert("L")


async def paint_stroke(host: Host) -> None:
    """Drag the mouse across the middle of the brush's canvas, from 30% to 70% of its width."""
    canvas = host.view.locator("#brush-canvas")
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    await host.page.mouse.move(box["x"] + box["width"] * 0.3, y)
    await host.page.mouse.down()
    for step in range(1, 11):
        await host.page.mouse.move(box["x"] + box["width"] * (0.3 + 0.04 * step), y)
    await host.page.mouse.up()


async def test_the_brush_sends_a_mask_of_the_painted_region_and_clear_removes_it(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    second = report(prediction_id="9a8b7c6d5e4f3a2b", outputs=[SECOND_URL], inputs=[OUTPUT_URL], seed=7)
    third = report(prediction_id="1b2c3d4e5f6a7b8c", outputs=[SECOND_URL], inputs=[SECOND_URL], seed=8)
    backend.queue("edit_image", tool_result(second), tool_result(third))
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await show_completed_edit(host)
        view = host.view
        await view.get_by_role("textbox", name="Edit again").fill("make the hat blue")
        toggle = view.get_by_role("button", name="Paint the region to change")
        await toggle.focus()
        await host.page.keyboard.press("Enter")  # reachable and usable from the keyboard
        await expect(toggle).to_have_attribute("aria-pressed", "true")
        await view.locator("#brush-img[src^='data:image/']").wait_for()
        await paint_stroke(host)
        clear = view.get_by_role("button", name="Clear")
        await expect(clear).to_be_enabled()
        await clear.focus()
        await host.page.keyboard.press("Enter")
        await expect(clear).to_be_disabled()
        await view.get_by_role("button", name="Edit", exact=True).click()
        await expect(view.locator("#facts [data-fact=prediction]")).to_have_text("9a8b7c6d5e4f3a2b")
        assert "mask" not in backend.called("edit_image")[0], "cleared paint sends no mask"

        await view.locator("#brush-img[src^='data:image/']").wait_for()
        await paint_stroke(host)
        await host.page.set_viewport_size({"width": 720, "height": 1500})  # the whole view, painted
        await host.page.evaluate("() => window.scrollTo(0, 0)")
        await host.screenshot("view-brush")
        size = await view.locator("#brush-img").evaluate("i => [i.naturalWidth, i.naturalHeight]")
        await view.get_by_role("button", name="Edit", exact=True).click()
        await expect(view.locator("#facts [data-fact=prediction]")).to_have_text("1b2c3d4e5f6a7b8c")
        sent = backend.called("edit_image")[1]
        assert sent["image"] == SECOND_URL
        mask = decode_mask(sent.pop("mask"))
        assert list(mask.size) == size
        assert mask.size[0] * 3 == mask.size[1] * 4, "the input's aspect ratio"
        w, h = mask.size
        assert mask.getpixel((w // 2, h // 2)) == 255, "white under the stroke"
        assert mask.getpixel((int(w * 0.35), h // 2)) == 255
        assert mask.getpixel((w // 2, h // 10)) == 0, "black far from it"
        assert mask.getpixel((w // 20, h // 2)) == 0
        host.assert_clean()
