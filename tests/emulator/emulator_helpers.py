"""Helpers shared by the emulator's tests (fixtures live in conftest.py)."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
from PIL import Image

API_KEY = "emulator-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SUBMIT = "/api/v3/wavespeed-ai/qwen-image/edit"


def png_data_uri(size: tuple[int, int], color: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def local_path(url: str) -> str:
    """The emulator builds absolute URLs on its public base; the in-memory client only needs the path."""
    return httpx.URL(url).raw_path.decode("ascii")


async def submit(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": "make the sky purple", "image": png_data_uri((300, 200), (200, 30, 30))}
    body.update(fields)
    response = await client.post(SUBMIT, json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def result(client: httpx.AsyncClient, prediction_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v3/predictions/{prediction_id}/result", headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == 200
    data: dict[str, Any] = body["data"]
    return data
