"""The emulator's model catalog: `GET /api/v3/models` in WaveSpeed's shape, the control route that adds and removes
models at run time, every submit checked against its own model's request schema, and prices read from the catalog
(base price, the per-image formula, the price fault). Through the in-memory client, on the fake clock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_helpers import AUTH, local_path, open_image, result
from jsonschema import Draft202012Validator

from fakes import FakeClock
from qwen_image_edit_mcp.emulator import EmulatorState

pytestmark = pytest.mark.anyio
A = "https://example.com/a.png"
MODELS = "/api/v3/models"
CONTROL = "/_emulator/catalog"
PRICE = "/api/v3/model/price"
QWEN_EDIT = [
    "wavespeed-ai/qwen-image/edit",
    "wavespeed-ai/qwen-image/edit-lora",
    "wavespeed-ai/qwen-image/edit-plus",
    "wavespeed-ai/qwen-image/edit-plus-lora",
    "wavespeed-ai/qwen-image/edit-2511",
    "wavespeed-ai/qwen-image/edit-2511-lora",
    "wavespeed-ai/qwen-image-2.0/edit",
    "wavespeed-ai/qwen-image-2.0-pro/edit",
    "wavespeed-ai/qwen-image-max/edit",
    "alibaba/qwen-image-3.0/edit",
    "alibaba/qwen-image-3.0-pro/edit",
    "wavespeed-ai/qwen-image-2.1/edit",
    "wavespeed-ai/qwen-image/edit-multiple-angles",
    "wavespeed-ai/qwen-image/edit-2509-multiple-angles",
]
NEW_MODEL = "someone/qwen-image-9/edit"


def new_entry(price: float = 0.01) -> dict[str, Any]:
    """A model that exists nowhere else: an `image`, a prompt and its own required `strength` (0 to 1)."""
    properties = {
        "image": {"type": "string"},
        "prompt": {"type": "string"},
        "strength": {"type": "number", "minimum": 0, "maximum": 1},
    }
    schema = {"type": "object", "properties": properties, "required": ["image", "prompt", "strength"]}
    return {"model_id": NEW_MODEL, "base_price": price, "api_schema": {"api_schemas": [{"request_schema": schema}]}}


async def catalog(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await client.get(MODELS, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["code"], body["message"]) == (200, "success")
    return {entry["model_id"]: entry for entry in body["data"]}


async def post(client: httpx.AsyncClient, model_id: str, **fields: Any) -> httpx.Response:
    return await client.post(f"/api/v3/{model_id}", json=fields, headers=AUTH)


async def refusal(client: httpx.AsyncClient, model_id: str, **fields: Any) -> str:
    response = await post(client, model_id, **fields)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 400
    message: str = response.json()["message"]
    return message


async def price(client: httpx.AsyncClient, model_id: str, inputs: dict[str, Any]) -> float:
    response = await client.post(PRICE, json={"model_id": model_id, "inputs": inputs}, headers=AUTH)
    assert response.status_code == 200, response.text
    quoted: float = response.json()["data"]["price"]
    return quoted


# ---- the catalog ---------------------------------------------------------------------------------------------------


async def test_the_catalog_needs_a_key(client: httpx.AsyncClient) -> None:
    response = await client.get(MODELS)
    assert response.status_code == 401
    assert response.json()["code"] == 401


async def test_every_entry_has_wavespeeds_shape_and_a_valid_request_schema(client: httpx.AsyncClient) -> None:
    for model_id, entry in (await catalog(client)).items():
        assert {"model_id", "name", "description", "type", "base_price", "api_schema"} <= set(entry), model_id
        assert isinstance(entry["base_price"], float)
        schema = entry["api_schema"]["api_schemas"][0]["request_schema"]
        assert schema["type"] == "object"
        assert schema["x-order-properties"] == list(schema["properties"])
        assert set(schema["required"]) <= set(schema["properties"])
        Draft202012Validator.check_schema(schema)


async def test_every_qwen_edit_model_is_listed_as_an_image_to_image_model_with_a_prompt(
    client: httpx.AsyncClient,
) -> None:
    listed = await catalog(client)
    for model_id in QWEN_EDIT:
        properties = listed[model_id]["api_schema"]["api_schemas"][0]["request_schema"]["properties"]
        assert listed[model_id]["type"] == "image-to-image"
        assert "prompt" in properties
        assert ("image" in properties) != ("images" in properties), model_id


async def test_the_2025_family_keeps_its_documented_fields_and_prices(client: httpx.AsyncClient) -> None:
    listed = await catalog(client)
    edit = listed["wavespeed-ai/qwen-image/edit"]["api_schema"]["api_schemas"][0]["request_schema"]
    assert sorted(edit["required"]) == ["image", "prompt"]
    assert edit["properties"]["seed"] == {
        "type": "integer",
        "description": "Random seed; -1 picks one.",
        "minimum": -1,
        "maximum": 2147483647,
        "default": -1,
    }
    assert edit["properties"]["size"]["description"] == "W*H, 256-1536 per side"
    assert edit["properties"]["output_format"]["enum"] == ["jpeg", "png", "webp"]
    lora = listed["wavespeed-ai/qwen-image/edit-plus-lora"]["api_schema"]["api_schemas"][0]["request_schema"]
    assert lora["properties"]["loras"]["maxItems"] == 3
    assert lora["properties"]["images"]["maxItems"] == 3
    prices = {model_id: listed[model_id]["base_price"] for model_id in QWEN_EDIT[:6]}
    assert prices == dict(zip(QWEN_EDIT[:6], [0.02, 0.025, 0.02, 0.025, 0.025, 0.025], strict=True))


async def test_alibabas_models_have_neither_delivery_switch(client: httpx.AsyncClient) -> None:
    listed = await catalog(client)
    for model_id in ("alibaba/qwen-image-3.0/edit", "alibaba/qwen-image-3.0-pro/edit"):
        properties = listed[model_id]["api_schema"]["api_schemas"][0]["request_schema"]["properties"]
        assert "enable_sync_mode" not in properties
        assert "enable_base64_output" not in properties
        assert properties["images"]["maxItems"] == 4


async def test_the_models_a_qwen_edit_server_must_refuse_are_listed_too(client: httpx.AsyncClient) -> None:
    listed = await catalog(client)
    for model_id in ("wavespeed-ai/qwen-image/text-to-image", "wavespeed-ai/qwen-image/text-to-image-lora"):
        assert listed[model_id]["type"] == "text-to-image"
        properties = listed[model_id]["api_schema"]["api_schemas"][0]["request_schema"]["properties"]
        assert "image" not in properties
        assert "images" not in properties
    layered = listed["wavespeed-ai/qwen-image/layered"]
    assert layered["type"] == "image-to-image"
    assert "image" in layered["api_schema"]["api_schemas"][0]["request_schema"]["properties"]
    for model_id in ("google/nano-banana/edit", "bytedance/seedream-v4/edit"):
        assert listed[model_id]["type"] == "image-to-image"
        assert "images" in listed[model_id]["api_schema"]["api_schemas"][0]["request_schema"]["properties"]


async def test_the_catalog_fault_answers_500_that_many_times_and_every_fetch_is_logged(
    client: httpx.AsyncClient, state: EmulatorState
) -> None:
    state.update_faults({"catalog_errors": 2})
    assert [(await client.get(MODELS, headers=AUTH)).status_code for _ in range(3)] == [500, 500, 200]
    fetches = [entry for entry in state.request_log() if (entry["method"], entry["path"]) == ("GET", MODELS)]
    assert len(fetches) == 3
    assert all(entry["has_authorization"] for entry in fetches)


# ---- the control route -------------------------------------------------------------------------------------------


async def test_a_model_added_at_run_time_is_listed_served_and_checked_by_its_own_schema(
    client: httpx.AsyncClient, state: EmulatorState
) -> None:
    before = len(await catalog(client))
    added = await client.post(CONTROL, json={"models": [new_entry()]})
    assert added.json() == {"models": before + 1}
    assert (await catalog(client))[NEW_MODEL]["name"] == NEW_MODEL

    accepted = await post(client, NEW_MODEL, prompt="x", image=A, strength=0.5)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["data"]["model"] == NEW_MODEL
    (prediction,) = state.predictions.values()
    assert prediction.input.options == {"strength": 0.5}
    assert prediction.input.images == (A,)
    message = await refusal(client, NEW_MODEL, prompt="x", image=A, strength=1.5)
    assert message == "Invalid parameter 'strength': must be a number from 0 to 1."
    assert await refusal(client, NEW_MODEL, prompt="x", image=A) == "Missing required parameter 'strength'."


async def test_a_removed_model_is_no_longer_listed_nor_served(client: httpx.AsyncClient) -> None:
    await client.post(CONTROL, json={"models": [new_entry()]})
    removed = await client.post(CONTROL, json={"remove": [NEW_MODEL, "wavespeed-ai/qwen-image/edit"]})
    assert removed.status_code == 200
    assert NEW_MODEL not in await catalog(client)
    for model_id in (NEW_MODEL, "wavespeed-ai/qwen-image/edit"):
        gone = await post(client, model_id, prompt="x", image=A, strength=0.5)
        assert gone.status_code == 404
        assert gone.json() == {"code": 404, "message": f"model not found: {model_id}"}


async def test_an_entry_replaces_the_one_with_its_model_id_and_a_reset_restores_the_built_in_catalog(
    client: httpx.AsyncClient,
) -> None:
    built_in = await catalog(client)
    replacement = {**new_entry(price=0.5), "model_id": "wavespeed-ai/qwen-image/edit"}
    assert (await client.post(CONTROL, json={"models": [replacement]})).json() == {"models": len(built_in)}
    assert await price(client, "wavespeed-ai/qwen-image/edit", {}) == 0.5
    await client.post("/_emulator/reset")
    assert await catalog(client) == built_in
    assert await price(client, "wavespeed-ai/qwen-image/edit", {}) == 0.02


MALFORMED: list[object] = [
    [],
    {},
    {"models": new_entry()},
    {"models": [new_entry()], "other": 1},
    {"models": [{**new_entry(), "model_id": "no-owner"}]},
    {"models": [{**new_entry(), "base_price": "cheap"}]},
    {"models": [{**new_entry(), "base_price": True}]},
    {"models": [{**new_entry(), "formula": "base_price * megapixels"}]},
    {"models": [{**new_entry(), "api_schema": {"api_schemas": []}}]},
    {"models": [{**new_entry(), "api_schema": {"api_schemas": [{"request_schema": {"type": "object"}}]}}]},
    {"models": [{**new_entry(), "api_schema": {"api_schemas": [{"request_schema": {"properties": {}, "type": 5}}]}}]},
    {"models": [new_entry()], "remove": ["nobody/has-this"]},
    {"remove": [5]},
]


@pytest.mark.parametrize("body", MALFORMED, ids=repr)
async def test_a_malformed_change_is_refused_with_400_and_changes_nothing(
    client: httpx.AsyncClient, body: object
) -> None:
    before = await catalog(client)
    response = await client.post(CONTROL, json=body)
    assert response.status_code == 400
    assert response.json()["error"]
    assert await catalog(client) == before


# ---- every submit checked against its model's schema -------------------------------------------------------------

TEN = "wavespeed-ai/qwen-image-2.1/edit"
ANGLES = "wavespeed-ai/qwen-image/edit-multiple-angles"
STEPS = "Invalid parameter 'num_inference_steps': must be an integer from 1 to 50."


@pytest.mark.parametrize(
    ("model_id", "fields", "says"),
    [
        (TEN, {"num_inference_steps": 1.5}, STEPS),
        (TEN, {"num_inference_steps": True}, STEPS),
        (TEN, {"num_inference_steps": 51}, STEPS),
        (TEN, {"guidance_scale": 10.5}, "Invalid parameter 'guidance_scale': must be a number from 1 to 10."),
        (TEN, {"guidance_scale": "4"}, "Invalid parameter 'guidance_scale': must be a number from 1 to 10."),
        (TEN, {"output_format": "gif"}, "Invalid parameter 'output_format': must be one of jpeg, png, webp."),
        (TEN, {"images": [A] * 11}, "Invalid parameter 'images': must be an array of 1 to 10 non-empty strings."),
        (TEN, {"images": []}, "Invalid parameter 'images': must be an array of 1 to 10 non-empty strings."),
        (TEN, {"enable_sync_mode": "yes"}, "Invalid parameter 'enable_sync_mode': must be a boolean."),
        (
            TEN,
            {"size": "2048*1024"},
            "Invalid parameter 'size': must be a string \"W*H\" with each side an integer from 256 to 1536.",
        ),
        (ANGLES, {"horizontal_angle": None}, "Missing required parameter 'horizontal_angle'."),
        (
            ANGLES,
            {"horizontal_angle": 181},
            "Invalid parameter 'horizontal_angle': must be an integer from -180 to 180.",
        ),
        (ANGLES, {"horizontal_angle": 0, "zoom": 0.4}, "Invalid parameter 'zoom': must be a number from 0.5 to 2."),
    ],
    ids=repr,
)
async def test_each_rule_of_the_models_schema_is_enforced_with_a_400_naming_the_field(
    client: httpx.AsyncClient, state: EmulatorState, model_id: str, fields: dict[str, Any], says: str
) -> None:
    inputs: dict[str, Any] = {"image": A} if model_id == ANGLES else {"images": [A]}
    body = {k: v for k, v in {"prompt": "x", **inputs, **fields}.items() if v is not None}
    assert await refusal(client, model_id, **body) == says
    assert state.predictions == {}


async def test_a_models_own_fields_at_their_bounds_are_accepted_and_kept_as_options(
    client: httpx.AsyncClient, state: EmulatorState
) -> None:
    response = await post(
        client, TEN, prompt="x", images=[A] * 10, guidance_scale=10, num_inference_steps=1, strength=9
    )
    assert response.status_code == 200, response.text
    (prediction,) = state.predictions.values()
    assert prediction.input.images == (A,) * 10
    assert prediction.input.options == {"guidance_scale": 10, "num_inference_steps": 1}  # unknown fields are ignored


async def test_the_camera_model_needs_no_prompt_and_keeps_its_angles(
    client: httpx.AsyncClient, state: EmulatorState
) -> None:
    response = await post(client, ANGLES, image=A, horizontal_angle=-180, vertical_angle=90, zoom=2)
    assert response.status_code == 200, response.text
    (prediction,) = state.predictions.values()
    assert prediction.input.prompt == ""
    assert prediction.input.options == {"horizontal_angle": -180, "vertical_angle": 90, "zoom": 2}


async def test_a_model_without_sync_mode_ignores_it_and_answers_at_once(
    client: httpx.AsyncClient, state: EmulatorState
) -> None:
    response = await post(client, "alibaba/qwen-image-3.0/edit", prompt="x", images=[A] * 4, enable_sync_mode=True)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "created"
    (prediction,) = state.predictions.values()
    assert (prediction.input.enable_sync_mode, prediction.input.options) == (False, {})


async def test_the_max_model_renders_at_the_width_and_height_it_was_sent(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    assert "width" in (await refusal(client, "wavespeed-ai/qwen-image-max/edit", prompt="x", images=[A], width=511))
    response = await post(client, "wavespeed-ai/qwen-image-max/edit", prompt="x", images=[A], width=512, height=640)
    assert response.status_code == 200, response.text
    clock.advance(10)
    (url,) = (await result(client, response.json()["data"]["id"]))["outputs"]
    assert open_image((await client.get(local_path(url))).content).size == (512, 640)


# ---- prices --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("wavespeed-ai/qwen-image-2.0/edit", 0.03),
        ("wavespeed-ai/qwen-image-2.0-pro/edit", 0.05),
        ("alibaba/qwen-image-3.0-pro/edit", 0.06),
        ("wavespeed-ai/qwen-image/edit-2509-multiple-angles", 0.025),
    ],
)
async def test_a_quote_is_the_models_base_price(client: httpx.AsyncClient, model_id: str, expected: float) -> None:
    assert await price(client, model_id, {"images": [A, A]}) == expected


async def test_a_per_image_model_is_quoted_and_charged_per_input_image(client: httpx.AsyncClient) -> None:
    model_id = "wavespeed-ai/qwen-image-max/edit"
    assert (await catalog(client))[model_id]["formula"] == "base_price * images"
    assert await price(client, model_id, {}) == 0.07
    assert await price(client, model_id, {"images": [A, A, A]}) == 0.21
    assert (await post(client, model_id, prompt="x", images=[A] * 4)).status_code == 200
    balance = await client.get("/api/v3/balance", headers=AUTH)
    assert balance.json()["data"]["balance"] == 9_999.72


async def test_the_price_fault_overrides_every_models_price_but_an_unknown_model_is_still_refused(
    client: httpx.AsyncClient, state: EmulatorState
) -> None:
    state.update_faults({"price_usd": 0.5})
    assert await price(client, "wavespeed-ai/qwen-image-max/edit", {"images": [A, A, A]}) == 0.5
    assert await price(client, TEN, {}) == 0.5
    unknown = await client.post(PRICE, json={"model_id": NEW_MODEL, "inputs": {}}, headers=AUTH)
    assert unknown.status_code == 400
    await client.post(CONTROL, json={"models": [new_entry()]})
    assert await price(client, NEW_MODEL, {}) == 0.5
