"""The shipped viewer in a real browser, behind the test host, with a fake tool backend shaped like the server.

These cover what the view shows for the whole data contract, including report fields the server does not send
yet (variant, inputs, seed, size, cost_usd, masked, mask_coverage, mask) and failures that are hard to provoke for
real (a preview refused). Jobs (resume, edit again) are in `test_view_jobs.py`; `test_view_live.py` runs the same
view against the real server."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest
from view_fakes import (
    BLUE,
    GREEN,
    INPUT_URL,
    MASK_URL,
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
from view_support import SHIPPED_VIEWER, WAIT_MS, build_view, open_host, require_browser

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


async def test_before_and_after_show_with_the_facts_and_the_slider_follows_mouse_and_keyboard(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await show_completed_edit(host)
        view = host.view
        handle = view.get_by_role("slider", name="Before and after divider")
        await expect(handle).to_have_attribute("aria-valuenow", "50")
        pixels = await host.stage_pixels()
        assert colour_near(pixels.at(0.1, 0.8), BLUE), "left of the divider shows the input"
        assert colour_near(pixels.at(0.9, 0.8), GREEN), "right of it shows the result"
        await host.screenshot("view-before-after")

        facts = view.locator("#facts")
        await expect(facts.locator("[data-fact=status]")).to_have_text("completed")
        await expect(facts.locator("[data-fact=prediction]")).to_have_text("3f1c0e2a9b7d4c55")
        await expect(facts.locator("[data-fact=variant]")).to_have_text("edit")
        await expect(facts.locator("[data-fact=seed]")).to_have_text("42")
        await expect(facts.locator("[data-fact=size]")).to_have_text("640 × 480")
        await expect(facts.locator("[data-fact=time]")).to_have_text("4.2 s this call, 3.1 s inference")
        await expect(facts.locator("[data-fact=cost]")).to_have_text("$0.025")

        # Drag the handle most of the way right: the input now fills the left 90 %.
        box = await view.locator("#stage").bounding_box()
        handle_box = await handle.bounding_box()
        assert box is not None
        assert handle_box is not None
        y = handle_box["y"] + handle_box["height"] / 2
        await host.page.mouse.move(handle_box["x"] + handle_box["width"] / 2, y)
        await host.page.mouse.down()
        await host.page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=4)
        await host.page.mouse.move(box["x"] + box["width"] * 0.9, y, steps=4)
        await host.page.mouse.up()
        now = float(await handle.get_attribute("aria-valuenow") or "nan")
        assert 88 <= now <= 92
        pixels = await host.stage_pixels()
        assert colour_near(pixels.at(0.8, 0.8), BLUE)

        await handle.focus()
        await host.page.keyboard.press("Home")
        await expect(handle).to_have_attribute("aria-valuenow", "0")
        pixels = await host.stage_pixels()
        assert colour_near(pixels.at(0.1, 0.8), GREEN), "at 0 the result fills the stage"
        await host.page.keyboard.press("ArrowRight")
        await expect(handle).to_have_attribute("aria-valuenow", "1")
        await host.page.keyboard.press("Shift+ArrowRight")
        await expect(handle).to_have_attribute("aria-valuenow", "11")
        await host.page.keyboard.press("ArrowLeft")
        await expect(handle).to_have_attribute("aria-valuenow", "10")
        await host.page.keyboard.press("End")
        await expect(handle).to_have_attribute("aria-valuenow", "100")

        previews = backend.called("preview_image")
        assert {p["source"] for p in previews} == {INPUT_URL, OUTPUT_URL}
        assert all(isinstance(p["max_side"], int) and 256 <= p["max_side"] <= 1536 for p in previews)
        assert [name for name, _ in backend.calls if name != "preview_image"] == []
        host.assert_clean()


async def test_zoom_and_pan_move_both_images_together(browser: Browser, host_page: Path, viewer_html: str) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await show_completed_edit(host)
        view = host.view
        stage = view.locator("#stage")
        await view.get_by_role("button", name="Zoom in").click()
        await view.get_by_role("button", name="Zoom in").click()
        await expect(view.locator("#zoom-label")).to_have_text("225%")
        await expect(stage).to_have_class("stage comparing zoomed")
        before = await stage.evaluate("s => s.style.getPropertyValue('--tx')")
        box = await stage.bounding_box()
        assert box is not None
        # Drag away from the divider: a pan, which moves both layers by the same amount.
        x, y = box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3
        await host.page.mouse.move(x, y)
        await host.page.mouse.down()
        await host.page.mouse.move(x + 60, y + 30, steps=3)
        await host.page.mouse.up()
        after = await stage.evaluate("s => s.style.getPropertyValue('--tx')")
        assert float(after.removesuffix("px")) == pytest.approx(float(before.removesuffix("px")) + 60, abs=1)
        transforms = await view.locator(".world").evaluate_all("ws => ws.map(w => getComputedStyle(w).transform)")
        assert transforms[0] == transforms[1]
        assert transforms[0] != "none"
        sides = {p["max_side"] for p in backend.called("preview_image")}
        assert max(sides) > min(sides), "zoomed in, the view asks for sharper previews"
        await host.screenshot("view-zoomed")
        await view.get_by_role("button", name="Fit").click()
        await expect(view.locator("#zoom-label")).to_have_text("100%")
        host.assert_clean()


async def test_open_and_download_ask_the_host_for_the_full_size_image(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    async with open_host(browser, host_page, viewer_html, FakeBackend()) as host:
        await show_completed_edit(host)
        await host.view.get_by_role("button", name="Open full size").click()
        await host.view.get_by_role("button", name="Download").click()
        with anyio.fail_after(WAIT_MS / 1000):
            while not await host.log("downloadfile"):
                await anyio.sleep(0.02)
        assert await host.log("openlink") == [{"url": OUTPUT_URL}]
        [download] = await host.log("downloadfile")
        assert download["contents"] == [{"type": "resource_link", "uri": OUTPUT_URL, "name": "0.jpeg"}]
        host.assert_clean()


async def test_several_inputs_appear_as_thumbnails_and_pick_the_before_image(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    async with open_host(browser, host_page, viewer_html, backend) as host:
        inputs = [INPUT_URL, SECOND_URL]
        await host.send_input({"prompt": "combine them", "images": inputs, "model": "edit-plus"})
        plus = report(inputs=inputs, variant="edit-plus", model="wavespeed-ai/qwen-image/edit-plus")
        await host.send_result(tool_result(plus))
        view = host.view
        thumbs = view.get_by_role("group", name="Input images").get_by_role("button")
        await expect(thumbs).to_have_count(2)
        await expect(thumbs.nth(1).locator("img")).to_have_attribute("src", re.compile("^data:image/"))
        await thumbs.nth(1).click()
        await expect(thumbs.nth(1)).to_have_attribute("aria-pressed", "true")
        await view.locator("#stage.comparing").wait_for()
        await expect(view.locator("#facts [data-fact=variant]")).to_have_text("edit-plus")
        pixels = await host.stage_pixels()
        assert colour_near(pixels.at(0.1, 0.8), ORANGE), "the second input is now 'before'"
        sizes = Counter(p["max_side"] for p in backend.called("preview_image"))
        assert 160 in sizes, "thumbnails ask for small previews"
        await host.screenshot("view-several-inputs")
        host.assert_clean()


async def test_the_mask_outline_shows_on_demand(browser: Browser, host_page: Path, viewer_html: str) -> None:
    from playwright.async_api import expect

    async with open_host(browser, host_page, viewer_html, FakeBackend()) as host:
        await show_completed_edit(host, masked=True, mask=MASK_URL, mask_coverage=0.1)
        view = host.view
        toggle = view.get_by_role("button", name="Show mask")
        await expect(toggle).to_have_attribute("aria-pressed", "false")
        await expect(view.locator("#facts [data-fact=mask]")).to_have_text("10 % of the image")
        await toggle.click()
        await expect(view.get_by_role("button", name="Hide mask")).to_have_attribute("aria-pressed", "true")
        await expect(view.locator("#mask-layer")).to_be_visible()
        pixels = await host.stage_pixels()
        assert pixels.count((255, 0, 200), 60) > 100, "the outline is drawn over the images"
        await host.screenshot("view-mask")
        await view.get_by_role("button", name="Hide mask").click()
        await expect(view.locator("#mask-layer")).to_be_hidden()
        host.assert_clean()


async def test_an_image_that_cannot_be_shown_says_so_and_a_tool_error_is_shown(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    backend.broken.add(OUTPUT_URL)
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await host.send_input({"prompt": PROMPT, "image": INPUT_URL})
        await host.send_result(tool_result(report()))
        view = host.view
        note = view.locator("#stage-note")
        await expect(note).to_contain_text("The result can't be shown here: that address is not one this server")
        await expect(view.get_by_role("button", name="Open full size")).to_be_visible()
        await host.screenshot("view-cannot-show")
        failure = {"content": [{"type": "text", "text": "size width must be between 256 and 1536"}], "isError": True}
        await host.send_result(failure)
        await expect(view.get_by_role("alert")).to_contain_text("size width must be between 256 and 1536")
        host.assert_clean()


async def test_dark_theme_follows_the_host_and_the_view_fits_a_narrow_chat_column(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    async with open_host(browser, host_page, viewer_html, FakeBackend(), width=360, theme="dark") as host:
        await show_completed_edit(host)
        view = host.view
        await expect(view.locator("html")).to_have_attribute("data-theme", "dark")
        colour = await view.locator("body").evaluate("b => getComputedStyle(b).color")
        assert colour == "rgb(236, 236, 238)", "light text on the dark theme"
        overflow = await view.locator("html").evaluate("h => h.scrollWidth - h.clientWidth")
        assert overflow <= 0, "nothing sticks out sideways at 360 px"
        await host.screenshot("view-dark-360")
        await host.page.evaluate("() => window.sendHostContext({theme: 'light'})")
        await expect(view.locator("html")).to_have_attribute("data-theme", "light")
        host.assert_clean()
