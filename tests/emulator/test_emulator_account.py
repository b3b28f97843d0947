"""The emulator's account: the balance and price endpoints, each job drawing its price from the balance, an empty
account refused as configured (nothing created, nothing drawn), and the control route that sets the balance."""

from __future__ import annotations

import httpx
import pytest
from emulator_helpers import AUTH, SUBMIT, submit

from qwen_image_edit_mcp.emulator import EmulatorState

pytestmark = pytest.mark.anyio
PRICE = "/api/v3/model/price"


async def balance(client: httpx.AsyncClient) -> float:
    response = await client.get("/api/v3/balance", headers=AUTH)
    assert response.status_code == 200
    return response.json()["data"]["balance"]


async def test_the_balance_starts_as_configured_and_each_job_draws_its_price(client: httpx.AsyncClient) -> None:
    assert await balance(client) == 10_000.0
    await submit(client)
    await submit(client)
    assert await balance(client) == 9_999.96
    assert (await client.get("/api/v3/balance")).status_code == 401


@pytest.mark.parametrize(("model", "price"), [("edit", 0.02), ("edit-plus-lora", 0.025), ("edit-2511", 0.025)])
async def test_the_price_endpoint_answers_the_documented_price(
    client: httpx.AsyncClient, model: str, price: float
) -> None:
    model_id = f"wavespeed-ai/qwen-image/{model}"
    response = await client.post(PRICE, json={"model_id": model_id, "inputs": {}}, headers=AUTH)
    assert response.json()["data"] == {
        "model_id": model_id,
        "price": price,
        "discounted_price": price,
        "currency": "USD",
    }


async def test_the_price_endpoint_refuses_an_unknown_model_and_can_be_made_to_fail(
    client: httpx.AsyncClient, state: EmulatorState
) -> None:
    unknown = await client.post(PRICE, json={"model_id": "someone/else", "inputs": {}}, headers=AUTH)
    assert unknown.status_code == 400
    state.faults.price_errors = 1
    failing = await client.post(PRICE, json={"model_id": "wavespeed-ai/qwen-image/edit", "inputs": {}}, headers=AUTH)
    assert failing.status_code == 500


@pytest.mark.parametrize("status", [402, 400, 403])
async def test_an_empty_account_is_refused_as_configured_and_nothing_is_drawn(
    client: httpx.AsyncClient, state: EmulatorState, status: int
) -> None:
    set_to = await client.post("/_emulator/balance", json={"balance": 0.01})
    assert set_to.json() == {"balance": 0.01}
    state.faults.empty_account_status = status
    refused = await client.post(SUBMIT, json={"prompt": "x", "image": "https://example.com/a.jpg"}, headers=AUTH)
    assert refused.status_code == status
    assert "top up" in refused.json()["message"]
    assert state.predictions == {}
    assert await balance(client) == 0.01
    assert (await client.post("/_emulator/balance", json={"balance": -1})).status_code == 400
