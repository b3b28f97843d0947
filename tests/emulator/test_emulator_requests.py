"""Who the emulator lets in and what it refuses: the key, each documented rule of the submit body, unknown API paths;
and the root page that says it is an emulator. Through the in-memory client."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_helpers import AUTH, SUBMIT, submit

from qwen_image_edit_mcp.emulator import EmulatorState

pytestmark = pytest.mark.anyio

VALID: dict[str, Any] = {"prompt": "add a red hat", "image": "https://example.com/cat.png"}


async def test_a_submit_without_a_key_is_refused_with_401(client: httpx.AsyncClient) -> None:
    response = await client.post(SUBMIT, json=VALID)

    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert response.json()["message"].startswith("Unauthorized: invalid or missing API key.")


@pytest.mark.parametrize("authorization", ["Bearer wrong-key", "Bearer ", "Basic abc", "emulator-test-key-0123456789"])
async def test_a_wrong_key_or_scheme_is_refused_with_401(client: httpx.AsyncClient, authorization: str) -> None:
    response = await client.post(SUBMIT, json=VALID, headers={"Authorization": authorization})

    assert response.status_code == 401


async def test_a_result_request_without_a_key_is_refused_with_401(client: httpx.AsyncClient) -> None:
    data = await submit(client)

    response = await client.get(f"/api/v3/predictions/{data['id']}/result")

    assert response.status_code == 401


async def test_with_no_configured_key_any_bearer_token_is_accepted(client: httpx.AsyncClient, state: EmulatorState):
    state.config.api_key = None

    response = await client.post(SUBMIT, json=VALID, headers={"Authorization": "Bearer anything"})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"image": "https://example.com/a.png"}, "prompt"),
        ({"prompt": 5, "image": "https://example.com/a.png"}, "prompt"),
        ({"prompt": "   ", "image": "https://example.com/a.png"}, "prompt"),
        ({"prompt": "x"}, "image"),
        ({"prompt": "x", "image": ""}, "image"),
        ({"prompt": "x", "image": ["https://example.com/a.png"]}, "image"),
        ({**VALID, "size": "1024x1024"}, "size"),
        ({**VALID, "size": "255*1024"}, "size"),
        ({**VALID, "size": "1024*1537"}, "size"),
        ({**VALID, "size": "1024.5*1024"}, "size"),
        ({**VALID, "size": 1024}, "size"),
        ({**VALID, "size": None}, "size"),
        ({**VALID, "seed": -2}, "seed"),
        ({**VALID, "seed": 2147483648}, "seed"),
        ({**VALID, "seed": 1.0}, "seed"),
        ({**VALID, "seed": True}, "seed"),
        ({**VALID, "seed": "42"}, "seed"),
        ({**VALID, "output_format": "gif"}, "output_format"),
        ({**VALID, "output_format": "JPEG"}, "output_format"),
        ({**VALID, "enable_base64_output": "true"}, "enable_base64_output"),
        ({**VALID, "enable_sync_mode": 1}, "enable_sync_mode"),
    ],
)
async def test_each_documented_rule_is_enforced_with_a_400_naming_the_field(
    client: httpx.AsyncClient, state: EmulatorState, body: dict[str, Any], field: str
) -> None:
    response = await client.post(SUBMIT, json=body, headers=AUTH)

    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert f"'{field}'" in response.json()["message"]
    assert state.predictions == {}


@pytest.mark.parametrize("content", [b"[1, 2]", b"not json", b'"prompt"'])
async def test_a_body_that_is_not_a_json_object_is_refused_with_400(client: httpx.AsyncClient, content: bytes) -> None:
    response = await client.post(SUBMIT, content=content, headers={**AUTH, "Content-Type": "application/json"})

    assert response.status_code == 400
    assert "JSON object" in response.json()["message"]


@pytest.mark.parametrize(
    "extra",
    [
        {"size": "256*1536", "seed": -1},
        {"size": "1536*256", "seed": 2147483647, "output_format": "webp"},
        {"enable_base64_output": False, "enable_sync_mode": False, "guidance_scale": 4},
    ],
)
async def test_boundary_values_and_unknown_fields_are_accepted(client: httpx.AsyncClient, extra: dict[str, Any]):
    response = await client.post(SUBMIT, json={**VALID, **extra}, headers=AUTH)

    assert response.status_code == 200


async def test_a_chinese_prompt_is_accepted_and_logged_verbatim(client: httpx.AsyncClient, state: EmulatorState):
    data = await submit(client, prompt="把天空变成紫色，并在左上角写上“你好”")

    assert data["status"] == "created"
    assert state.request_log()[0]["json"]["prompt"] == "把天空变成紫色，并在左上角写上“你好”"


OTHER_PATHS = ["/api/v3/account/balance", "/api/v3/wavespeed-ai/no-such-model", "/api/v3/predictions/x/y"]


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", [*OTHER_PATHS, "/api/v3/no-owner"])
async def test_other_api_paths_answer_a_404_envelope_for_every_method_and_are_logged(
    client: httpx.AsyncClient, state: EmulatorState, caplog: pytest.LogCaptureFixture, method: str, path: str
) -> None:
    response = await client.request(method, path, headers=AUTH, json={"prompt": "x"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"code": 404, "message": "Not Found"}
    assert (state.request_log()[-1]["method"], state.request_log()[-1]["path"]) == (method, path)
    assert f"no WaveSpeed route for {method} {path}" in caplog.text


@pytest.mark.parametrize("path", OTHER_PATHS)
async def test_a_post_to_another_api_path_is_a_submit_to_a_model_the_catalog_lacks(
    client: httpx.AsyncClient, state: EmulatorState, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    response = await client.post(path, headers=AUTH, json={"prompt": "x"})

    model_id = path.removeprefix("/api/v3/")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"code": 404, "message": f"model not found: {model_id}"}
    assert (state.request_log()[-1]["method"], state.request_log()[-1]["path"]) == ("POST", path)
    assert f"no model {model_id} in the catalog" in caplog.text
    assert state.predictions == {}


async def test_the_root_page_says_it_is_an_emulator(client: httpx.AsyncClient) -> None:
    response = await client.get("/")

    assert response.status_code == 200
    assert "EMULATOR" in response.text
    assert "NOT the real WaveSpeed service" in response.text
    assert response.headers["X-WaveSpeed-Emulator"] == "1"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "evil.example"}, 421),  # DNS rebinding: a foreign name that resolves to 127.0.0.1
        ({"Host": "127.0.0.1:8765", "Origin": "https://evil.example"}, 403),
        ({"Host": "localhost:8765", "Origin": "http://localhost:3000"}, 200),
        ({"Host": "127.0.0.1:8765"}, 200),
    ],
)
async def test_the_control_api_answers_only_local_callers(
    client: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    # text/plain: the kind of POST a web page may send anywhere without a CORS preflight.
    response = await client.post(
        "/_emulator/faults", content='{"hold": true}', headers={"Content-Type": "text/plain", **headers}
    )
    assert response.status_code == status
