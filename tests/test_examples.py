"""Every example runs: host configs launched as their hosts would, the clients and the tool-calling chain end to end
against the emulator (and, for the chain, a scripted stand-in for an OpenAI-compatible model endpoint)."""

from __future__ import annotations

import io
import json
import re
import shlex
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from PIL import Image
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fakes import API_KEY, SCAN
from http_harness import TOKEN, http_client, http_server
from qwen_image_edit_mcp.config import HttpSettings, Settings
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from qwen_image_edit_mcp.emulator.loopback import base_url, loopback_socket, serving
from tooling import REPO, VENV_BIN, host_env, require

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(600)]
EXAMPLES = REPO / "examples"
HOSTS = EXAMPLES / "hosts"
URL_IMAGE = "https://example.com/street.jpg"
PLACEHOLDER_CHECKOUT = "/absolute/path/to/qwen-image-edit-mcp/.venv/bin/qwen-image-edit-mcp"


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


def launch_env(emulator: RunningEmulator, tmp_path: Path, given: dict[str, str]) -> dict[str, str]:
    """The config's env with its placeholders replaced, on top of what a GUI host provides."""
    replaced = {
        key: (
            API_KEY
            if "your-wavespeed-key" in value or value.startswith("${input:")
            else str(tmp_path / "edited")
            if "/absolute/path/to/" in value
            else value
        )
        for key, value in given.items()
    }
    return host_env(
        tmp_path / "home", **replaced, WAVESPEED_BASE_URL=emulator.base_url, QWEN_EDIT_CACHE_DIR=str(tmp_path / "cache")
    )


def checkout_or_uvx(command: str, args: list[str]) -> tuple[str, list[str]]:
    """A checkout path becomes this checkout; `uvx qwen-image-edit-mcp` takes the package from this checkout,
    because it is not on PyPI yet. Everything else is launched as written."""
    if command == PLACEHOLDER_CHECKOUT:
        return str(VENV_BIN / "qwen-image-edit-mcp"), args
    if command == "uvx":
        assert args == ["qwen-image-edit-mcp"]
        return require("uvx"), ["--from", str(REPO), "qwen-image-edit-mcp"]
    raise AssertionError(f"unexpected command {command!r}")


async def edit_through(server: StdioServerParameters) -> dict[str, Any]:
    async with Client(server, read_timeout_seconds=600) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("edit_image", {"image": URL_IMAGE, "prompt": "add a hat"})
    assert tools == {"edit_image", "get_prediction", "list_predictions", "preview_image", "get_balance"}
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


@pytest.mark.parametrize(
    ("file", "servers_key"),
    [
        ("claude_desktop_config.checkout.json", "mcpServers"),
        ("claude_desktop_config.pypi.json", "mcpServers"),
        ("cursor_mcp.json", "mcpServers"),
        ("vscode_mcp.json", "servers"),
    ],
)
async def test_each_host_config_launches_the_server_and_edits(
    emulator: RunningEmulator, tmp_path: Path, file: str, servers_key: str
) -> None:
    config = json.loads((HOSTS / file).read_text())
    (entry,) = config[servers_key].values()
    command, args = checkout_or_uvx(entry["command"], entry.get("args", []))
    server = StdioServerParameters(
        command=command, args=args, env=launch_env(emulator, tmp_path, entry.get("env", {})), cwd="/"
    )
    report = await edit_through(server)
    assert report["status"] == "completed"
    if file == "vscode_mcp.json":
        assert entry["type"] == "stdio"
        assert config["inputs"][0]["password"] is True


async def test_the_claude_code_lines_launch_and_connect(emulator: RunningEmulator, tmp_path: Path) -> None:
    lines = [line for line in (HOSTS / "claude_code.sh").read_text().splitlines() if line.startswith("claude mcp add")]
    assert len(lines) == 4
    for line in lines:
        words = shlex.split(line)
        if "--transport" in words:
            # The remote form: the same URL shape and header our HTTP server takes, tried against it for real.
            assert words[words.index("--transport") + 1] == "http"
            assert words[-2:] == ["--header", "Authorization: Bearer your-token"]
            settings = Settings(api_key=SecretStr(API_KEY), base_url=emulator.base_url, cache_dir=tmp_path / "cache")
            secured = HttpSettings(auth_token=SecretStr(TOKEN))
            async with http_server(settings, secured) as url, http_client(url) as client:
                assert len((await client.list_tools()).tools) == 5
            assert words[words.index("http") + 2].endswith("/mcp")
            continue
        separator = words.index("--")
        env = dict(words[i + 1].split("=", 1) for i, word in enumerate(words[:separator]) if word == "--env")
        command, args = checkout_or_uvx(words[separator + 1], words[separator + 2 :])
        report = await edit_through(
            StdioServerParameters(command=command, args=args, env=launch_env(emulator, tmp_path, env), cwd="/")
        )
        assert report["status"] == "completed"


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
    assert set(functions) == {"edit_image", "get_prediction", "list_predictions", "get_balance"}
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
