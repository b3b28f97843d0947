"""Several local images in one call are uploaded at the same time, each once."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client
from PIL import Image

from fakes import FakeClock
from harness import make_world, pictures_dir, text_of
from qwen_image_edit_mcp.wavespeed.endpoints import PRESIGNED_UPLOAD_PATH

pytestmark = pytest.mark.anyio


class Rendezvous(httpx.AsyncBaseTransport):
    """Holds each upload request until `count` of them are in flight at once: sequential uploads never get there."""

    def __init__(self, inner: httpx.AsyncBaseTransport, count: int) -> None:
        self._inner, self._count, self._arrived = inner, count, 0
        self._all_here = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == PRESIGNED_UPLOAD_PATH:
            self._arrived += 1
            if self._arrived == self._count:
                self._all_here.set()
            with anyio.fail_after(5):
                await self._all_here.wait()
        return await self._inner.handle_async_request(request)


async def test_three_local_images_are_uploaded_concurrently(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path, wrap=lambda inner: Rendezvous(inner, 3))
    paths: list[str] = []
    for colour in ("red", "green", "blue"):
        path = pictures_dir(tmp_path) / f"{colour}.png"
        Image.new("RGB", (64, 64), colour).save(path)
        paths.append(str(path))
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "combine", "model": "edit-plus", "images": paths})
    assert not result.is_error, text_of(result)
    assert len(world.requests("POST", PRESIGNED_UPLOAD_PATH)) == 3
    (submit,) = [e for e in world.requests("POST") if e["path"].endswith("/edit-plus")]
    assert len(set(submit["json"]["images"])) == 3
