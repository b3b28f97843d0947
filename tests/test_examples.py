"""Every example runs: the clients and the tool-calling chain end to end against the emulator (and, for the chain, a
scripted stand-in for an OpenAI-compatible model endpoint). The host configs are launched in test_hosts.py."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import anyio
import pytest
from PIL import Image
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fakes import API_KEY, SCAN
from http_harness import TOKEN, free_port, http_server
from qwen_image_edit_mcp.config import HttpSettings, Settings
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from qwen_image_edit_mcp.emulator.loopback import base_url, loopback_socket, serving
from tooling import REPO, host_env

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(600)]
EXAMPLES = REPO / "examples"
URL_IMAGE = "https://example.com/street.jpg"


@pytest.fixture
async def emulator() -> AsyncGenerator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.3)) as running:
        yield running


def photo(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), "olive").save(buffer, "PNG")
    (folder / "photo.png").write_bytes(buffer.getvalue())
    return folder / "photo.png"


async def run_example(script: str, *args: str, env: dict[str, str]) -> str:
    done = await anyio.run_process([sys.executable, str(EXAMPLES / script), *args], env=env, check=False)
    output = done.stdout.decode() + done.stderr.decode()
    SCAN.add(output)
    assert done.returncode == 0, output
    return output


async def test_edit_with_client_edits_a_local_image_and_saves_it(emulator: RunningEmulator, tmp_path: Path) -> None:
    image = photo(tmp_path / "Pictures")
    out = tmp_path / "result.jpeg"
    env = host_env(
        tmp_path / "home",
        WAVESPEED_API_KEY=API_KEY,
        WAVESPEED_BASE_URL=emulator.base_url,
        QWEN_EDIT_CACHE_DIR=str(tmp_path / "cache"),
    )
    output = await run_example("edit_with_client.py", str(image), "add a red umbrella", "--out", str(out), env=env)
    assert "submitted: prediction" in output
    with Image.open(out) as edited:
        assert edited.size == (160, 120)
    assert [e["path"] for e in emulator.state.request_log() if e["path"].startswith("/api/v3/media/")]


async def test_http_client_edits_over_streamable_http_with_a_token(emulator: RunningEmulator, tmp_path: Path) -> None:
    settings = Settings(api_key=SecretStr(API_KEY), base_url=emulator.base_url, cache_dir=tmp_path / "cache")
    out = tmp_path / "result.jpeg"
    async with http_server(settings, HttpSettings(auth_token=SecretStr(TOKEN))) as url:
        env = host_env(tmp_path / "home", QWEN_EDIT_URL=f"{url}/mcp", QWEN_EDIT_AUTH_TOKEN=TOKEN)
        output = await run_example("http_client.py", URL_IMAGE, "add a kite", "--out", str(out), env=env)
    assert "Edit completed" in output
    with Image.open(out) as edited:
        assert edited.format == "JPEG"


class StandInModel:
    """A scripted OpenAI-compatible chat endpoint: first it asks for edit_image, then it answers with the URL."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.authorization: list[str | None] = []

    def app(self) -> Starlette:
        async def completions(request: Request) -> JSONResponse:
            body: dict[str, Any] = await request.json()
            self.requests.append(body)
            self.authorization.append(request.headers.get("authorization"))
            last = body["messages"][-1]
            if last["role"] == "user":
                call = {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "edit_image",
                        "arguments": json.dumps({"image": URL_IMAGE, "prompt": "make the sky a sunset"}),
                    },
                }
                message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
            else:
                found = re.search(r"https?://\S+/outputs/\S+?\.jpeg", last["content"])
                message = {
                    "role": "assistant",
                    "content": f"Done! Your edited image: {found.group(0) if found else '?'}",
                }
            return JSONResponse({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": message}]})

        return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


async def test_the_tool_calling_chain_runs_model_tool_model_until_an_answer(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    model = StandInModel()
    sock = loopback_socket()
    url = base_url(sock)
    async with serving(model.app(), sock):
        env = host_env(
            tmp_path / "home",
            OPENAI_BASE_URL=f"{url}/v1",
            OPENAI_API_KEY="sk-stand-in",
            OPENAI_MODEL="stand-in-1",
            WAVESPEED_API_KEY=API_KEY,
            WAVESPEED_BASE_URL=emulator.base_url,
            QWEN_EDIT_CACHE_DIR=str(tmp_path / "cache"),
        )
        output = await run_example("tool_calling_chain.py", f"Make the sky in {URL_IMAGE} a sunset", env=env)
    first, second = model.requests
    functions = {tool["function"]["name"]: tool["function"] for tool in first["tools"]}
    assert set(functions) == {"edit_image", "get_prediction", "list_predictions", "get_balance", "list_models"}
    assert all(tool["type"] == "function" for tool in first["tools"])
    assert functions["edit_image"]["parameters"]["required"] == ["prompt"]
    assert "images" in functions["edit_image"]["parameters"]["properties"]
    assert first["model"] == "stand-in-1"
    assert model.authorization == ["Bearer sk-stand-in", "Bearer sk-stand-in"]
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["tool_call_id"] == "call_1"
    (prediction_id,) = emulator.state.predictions
    assert prediction_id in tool_message["content"]
    assert f"assistant: Done! Your edited image: {emulator.base_url}/outputs/{prediction_id}" in output


async def run_failing_example(script: str, *args: str, env: dict[str, str]) -> str:
    """A run that must fail with one line of its own on stderr (beside the server's log), and no traceback."""
    done = await anyio.run_process([sys.executable, str(EXAMPLES / script), *args], env=env, check=False)
    stderr = done.stderr.decode()
    SCAN.add(done.stdout.decode() + stderr)
    assert done.returncode == 1
    assert "Traceback" not in stderr
    (line,) = [line for line in stderr.splitlines() if line.startswith(Path(script).stem + ":")]
    return line


async def test_http_client_names_a_refused_token_in_one_line(emulator: RunningEmulator, tmp_path: Path) -> None:
    settings = Settings(api_key=SecretStr(API_KEY), base_url=emulator.base_url, cache_dir=tmp_path / "cache")
    async with http_server(settings, HttpSettings(auth_token=SecretStr(TOKEN))) as url:
        env = host_env(tmp_path / "home", QWEN_EDIT_URL=f"{url}/mcp", QWEN_EDIT_AUTH_TOKEN="not-the-token-0123456789")
        line = await run_failing_example("http_client.py", URL_IMAGE, "add a kite", env=env)
    assert line == (
        f"http_client: {url}/mcp: 401 Unauthorized: the server refused the token; check QWEN_EDIT_AUTH_TOKEN "
        "(it must be the server's token)"
    )
    assert not emulator.state.predictions


async def test_http_client_names_a_server_that_is_not_there_in_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    env = host_env(tmp_path / "home", QWEN_EDIT_URL=url, QWEN_EDIT_AUTH_TOKEN=TOKEN)
    line = await run_failing_example("http_client.py", URL_IMAGE, "add a kite", env=env)
    assert line.startswith(f"http_client: cannot connect to {url}: is the server running there?")


async def test_the_tool_calling_chain_runs_offline_with_its_scripted_stand_in_model(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    env = host_env(
        tmp_path / "home",
        WAVESPEED_API_KEY=API_KEY,
        WAVESPEED_BASE_URL=emulator.base_url,
        QWEN_EDIT_CACHE_DIR=str(tmp_path / "cache"),
    )
    output = await run_example("tool_calling_chain.py", f"Make the sky in {URL_IMAGE} a sunset", env=env)
    assert "model: the scripted stand-in (stand_in_model.py)" in output
    arguments = {"image": URL_IMAGE, "prompt": "Make the sky in the image a sunset"}
    assert f"tool call: edit_image({json.dumps(arguments)})" in output
    (prediction_id,) = emulator.state.predictions
    assert f"assistant: Done! Your edited image: {emulator.base_url}/outputs/{prediction_id}" in output


async def test_the_tool_calling_chain_names_a_refused_model_key_in_one_line(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    async def refuse(request: Request) -> JSONResponse:
        return JSONResponse({"error": {"message": "Incorrect API key provided"}}, status_code=401)

    sock = loopback_socket()
    url = base_url(sock)
    async with serving(Starlette(routes=[Route("/v1/chat/completions", refuse, methods=["POST"])]), sock):
        env = host_env(
            tmp_path / "home",
            OPENAI_BASE_URL=f"{url}/v1",
            OPENAI_API_KEY="sk-wrong",
            WAVESPEED_API_KEY=API_KEY,
            WAVESPEED_BASE_URL=emulator.base_url,
            QWEN_EDIT_CACHE_DIR=str(tmp_path / "cache"),
        )
        line = await run_failing_example("tool_calling_chain.py", f"Make the sky in {URL_IMAGE} a sunset", env=env)
    assert line == "tool_calling_chain: the model endpoint answered 401: check OPENAI_API_KEY"
