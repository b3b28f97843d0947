"""Run the emulator for real: in-process on a loopback port (tests, benchmarks) or from the command line.

Only loopback addresses are accepted: the emulator has an unauthenticated control API and is meant for this
machine alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, replace

import anyio
from pydantic import ValidationError

from ..clock import Clock, SystemClock
from .app import create_emulator_app
from .faults import EmulatorConfig, Faults
from .loopback import base_url, loopback_socket, resolve_loopback, serving
from .state import EmulatorState

BANNER = (
    "qwen-image-edit-mcp EMULATOR of the WaveSpeedAI API (qwen-image/edit) at {url}. "
    "This is NOT the real WaveSpeed service: no model runs and outputs are synthetic. "
    "Point WAVESPEED_BASE_URL at it for offline development, demos and tests."
)


@dataclass(frozen=True)
class RunningEmulator:
    base_url: str
    state: EmulatorState


@contextlib.asynccontextmanager
async def running_emulator(
    config: EmulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Clock | None = None,
) -> AsyncGenerator[RunningEmulator]:
    """Serve the emulator with uvicorn inside the current event loop; port 0 picks a free port."""
    sock = loopback_socket(host, port)
    url = base_url(sock)
    # A copy, so the caller's config object is not silently rewritten.
    config = replace(config if config is not None else EmulatorConfig(), public_base_url=url)
    state = EmulatorState(config, clock=clock if clock is not None else SystemClock())
    async with serving(create_emulator_app(state), sock):
        yield RunningEmulator(base_url=url, state=state)


async def _wait_for_exit_signal() -> None:
    try:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                return
    except NotImplementedError:  # no signal receivers on Windows: Ctrl-C raises KeyboardInterrupt instead
        await anyio.sleep_forever()


async def _serve_until_signal(config: EmulatorConfig, host: str, port: int, faults: Faults) -> None:
    async with running_emulator(config, host=host, port=port) as emulator:
        emulator.state.faults = faults
        print(BANNER.format(url=emulator.base_url), file=sys.stderr, flush=True)
        print(f"EMULATOR_READY {emulator.base_url}", flush=True)
        await _wait_for_exit_signal()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwen-image-edit-mcp emulator",
        description="Run a local EMULATOR of the WaveSpeedAI HTTP API (qwen-image/edit). Not the real service.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks a free one (default 8765)")
    parser.add_argument("--latency", type=float, default=3.0, help="seconds each job takes (default 3.0)")
    parser.add_argument(
        "--sync-timeout", type=float, default=90.0, help="seconds a sync-mode request blocks (default 90)"
    )
    parser.add_argument(
        "--balance", type=float, default=10_000.0, help="the account's balance in USD; each job draws from it"
    )
    parser.add_argument("--api-key", default=None, help="accept only this key (default: any non-empty key)")
    parser.add_argument("--faults", default=None, help="initial faults as JSON, e.g. '{\"submit_429\": 1}'")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """`qwen-image-edit-mcp emulator ...`: prints `EMULATOR_READY <url>` on stdout once it accepts requests."""
    parser = _parser()
    args = parser.parse_args(argv)
    faults = Faults()
    if args.faults is not None:
        try:
            faults = Faults.model_validate(json.loads(args.faults))
        except (ValueError, ValidationError) as invalid:
            parser.error(f"--faults: {invalid}")
    if args.latency < 0 or args.sync_timeout < 0 or not 0 <= args.balance < float("inf"):
        parser.error("--latency, --sync-timeout and --balance must not be negative")
    try:
        resolve_loopback(args.host, args.port)
    except ValueError as refused:
        parser.error(f"--host: {refused}")
    config = EmulatorConfig(
        api_key=args.api_key, latency=args.latency, sync_timeout=args.sync_timeout, balance=args.balance
    )
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C where signal receivers are unavailable (Windows)
        anyio.run(_serve_until_signal, config, args.host, args.port, faults)
