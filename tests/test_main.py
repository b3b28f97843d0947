"""The command line as users and hosts run it: a real subprocess each time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

import qwen_image_edit_mcp
from qwen_image_edit_mcp import __version__
from qwen_image_edit_mcp.__main__ import parser, settings_from_args


def run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """The server as a host starts it, with a cache folder of its own in the test's tmp_path."""
    return subprocess.run(
        [sys.executable, "-m", "qwen_image_edit_mcp", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "QWEN_EDIT_CACHE_DIR": str(tmp_path / "cache"), **(env or {})},
        cwd="/",
        check=False,
    )


def test_version_prints_and_exits(tmp_path: Path) -> None:
    done = run(tmp_path, "--version")
    assert done.returncode == 0
    assert __version__ in done.stdout


def test_a_bad_setting_stops_start_up_with_a_message_on_stderr_and_nothing_on_stdout(tmp_path: Path) -> None:
    done = run(tmp_path, env={"QWEN_EDIT_WAIT_SECONDS": "forever"})
    assert done.returncode == 2
    assert "QWEN_EDIT_WAIT_SECONDS" in done.stderr
    assert done.stdout == ""


def test_the_stdio_server_ends_cleanly_when_its_host_closes_stdin_and_prints_nothing_but_protocol(
    tmp_path: Path,
) -> None:
    done = run(tmp_path, env={"WAVESPEED_API_KEY": "sk-cli-test-123456"})
    assert done.returncode == 0
    assert done.stdout == ""
    assert "sk-cli-test-123456" not in done.stderr


def serving_modules() -> list[str]:
    """Every module of the package outside the dev wing (the emulator, its loopback runner and the demo)."""
    root = Path(qwen_image_edit_mcp.__file__).parent
    names = [
        "qwen_image_edit_mcp." + ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        for path in sorted(root.rglob("*.py"))
    ]
    return [name.removesuffix(".__init__") for name in names if ".emulator" not in name]


def test_importing_every_serving_module_loads_no_imaging_and_nothing_of_the_dev_wing() -> None:
    modules = [name for name in serving_modules() if name != "qwen_image_edit_mcp.surface.http"]
    assert "qwen_image_edit_mcp.jobs.start" in modules
    probe = (
        f"import importlib, sys\nfor name in {modules!r}: importlib.import_module(name)\n"
        "print(*sorted(n for n in sys.modules if n == 'PIL' or n.startswith('qwen_image_edit_mcp.emulator')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True, env={}, cwd="/"
    )
    assert done.stdout.split() == []


def test_the_http_wing_loads_nothing_of_the_dev_wing_either() -> None:
    probe = (
        "import sys, qwen_image_edit_mcp.surface.http\n"
        "print(*sorted(n for n in sys.modules if n.startswith('qwen_image_edit_mcp.emulator')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True, env={}, cwd="/"
    )
    assert done.stdout.split() == []


# What a stdio server has no use for when it starts: imaging (loaded on a first edit), the HTTP wing, the Redis
# client (only with a Redis ledger) and the dev wing. The SDK's own imports (its client, Starlette, uvicorn, its
# auth handlers) come with `import mcp` for any server, ours or a bare one: the benchmark's cold start measures them.
NOT_AT_STDIO_START_UP = (
    "PIL",
    "numpy",
    "redis",
    "qwen_image_edit_mcp.emulator",
    "qwen_image_edit_mcp.surface.http",
    "qwen_image_edit_mcp.surface.tokens",
    "qwen_image_edit_mcp.surface.disconnects",
    "jsonschema",  # about 0.15 s: imported in a worker thread by the first edit's model checks
)


def test_the_stdio_server_answers_tools_list_without_importing_what_stdio_does_not_need(tmp_path: Path) -> None:
    """Launched as a host launches it, up to its tools/list answer, with Python reporting every import."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-X", "importtime", "-m", "qwen_image_edit_mcp"],
        env={"PATH": "/usr/bin:/bin", "QWEN_EDIT_CACHE_DIR": str(tmp_path / "cache")},
        cwd="/",
    )
    errlog = tmp_path / "stderr.log"

    async def list_tools() -> list[str]:
        with errlog.open("w") as log:
            async with Client(stdio_client(params, errlog=log)) as client:
                return [tool.name for tool in (await client.list_tools()).tools]

    assert "edit_image" in anyio.run(list_tools)
    imported = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", errlog.read_text(), re.MULTILINE)
    assert "qwen_image_edit_mcp.surface.tools" in imported  # the log is what it seems
    unneeded = [name for name in imported if name.startswith(NOT_AT_STDIO_START_UP)]
    assert unneeded == []


def test_the_emulator_subcommand_serves_and_says_it_is_an_emulator() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "qwen_image_edit_mcp", "emulator", "--port", "0", "--latency", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        cwd="/",
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline().split()
        assert ready[0] == "EMULATOR_READY"
        assert ready[1].startswith("http://127.0.0.1:")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "NOT the real WaveSpeed service" in stderr


def test_allow_dir_and_output_dir_flags_reach_the_server(tmp_path: Path) -> None:
    pictures = tmp_path / "pics"
    pictures.mkdir()
    out = tmp_path / "out"
    done = run(tmp_path, "--allow-dir", str(pictures), "--allow-dir", "/tmp/../tmp", "--output-dir", str(out))
    assert done.returncode == 0
    assert f"local images from: {pictures.resolve()}, /tmp;" in done.stderr
    assert f"outputs kept in: {(tmp_path / 'out').resolve()}" in done.stderr


def test_over_http_local_files_are_off_unless_folders_are_named(tmp_path: Path) -> None:
    remote = parser().parse_args(["--transport", "streamable-http"])
    settings, http = settings_from_args(remote)
    assert http is not None
    assert settings.allowed_dirs == ()
    assert settings.remote_callers  # so the output folder is previewed only for the files handed out
    named = parser().parse_args(["--transport", "streamable-http", "--allow-dir", str(tmp_path)])
    assert settings_from_args(named)[0].allowed_dirs == (tmp_path.resolve(),)
    desktop = parser().parse_args([])
    assert settings_from_args(desktop)[1] is None
    assert not settings_from_args(desktop)[0].remote_callers
