"""Command line: `qwen-image-edit-mcp` serves MCP on stdio; `qwen-image-edit-mcp emulator` runs the local API
stand-in; `qwen-image-edit-mcp demo` runs one edit end to end against it. Settings are read once, here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config import Settings, SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwen-image-edit-mcp",
        description="MCP server for image editing with Qwen-Image-Edit on WaveSpeedAI. "
        "Subcommands: 'emulator' (a local stand-in for the WaveSpeed API), 'demo' (one edit against it).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--transport", choices=["stdio"], default="stdio", help="MCP transport (default stdio; HTTP is coming)"
    )
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
    parser.add_argument("--cache-dir", type=Path, help="where the upload cache is kept (QWEN_EDIT_CACHE_DIR)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def _absolute(path: Path | None) -> Path | None:
    return path.expanduser().resolve() if path is not None else None


def main(argv: Sequence[str] | None = None) -> None:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["emulator"]:
        from .emulator import main as emulator_main

        emulator_main(args_list[1:])
        return
    if args_list[:1] == ["demo"]:
        from .demo import main as demo_main

        demo_main(args_list[1:])
        return
    args = _parser().parse_args(args_list)
    try:
        settings = Settings.from_environment(
            wait_seconds=args.wait_seconds,
            inline_max_bytes=args.inline_max_bytes,
            output_dir=_absolute(args.output_dir),
            allowed_dirs=tuple(_absolute(path) for path in args.allow_dir) if args.allow_dir else None,
            cache_dir=_absolute(args.cache_dir),
        )
    except SettingsError as exc:
        sys.stderr.write(f"qwen-image-edit-mcp: {exc}\n")
        raise SystemExit(2) from None

    from .logs import configure_logging
    from .tools import create_server

    secret = settings.api_key.get_secret_value() if settings.api_key else ""
    configure_logging(args.log_level, secrets=[secret])
    import logging

    log = logging.getLogger("qwen_image_edit_mcp")
    log.info(
        "qwen-image-edit-mcp %s on stdio; WaveSpeed at %s; API key %s; local images from: %s; outputs kept in: %s",
        __version__,
        settings.base_url,
        "set" if settings.api_key else "NOT set (calls will ask for WAVESPEED_API_KEY)",
        ", ".join(str(path) for path in settings.allowed_dirs) or "nowhere (local files off)",
        settings.output_dir or "(not kept; base64 outputs go to the per-user default)",
    )
    create_server(settings).run("stdio")


if __name__ == "__main__":
    main()
