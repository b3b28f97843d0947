"""A server a test launches keeps its upload cache in the test's folder, never in the user's: a cached upload URL
from another run on the same emulator port would be handed to this run's emulator, which never issued it, and the
job would fail with WaveSpeed's 1402 ("failed to download")."""

from __future__ import annotations

import io
import sys
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from PIL import Image

from fakes import API_KEY
from harness import pictures_dir, text_of, uploads_remembered
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from qwen_image_edit_mcp.folders import default_cache_dir
from stdio_harness import stdio_server
from tooling import host_env

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


@pytest.fixture
async def emulator() -> AsyncGenerator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.1)) as running:
        yield running


def photo(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), "teal").save(buffer, "PNG")
    (folder / "photo.png").write_bytes(buffer.getvalue())
    return folder / "photo.png"


def assert_remembered_only_in(cache_dir: Path, emulator: RunningEmulator, users_cache: Path) -> None:
    """This run's uploads (tokens no other run can have) are in the store in `cache_dir`, and not in the user's."""
    tokens = list(emulator.state.uploads)
    assert tokens, "the edit should have uploaded the local photo"
    assert cache_dir.resolve() != users_cache.resolve()
    kept = uploads_remembered(cache_dir)
    assert all(token in kept for token in tokens)
    users = uploads_remembered(users_cache)
    assert not any(token in users for token in tokens)


async def test_a_server_from_the_stdio_harness_keeps_its_uploads_in_the_tests_cache(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    users_cache = default_cache_dir()  # where the user's server keeps its store, as this process sees it
    image = photo(pictures_dir(tmp_path))
    env = {
        "WAVESPEED_API_KEY": API_KEY,
        "WAVESPEED_BASE_URL": emulator.base_url,
        "QWEN_EDIT_ALLOWED_DIRS": str(image.parent),
        "QWEN_EDIT_CACHE_DIR": str(tmp_path / "cache"),
    }
    async with stdio_server(env) as (client, _):
        result = await client.call_tool("edit_image", {"image": str(image), "prompt": "add a hat"})
    assert not result.is_error, text_of(result)
    assert_remembered_only_in(tmp_path / "cache", emulator, users_cache)


async def test_the_stdio_harness_launches_no_server_without_a_cache_of_its_own() -> None:
    with pytest.raises(ValueError, match="QWEN_EDIT_CACHE_DIR"):
        async with stdio_server({"WAVESPEED_API_KEY": API_KEY}):
            pass


async def test_a_server_launched_as_a_host_does_keeps_its_uploads_under_the_home_it_was_given(
    emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users_cache = default_cache_dir()
    home = tmp_path / "home"
    image = photo(home / "Pictures")  # one of the folders a desktop server may read by default
    env = host_env(home, WAVESPEED_API_KEY=API_KEY, WAVESPEED_BASE_URL=emulator.base_url)
    assert "QWEN_EDIT_CACHE_DIR" not in env  # as the bundle and the host configs launch it: the default folder
    server = StdioServerParameters(command=sys.executable, args=["-m", "qwen_image_edit_mcp"], env=env, cwd="/")
    async with Client(server) as client:
        result = await client.call_tool("edit_image", {"image": str(image), "prompt": "add a hat"})
    assert not result.is_error, text_of(result)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert_remembered_only_in(default_cache_dir(), emulator, users_cache)
