"""The viewer's gallery of variations (edit_image with variations > 1) and its strip of recent edits, in a real
browser behind the test host, with the fake tool backend: tiles, compare any two, pick, more like this, a running
variation followed on its own, and recent_edits."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from PIL import Image
from view_fakes import (
    BLUE,
    GREEN,
    INPUT_URL,
    ORANGE,
    OUTPUT_URL,
    PROMPT,
    SECOND_URL,
    VARIATION_COLOURS,
    VARIATION_IDS,
    VARIATION_SEEDS,
    VARIATION_URLS,
    FakeBackend,
    colour_near,
    recent_result,
    report,
    tool_result,
    variation,
    variations_report,
)
from view_support import (
    SHIPPED_VIEWER,
    WAIT_MS,
    Host,
    ServerBackend,
    build_view,
    open_host,
    require_browser,
)

from fakes import FakeClock
from harness import make_world, pictures_dir

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"  # one event loop for the whole module, so that one Chromium (conftest.py) serves all its tests


MAX_SEED = 2_147_483_647
INPUT_ARGS: dict[str, Any] = {"prompt": PROMPT, "image": INPUT_URL, "model": "edit", "variations": 4, "seed": 1001}


@pytest.fixture(scope="module")
def host_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_browser()
    _, page = build_view(tmp_path_factory.mktemp("view"), host=True)
    assert page is not None
    return page


@pytest.fixture(scope="module")
def viewer_html() -> str:
    return SHIPPED_VIEWER.read_text(encoding="utf-8")


async def show_gallery(host: Host, structured: dict[str, Any] | None = None) -> None:
    await host.send_input(INPUT_ARGS)
    await host.send_result(tool_result(structured if structured is not None else variations_report()))
    await host.view.locator("#gallery").wait_for()


async def stage_shows(host: Host, fx: float, fy: float, colour: tuple[int, int, int]) -> None:
    """Wait until the stage shows `colour` at (fx, fy): the stage's previews arrive asynchronously."""
    seen: tuple[int, int, int] | None = None
    try:
        with anyio.fail_after(WAIT_MS / 1000):
            while seen is None or not colour_near(seen, colour):
                if seen is not None:
                    await anyio.sleep(0.05)
                seen = (await host.stage_pixels()).at(fx, fy)
    except TimeoutError:
        pytest.fail(f"the stage shows {seen} at ({fx}, {fy}), not {colour}")


async def screenshot(host: Host, name: str) -> None:
    """The whole view: the viewport grows to the page first, as a frame paints little beyond the viewport."""
    width = await host.page.evaluate("() => window.innerWidth")
    height = await host.page.evaluate("() => document.documentElement.scrollHeight")
    await host.page.set_viewport_size({"width": width, "height": max(900, height)})
    await host.page.evaluate("() => window.scrollTo(0, 0)")
    await host.screenshot(name)


def tile_previews(backend: FakeBackend) -> dict[str, int]:
    return {call["source"]: call["max_side"] for call in backend.called("preview_image") if call["max_side"] == 384}


async def test_a_gallery_shows_a_tile_per_variation_and_the_one_selected_goes_on_the_stage(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await show_gallery(host)
        view = host.view
        tiles = view.get_by_role("list", name="Variations").get_by_role("listitem")
        await expect(tiles).to_have_count(4)
        await expect(view.locator("#gallery-title")).to_have_text("4 variations")
        for index, seed in enumerate(VARIATION_SEEDS):
            await expect(tiles.nth(index).locator(".tile-seed")).to_have_text(f"seed {seed}")
            await expect(tiles.nth(index).locator(".tile-status")).to_have_text("completed")
            await expect(tiles.nth(index).locator("img")).to_have_attribute("src", re.compile("^data:image/"))
        assert tile_previews(backend) == dict.fromkeys(VARIATION_URLS, 384), "each tile's preview, small"

        first = view.get_by_role("button", name="Show variation 1 (seed 1001)")
        await expect(first).to_have_attribute("aria-pressed", "true")
        await view.locator("#stage.comparing").wait_for()
        await stage_shows(host, 0.9, 0.8, VARIATION_COLOURS[0])
        assert colour_near((await host.stage_pixels()).at(0.1, 0.8), BLUE), "before is the input, as for one result"

        await view.get_by_role("button", name="Show variation 3").click()
        await expect(view.get_by_role("button", name="Show variation 3")).to_have_attribute("aria-pressed", "true")
        await expect(first).to_have_attribute("aria-pressed", "false")
        await stage_shows(host, 0.9, 0.8, VARIATION_COLOURS[2])
        assert colour_near((await host.stage_pixels()).at(0.1, 0.8), BLUE)
        facts = view.locator("#facts")
        await expect(facts.locator("[data-fact=prediction]")).to_have_text(VARIATION_IDS[2])
        await expect(facts.locator("[data-fact=seed]")).to_have_text("1003")
        await expect(facts.locator("[data-fact=cost]")).to_have_text("$0.025")
        await expect(facts.locator("[data-fact=variations]")).to_have_text("4, $0.10 in all")
        await expect(view.locator("#status")).to_have_text("completed")
        await screenshot(host, "view-gallery")
        assert [name for name, _ in backend.calls if name != "preview_image"] == [], "a finished gallery calls nothing"
        host.assert_clean()


async def test_compare_puts_two_variations_on_the_slider_as_a_and_b(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await show_gallery(host)
        view = host.view
        await view.get_by_role("button", name="Compare variation 2").click()
        four = view.get_by_role("button", name="Compare variation 4")
        await four.focus()
        await host.page.keyboard.press("Space")  # the toggles work from the keyboard
        await expect(four).to_have_attribute("aria-pressed", "true")
        handle = view.get_by_role("slider", name="Variation A and B divider")
        await expect(handle).to_be_visible()
        await expect(view.locator("#gallery-hint-text")).to_contain_text("A (variation 2, seed 1002)")
        await expect(view.locator("#tag-before")).to_have_text("A · seed 1002")
        await expect(view.locator("#tag-after")).to_have_text("B · seed 1004")
        await stage_shows(host, 0.1, 0.8, VARIATION_COLOURS[1])
        await stage_shows(host, 0.9, 0.8, VARIATION_COLOURS[3])
        assert not colour_near((await host.stage_pixels()).at(0.1, 0.8), BLUE), "the input is not on the stage"

        await handle.focus()
        await host.page.keyboard.press("Home")
        await expect(handle).to_have_attribute("aria-valuetext", "0% A, 100% B")
        await stage_shows(host, 0.1, 0.8, VARIATION_COLOURS[3])

        # A third choice replaces the oldest: 4 and 1 now, A being the one listed first.
        await view.get_by_role("button", name="Compare variation 1").click()
        await expect(view.get_by_role("button", name="Compare variation 2")).to_have_attribute("aria-pressed", "false")
        await expect(view.locator("#tag-before")).to_have_text("A · seed 1001")
        await handle.focus()
        await host.page.keyboard.press("End")
        await stage_shows(host, 0.9, 0.8, VARIATION_COLOURS[0])

        await view.get_by_role("button", name="Stop comparing").click()
        await expect(view.get_by_role("slider", name="Before and after divider")).to_have_attribute("tabindex", "0")
        await stage_shows(host, 0.1, 0.8, BLUE)
        host.assert_clean()


def decode_mask(uri: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    return Image.open(io.BytesIO(base64.b64decode(uri[len(prefix) :]))).convert("L")


async def test_pick_makes_a_variation_the_base_of_edit_again_with_the_brush(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    after = report(prediction_id="9a8b7c6d5e4f3a2b", outputs=[SECOND_URL], inputs=[VARIATION_URLS[1]], seed=7)
    backend.queue("edit_image", tool_result(after))
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await show_gallery(host)
        view = host.view
        pick = view.get_by_role("button", name="Pick variation 2")
        await pick.click()
        await expect(pick).to_have_attribute("aria-pressed", "true")
        await expect(view.locator(".tile").nth(1).locator(".tile-mark")).to_have_text("Picked")
        await expect(view.locator("#base-result-text")).to_have_text("the picked variation (2, seed 1002)")
        await view.get_by_role("button", name="Show variation 4").click()  # what is shown need not be the base
        await view.get_by_role("textbox", name="Edit again").fill("make the hat blue")
        await view.get_by_role("button", name="Paint the region to change").click()
        brush = view.locator("#brush-img")
        await brush.wait_for()
        await expect(brush).to_have_attribute("src", re.compile("^data:image/"))
        canvas = view.locator("#brush-canvas")
        await canvas.scroll_into_view_if_needed()
        box = await canvas.bounding_box()
        assert box is not None
        y = box["y"] + box["height"] / 2
        await host.page.mouse.move(box["x"] + box["width"] * 0.3, y)
        await host.page.mouse.down()
        await host.page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=8)
        await host.page.mouse.up()
        await view.get_by_role("button", name="Edit", exact=True).click()
        await expect(view.locator("#facts [data-fact=prediction]")).to_have_text("9a8b7c6d5e4f3a2b")
        [sent] = backend.called("edit_image")
        mask = decode_mask(sent.pop("mask"))
        assert sent == {"image": VARIATION_URLS[1], "prompt": "make the hat blue", "seed": -1, "model": "edit"}
        w, h = mask.size
        assert w * 3 == h * 4, "painted on the picked variation's picture"
        assert mask.getpixel((w // 2, h // 2)) == 255
        assert mask.getpixel((w // 20, h // 2)) == 0
        await expect(view.locator("#gallery")).to_be_hidden()  # one result now, shown as always
        await stage_shows(host, 0.1, 0.8, VARIATION_COLOURS[1])
        await stage_shows(host, 0.9, 0.8, ORANGE)
        told = await host.log("updatemodelcontext")
        assert "9a8b7c6d5e4f3a2b" in told[-1]["content"][0]["text"]
        host.assert_clean()


async def test_more_like_this_asks_for_as_many_new_variations_of_the_picked_one(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    new_ids = ("e5e5e5e5e5e5e5e5", "f6f6f6f6f6f6f6f6", "0707070707070707", "1818181818181818")
    fresh = [
        variation(i, prediction_id=new_ids[i], seed=500 + i, outputs=[VARIATION_URLS[3 - i]], cost_usd=0.03)
        for i in range(4)
    ]
    backend.queue("edit_image", tool_result(variations_report(fresh, inputs=[VARIATION_URLS[2]])))
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await show_gallery(host)
        view = host.view
        await view.get_by_role("button", name="Pick variation 3").click()
        await view.get_by_role("button", name="More like this").click()
        await expect(view.locator("#facts [data-fact=prediction]")).to_have_text(new_ids[0])
        [sent] = backend.called("edit_image")
        seed = sent.pop("seed")
        assert sent == {"image": VARIATION_URLS[2], "prompt": PROMPT, "model": "edit", "variations": 4}
        assert isinstance(seed, int)
        assert 0 <= seed <= MAX_SEED - 4
        assert not {seed, seed + 1, seed + 2, seed + 3} & set(VARIATION_SEEDS), "every seed of the new run is new"

        tiles = view.get_by_role("list", name="Variations").get_by_role("listitem")
        await expect(tiles).to_have_count(4)
        for index in range(4):
            await expect(tiles.nth(index).locator(".tile-seed")).to_have_text(f"seed {500 + index}")
        await expect(view.get_by_role("button", name="Pick variation 3")).to_have_attribute("aria-pressed", "false")
        await expect(view.locator("#facts [data-fact=variations]")).to_have_text("4, $0.12 in all")
        await stage_shows(host, 0.1, 0.8, VARIATION_COLOURS[2])  # before: the picked variation, now the input
        await stage_shows(host, 0.9, 0.8, VARIATION_COLOURS[3])  # after: the new first variation
        told = await host.log("updatemodelcontext")
        text = told[-1]["content"][0]["text"]
        assert all(prediction in text for prediction in new_ids)
        assert "more variations like variation 3 (seed 1003)" in text
        host.assert_clean()


async def test_a_running_variation_is_followed_on_its_own_and_a_failed_one_says_why(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    running = [
        variation(0),
        variation(1, status="processing", pending=True, outputs=[]),
        variation(2, prediction_id=None, status=None, outputs=[], cost_usd=0, error="the spending cap was reached"),
        variation(3, status="failed", outputs=[], error="the content was flagged"),
    ]
    still = report(prediction_id=VARIATION_IDS[1], status="processing", pending=True, outputs=[], seed=1002)
    done = report(prediction_id=VARIATION_IDS[1], outputs=[VARIATION_URLS[1]], seed=1002)
    backend.queue("get_prediction", tool_result(still), tool_result(done))
    backend.hold = anyio.Event()
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await show_gallery(host, variations_report(running))
        view = host.view
        tiles = view.get_by_role("list", name="Variations").get_by_role("listitem")
        await expect(tiles.nth(1).locator(".tile-status")).to_have_text("processing, running")
        await expect(view.locator("#status")).to_have_text("1 of 4 variations running")
        await expect(view.locator("#pending-text")).to_contain_text("Status: 1 of 4 variations running")
        await expect(tiles.nth(2).locator(".tile-error")).to_have_text(
            re.compile("the spending cap was reached.*No job was created")
        )
        await expect(tiles.nth(3).locator(".tile-error")).to_have_text(
            re.compile(f"the content was flagged.*Prediction {VARIATION_IDS[3]}")
        )
        await expect(tiles.nth(3).locator(".tile-status")).to_have_text("failed")
        await expect(view.get_by_role("button", name="Pick variation 4")).to_be_disabled()
        calls = await backend.wait_calls("get_prediction", 1)
        assert calls == [{"prediction_id": VARIATION_IDS[1], "wait_seconds": 20}]
        backend.hold.set()
        await expect(tiles.nth(1).locator(".tile-status")).to_have_text("completed")
        await expect(tiles.nth(1).locator("img")).to_have_attribute("src", re.compile("^data:image/"))
        assert backend.called("get_prediction") == [{"prediction_id": VARIATION_IDS[1], "wait_seconds": 20}] * 2
        await expect(view.locator("#pending")).to_be_hidden()
        await expect(view.locator("#status")).to_have_text("2 of 4 completed")
        await view.get_by_role("button", name="Show variation 2").click()
        await stage_shows(host, 0.9, 0.8, VARIATION_COLOURS[1])
        await expect(view.locator("#facts [data-fact=status]")).to_have_text("completed")
        await view.get_by_role("button", name="Show variation 3").click()
        await expect(view.locator("#facts [data-fact=prediction]")).to_have_text("none (no job was created)")
        await expect(view.locator("#facts [data-fact=error]")).to_have_text("the spending cap was reached")
        assert len(backend.called("get_prediction")) == 2, "no call for the failed or the id-less variation"
        host.assert_clean()


async def test_a_failed_check_stops_following_until_the_user_keeps_waiting(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    refusal = {"content": [{"type": "text", "text": "the job store is not answering"}], "isError": True}
    done = report(prediction_id=VARIATION_IDS[1], outputs=[VARIATION_URLS[1]], seed=1002)
    backend.queue("get_prediction", refusal, tool_result(done))
    running = [variation(i) for i in range(4)]
    running[1] = variation(1, status="processing", pending=True, outputs=[])
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await show_gallery(host, variations_report(running))
        view = host.view
        await expect(view.get_by_role("alert")).to_have_text(
            "Checking variation 2 failed: the job store is not answering. Press Keep waiting to try again."
        )
        await expect(view.locator("#pending-text")).to_contain_text("not waiting any more")
        assert len(backend.called("get_prediction")) == 1, "no call by itself after a failed check"
        await view.get_by_role("button", name="Keep waiting").click()
        tile = view.get_by_role("list", name="Variations").get_by_role("listitem").nth(1)
        await expect(tile.locator(".tile-status")).to_have_text("completed")
        await expect(view.locator("#message")).to_be_hidden()
        await expect(view.locator("#status")).to_have_text("completed")
        assert backend.called("get_prediction") == [{"prediction_id": VARIATION_IDS[1], "wait_seconds": 20}] * 2
        host.assert_clean()


RECENT: list[dict[str, Any]] = [
    {"prediction_id": "7777aaaa7777aaaa", "model": "wavespeed-ai/qwen-image/edit", "variant": "edit",
     "created_at": "2026-12-04T15:00:00Z", "outputs": [SECOND_URL], "masked": False},
    {"prediction_id": "6666bbbb6666bbbb", "model": "wavespeed-ai/qwen-image/edit-plus", "variant": None,
     "created_at": "2026-12-04T14:00:00Z", "outputs": [OUTPUT_URL], "masked": True},
    {"prediction_id": "5555cccc5555cccc", "model": "wavespeed-ai/qwen-image/edit", "variant": "edit",
     "created_at": "2026-12-04T13:00:00Z", "outputs": [], "masked": False},
]  # fmt: skip


async def test_the_recent_strip_lists_recent_edits_and_opens_one_through_get_prediction(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    backend.queue("recent_edits", recent_result(RECENT))
    opened = report(prediction_id="6666bbbb6666bbbb", outputs=[OUTPUT_URL], variant="edit-plus")
    backend.queue("get_prediction", tool_result(opened))
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await show_gallery(host)
        view = host.view
        toggle = view.get_by_role("button", name="Recent edits")
        await expect(toggle).to_have_attribute("aria-expanded", "false")
        assert backend.called("recent_edits") == [], "nothing is asked before the user opens the strip"
        await toggle.click()
        await expect(toggle).to_have_attribute("aria-expanded", "true")
        items = view.get_by_role("list", name="Recent edits on this server").get_by_role("button")
        await expect(items).to_have_count(3)
        assert backend.called("recent_edits") == [{"limit": 12}]
        await expect(items.nth(0).locator("img")).to_have_attribute("src", re.compile("^data:image/"))
        await expect(items.nth(1).locator("img")).to_have_attribute("src", re.compile("^data:image/"))
        await expect(items.nth(2)).to_have_text("5555cccc · no image yet")
        await expect(items.nth(1)).to_have_attribute(
            "aria-label", "Edit 6666bbbb6666bbbb, edit-plus, 2026-12-04 14:00 UTC, masked"
        )
        assert {c["source"] for c in backend.called("preview_image") if c["max_side"] == 160} == {
            SECOND_URL,
            OUTPUT_URL,
        }

        await items.nth(1).click()
        await expect(view.locator("#facts [data-fact=prediction]")).to_have_text("6666bbbb6666bbbb")
        assert backend.called("get_prediction") == [{"prediction_id": "6666bbbb6666bbbb"}]
        await expect(items.nth(1)).to_have_attribute("aria-pressed", "true")
        await expect(view.locator("#gallery")).to_be_hidden()
        await stage_shows(host, 0.1, 0.8, BLUE)
        await stage_shows(host, 0.9, 0.8, GREEN)
        host.assert_clean()


@pytest.mark.parametrize("answer", ["error", "empty"])
async def test_the_recent_strip_disappears_when_recent_edits_fails_or_has_nothing(
    browser: Browser, host_page: Path, viewer_html: str, answer: str
) -> None:
    from playwright.async_api import expect

    backend = FakeBackend()
    failure = {"content": [{"type": "text", "text": "Unknown tool: recent_edits"}], "isError": True}
    backend.queue("recent_edits", failure if answer == "error" else recent_result([]))
    async with open_host(browser, host_page, viewer_html, backend) as host:
        await show_gallery(host)
        view = host.view
        await view.get_by_role("button", name="Recent edits").click()
        await expect(view.locator("#recent")).to_be_hidden()
        assert backend.called("recent_edits") == [{"limit": 12}]
        await expect(view.get_by_role("alert")).to_have_count(0)
        host.assert_clean()


class HeldJobs(FakeBackend):
    """Holds get_prediction only (FakeBackend.hold holds every tool), until `release` fires."""

    def __init__(self) -> None:
        super().__init__()
        self.release = anyio.Event()

    async def __call__(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if name == "get_prediction":
            with anyio.fail_after(WAIT_MS / 1000):
                await self.release.wait()
        return await super().__call__(name, arguments)


async def test_the_gallery_follows_the_dark_theme_and_fits_a_360_px_column(
    browser: Browser, host_page: Path, viewer_html: str
) -> None:
    from playwright.async_api import expect

    backend = HeldJobs()  # the running variation runs until the screenshot is taken
    backend.queue("recent_edits", recent_result(RECENT * 4))
    done = report(prediction_id=VARIATION_IDS[1], outputs=[VARIATION_URLS[1]], seed=1002)
    backend.queue("get_prediction", tool_result(done))
    running = [
        variation(0),
        variation(1, status="processing", pending=True, outputs=[]),
        variation(2),
        variation(3, status="failed", outputs=[], error="the content was flagged by the safety checker of WaveSpeed"),
    ]
    async with open_host(browser, host_page, viewer_html, backend, width=360, theme="dark") as host:
        await show_gallery(host, variations_report(running))
        view = host.view
        await expect(view.locator("html")).to_have_attribute("data-theme", "dark")
        colour = await view.locator(".tile-seed").first.evaluate("e => getComputedStyle(e).color")
        assert colour == "rgb(236, 236, 238)", "light text on the dark theme"
        tiles = view.get_by_role("list", name="Variations").get_by_role("listitem")
        await expect(tiles.nth(2).locator("img")).to_have_attribute("src", re.compile("^data:image/"))
        boxes = [await tiles.nth(i).bounding_box() for i in range(4)]
        assert all(box is not None for box in boxes)
        tops = [round(box["y"]) for box in boxes if box is not None]
        assert tops[0] == tops[1] < tops[2] == tops[3], "two tiles a row"
        await view.get_by_role("button", name="Compare variation 1").click()
        await view.get_by_role("button", name="Compare variation 3").click()
        await view.get_by_role("button", name="Pick variation 1").click()
        await view.get_by_role("button", name="Recent edits").click()
        strip_items = view.get_by_role("list", name="Recent edits on this server").get_by_role("button")
        await expect(strip_items).to_have_count(12)
        overflow = await view.locator("html").evaluate("h => h.scrollWidth - h.clientWidth")
        assert overflow <= 0, "nothing sticks out sideways at 360 px"
        strip = await view.locator("#recent-list").evaluate("s => [s.scrollWidth > s.clientWidth, s.clientWidth]")
        assert strip[0], "the strip scrolls inside the column"
        await stage_shows(host, 0.1, 0.8, VARIATION_COLOURS[0])
        await expect(tiles.nth(1).locator(".tile-status")).to_have_text("processing, running")
        await screenshot(host, "view-gallery-dark-360")
        backend.release.set()
        await expect(tiles.nth(1).locator(".tile-status")).to_have_text("completed")
        host.assert_clean()


async def test_a_real_call_with_variations_shows_its_gallery_and_more_like_this_runs_four_more(
    browser: Browser, clock: FakeClock, tmp_path: Path, host_page: Path, viewer_html: str
) -> None:
    """The same view against the real server and the emulator: the contract is the server's, not the fakes'."""
    from mcp import Client
    from playwright.async_api import expect

    world = make_world(clock, tmp_path)
    picture = pictures_dir(tmp_path) / "cat.png"
    Image.new("RGB", (768, 512), BLUE).save(picture)
    arguments = {"prompt": "add a red hat", "image": str(picture), "variations": 4, "seed": 42}
    async with Client(world.server) as client:
        backend = ServerBackend(client)
        async with open_host(browser, host_page, viewer_html, backend) as host:
            await host.send_input(arguments)
            result = await client.call_tool("edit_image", arguments)
            first = result.model_dump(mode="json", by_alias=True, exclude_none=True)
            await host.send_result(first)
            view = host.view
            tiles = view.get_by_role("list", name="Variations").get_by_role("listitem")
            await expect(tiles).to_have_count(4)
            for index in range(4):
                await expect(tiles.nth(index).locator(".tile-seed")).to_have_text(f"seed {42 + index}")
                await expect(tiles.nth(index).locator("img")).to_have_attribute("src", re.compile("^data:image/"))
            rows = first["structuredContent"]["variations"]
            assert {c["source"] for c in backend.called("preview_image") if c["max_side"] == 384} == {
                row["outputs"][0] for row in rows
            }
            await view.get_by_role("button", name="Compare variation 1").click()
            await view.get_by_role("button", name="Compare variation 4").click()
            await view.locator("#stage.comparing").wait_for()
            await expect(view.locator("#tag-after")).to_have_text("B · seed 45")
            await view.get_by_role("button", name="Pick variation 2").click()
            await view.get_by_role("button", name="More like this").click()
            await expect(tiles.nth(0).locator(".tile-seed")).not_to_have_text("seed 42")
            [sent] = backend.called("edit_image")
            seed = sent.pop("seed")
            assert sent == {"image": rows[1]["outputs"][0], "prompt": "add a red hat", "variations": 4, "model": "edit"}
            assert not {seed, seed + 1, seed + 2, seed + 3} & {42, 43, 44, 45}
            await expect(tiles).to_have_count(4)
            for index in range(4):
                await expect(tiles.nth(index).locator(".tile-status")).to_have_text("completed")
            assert len(world.submits()) == 8, "four jobs per call, never a repeat"

            await view.get_by_role("button", name="Recent edits").click()
            items = view.get_by_role("list", name="Recent edits on this server").get_by_role("button")
            await expect(items).to_have_count(8)
            await items.nth(7).click()
            await expect(view.locator("#facts [data-fact=prediction]")).to_have_text(rows[0]["prediction_id"])
            assert backend.called("get_prediction")[-1] == {"prediction_id": rows[0]["prediction_id"]}
            await expect(view.locator("#gallery")).to_be_hidden()
            assert backend.errors == []
            await screenshot(host, "view-gallery-live")
            host.assert_clean()
