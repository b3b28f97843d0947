"""enable_sync_mode: the POST blocks on the (fake) clock until the job ends or the sync timeout passes."""

from __future__ import annotations

import httpx
import pytest
from emulator_helpers import AUTH, SUBMIT, png_data_uri, result

from fakes import FakeClock
from qwen_image_edit_mcp.emulator import EmulatorState

pytestmark = pytest.mark.anyio

BODY = {"prompt": "turn it into a watercolour", "image": png_data_uri((320, 256), (10, 120, 200))}


async def test_a_sync_submit_returns_the_completed_prediction(client: httpx.AsyncClient, clock: FakeClock) -> None:
    started = clock.now()

    response = await client.post(SUBMIT, json={**BODY, "enable_sync_mode": True}, headers=AUTH)

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "completed"
    assert data["outputs"] == [f"http://127.0.0.1/outputs/{data['id']}-1.jpeg"]
    assert clock.now() - started == pytest.approx(3.0, abs=0.06)


async def test_a_sync_submit_with_base64_returns_the_image_inline(client: httpx.AsyncClient) -> None:
    response = await client.post(
        SUBMIT, json={**BODY, "enable_sync_mode": True, "enable_base64_output": True}, headers=AUTH
    )

    data = response.json()["data"]
    assert data["status"] == "completed"
    assert len(data["outputs"]) == 1
    assert not data["outputs"][0].startswith(("http", "data:"))


async def test_a_sync_submit_of_a_failing_job_returns_it_failed(client: httpx.AsyncClient, state: EmulatorState):
    state.update_faults({"fail_count": 1, "fail_code": 1200, "fail_message": "Content moderation"})

    response = await client.post(SUBMIT, json={**BODY, "enable_sync_mode": True}, headers=AUTH)

    data = response.json()["data"]
    assert (response.status_code, data["status"], data["code"], data["error"]) == (
        200,
        "failed",
        1200,
        "Content moderation",
    )


async def test_a_sync_submit_past_the_sync_timeout_answers_5004_processing_with_the_id(
    client: httpx.AsyncClient, state: EmulatorState, clock: FakeClock
) -> None:
    state.config.sync_timeout = 2.0
    started = clock.now()

    response = await client.post(SUBMIT, json={**BODY, "enable_sync_mode": True}, headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 200
    data = body["data"]
    assert data["status"] == "processing"
    assert data["code"] == 5004
    assert data["error"] == ("Sync mode timed out after 2 seconds. The prediction is still processing asynchronously.")
    assert data["urls"]["get"].endswith(f"/api/v3/predictions/{data['id']}/result")
    assert clock.now() - started == pytest.approx(2.0)
    clock.advance(1.0)
    assert (await result(client, data["id"]))["status"] == "completed"
