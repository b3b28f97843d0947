"""The store end to end, with real processes: the server as stdio subprocesses against the emulator on loopback, the
store in SQLite (a restart) or a real redis-server (two replicas). A masked edit outlives its call and its process,
an upload is made once for two processes, a database held by another process refuses in time with nothing paid, a
Redis that lost its ledger refuses until the operator says so, and a process whose clock is a day ahead cannot widen
the limit."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fakes import API_KEY
from harness import pictures_dir, text_of
from masked_pictures import FEATHER, check_pixels, mask_as, photo
from qwen_image_edit_mcp.emulator import EmulatorConfig, RunningEmulator, running_emulator
from redis_server import PASSWORD, running_redis, unavailable
from state.redis_helpers import flush_all
from stdio_harness import stdio_server

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]
EDIT = {"prompt": "add a hat", "image": "https://example.com/street.jpg", "wait_seconds": 0}
# Debian's libfaketime (apt-get install faketime), whatever the machine's architecture.
FAKETIME_LIBRARY = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), Path("/nonexistent"))


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0.3, balance=5.0)) as running:
        yield running


def env(emulator: RunningEmulator, tmp_path: Path, machine: str, **extra: str) -> dict[str, str]:
    """One process's settings: its own cache and output folders, as on a machine of its own."""
    return {
        "WAVESPEED_API_KEY": API_KEY,
        "WAVESPEED_BASE_URL": emulator.base_url,
        "QWEN_EDIT_OUTPUT_DIR": str(tmp_path / machine / "outputs"),
        "QWEN_EDIT_ALLOWED_DIRS": str(pictures_dir(tmp_path)),
        "QWEN_EDIT_CACHE_DIR": str(tmp_path / machine / "cache"),
        **extra,
    }


def paid(emulator: RunningEmulator) -> int:
    return sum(
        1
        for entry in emulator.state.request_log()
        if entry["method"] == "POST" and entry["path"].startswith("/api/v3/wavespeed-ai/qwen-image/")
    )


def uploads(emulator: RunningEmulator) -> int:
    return sum(1 for entry in emulator.state.request_log() if entry["path"].startswith("/api/v3/media/upload"))


def masked_arguments(tmp_path: Path, emulator: RunningEmulator) -> tuple[Path, dict[str, Any]]:
    source = photo(tmp_path)
    mask = mask_as("file", tmp_path, emulator)
    arguments = {"prompt": "invert it", "image": str(source), "mask": mask, "feather": FEATHER, "wait_seconds": 0}
    return source, arguments


def finished(result: Any) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    assert (report["status"], report["masked"]) == ("completed", True), text_of(result)
    return report


async def test_a_masked_edit_left_pending_is_finished_bit_exact_after_a_restart(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    source, arguments = masked_arguments(tmp_path, emulator)
    settings = env(emulator, tmp_path, "one")
    async with stdio_server(settings) as (client, _):
        started = await client.call_tool("edit_image", arguments)
    assert started.structured_content is not None
    assert started.structured_content["pending"] is True
    prediction_id = started.structured_content["prediction_id"]
    async with stdio_server(settings) as (client, _):  # a new process: only the store remembers the mask
        report = finished(
            await client.call_tool("get_prediction", {"prediction_id": prediction_id, "wait_seconds": 30})
        )
        again = finished(await client.call_tool("get_prediction", {"prediction_id": prediction_id}))
    (saved,) = report["saved_paths"]
    check_pixels(Path(saved), source)
    assert again["outputs"] == report["outputs"]
    assert paid(emulator) == 1


async def test_a_masked_edit_started_on_one_replica_is_finished_by_another_sharing_redis(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    source, arguments = masked_arguments(tmp_path, emulator)
    with running_redis(tmp_path) as url:
        one = env(emulator, tmp_path, "one", QWEN_EDIT_STORE_URL=url)
        two = env(emulator, tmp_path, "two", QWEN_EDIT_STORE_URL=url)
        async with stdio_server(one) as (first, log_one), stdio_server(two) as (second, log_two):
            started = await first.call_tool("edit_image", arguments)
            assert started.structured_content is not None
            prediction_id = started.structured_content["prediction_id"]
            wait = {"prediction_id": prediction_id, "wait_seconds": 30}
            report = finished(await second.call_tool("get_prediction", wait))
            back_on_first = finished(await first.call_tool("get_prediction", wait))
            listed = await first.call_tool("list_predictions", {})
            preview = await second.call_tool("preview_image", {"source": report["outputs"][0]})
    (saved,) = report["saved_paths"]
    check_pixels(Path(saved), source)
    assert back_on_first["outputs"] == report["outputs"]  # the composite the second replica made and kept
    assert listed.structured_content is not None
    assert [p["started_here"] for p in listed.structured_content["predictions"]] == [True]
    assert not preview.is_error, text_of(preview)
    assert PASSWORD not in log_one.text + log_two.text


async def test_an_upload_made_by_one_process_is_reused_by_another(emulator: RunningEmulator, tmp_path: Path) -> None:
    picture = pictures_dir(tmp_path) / "street.png"
    Image.effect_noise((64, 48), 40).convert("RGB").save(picture)
    edit = {**EDIT, "image": str(picture)}
    with running_redis(tmp_path) as url:
        one = env(emulator, tmp_path, "one", QWEN_EDIT_STORE_URL=url)
        two = env(emulator, tmp_path, "two", QWEN_EDIT_STORE_URL=url)
        async with stdio_server(one) as (first, _):
            assert not (await first.call_tool("edit_image", edit)).is_error
        async with stdio_server(two) as (second, _):
            assert not (await second.call_tool("edit_image", edit)).is_error
    assert (uploads(emulator), paid(emulator)) == (1, 2)


async def test_a_database_held_by_another_process_refuses_within_the_wait_with_nothing_paid(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    settings = env(emulator, tmp_path, "one")
    async with stdio_server(settings) as (client, _):
        assert not (await client.call_tool("edit_image", EDIT)).is_error  # the database exists
        database = tmp_path / "one" / "cache" / "store.sqlite3"
        command = [sys.executable, "-c", HOLD_THE_DATABASE, str(database)]
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as holder:
            try:
                assert holder.stdout is not None
                assert holder.stdout.readline().strip() == b"held"
                refused = await client.call_tool("edit_image", EDIT)
            finally:
                holder.kill()
        assert refused.is_error
        assert str(database) in text_of(refused)
        assert "nothing was submitted" in text_of(refused)
        assert not (await client.call_tool("edit_image", EDIT)).is_error  # released: it works again
    assert paid(emulator) == 2


HOLD_THE_DATABASE = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.read()
"""


async def test_a_redis_that_lost_its_ledger_refuses_until_the_operator_acknowledges_it(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    with running_redis(tmp_path) as url:
        settings = env(emulator, tmp_path, "one", QWEN_EDIT_STORE_URL=url, QWEN_EDIT_MAX_SPEND_USD="0.04")
        async with stdio_server(settings) as (client, log):
            ran = [await client.call_tool("edit_image", EDIT) for _ in range(3)]
            assert [result.is_error for result in ran] == [False, False, True]  # the limit is reached
            flush_all(url)  # a restart without persistence, an eviction, a mistake
            lost = await client.call_tool("edit_image", EDIT)
            assert lost.is_error
            assert "lost its data" in text_of(lost)
            assert "--acknowledge-ledger-reset" in text_of(lost)
            assert paid(emulator) == 2
            acknowledged = subprocess.run(
                [sys.executable, "-m", "qwen_image_edit_mcp", "--acknowledge-ledger-reset"],
                env={"PATH": "/usr/bin:/bin", **settings},
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            assert PASSWORD not in acknowledged.stdout + acknowledged.stderr
            assert not (await client.call_tool("edit_image", EDIT)).is_error
        assert PASSWORD not in log.text
    assert paid(emulator) == 3


async def test_a_process_a_day_ahead_cannot_widen_a_limit_shared_in_redis(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    if not FAKETIME_LIBRARY.exists():
        unavailable("libfaketime is not installed (Debian: apt-get install faketime)")
    with running_redis(tmp_path) as url:
        shared = {"QWEN_EDIT_STORE_URL": url, "QWEN_EDIT_MAX_SPEND_USD": "0.06"}
        honest = env(emulator, tmp_path, "one", **shared)
        ahead = env(emulator, tmp_path, "two", **shared, LD_PRELOAD=str(FAKETIME_LIBRARY), FAKETIME="+25h")
        async with stdio_server(honest) as (first, _), stdio_server(ahead) as (second, _):
            spent = [await first.call_tool("edit_image", EDIT) for _ in range(2)]
            more = [await second.call_tool("edit_image", EDIT) for _ in range(2)]
    assert [result.is_error for result in spent + more] == [False, False, False, True]
    assert paid(emulator) == 3


def test_the_faketime_library_really_moves_a_process_a_day_ahead() -> None:
    if not FAKETIME_LIBRARY.exists():
        unavailable("libfaketime is not installed (Debian: apt-get install faketime)")
    script = "import time; print(time.time())"
    now = float(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    moved = subprocess.run(
        [sys.executable, "-c", script],
        env={"LD_PRELOAD": str(FAKETIME_LIBRARY), "FAKETIME": "+25h"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(moved.stdout) - now > 24.9 * 3600
