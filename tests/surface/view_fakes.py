"""Canned tool results shaped like the server's, a fake tool backend that records the viewer's calls, and the
helpers the fake-backend browser tests share."""

from __future__ import annotations

import copy
import io
from typing import Any

import anyio
from view_support import WAIT_MS, Host, png, preview_result

INPUT_URL = "https://cdn.example.test/inputs/cat.png"
OUTPUT_URL = "https://d1q70pf5vjeyhc.cloudfront.net/predictions/abc/0.jpeg"
SECOND_URL = "https://d1q70pf5vjeyhc.cloudfront.net/predictions/def/0.jpeg"
MASK_URL = "https://cdn.example.test/masks/cat-mask.png"
BLUE, GREEN, ORANGE = (40, 90, 200), (40, 170, 80), (230, 120, 20)
PROMPT = "put a red hat on the cat"


def mask_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("L", (640, 480), 0)
    ImageDraw.Draw(image).ellipse((220, 260, 420, 440), fill=255)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


IMAGES = {
    INPUT_URL: png((640, 480), BLUE, (255, 255, 255)),
    OUTPUT_URL: png((640, 480), GREEN, (255, 220, 0)),
    SECOND_URL: png((640, 480), ORANGE, (0, 0, 0)),
    MASK_URL: mask_png(),
}

# The variations of one call (edit_image with variations=4): each its own job, seed, output and colour.
RED, PURPLE, TEAL, YELLOW = (200, 40, 40), (130, 50, 170), (20, 160, 170), (220, 200, 30)
VARIATION_COLOURS = (RED, PURPLE, TEAL, YELLOW)
VARIATION_URLS = tuple(f"https://d1q70pf5vjeyhc.cloudfront.net/predictions/var{i}/0.jpeg" for i in range(1, 5))
VARIATION_IDS = ("a1a1a1a1a1a1a1a1", "b2b2b2b2b2b2b2b2", "c3c3c3c3c3c3c3c3", "d4d4d4d4d4d4d4d4")
VARIATION_SEEDS = (1001, 1002, 1003, 1004)
IMAGES.update(
    {
        url: png((640, 480), colour, (255, 255, 255))
        for url, colour in zip(VARIATION_URLS, VARIATION_COLOURS, strict=True)
    }
)


def report(**changes: Any) -> dict[str, Any]:
    """A PredictionReport as edit_image returns it, with the newer fields filled in."""
    base: dict[str, Any] = {
        "prediction_id": "3f1c0e2a9b7d4c55",
        "status": "completed",
        "model": "wavespeed-ai/qwen-image/edit",
        "pending": False,
        "outputs": [OUTPUT_URL],
        "has_nsfw_contents": [False],
        "saved_paths": [],
        "created_at": "2026-11-25T09:00:00Z",
        "error": None,
        "error_code": None,
        "inference_ms": 3120.0,
        "elapsed_seconds": 4.2,
        "polls": 3,
        "next_step": None,
        "variant": "edit",
        "inputs": [INPUT_URL],
        "seed": 42,
        "size": "640*480",
        "cost_usd": 0.025,
    }
    base.update(changes)
    return base


def variation(index: int, **changes: Any) -> dict[str, Any]:
    """One entry of a report's `variations`: the index-th of VARIATION_IDS/SEEDS/URLS, completed."""
    base: dict[str, Any] = {
        "prediction_id": VARIATION_IDS[index],
        "seed": VARIATION_SEEDS[index],
        "status": "completed",
        "pending": False,
        "outputs": [VARIATION_URLS[index]],
        "saved_paths": [],
        "cost_usd": 0.025,
        "error": None,
    }
    base.update(changes)
    return base


def variations_report(variations: list[dict[str, Any]] | None = None, **changes: Any) -> dict[str, Any]:
    """A PredictionReport of edit_image with variations > 1, its top level derived from the variations as the
    server derives it (the first job's id and status, pending while any runs, every output, the total cost)."""
    entries = variations if variations is not None else [variation(i) for i in range(4)]
    first = next(entry for entry in entries if entry["prediction_id"] is not None)
    outputs = [url for entry in entries for url in entry["outputs"]]
    top = report(
        prediction_id=first["prediction_id"],
        status=first["status"],
        pending=any(entry["pending"] for entry in entries),
        outputs=outputs,
        has_nsfw_contents=[False] * len(outputs),
        seed=first["seed"],
        cost_usd=round(sum(entry["cost_usd"] for entry in entries), 6),
        variations=entries,
    )
    top.update(changes)
    return top


def recent_result(edits: list[dict[str, Any]], *, is_error: bool = False) -> dict[str, Any]:
    """What recent_edits answers: its edits as structured data, newest first."""
    text = f"{len(edits)} recent edits"
    return {"content": [{"type": "text", "text": text}], "structuredContent": {"edits": edits}, "isError": is_error}


def tool_result(structured: dict[str, Any], *, is_error: bool = False) -> dict[str, Any]:
    text = f"status {structured['status']}, prediction {structured['prediction_id']}"
    links = [{"type": "resource_link", "uri": url, "name": url.rsplit("/", 1)[-1]} for url in structured["outputs"]]
    return {"content": [{"type": "text", "text": text}, *links], "structuredContent": structured, "isError": is_error}


class FakeBackend:
    """Answers preview_image from IMAGES and the other tools from queued results; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, list[dict[str, Any]]] = {}
        self.hold: anyio.Event | None = None  # while set and not fired, non-preview calls wait on it
        self.broken: set[str] = set()

    def queue(self, tool: str, *results: dict[str, Any]) -> None:
        self.answers.setdefault(tool, []).extend(results)

    def called(self, tool: str) -> list[dict[str, Any]]:
        return [arguments for name, arguments in self.calls if name == tool]

    async def __call__(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, copy.deepcopy(arguments)))
        if name == "preview_image":
            source = arguments["source"]
            if source in self.broken or source not in IMAGES:
                refusal = {"type": "text", "text": "that address is not one this server returned"}
                return {"content": [refusal], "isError": True}
            return preview_result(IMAGES[source], int(arguments["max_side"]))
        if self.hold is not None:
            with anyio.fail_after(WAIT_MS / 1000):
                await self.hold.wait()
        queued = self.answers.get(name, [])
        assert queued, f"the test queued no answer for {name}"
        return queued.pop(0)

    async def wait_calls(self, tool: str, count: int) -> list[dict[str, Any]]:
        with anyio.fail_after(WAIT_MS / 1000):
            while len(self.called(tool)) < count:
                await anyio.sleep(0.02)
        return self.called(tool)


def colour_near(pixel: tuple[int, int, int], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


async def show_completed_edit(host: Host, **changes: Any) -> None:
    await host.send_input({"prompt": PROMPT, "image": INPUT_URL, "model": "edit", "seed": -1})
    await host.send_result(tool_result(report(**changes)))
    await host.view.locator("#stage.comparing").wait_for()
    await host.view.locator("#before-img[src^='data:image/']").wait_for()
    await host.view.locator("#after-img[src^='data:image/']").wait_for()
