"""Settings: every knob of the server, read once at start-up from flags and their environment twins.

Nothing here runs at import time. The API key is held as a `SecretStr` so that printing or logging the settings
never shows it; only `client.py` ever reveals it, to build the Authorization header.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from pydantic import SecretStr

from .addresses import redact_url
from .folders import default_output_dir
from .spend_config import LIMIT_NAMES, NEVER_ASK, ConfirmSpend, parse_confirm_spend, usd

DEFAULT_BASE_URL = "https://api.wavespeed.ai"
# Desktop hosts cut a tool call at about 60 s; stop waiting early enough to hand back a resumable result.
DEFAULT_WAIT_SECONDS = 50.0
MAX_WAIT_SECONDS = 900.0
# Claude Desktop refuses a tool result over 1 MiB; leave room for the text and structured blocks.
DEFAULT_INLINE_MAX_BYTES = 700_000


HttpTransport = Literal["streamable-http", "sse"]
# The SDK's default body limit: clients should pass images as URLs or paths, not megabytes of base64.
MAX_HTTP_BODY_BYTES = 4 * 1024 * 1024
# A 2025-era session with nothing in flight for this long is ended; its client must initialize again. The SDK's client
# holds a GET stream open while it is connected, which keeps its session from ever counting as idle.
DEFAULT_SESSION_IDLE_SECONDS = 300.0
MAX_SESSION_IDLE_SECONDS = 24 * 3600.0
# At this many open sessions a new one ends the session idle longest. Each costs the server about 38 KiB (measured:
# bench/measures_sessions.py), so 256 hold under 10 MiB however many clients walk away without a DELETE.
DEFAULT_MAX_SESSIONS = 256
MAX_MAX_SESSIONS = 100_000


_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


class SettingsError(ValueError):
    """A setting has a value the server cannot use; the message names the flag and its variable."""


@dataclass(frozen=True)
class Settings:
    api_key: SecretStr | None = None
    base_url: str = DEFAULT_BASE_URL
    wait_seconds: float = DEFAULT_WAIT_SECONDS
    inline_max_bytes: int = DEFAULT_INLINE_MAX_BYTES
    output_dir: Path | None = None
    # Local files may be read only from inside these (resolved) folders; empty means no local files at all.
    allowed_dirs: tuple[Path, ...] = ()
    # Where the upload cache lives (survives restarts); None means the per-user default.
    cache_dir: Path | None = None
    # Each HTTP request to WaveSpeed (not the whole wait, which `wait_seconds` bounds).
    request_timeout: float = 30.0
    # Money (spend_config.py): the cap per rolling 24 h and when to ask.
    max_spend_usd: Decimal | None = None
    confirm_spend: ConfirmSpend = NEVER_ASK
    # Where state that outlives a call lives (state/store.py): None is SQLite in the cache folder; redis:// for
    # replicas. May hold a password. `store_url_alias` says it came from the deprecated QWEN_EDIT_LEDGER_URL.
    store_url: SecretStr | None = None
    store_url_alias: bool = False
    # Served over HTTP: callers are remote, so files are shown to them only where they were handed out or allowed.
    remote_callers: bool = False

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Environment first, then explicit overrides (command-line flags) where they are not None."""
        env = _filled(os.environ if env is None else env)
        key = env.get("WAVESPEED_API_KEY", "").strip()
        values: dict[str, object] = {
            "api_key": SecretStr(key) if key else None,
            "base_url": env.get("WAVESPEED_BASE_URL", "").strip() or DEFAULT_BASE_URL,
            "wait_seconds": _number(env, "QWEN_EDIT_WAIT_SECONDS", "--wait-seconds", DEFAULT_WAIT_SECONDS),
            "inline_max_bytes": int(
                _number(env, "QWEN_EDIT_INLINE_MAX_BYTES", "--inline-max-bytes", DEFAULT_INLINE_MAX_BYTES)
            ),
            "output_dir": _path(env.get("QWEN_EDIT_OUTPUT_DIR")),
            "cache_dir": _path(env.get("QWEN_EDIT_CACHE_DIR")),
        }
        values.update(_money(env))
        values.update(_store(env))
        raw_dirs = env.get("QWEN_EDIT_ALLOWED_DIRS", "")
        if raw_dirs.strip():
            values["allowed_dirs"] = tuple(p for part in raw_dirs.split(os.pathsep) if (p := _path(part)) is not None)
        values.update({name: value for name, value in overrides.items() if value is not None})
        if "allowed_dirs" not in values:
            output_dir = values["output_dir"]
            values["allowed_dirs"] = default_allowed_dirs(output_dir if isinstance(output_dir, Path) else None)
        settings = cls(**cast(dict[str, Any], values))  # each value was read and typed above, by name
        settings.validate()
        return settings

    def validate(self) -> None:
        if not (0 <= self.wait_seconds <= MAX_WAIT_SECONDS):
            raise SettingsError(
                f"--wait-seconds / QWEN_EDIT_WAIT_SECONDS must be between 0 and {MAX_WAIT_SECONDS:g}, "
                f"got {self.wait_seconds:g}"
            )
        if self.inline_max_bytes < 0:
            raise SettingsError("--inline-max-bytes / QWEN_EDIT_INLINE_MAX_BYTES must be 0 or more")
        if not self.base_url.startswith(("http://", "https://")):
            raise SettingsError(f"WAVESPEED_BASE_URL must be an http(s) URL, got {redact_url(self.base_url)!r}")
        if self.store_url is not None:
            check_store_url(self.store_url.get_secret_value())


def _money(env: Mapping[str, str]) -> dict[str, object]:
    limit = env.get("QWEN_EDIT_MAX_SPEND_USD", "").strip()
    try:
        return {
            "max_spend_usd": usd(limit, LIMIT_NAMES) if limit else None,
            "confirm_spend": parse_confirm_spend(env.get("QWEN_EDIT_CONFIRM_SPEND", "").strip() or "never"),
        }
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def _store(env: Mapping[str, str]) -> dict[str, object]:
    """QWEN_EDIT_STORE_URL, or its deprecated alias QWEN_EDIT_LEDGER_URL (which only held the ledger, in Redis)."""
    url, alias = env.get("QWEN_EDIT_STORE_URL", "").strip(), env.get("QWEN_EDIT_LEDGER_URL", "").strip()
    if url and alias and url != alias:
        raise SettingsError(
            "QWEN_EDIT_STORE_URL and QWEN_EDIT_LEDGER_URL (its deprecated alias) are both set, to different URLs: "
            "keep QWEN_EDIT_STORE_URL only"
        )
    chosen = url or alias
    return {"store_url": SecretStr(chosen) if chosen else None, "store_url_alias": bool(alias and not url)}


def check_store_url(url: str) -> None:
    """Refuse at start what the store could never use; the URL itself is never echoed (it may hold a password)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path.startswith("/") or parts.path.endswith("/"):
            raise SettingsError(
                "QWEN_EDIT_STORE_URL: a sqlite URL names a database file by its absolute path, e.g. "
                "sqlite:///var/lib/qwen-edit/store.sqlite3"
            )
        return
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(
            "QWEN_EDIT_STORE_URL must be a redis://, rediss:// or unix:// URL (Redis, shared by replicas) or a "
            "sqlite:///path; unset, the store is SQLite in the cache folder"
        )
    if importlib.util.find_spec("redis") is None:
        raise SettingsError(
            "QWEN_EDIT_STORE_URL names a Redis server, but the Redis client is not installed: "
            "pip install 'qwen-image-edit-mcp[redis]'"
        )
    # The client's own reading of the URL (untyped there), checked once, here.
    from redis.connection import parse_url  # pyright: ignore[reportUnknownVariableType]

    try:
        parse_url(url)
    except ValueError:  # its words may quote the password (a "/" in it ends the host): they are never shown
        raise SettingsError(
            "QWEN_EDIT_STORE_URL cannot be read as a Redis URL (its host, port or database): percent-encode any "
            "special character in the password, e.g. / as %2F and @ as %40"
        ) from None


def money_flags(max_spend_usd: str | None, confirm_spend: str | None) -> dict[str, object]:
    """The command line's money flags as Settings overrides (None where not given, so the environment stands)."""
    try:
        return {
            "max_spend_usd": usd(max_spend_usd, LIMIT_NAMES) if max_spend_usd is not None else None,
            "confirm_spend": parse_confirm_spend(confirm_spend) if confirm_spend is not None else None,
        }
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def default_allowed_dirs(output_dir: Path | None) -> tuple[Path, ...]:
    """Where people keep the pictures they want edited, plus where this server saves its outputs (so an output
    can be edited again). Only folders that exist; never the whole home folder, which holds keys and documents."""
    home = Path.home()
    found = [home / name for name in ("Pictures", "Desktop", "Downloads", "Documents") if (home / name).is_dir()]
    # The output folder counts even before its first image is saved there.
    found.append(output_dir or default_output_dir())
    return tuple(dict.fromkeys(path.resolve() for path in found))


def _filled(env: Mapping[str, str]) -> dict[str, str]:
    """The environment without values a host left as unfilled placeholders: a bundle's optional setting the user
    skipped may arrive as the literal "${user_config.output_directory}", which means "not set"."""
    return {name: value for name, value in env.items() if not _PLACEHOLDER.fullmatch(value.strip())}


def _number(env: Mapping[str, str], name: str, flag: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{flag} / {name} must be a number, got {raw!r}") from None


def _whole(env: Mapping[str, str], name: str, flag: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{flag} / {name} must be a whole number, got {raw!r}") from None


def _path(raw: str | None) -> Path | None:
    # GUI hosts start servers with `/` as the working directory: only absolute (or ~) paths mean anything.
    return Path(raw).expanduser().resolve() if raw and raw.strip() else None


@dataclass(frozen=True)
class HttpSettings:
    """How the server listens over HTTP; the token guards this server only and is never sent upstream."""

    transport: HttpTransport = "streamable-http"
    host: str = "127.0.0.1"
    port: int = 8000
    auth_token: SecretStr | None = None
    allowed_hosts: tuple[str, ...] = ()  # extra Host values, e.g. "mcp.example.com" behind a proxy
    allowed_origins: tuple[str, ...] = ()  # extra Origin values, e.g. "https://app.example.com"
    stateless: bool = False  # legacy-era clients behind a load balancer without sticky sessions
    max_body_bytes: int = MAX_HTTP_BODY_BYTES
    # Streamable HTTP with sessions (not --stateless): see above. The cap also bounds open SSE streams.
    session_idle_seconds: float = DEFAULT_SESSION_IDLE_SECONDS
    max_sessions: int = DEFAULT_MAX_SESSIONS

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, **overrides: object) -> HttpSettings:
        env = _filled(os.environ if env is None else env)
        token = env.get("QWEN_EDIT_AUTH_TOKEN", "").strip()
        values: dict[str, object] = {
            "auth_token": SecretStr(token) if token else None,
            "allowed_hosts": _list(env.get("QWEN_EDIT_ALLOWED_HOSTS")),
            "allowed_origins": _list(env.get("QWEN_EDIT_ALLOWED_ORIGINS")),
            "session_idle_seconds": _number(
                env, "QWEN_EDIT_SESSION_IDLE_SECONDS", "--session-idle-seconds", DEFAULT_SESSION_IDLE_SECONDS
            ),
            "max_sessions": _whole(env, "QWEN_EDIT_MAX_SESSIONS", "--max-sessions", DEFAULT_MAX_SESSIONS),
        }
        values.update({name: value for name, value in overrides.items() if value is not None})
        settings = cls(**cast(dict[str, Any], values))  # each value was read and typed above, by name
        settings.validate()
        return settings

    def validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"--port must be between 0 and 65535, got {self.port}")
        if self.auth_token is not None and len(self.auth_token.get_secret_value()) < 16:
            raise SettingsError("--auth-token / QWEN_EDIT_AUTH_TOKEN must be at least 16 characters")
        idle = self.session_idle_seconds
        if not (math.isfinite(idle) and 0 < idle <= MAX_SESSION_IDLE_SECONDS):
            raise SettingsError(
                "--session-idle-seconds / QWEN_EDIT_SESSION_IDLE_SECONDS must be more than 0 and at most "
                f"{MAX_SESSION_IDLE_SECONDS:g} (a day), got {idle:g}"
            )
        if not 1 <= self.max_sessions <= MAX_MAX_SESSIONS:
            raise SettingsError(
                f"--max-sessions / QWEN_EDIT_MAX_SESSIONS must be between 1 and {MAX_MAX_SESSIONS}, "
                f"got {self.max_sessions}"
            )


def _list(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())
