"""Every host config in examples/hosts, started as its host starts it: its absolute command, a bare PATH and `/` as
the working directory. The checkout form runs from this checkout's environment and from a wheel installed into a
fresh one; the PyPI form (for a published release) runs through uvx with the package taken from this checkout."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from pydantic import SecretStr

from fakes import API_KEY, MODEL_TOOLS, AppsSupport
from http_harness import TOKEN, http_client, http_server
from qwen_image_edit_mcp.config import HttpSettings, Settings
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from qwen_image_edit_mcp.surface.viewer import VIEWER_URI
from tooling import REPO, VENV_BIN, host_env, require

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(600)]
HOSTS = REPO / "examples" / "hosts"
URL_IMAGE = "https://example.com/street.jpg"
CHECKOUT = "/absolute/path/to/qwen-image-edit-mcp/.venv/bin/qwen-image-edit-mcp"
UVX = "/absolute/path/to/uvx"
CONFIGS = [
    ("claude_desktop_config.checkout.json", "mcpServers"),
    ("cursor_mcp.checkout.json", "mcpServers"),
    ("vscode_mcp.checkout.json", "servers"),
    ("claude_desktop_config.pypi.json", "mcpServers"),
    ("cursor_mcp.pypi.json", "mcpServers"),
    ("vscode_mcp.pypi.json", "servers"),
]


@pytest.fixture
async def emulator() -> AsyncGenerator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.3)) as running:
        yield running


@pytest.fixture(scope="module")
def wheel_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server installed from a wheel of this checkout into a fresh environment: what `pip install <wheel>`
    gives a user who has no checkout."""
    uv = require("uv")
    work = tmp_path_factory.mktemp("wheel")
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(Path.home()), "UV_SYSTEM_CERTS": "1"}

    async def build() -> None:
        # Built as the README says; installed with uv only because it is faster than pip at the same job.
        pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(work / "dist"), str(REPO)]
        await anyio.run_process(pip_wheel, env=dict(os.environ))
        (wheel,) = (work / "dist").glob("*.whl")
        await anyio.run_process([uv, "venv", "--quiet", str(work / "venv")], env=env)
        await anyio.run_process([uv, "pip", "install", "--quiet", "--python", str(work / "venv"), str(wheel)], env=env)

    anyio.run(build)
    return work / "venv" / "bin" / "qwen-image-edit-mcp"


def launch_env(emulator: RunningEmulator, tmp_path: Path, given: dict[str, str]) -> dict[str, str]:
    """The config's env with its placeholders filled in, on top of what a GUI host provides."""
    filled = {
        key: API_KEY
        if "your-wavespeed-key" in value or value.startswith("${input:")
        else str(tmp_path / "edited")
        if "/absolute/path/to/" in value
        else value
        for key, value in given.items()
    }
    return host_env(
        tmp_path / "home", **filled, WAVESPEED_BASE_URL=emulator.base_url, QWEN_EDIT_CACHE_DIR=str(tmp_path / "cache")
    )


def as_installed(command: str, args: list[str], checkout: Path) -> tuple[str, list[str]]:
    """The placeholders a user fills in: the installed server, or uvx (which takes the package from this checkout,
    as it is not on PyPI yet)."""
    assert Path(command).is_absolute(), f"{command}: GUI hosts start servers with a bare PATH"
    if command == CHECKOUT:
        assert args == []
        return str(checkout), args
    assert (command, args) == (UVX, ["qwen-image-edit-mcp"])
    return require("uvx"), ["--from", str(REPO), "qwen-image-edit-mcp"]


async def edit_through(server: StdioServerParameters) -> dict[str, Any]:
    async with Client(server, read_timeout_seconds=600) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("edit_image", {"image": URL_IMAGE, "prompt": "add a hat"})
    assert tools == MODEL_TOOLS
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


@pytest.mark.parametrize(("file", "servers_key"), CONFIGS)
async def test_each_host_config_starts_as_its_host_starts_it_and_edits(
    emulator: RunningEmulator, tmp_path: Path, file: str, servers_key: str
) -> None:
    config = json.loads((HOSTS / file).read_text())
    (entry,) = config[servers_key].values()
    command, args = as_installed(entry["command"], entry.get("args", []), VENV_BIN / "qwen-image-edit-mcp")
    env = launch_env(emulator, tmp_path, entry.get("env", {}))
    report = await edit_through(StdioServerParameters(command=command, args=args, env=env, cwd="/"))
    assert report["status"] == "completed"
    if servers_key == "servers":  # VS Code: a stdio server whose key is prompted for and kept as a secret
        assert entry["type"] == "stdio"
        assert config["inputs"][0]["password"] is True


@pytest.mark.parametrize("file", [file for file, _ in CONFIGS if ".checkout." in file])
async def test_the_checkout_configs_run_a_wheel_installed_anywhere(
    emulator: RunningEmulator, tmp_path: Path, wheel_install: Path, file: str
) -> None:
    config = json.loads((HOSTS / file).read_text())
    (entry,) = config["servers" if file.startswith("vscode") else "mcpServers"].values()
    command, args = as_installed(entry["command"], entry["args"], wheel_install)
    env = launch_env(emulator, tmp_path, entry.get("env", {}))
    async with Client(StdioServerParameters(command=command, args=args, env=env, cwd="/")) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == MODEL_TOOLS


async def test_a_wheel_ships_the_built_viewer(emulator: RunningEmulator, tmp_path: Path, wheel_install: Path) -> None:
    env = launch_env(emulator, tmp_path, {"WAVESPEED_API_KEY": API_KEY})
    server = StdioServerParameters(command=str(wheel_install), env=env, cwd="/")
    async with Client(server, extensions=[AppsSupport()]) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        read = await client.read_resource(VIEWER_URI)
    [content] = read.contents
    shipped = REPO / "server" / "qwen_image_edit_mcp" / "surface" / "view" / "viewer.html"
    assert "preview_image" in listed
    assert getattr(content, "text", None) == shipped.read_text(encoding="utf-8")  # not the placeholder page


async def test_the_claude_code_lines_launch_and_connect(emulator: RunningEmulator, tmp_path: Path) -> None:
    lines = [line for line in (HOSTS / "claude_code.sh").read_text().splitlines() if line.startswith("claude mcp add")]
    assert len(lines) == 4
    first = shlex.split(lines[0])
    assert first[first.index("--") + 1] == CHECKOUT  # the form that works today comes first
    for line in lines:
        words = shlex.split(line)
        if "--transport" in words:
            # The remote form: the same URL shape and header our HTTP server takes, tried against it for real.
            assert words[words.index("--transport") + 1] == "http"
            assert words[-2:] == ["--header", "Authorization: Bearer your-token"]
            assert words[words.index("http") + 2].endswith("/mcp")
            settings = Settings(api_key=SecretStr(API_KEY), base_url=emulator.base_url, cache_dir=tmp_path / "cache")
            async with http_server(settings, HttpSettings(auth_token=SecretStr(TOKEN))) as url, http_client(url) as c:
                assert {tool.name for tool in (await c.list_tools()).tools} == MODEL_TOOLS
            continue
        separator = words.index("--")
        env = dict(words[i + 1].split("=", 1) for i, word in enumerate(words[:separator]) if word == "--env")
        command, args = as_installed(words[separator + 1], words[separator + 2 :], VENV_BIN / "qwen-image-edit-mcp")
        server = StdioServerParameters(command=command, args=args, env=launch_env(emulator, tmp_path, env), cwd="/")
        assert (await edit_through(server))["status"] == "completed"


def test_the_readme_links_every_host_config_and_marks_the_pypi_form_as_for_a_release() -> None:
    readme = (REPO / "README.md").read_text()
    for path in HOSTS.iterdir():
        assert f"(examples/hosts/{path.name})" in readme, path.name
    rows = [line for line in readme.splitlines() if line.startswith("|") and ".pypi.json" in line]
    assert rows
    assert all("once published" in row for row in rows)


@pytest.mark.parametrize(("file", "servers_key"), CONFIGS)
def test_each_host_config_shows_the_optional_spend_limit_and_confirm_mode(file: str, servers_key: str) -> None:
    (entry,) = json.loads((HOSTS / file).read_text())[servers_key].values()
    assert entry["env"]["QWEN_EDIT_MAX_SPEND_USD"] == "5"
    assert entry["env"]["QWEN_EDIT_CONFIRM_SPEND"] == "above:0.02"
