"""A prediction's life in the emulator: submit, poll, fetch outputs, through the in-memory client, driven by a fake
clock."""

from __future__ import annotations

import base64
import re
import socket
from typing import Any

import httpx
import pytest
from emulator_helpers import AUTH, SUBMIT, local_path, open_image, png_data_uri, result, submit

from fakes import FakeClock
from qwen_image_edit_mcp.emulator import EmulatorState
from qwen_image_edit_mcp.emulator.validation import EditInput

pytestmark = pytest.mark.anyio

VALID: dict[str, Any] = {"prompt": "add a red hat", "image": "https://example.com/cat.png"}


async def test_a_submit_returns_a_created_prediction_in_the_wavespeed_envelope(client: httpx.AsyncClient):
    response = await client.post(SUBMIT, json=VALID, headers=AUTH)

    body = response.json()
    assert (body["code"], body["message"]) == (200, "success")
    data = body["data"]
    assert re.fullmatch(r"[0-9a-f]{32}", data["id"])
    assert data["model"] == "wavespeed-ai/qwen-image/edit"
    assert data["status"] == "created"
    assert data["outputs"] == []
    assert data["has_nsfw_contents"] == []
    assert data["urls"] == {"get": f"http://127.0.0.1/api/v3/predictions/{data['id']}/result"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", data["created_at"])
    assert data["error"] == ""
    assert data["timings"] == {"inference": 0}
    assert response.headers["X-WaveSpeed-Emulator"] == "1"


async def test_a_job_goes_created_then_processing_then_completed_after_its_latency(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    data = await submit(client)
    prediction_id = data["id"]

    assert (await result(client, prediction_id))["status"] == "created"
    clock.advance(0.1)
    assert (await result(client, prediction_id))["status"] == "processing"
    clock.advance(2.85)
    processing = await result(client, prediction_id)
    assert processing["status"] == "processing"
    assert processing["outputs"] == []
    clock.advance(0.05)
    completed = await result(client, prediction_id)

    assert completed["status"] == "completed"
    assert completed["outputs"] == [f"http://127.0.0.1/outputs/{prediction_id}-1.jpeg"]
    assert completed["has_nsfw_contents"] == [False]
    assert completed["timings"] == {"inference": 3000}
    assert completed.get("code", 0) == 0


async def test_a_prediction_is_also_served_at_its_own_path_as_at_result(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    data = await submit(client)
    clock.advance(3)

    response = await client.get(f"/api/v3/predictions/{data['id']}", headers=AUTH)

    assert response.status_code == 200
    assert response.json() == {"code": 200, "message": "success", "data": await result(client, data["id"])}
    assert (await client.get(f"/api/v3/predictions/{data['id']}")).status_code == 401
    assert (await client.get("/api/v3/predictions/0123abc", headers=AUTH)).json()["code"] == 404


async def test_an_unknown_prediction_id_is_a_404_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v3/predictions/0123456789abcdef0123456789abcdef/result", headers=AUTH)

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "prediction not found"}


@pytest.mark.parametrize(("output_format", "pil_format"), [("jpeg", "JPEG"), ("png", "PNG"), ("webp", "WEBP")])
async def test_a_url_output_is_a_real_image_of_the_requested_size_and_format(
    client: httpx.AsyncClient, clock: FakeClock, output_format: str, pil_format: str
) -> None:
    data = await submit(client, size="512*384", output_format=output_format)
    clock.advance(3)
    completed = await result(client, data["id"])

    (url,) = completed["outputs"]
    assert url.endswith(f".{output_format}")
    response = await client.get(local_path(url))
    assert response.status_code == 200
    assert response.headers["content-type"] == f"image/{output_format}"
    image = open_image(response.content)
    assert (image.format, image.size) == (pil_format, (512, 384))


@pytest.mark.parametrize(("output_format", "pil_format"), [("jpeg", "JPEG"), ("png", "PNG"), ("webp", "WEBP")])
async def test_a_base64_output_is_naked_base64_of_a_real_image(
    client: httpx.AsyncClient, clock: FakeClock, output_format: str, pil_format: str
) -> None:
    data = await submit(client, size="256*320", output_format=output_format, enable_base64_output=True)
    clock.advance(3)
    completed = await result(client, data["id"])

    (encoded,) = completed["outputs"]
    assert not encoded.startswith("data:")
    image = open_image(base64.b64decode(encoded, validate=True))
    assert (image.format, image.size) == (pil_format, (256, 320))


async def test_the_output_is_derived_from_a_data_uri_input(client: httpx.AsyncClient, clock: FakeClock) -> None:
    data = await submit(client, image=png_data_uri((300, 200), (220, 20, 20)), output_format="png")
    clock.advance(3)
    completed = await result(client, data["id"])

    image = open_image((await client.get(local_path(completed["outputs"][0]))).content).convert("RGB")
    assert image.size == (300, 200)  # no size given: the input's size
    pixel = image.getpixel((150, 150))
    assert isinstance(pixel, tuple)
    red, green, blue = pixel[:3]
    assert red > 120 > green
    assert red > blue


async def test_without_a_readable_input_or_size_the_output_is_1024_square(client: httpx.AsyncClient, clock: FakeClock):
    data = await submit(client, image="https://example.com/never-fetched.png")
    clock.advance(3)
    completed = await result(client, data["id"])

    image = open_image((await client.get(local_path(completed["outputs"][0]))).content)
    assert image.size == (1024, 1024)


async def test_the_same_seed_and_prompt_give_the_same_image(client: httpx.AsyncClient, clock: FakeClock) -> None:
    first = await submit(client, seed=7, output_format="png", size="256*256")
    second = await submit(client, seed=7, output_format="png", size="256*256")
    third = await submit(client, seed=8, output_format="png", size="256*256")
    clock.advance(3)

    images = [
        (await client.get(local_path((await result(client, p["id"]))["outputs"][0]))).content
        for p in (first, second, third)
    ]
    assert images[0] == images[1]
    assert images[0] != images[2]


async def test_an_undecodable_data_uri_fails_the_task_with_1401(client: httpx.AsyncClient, clock: FakeClock) -> None:
    data = await submit(client, image="data:image/png;base64,aGVsbG8gd29ybGQ=")
    clock.advance(3)
    failed = await result(client, data["id"])

    assert failed["status"] == "failed"
    assert failed["code"] == 1401
    assert "image" in failed["error"]
    assert failed["outputs"] == []


async def test_an_unreachable_loopback_url_fails_the_task_with_1402(client: httpx.AsyncClient, clock: FakeClock):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = await submit(client, image=f"http://127.0.0.1:{port}/missing.png")
    clock.advance(3)
    failed = await result(client, data["id"])

    assert failed["status"] == "failed"
    assert failed["code"] == 1402
    assert failed["error"] == "Failed to download image from the provided URL."


async def test_an_output_is_404_before_its_job_completes(client: httpx.AsyncClient, clock: FakeClock) -> None:
    data = await submit(client)
    path = f"/outputs/{data['id']}-1.jpeg"

    assert (await client.get(path)).status_code == 404
    clock.advance(3)
    await result(client, data["id"])
    assert (await client.get(path)).status_code == 200
    assert (await client.get(f"/outputs/{data['id']}-2.jpeg")).status_code == 404
    assert (await client.get(f"/outputs/{data['id']}-1.png")).status_code == 404
    assert (await client.get(f"/outputs/{data['id']}-0.jpeg")).status_code == 404  # numbered from 1
    assert (await client.get("/outputs/nonsense")).status_code == 404


async def test_an_instant_job_is_still_created_at_submit_and_completed_at_the_first_poll(
    client: httpx.AsyncClient, state: EmulatorState
) -> None:
    state.config.latency = 0

    data = await submit(client)

    assert data["status"] == "created"
    assert data["outputs"] == []
    completed = await result(client, data["id"])
    assert completed["status"] == "completed"
    assert len(completed["outputs"]) == 1


async def test_an_output_is_rendered_on_demand_if_fetched_before_any_poll(
    client: httpx.AsyncClient, state: EmulatorState, clock: FakeClock
) -> None:
    prediction = state.create_prediction(EditInput(prompt="x", images=("https://example.com/a.png",), size=(256, 288)))
    clock.advance(3)

    response = await client.get(f"/outputs/{prediction.id}-1.jpeg")

    assert response.status_code == 200
    assert open_image(response.content).size == (256, 288)
