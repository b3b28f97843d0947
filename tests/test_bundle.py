"""The Claude Desktop bundle: manifest.json agrees with the server, validates, packs, and the packed bundle launches
exactly as its mcp_config says and edits."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from PIL import Image

from fakes import API_KEY, APP_TOOLS, MODEL_TOOLS, AppsSupport
from harness import uploads_remembered
from qwen_image_edit_mcp import __version__
from qwen_image_edit_mcp.config import Settings
from qwen_image_edit_mcp.emulator import EmulatorConfig, running_emulator
from qwen_image_edit_mcp.folders import default_cache_dir
from qwen_image_edit_mcp.surface.server import create_server
from tooling import REPO, host_env, require

MANIFEST: dict[str, Any] = json.loads((REPO / "manifest.json").read_text())
MCPB = "@anthropic-ai/mcpb@2.1.2"


@pytest.mark.anyio
async def test_the_manifest_lists_exactly_the_tools_the_server_registers() -> None:
    async with Client(create_server(Settings()), extensions=[AppsSupport()]) as client:
        registered = {tool.name for tool in (await client.list_tools()).tools}
    assert registered == APP_TOOLS
    assert {tool["name"] for tool in MANIFEST["tools"]} == registered
    assert all(tool["description"].strip() for tool in MANIFEST["tools"])


def test_the_manifest_version_is_the_package_version() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert MANIFEST["version"] == pyproject["project"]["version"] == __version__


def test_user_config_is_complete_and_every_reference_is_defined() -> None:
    config = MANIFEST["user_config"]
    assert config["wavespeed_api_key"]["sensitive"] is True
    assert config["wavespeed_api_key"]["required"] is True
    assert config["allowed_directory"]["type"] == config["output_directory"]["type"] == "directory"
    assert config["wait_seconds"]["type"] == "number"
    assert config["base_url"]["required"] is False
    env = MANIFEST["server"]["mcp_config"]["env"]
    referenced = {m for value in env.values() for m in re.findall(r"\$\{user_config\.(\w+)\}", value)}
    assert referenced == set(config)
    assert set(env) == {
        "UV_PROJECT_ENVIRONMENT",
        "WAVESPEED_API_KEY",
        "WAVESPEED_BASE_URL",
        "QWEN_EDIT_ALLOWED_DIRS",
        "QWEN_EDIT_OUTPUT_DIR",
        "QWEN_EDIT_WAIT_SECONDS",
        "QWEN_EDIT_MAX_SPEND_USD",
        "QWEN_EDIT_CONFIRM_SPEND",
    }
    assert config["max_spend_usd"]["type"] == "number"
    assert config["max_spend_usd"]["required"] is config["confirm_spend"]["required"] is False
    assert MANIFEST["privacy_policies"] == ["https://wavespeed.ai/privacy"]
    with Image.open(REPO / MANIFEST["icon"]) as icon:
        assert (icon.format, icon.size) == ("PNG", (512, 512))


def fill(value: str, dirname: Path, user: dict[str, str], home: Path) -> str:
    """What the host does to mcp_config before launching: ${__dirname}, ${HOME} and ${user_config.*} filled in."""
    value = value.replace("${__dirname}", str(dirname)).replace("${HOME}", str(home))
    return re.sub(r"\$\{user_config\.(\w+)\}", lambda m: user[m.group(1)], value)


# What a checkout holds that is no part of it (environments, caches, build output): not copied, so copying is quick.
NEVER_COPIED = (".venv", ".git", "node_modules", ".node", "dist", "__pycache__", "results", "artifacts")
# What the README's demo and examples leave in the checkout's root, and a picture of the user's own.
STRAY_OUTPUTS = ("edited-0123abcd.jpeg", "edited-umbrella.jpeg", "edited-kite.jpeg", "photo.png", "shot.webp")


def validate_and_pack(npx: str, bundle: Path) -> None:
    """The manifest validates and packs with the official tool, into a bundle holding the server and nothing else."""
    validate = subprocess.run(
        [npx, "-y", MCPB, "validate", "manifest.json"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "Manifest schema validation passes" in validate.stdout
    # Packed from a copy of the checkout as a user's is after the Quick start and the examples: their outputs lie
    # in its root, and neither they nor anything else of the user's may ship.
    checkout = bundle.parent / "checkout"
    shutil.copytree(REPO, checkout, ignore=shutil.ignore_patterns(*NEVER_COPIED), symlinks=True)
    for stray in STRAY_OUTPUTS:
        (checkout / stray).write_bytes((REPO / "assets" / "icon.png").read_bytes())
    pack = subprocess.run(
        [npx, "-y", MCPB, "pack", ".", str(bundle)], cwd=checkout, capture_output=True, text=True, check=False
    )
    assert pack.returncode == 0, pack.stdout + pack.stderr
    names = zipfile.ZipFile(bundle).namelist()
    assert not set(STRAY_OUTPUTS) & set(names)
    # The size the README gives ("about N KB") is the size it packs to, within 15 %.
    stated = re.search(r"pack \. dist/qwen-image-edit-mcp\.mcpb +# about (\d+) KB", (REPO / "README.md").read_text())
    assert stated is not None
    assert abs(bundle.stat().st_size / 1000 - int(stated.group(1))) <= 0.15 * int(stated.group(1))
    print(f"bundle: {bundle.stat().st_size} bytes, {len(names)} files")
    assert {"manifest.json", "pyproject.toml", "uv.lock", "LICENSE", "README.md", "assets/icon.png"} <= set(names)
    assert "server/qwen_image_edit_mcp/__main__.py" in names
    assert not [
        n for n in names if n.startswith(("tests/", ".venv/", ".git/", ".ci/", "examples/")) or "__pycache__" in n
    ]


@pytest.mark.anyio
@pytest.mark.timeout(900)
async def test_the_bundle_validates_packs_and_launches_as_its_mcp_config_says_and_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    npx = require("npx")
    require("uv")
    bundle = tmp_path / "qwen-image-edit-mcp.mcpb"
    validate_and_pack(npx, bundle)
    unpacked = tmp_path / "installed"
    zipfile.ZipFile(bundle).extractall(unpacked)
    config = json.loads((unpacked / "manifest.json").read_text())["server"]["mcp_config"]
    pictures = tmp_path / "Pictures"
    pictures.mkdir()
    photo = pictures / "photo.png"
    buffer = io.BytesIO()
    Image.new("RGB", (200, 150), "salmon").save(buffer, "PNG")
    photo.write_bytes(buffer.getvalue())
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.3)) as emulator:
        user = {
            "wavespeed_api_key": API_KEY,
            "allowed_directory": str(pictures),
            "output_directory": str(tmp_path / "edited"),
            "wait_seconds": "30",
            "base_url": emulator.base_url,
            "max_spend_usd": "1",
            "confirm_spend": "never",
        }
        home = tmp_path / "home"
        filled = {name: fill(value, unpacked, user, home) for name, value in config["env"].items()}
        env = host_env(home, **filled)
        args = [fill(arg, unpacked, user, home) for arg in config["args"]]
        server = StdioServerParameters(command=config["command"], args=args, env=env, cwd="/")
        # The first launch installs the dependencies (uv run), as it does on a user's machine; from uv's own cache
        # when it is warm, which host_env leaves where the user's uv keeps it.
        async with Client(server, read_timeout_seconds=600) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            result = await client.call_tool("edit_image", {"image": str(photo), "prompt": "add a hat"})
    assert tools == MODEL_TOOLS
    assert not result.is_error, result.content
    report = result.structured_content
    assert report is not None
    (saved,) = report["saved_paths"]
    assert Path(saved).parent == tmp_path / "edited"
    with Image.open(saved) as edited:
        assert edited.size == (200, 150)
    # The bundle sets no cache folder: the upload was remembered in the default one, under the HOME it was given.
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert emulator.base_url in uploads_remembered(default_cache_dir())
    # The first launch installed exactly the locked versions, into an environment outside the extension folder,
    # and left that folder as it was unpacked.
    environment = home / ".cache" / "qwen-image-edit-mcp" / "bundle-env"
    installed = installed_versions(environment)
    assert {"mcp", "starlette", "uvicorn", "pillow", "httpx"} <= installed.keys()
    assert installed.items() <= locked_versions(unpacked / "uv.lock").items()
    assert not (unpacked / ".venv").exists()
    assert (unpacked / "uv.lock").read_bytes() == (REPO / "uv.lock").read_bytes()


def locked_versions(lock: Path) -> dict[str, str]:
    """Every package the lock pins for the server itself (no extras), by name, on any platform."""
    packages = {p["name"]: p for p in tomllib.loads(lock.read_text())["package"]}
    wanted, seen = ["qwen-image-edit-mcp"], set[str]()
    while wanted:
        name = wanted.pop()
        if name not in seen:
            seen.add(name)
            package = packages[name]
            for dependency in package.get("dependencies", []):
                wanted.append(dependency["name"])
                for extra in dependency.get("extra", []):  # e.g. pyjwt[crypto]: its extra's packages too
                    wanted.extend(d["name"] for d in packages[dependency["name"]]["optional-dependencies"][extra])
    return {name: packages[name]["version"] for name in seen - {"qwen-image-edit-mcp"}}


def installed_versions(environment: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for info in environment.glob("lib*/python*/site-packages/*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        found[name.lower().replace("_", "-")] = version
    found.pop("qwen-image-edit-mcp", None)
    return found
