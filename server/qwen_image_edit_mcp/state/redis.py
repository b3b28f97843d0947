"""The Redis store, for replicas on several machines: the spend ledger (redis_ledger.py), the upload cache, the job
journal and the blobs (redis_journal.py), all on one server (`QWEN_EDIT_STORE_URL=redis://...`).

Redis must keep what it is given: with AOF off and no RDB save points a restart loses everything, and an evicting
`maxmemory-policy` (anything but `noeviction` or `volatile-*`; the ledger's keys never expire, so `volatile-*` spares
them) may drop the ledger. `open()` reads both with CONFIG GET (INFO where a managed Redis refuses CONFIG) and returns
warnings; the ledger itself refuses, naming the cause, once it notices a loss. An unreachable Redis does not stop the
server: `open()` returns a warning and every call that needs the store refuses with its own words.

Every wait is bounded by `wait_seconds` (the clients' socket timeouts), and no message holds the URL's password.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anyio.to_thread

from ..addresses import url_secrets
from .ledger import SpendLedger, format_usd
from .migration import UPLOADS_FILE, old_uploads, retire
from .redis_epochs import EPOCH_FILE, Epochs
from .redis_journal import RedisAccess, RedisJournal, RedisUploads
from .redis_ledger import INSTALL_HINT, KEY_PREFIX, RedisLedger, connect, ledger_keys, masked, redact
from .redis_scripts import ACKNOWLEDGE
from .redis_tasks import RedisTasks
from .redis_texts import RedisTexts
from .store import STORE_WAIT_SECONDS, StoreUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

_KEEPS_NOTHING = (
    "a restart loses the spend ledger (which then refuses every paid edit until an operator runs "
    "`qwen-image-edit-mcp --acknowledge-ledger-reset`), the upload cache and the job journal. Run it with "
    "`appendonly yes`"
)


class RedisStore:
    """A Store in Redis, shared by every replica that points at the same server."""

    def __init__(
        self,
        text: Redis,
        raw: Redis,
        *,
        url: str,
        cache_dir: Path,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        self.url = redact(url)
        self._secrets = url_secrets(url)
        self._text, self._raw = text, raw
        self._cache_dir = cache_dir
        self._wall_clock = wall_clock
        self._access = RedisAccess(text, raw, url=self.url, secrets=self._secrets, clock=wall_clock or time.time)
        self._uploads = RedisUploads(self._access)
        self._journal = RedisJournal(self._access)
        self.texts = RedisTexts(self._access)
        self.tasks = RedisTasks(self._access)
        self._epochs = Epochs(cache_dir / EPOCH_FILE, f"{self.url} {KEY_PREFIX}")

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cache_dir: Path,
        wall_clock: Callable[[], float] | None = None,
        wait_seconds: float = STORE_WAIT_SECONDS,
    ) -> RedisStore:
        """The store at `url` (checked by config.py). `wall_clock` is for tests: Redis's `TIME` dates the ledger
        otherwise. StoreUnavailable when the URL or the installation cannot work."""
        try:
            text, raw = connect(url, wait_seconds), connect(url, wait_seconds, decode=False)
        except ImportError:
            raise StoreUnavailable(f"The Redis client is not installed: {INSTALL_HINT}") from None
        except ValueError:  # its words may quote the password: checked at start-up (config.py), never echoed
            raise StoreUnavailable("QWEN_EDIT_STORE_URL is not a usable Redis URL") from None
        return cls(text, raw, url=url, cache_dir=cache_dir, wall_clock=wall_clock)

    @property
    def description(self) -> str:
        return f"Redis at {self.url}"

    @property
    def uploads(self) -> RedisUploads:
        return self._uploads

    @property
    def journal(self) -> RedisJournal:
        return self._journal

    def ledger(self, limit_usd: Decimal) -> SpendLedger:
        return RedisLedger(self._text, limit_usd, url=self.url, epochs=self._epochs, wall_clock=self._wall_clock)

    async def open(self) -> list[str]:
        """Checks that Redis keeps what it is given and moves the old uploads.json in. Never raises: an unreachable
        Redis is a warning, so the server starts and its free tools work."""
        from redis.exceptions import RedisError

        await self._epochs.known()  # read once, off the event loop
        try:
            warnings = await self._durability_warnings()
        except (RedisError, OSError) as exc:
            return [
                f"The store (Redis at {self.url}) cannot be reached ({masked(exc, self._secrets)}): the spend limit, "
                "the upload cache and the job journal refuse every call until it answers; tools that need none of "
                "them still work."
            ]
        return warnings + await self._import_uploads()

    async def acknowledge_reset(self) -> str:
        epoch = uuid.uuid4().hex
        args = [epoch, "" if self._wall_clock is None else repr(self._wall_clock())]
        script = self._text.register_script(ACKNOWLEDGE)
        answer = cast(
            "list[Any]",
            await self._access.run("acknowledging the spend ledger's reset", lambda: script(ledger_keys(), args)),
        )
        await self._epochs.remember(epoch)
        before, count, micros = str(answer[0]), int(answer[1]), int(answer[2])
        was = f"replacing epoch {before[:12]}" if before else "which had no marker"
        return (
            f"Acknowledged: the spend ledger in Redis at {self.url} starts epoch {epoch[:12]} ({was}) from what it "
            f"holds now: {count} entries, {format_usd(micros)} counting against the limit. Every replica resumes "
            "spending from that."
        )

    async def aclose(self) -> None:
        await self._text.aclose()
        await self._raw.aclose()

    async def _durability_warnings(self) -> list[str]:
        from redis.exceptions import ResponseError

        try:
            config: dict[str, str] = {}
            for name in ("appendonly", "save", "maxmemory-policy"):
                found = await self._text.config_get(name)  # pyright: ignore[reportUnknownMemberType]
                config.update(cast("dict[str, str]", found))
        except ResponseError:  # a managed Redis may refuse CONFIG (NOPERM, or renamed away)
            return await self._warnings_from_info()
        warnings: list[str] = []
        if config.get("appendonly") == "no" and not config.get("save", "").strip():
            warnings.append(
                f"Redis at {self.url} keeps nothing on disk (appendonly no, no RDB save points): {_KEEPS_NOTHING}."
            )
        warnings += self._eviction_warning(config.get("maxmemory-policy", ""))
        return warnings

    async def _warnings_from_info(self) -> list[str]:
        from redis.exceptions import ResponseError

        try:
            info: dict[str, Any] = {
                **await self._text.info("persistence"),  # pyright: ignore[reportUnknownMemberType]
                **await self._text.info("memory"),  # pyright: ignore[reportUnknownMemberType]
            }
        except ResponseError:
            return [
                f"Redis at {self.url} refused CONFIG GET and INFO, so whether it keeps the spend ledger on disk and "
                "never evicts it could not be checked: make sure it runs with `appendonly yes` and "
                "`maxmemory-policy noeviction`."
            ]
        warnings: list[str] = []
        if str(info.get("aof_enabled", "")) == "0":
            warnings.append(
                f"Redis at {self.url} refused CONFIG GET, and its AOF is off: unless it has RDB save points, "
                f"{_KEEPS_NOTHING}."
            )
        return warnings + self._eviction_warning(str(info.get("maxmemory_policy", "")))

    def _eviction_warning(self, policy: str) -> list[str]:
        if not policy or policy == "noeviction" or policy.startswith("volatile-"):
            return []
        return [
            f"Redis at {self.url} evicts keys when its memory is full (maxmemory-policy {policy}): it may drop the "
            "spend ledger, which then refuses every paid edit until an operator acknowledges the loss. Use "
            "`maxmemory-policy noeviction` (or a volatile-* policy: the ledger's keys never expire)."
        ]

    async def _import_uploads(self) -> list[str]:
        path = self._cache_dir / UPLOADS_FILE
        if not await anyio.to_thread.run_sync(path.exists):
            return []
        found = await anyio.to_thread.run_sync(old_uploads, self._cache_dir, self._access.clock())
        try:
            await self._uploads.put_old(found)
        except StoreUnavailable as exc:
            return [f"{exc.message} The old upload cache {path} was not moved in; the next start tries again."]
        try:
            await anyio.to_thread.run_sync(retire, path)
        except OSError as exc:
            log.warning("could not rename %s after moving it into the store (%s); it will be read again", path, exc)
        log.info("moved %d cached uploads from %s into %s", len(found), path, self.description)
        return []
