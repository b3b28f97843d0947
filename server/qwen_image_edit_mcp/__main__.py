"""Command line: `qwen-image-edit-mcp` serves MCP on stdio; `qwen-image-edit-mcp emulator` runs the local API
stand-in; `qwen-image-edit-mcp demo` runs one edit end to end against it. Settings are read once, here."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from pydantic import SecretStr
from starlette.types import ASGIApp

from . import __version__
from .addresses import redact_url, url_secrets
from .config import HttpSettings, Settings, SettingsError, money_flags

WORKER_ARGV = "QWEN_EDIT_WORKER_ARGV"
USAGE = """
  %(prog)s [options]           serve MCP: stdio for desktop hosts, or --transport streamable-http
  %(prog)s demo [options]      one edit end to end, against a local emulator (or --real)
  %(prog)s emulator [options]  a local stand-in for the WaveSpeed API"""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwen-image-edit-mcp",
        usage=USAGE,
        description="MCP server for image editing with Qwen-Image-Edit on WaveSpeedAI. "
        "Subcommands: 'demo' (one edit end to end, against a local emulator by default) and 'emulator' (a local "
        "stand-in for the WaveSpeed API); each takes --help.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--transport",
        choices=["stdio", "streamable-http", "sse"],
        default="stdio",
        help="stdio (default, for desktop hosts), streamable-http (/mcp) or sse (legacy: /sse + /messages/)",
    )
    _add_http_options(parser)
    parser.add_argument(
        "--wait-seconds", type=float, help="default wait per call before a pending result (QWEN_EDIT_WAIT_SECONDS)"
    )
    parser.add_argument(
        "--inline-max-bytes", type=int, help="budget for inline image previews (QWEN_EDIT_INLINE_MAX_BYTES)"
    )
    parser.add_argument("--output-dir", type=Path, help="keep every output image in this folder (QWEN_EDIT_OUTPUT_DIR)")
    parser.add_argument(
        "--allow-dir",
        type=Path,
        action="append",
        help="a folder local images may be read from; repeatable (QWEN_EDIT_ALLOWED_DIRS, os.pathsep-separated)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="where the embedded store (the ledger, the upload cache, the job journal) is kept (QWEN_EDIT_CACHE_DIR)",
    )
    parser.add_argument(
        "--max-spend-usd",
        help="cap on what this server spends in any rolling 24 hours, in USD (QWEN_EDIT_MAX_SPEND_USD; "
        "QWEN_EDIT_STORE_URL=redis://... shares it between machines)",
    )
    parser.add_argument(
        "--acknowledge-ledger-reset",
        action="store_true",
        help="acknowledge that the spend ledger in Redis (QWEN_EDIT_STORE_URL) lost its history, so spending may "
        "resume from what it holds now; then exit",
    )
    parser.add_argument(
        "--confirm-spend",
        help="ask the user before paying: always, above:USD or never (default) (QWEN_EDIT_CONFIRM_SPEND)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def _add_http_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="HTTP: address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP: port (default 8000)")
    parser.add_argument(
        "--auth-token", help="HTTP: bearer token clients must send (QWEN_EDIT_AUTH_TOKEN; prefer the variable)"
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        help="HTTP: a Host the server answers to, e.g. mcp.example.com behind a proxy; repeatable "
        "(QWEN_EDIT_ALLOWED_HOSTS, comma-separated)",
    )
    parser.add_argument(
        "--allowed-origin",
        action="append",
        help="HTTP: a browser Origin allowed to call, e.g. https://app.example.com; repeatable "
        "(QWEN_EDIT_ALLOWED_ORIGINS, comma-separated)",
    )
    parser.add_argument(
        "--stateless", action="store_true", help="HTTP: no sessions, for legacy-era clients behind a load balancer"
    )
    parser.add_argument(
        "--session-idle-seconds",
        type=float,
        help="HTTP: end a session after this long with nothing in flight; its client must initialize again "
        "(QWEN_EDIT_SESSION_IDLE_SECONDS; default 300)",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        help="HTTP: open sessions at most; beyond it the one idle longest is ended to make room (SSE: open "
        "streams at most, 503 beyond) (QWEN_EDIT_MAX_SESSIONS; default 256)",
    )
    parser.add_argument("--workers", type=int, default=1, help="HTTP: worker processes (default 1)")


def _absolute(path: Path | None) -> Path | None:
    return path.expanduser().resolve() if path is not None else None


def main(argv: Sequence[str] | None = None) -> None:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if _run_dev_command(args_list):
        return
    args = parser().parse_args(args_list)
    try:
        settings, http = settings_from_args(args)
    except SettingsError as exc:
        _fail(str(exc))
    _configure_logging(args, settings, http)
    if args.acknowledge_ledger_reset:
        _acknowledge_ledger_reset(settings)
        return
    _log_start(args, settings)
    from .surface.server import create_server

    if http is None:
        create_server(settings).run("stdio")
        return
    _serve_http(args, args_list, settings, http)


def _run_dev_command(args_list: list[str]) -> bool:
    """Run `emulator ...` or `demo ...` if that is what was asked; False for everything else."""
    if args_list[:1] == ["emulator"]:
        from .emulator import main as emulator_main

        emulator_main(args_list[1:])
        return True
    if args_list[:1] == ["demo"]:
        from .emulator.demo import main as demo_main

        demo_main(args_list[1:])
        return True
    return False


def _log_start(args: argparse.Namespace, settings: Settings) -> None:
    logging.getLogger("qwen_image_edit_mcp").info(
        "qwen-image-edit-mcp %s (pid %d) on %s; WaveSpeed at %s; API key %s; local images from: %s; "
        "outputs kept in: %s",
        __version__,
        os.getpid(),
        args.transport,
        redact_url(settings.base_url),
        "set" if settings.api_key else "NOT set (calls will ask for WAVESPEED_API_KEY)",
        ", ".join(str(path) for path in settings.allowed_dirs) or "nowhere (local files off)",
        settings.output_dir or "(not kept; base64 outputs go to the per-user default)",
    )


def _serve_http(args: argparse.Namespace, args_list: list[str], settings: Settings, http: HttpSettings) -> None:
    import uvicorn

    from .surface.http import build_http_app
    from .surface.server import create_server

    try:
        app = build_http_app(create_server(settings), http)
    except SettingsError as exc:
        _fail(str(exc))
    logging.getLogger("qwen_image_edit_mcp").info(
        "serving %s on http://%s:%d with %d worker(s) (%s)",
        "/mcp" if http.transport == "streamable-http" else "/sse + /messages/",
        http.host,
        http.port,
        args.workers,
        "bearer token required" if http.auth_token else "no token: loopback only",
    )
    # log_config=None: uvicorn logs through our stderr handler (and its secret filter), not its own stdout one.
    options: dict[str, Any] = {"log_config": None, "proxy_headers": True, "server_header": False}
    if args.workers > 1:
        # Worker processes import the app by name and rebuild it from the same arguments. The name is spelled out:
        # under `python -m` this module's __name__ is "__main__", which a worker cannot import.
        os.environ[WORKER_ARGV] = json.dumps(args_list)
        target = "qwen_image_edit_mcp.__main__:worker_app"
        uvicorn.run(target, factory=True, host=http.host, port=http.port, workers=args.workers, **options)
    else:
        uvicorn.run(app, host=http.host, port=http.port, **options)


def settings_from_args(args: argparse.Namespace) -> tuple[Settings, HttpSettings | None]:
    http = None
    if args.transport != "stdio":
        http = HttpSettings.from_environment(
            transport=args.transport,
            host=args.host,
            port=args.port,
            auth_token=SecretStr(args.auth_token) if args.auth_token else None,
            allowed_hosts=tuple(args.allowed_host) if args.allowed_host else None,
            allowed_origins=tuple(args.allowed_origin) if args.allowed_origin else None,
            stateless=args.stateless or None,
            session_idle_seconds=args.session_idle_seconds,
            max_sessions=args.max_sessions,
        )
    allowed_dirs = tuple(_absolute(path) for path in args.allow_dir) if args.allow_dir else None
    if http is not None and allowed_dirs is None and not os.environ.get("QWEN_EDIT_ALLOWED_DIRS", "").strip():
        # Over HTTP the callers are remote: the desktop default would hand them this machine's picture folders.
        allowed_dirs = ()
    settings = Settings.from_environment(
        None,
        wait_seconds=args.wait_seconds,
        inline_max_bytes=args.inline_max_bytes,
        output_dir=_absolute(args.output_dir),
        allowed_dirs=allowed_dirs,
        cache_dir=_absolute(args.cache_dir),
        remote_callers=True if http is not None else None,
        **money_flags(args.max_spend_usd, args.confirm_spend),
    )
    return settings, http


def _configure_logging(args: argparse.Namespace, settings: Settings, http: HttpSettings | None) -> None:
    from .logs import configure_logging

    secrets = [s.get_secret_value() for s in (settings.api_key, http.auth_token if http else None) if s]
    # Credentials inside WAVESPEED_BASE_URL are secrets too, wherever a library might print the URL.
    base = urlsplit(settings.base_url)
    secrets += [part for part in (base.password, base.username) if part]
    if settings.store_url is not None:  # a Redis URL's password
        secrets += url_secrets(settings.store_url.get_secret_value())
    configure_logging(args.log_level, secrets=secrets)


def _acknowledge_ledger_reset(settings: Settings) -> None:
    """The operator's command after a Redis ledger lost its data: record that, say what was done, exit."""
    import anyio

    from .folders import default_cache_dir
    from .state.store import StoreUnavailable, open_store

    async def acknowledge() -> str:
        url = settings.store_url.get_secret_value() if settings.store_url is not None else None
        store = open_store(url, settings.cache_dir or default_cache_dir())
        try:
            for warning in await store.open():
                sys.stderr.write(f"qwen-image-edit-mcp: {warning}\n")
            return await store.acknowledge_reset()
        finally:
            await store.aclose()

    try:
        # A command run by an operator, not the stdio server: its answer is its output.
        sys.stdout.write(anyio.run(acknowledge) + "\n")
    except StoreUnavailable as exc:
        _fail(exc.message)


def worker_app() -> ASGIApp:
    """The app in each worker process of `--workers N`, built from the arguments the parent was given."""
    from .surface.http import build_http_app
    from .surface.server import create_server

    args = parser().parse_args(json.loads(os.environ[WORKER_ARGV]))
    settings, http = settings_from_args(args)
    assert http is not None
    _configure_logging(args, settings, http)
    return build_http_app(create_server(settings), http)


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"qwen-image-edit-mcp: {message}\n")
    raise SystemExit(2)


if __name__ == "__main__":
    main()
