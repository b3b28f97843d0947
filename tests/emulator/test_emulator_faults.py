"""Every injectable fault, set through the control API, and the control API itself."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from emulator_helpers import AUTH, SUBMIT, local_path, open_image, result, submit

from fakes import FakeClock
from qwen_image_edit_mcp.emulator import EmulatorState

pytestmark = pytest.mark.anyio

BODY = {"prompt": "remove the background", "image": "https://example.com/cat.png", "size": "256*256"}


async def set_faults(client: httpx.AsyncClient, **faults: Any) -> dict[str, Any]:
    response = await client.post("/_emulator/faults", json=faults)
    assert response.status_code == 200, response.text
    updated: dict[str, Any] = response.json()
    return updated


async def predictions(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = (await client.get("/_emulator/predictions")).json()
    return listed


async def test_faults_are_off_by_default_and_updated_partially(client: httpx.AsyncClient) -> None:
    defaults = (await client.get("/_emulator/faults")).json()
    assert defaults["submit_429"] == 0
    assert defaults["hold"] is False
    assert defaults["num_outputs"] == 1

    updated = await set_faults(client, nsfw=True)

    assert updated == {**defaults, "nsfw": True}
    assert (await client.get("/_emulator/faults")).json() == updated


@pytest.mark.parametrize("body", [{"no_such_fault": 1}, {"submit_429": -1}, {"num_outputs": 0}, [1]])
async def test_an_invalid_fault_update_is_refused_and_changes_nothing(client: httpx.AsyncClient, body: object) -> None:
    before = (await client.get("/_emulator/faults")).json()

    response = await client.post("/_emulator/faults", json=body)

    assert response.status_code == 400
    assert (await client.get("/_emulator/faults")).json() == before


async def test_submit_429_refuses_the_next_n_submits_with_retry_after(client: httpx.AsyncClient) -> None:
    await set_faults(client, submit_429=2, retry_after=2.5)

    statuses: list[int] = []
    for _ in range(3):
        response = await client.post(SUBMIT, json=BODY, headers=AUTH)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.json() == {"code": 429, "message": "Too many requests: rate limit exceeded"}
            assert response.headers["Retry-After"] == "2.5"

    assert statuses == [429, 429, 200]
    assert len(await predictions(client)) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 500])
async def test_submit_error_status_answers_that_status_and_creates_nothing(
    client: httpx.AsyncClient, status: int
) -> None:
    await set_faults(client, submit_error_status=status, submit_error_count=1)

    failed = await client.post(SUBMIT, json=BODY, headers=AUTH)
    succeeded = await client.post(SUBMIT, json=BODY, headers=AUTH)

    assert failed.status_code == status
    assert failed.json()["code"] == status
    assert failed.json()["message"]
    assert succeeded.status_code == 200
    assert len(await predictions(client)) == 1


async def test_poll_errors_answer_the_poll_error_status_then_recover(client: httpx.AsyncClient) -> None:
    data = await submit(client, **BODY)
    await set_faults(client, poll_errors=2, poll_error_status=500)
    path = f"/api/v3/predictions/{data['id']}/result"

    responses = [await client.get(path, headers=AUTH) for _ in range(3)]

    assert [r.status_code for r in responses] == [500, 500, 200]
    assert responses[0].json()["code"] == 500


async def test_poll_html_errors_answer_a_502_gateway_page(client: httpx.AsyncClient) -> None:
    data = await submit(client, **BODY)
    await set_faults(client, poll_html_errors=1)
    path = f"/api/v3/predictions/{data['id']}/result"

    first = await client.get(path, headers=AUTH)
    second = await client.get(path, headers=AUTH)

    assert first.status_code == 502
    assert first.headers["content-type"].startswith("text/html")
    assert "<html>" in first.text
    assert second.status_code == 200


async def test_envelope_errors_answer_http_200_with_an_error_code(client: httpx.AsyncClient) -> None:
    data = await submit(client, **BODY)
    await set_faults(client, envelope_errors=1, envelope_error_code=500)
    path = f"/api/v3/predictions/{data['id']}/result"

    first = await client.get(path, headers=AUTH)
    second = await client.get(path, headers=AUTH)

    assert first.status_code == 200
    assert first.json()["code"] == 500
    assert "data" not in first.json()
    assert second.json()["code"] == 200


async def test_fail_count_fails_the_next_n_predictions_with_the_given_code(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await set_faults(client, fail_count=1, fail_code=5000, fail_message="Internal error")
    doomed = await submit(client, **BODY)
    fine = await submit(client, **BODY)
    clock.advance(3)

    failed = await result(client, doomed["id"])
    completed = await result(client, fine["id"])

    assert (failed["status"], failed["code"], failed["error"], failed["outputs"]) == (
        "failed",
        5000,
        "Internal error",
        [],
    )
    assert completed["status"] == "completed"


async def test_a_latency_fault_applies_to_jobs_created_while_it_is_set(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await set_faults(client, latency=10)
    slow = await submit(client, **BODY)
    await set_faults(client, latency=None)
    normal = await submit(client, **BODY)
    clock.advance(3)

    assert (await result(client, normal["id"]))["status"] == "completed"
    assert (await result(client, slow["id"]))["status"] == "processing"
    clock.advance(7)
    assert (await result(client, slow["id"]))["timings"] == {"inference": 10000}


async def test_a_held_job_stays_processing_until_released(client: httpx.AsyncClient, clock: FakeClock) -> None:
    await set_faults(client, hold=True)
    data = await submit(client, **BODY)
    clock.advance(60)
    assert (await result(client, data["id"]))["status"] == "processing"

    released = await client.post(f"/_emulator/predictions/{data['id']}/release")

    assert released.status_code == 200
    assert released.json()["status"] == "completed"
    assert (await result(client, data["id"]))["status"] == "completed"


async def test_a_job_released_early_still_takes_its_latency(client: httpx.AsyncClient, clock: FakeClock) -> None:
    await set_faults(client, hold=True)
    data = await submit(client, **BODY)
    clock.advance(1)
    await client.post(f"/_emulator/predictions/{data['id']}/release")

    assert (await result(client, data["id"]))["status"] == "processing"
    clock.advance(2)
    assert (await result(client, data["id"]))["status"] == "completed"


async def test_turning_hold_off_releases_held_jobs(client: httpx.AsyncClient, clock: FakeClock) -> None:
    await set_faults(client, hold=True)
    data = await submit(client, **BODY)
    clock.advance(5)
    assert (await result(client, data["id"]))["status"] == "processing"

    await set_faults(client, hold=False)

    assert (await result(client, data["id"]))["status"] == "completed"


async def test_releasing_an_unknown_prediction_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/_emulator/predictions/0123456789abcdef0123456789abcdef/release")

    assert response.status_code == 404


async def test_nsfw_and_num_outputs_shape_the_completed_prediction(client: httpx.AsyncClient, clock: FakeClock):
    await set_faults(client, nsfw=True, num_outputs=2)
    data = await submit(client, **BODY)
    clock.advance(3)
    completed = await result(client, data["id"])

    assert completed["has_nsfw_contents"] == [True, True]
    assert [url.rsplit("/", 1)[1] for url in completed["outputs"]] == [f"{data['id']}-1.jpeg", f"{data['id']}-2.jpeg"]
    for url in completed["outputs"]:
        assert (await client.get(local_path(url))).status_code == 200


async def test_sync_504_answers_a_gateway_page_without_an_id_but_the_job_runs(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await set_faults(client, sync_504=1)

    response = await client.post(SUBMIT, json={**BODY, "enable_sync_mode": True}, headers=AUTH)

    assert response.status_code == 504
    assert response.headers["content-type"].startswith("text/html")
    (created,) = await predictions(client)
    assert created["id"] not in response.text
    clock.advance(3)
    assert (await result(client, created["id"]))["status"] == "completed"


async def test_noisy_output_makes_a_large_incompressible_png(client: httpx.AsyncClient, clock: FakeClock) -> None:
    await set_faults(client, noisy_output=True)
    data = await submit(client, **{**BODY, "size": "1536*1536", "output_format": "png"})
    clock.advance(3)
    completed = await result(client, data["id"])

    content = (await client.get(local_path(completed["outputs"][0]))).content
    assert 7_000_000 < len(content) < 9_500_000
    assert open_image(content).size == (1536, 1536)


async def test_reset_clears_predictions_log_faults_and_uploads(client: httpx.AsyncClient, state: EmulatorState):
    defaults = (await client.get("/_emulator/faults")).json()
    await submit(client, **BODY)
    await client.post(
        "/api/v3/media/upload/binary", files={"file": ("a.png", io.BytesIO(b"x"), "image/png")}, headers=AUTH
    )
    await set_faults(client, submit_429=5, hold=True)
    assert len(await predictions(client)) == 1
    assert len((await client.get("/_emulator/requests")).json()) == 2

    response = await client.post("/_emulator/reset")

    assert response.status_code == 200
    assert (await client.get("/_emulator/requests")).json() == []
    assert await predictions(client) == []
    assert (await client.get("/_emulator/faults")).json() == defaults
    assert state.uploads == {}
