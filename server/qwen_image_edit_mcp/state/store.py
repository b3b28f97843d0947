"""The store: what outlives one tool call and one process, behind small protocols and one factory.

    ledger    the spend limit's reservations and spends (ledger.py holds its rules and its protocol)
    uploads   the upload cache: WaveSpeed's download_url by content, so the same bytes are uploaded once
    journal   every job this deployment started: what a later call needs to finish it (a masked edit's input, mask,
              feather and format), the outputs handed out, and the finished composite, made once
    texts     short-lived shared text by key (the model catalog): fetched by one process, read by every replica
    tasks     every MCP task, by its scope and id, until it expires: any replica answers for it (tasks.py)

Two backends, chosen by one setting (`QWEN_EDIT_STORE_URL`, checked in config.py):
- embedded (the default): an SQLite database in the cache folder, for every process on one machine (sqlite.py);
- `redis://`, `rediss://` or `unix://`: Redis, for replicas on several machines (redis.py).

Every operation waits at most `wait_seconds` (a lock, a connection); a store that cannot answer raises
`StoreUnavailable`, whose message names the file or the (password-masked) URL and never a secret. Blocking work runs
in worker threads: nothing here stalls the event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Protocol

import anyio
from pydantic import BaseModel, ConfigDict, Field

from ..models import OutputFormat
from .ledger import SpendLedger
from .tasks import TaskBook

log = logging.getLogger(__name__)

DAY: Final = 24 * 3600.0
# WaveSpeed keeps an upload 7 days; a cached URL is handed out again only while a day of that is left.
UPLOAD_KEEP_SECONDS: Final = 7 * DAY
UPLOAD_REUSE_SECONDS: Final = 6 * DAY
# A masked job's input and mask, and its composites: kept as long as its unmasked output could still be fetched.
BLOB_KEEP_SECONDS: Final = 7 * DAY
JOURNAL_KEEP_SECONDS: Final = 30 * DAY
JOURNAL_MAX_JOBS: Final = 20_000
RECENT_MAX_JOBS: Final = 100  # the most `Journal.recent` lists at once
# The longest one store operation waits for a lock or a connection; a call with less time left waits less.
STORE_WAIT_SECONDS: Final = 5.0
STORE_FILE_NAME: Final = "store.sqlite3"


class StoreUnavailable(Exception):
    """The store could not be read or written (corrupt, locked, read-only, unreachable). The message names the file
    or the masked URL, says what was not done, and never holds a password."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MaskRecipe(BaseModel):
    """What compositing a masked job needs after its call ended: the input and the mask (as blobs in the store, by
    their SHA-256), the feather and the format the composite is saved as."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    image_blob: str
    mask_blob: str
    feather: int = Field(ge=0)
    output_format: OutputFormat
    coverage: float = Field(default=0.0, ge=0.0, le=1.0)  # the share of the input the edit may change


class KeptOutput(BaseModel):
    """One finished composite as the journal keeps it: where it was uploaded (None if the upload failed), its type,
    and its bytes as a blob (None once gone), so any replica can return and preview the same picture."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=1)
    url: str | None
    mime: str
    blob: str | None


class JobRecord(BaseModel):
    """One job this deployment started. Written before the submit (`prediction_id` None), given its id after."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str  # ours, made before the submit: the key until WaveSpeed answers with an id
    prediction_id: str | None = None
    model_id: str
    price_usd: Decimal  # the amount reserved against the limit
    created_at: float  # Unix seconds
    mask: MaskRecipe | None = None
    outputs: list[str] = Field(default_factory=list[str])  # the URLs handed out for it
    composite: list[KeptOutput] | None = None  # the finished composite, once made: later reads return this one


def recent_count(limit: int) -> int:
    """How many jobs `Journal.recent` lists for `limit`: at least 1, at most RECENT_MAX_JOBS."""
    return max(1, min(limit, RECENT_MAX_JOBS))


class UploadCache(Protocol):
    async def get(self, key: str) -> str | None:
        """The download_url recorded for `key` less than UPLOAD_REUSE_SECONDS ago, else None."""
        ...

    async def put(self, key: str, url: str) -> None:
        """Record `url` for `key` (replacing any); it expires UPLOAD_KEEP_SECONDS later."""
        ...


class TextCache(Protocol):
    async def get(self, key: str) -> str | None:
        """The text put under `key`, unless it expired."""
        ...

    async def put(self, key: str, text: str, *, seconds: float) -> None:
        """Keep `text` under `key` (replacing any) for `seconds`."""
        ...


class Journal(Protocol):
    async def begin(self, record: JobRecord) -> None:
        """Record a job about to be submitted. Raises StoreUnavailable: the paid edit must then be refused."""
        ...

    async def started(self, job_id: str, prediction_id: str) -> None:
        """The submit of `job_id` created `prediction_id`."""
        ...

    async def get(self, prediction_id: str) -> JobRecord | None: ...

    async def known(self, prediction_ids: Sequence[str]) -> set[str]:
        """Which of these predictions this deployment started."""
        ...

    async def recent(self, limit: int) -> list[JobRecord]:
        """The newest jobs this deployment started (those with a prediction id), newest `created_at` first, at most
        `limit` of them (held to 1..RECENT_MAX_JOBS): each the record `get` returns for its prediction id. The work is
        bounded: Redis looks at no more than 4 × limit + 50 of the newest jobs, so a longer run of jobs begun but
        never submitted hides those before it."""
        ...

    async def hand_out(self, prediction_id: str | None, urls: Sequence[str]) -> None:
        """These URLs were handed out (in a result, for the job when it is known): any replica may preview them."""
        ...

    async def handed_out(self, url: str) -> bool: ...

    async def keep_composite(self, prediction_id: str, outputs: Sequence[KeptOutput]) -> list[KeptOutput]:
        """Keep the job's finished composite, unless one is kept already: the first one wins and is returned, so
        every later read returns the same picture. Without a record of the job, `outputs` is returned unkept."""
        ...

    async def put_blob(self, data: bytes) -> str:
        """Keep `data` for BLOB_KEEP_SECONDS (from now, even if kept before); its key is its SHA-256 in hex."""
        ...

    async def get_blob(self, key: str) -> bytes | None:
        """The blob's bytes, or None once it expired or was never kept."""
        ...


class Store(Protocol):
    @property
    def description(self) -> str:
        """Where the store is, safe for any message or log: 'SQLite at /path' or 'Redis at redis://:***@host'."""
        ...

    @property
    def uploads(self) -> UploadCache: ...

    @property
    def journal(self) -> Journal: ...

    @property
    def texts(self) -> TextCache: ...

    @property
    def tasks(self) -> TaskBook: ...

    def ledger(self, limit_usd: Decimal) -> SpendLedger:
        """The spend ledger for this limit, kept in this store."""
        ...

    async def open(self) -> list[str]:
        """Connect, create what is missing and move the old files in (spend.json, uploads.json, once). Returns the
        warnings to log at start-up (e.g. a Redis that keeps nothing on disk). Never raises: a store that cannot be
        opened is a warning, and each later operation refuses with StoreUnavailable (or LedgerUnavailable)."""
        ...

    async def acknowledge_reset(self) -> str:
        """The operator's word that a lost ledger's history is gone: spending may start again from what is left.
        Returns what was done, for the command to print."""
        ...

    async def aclose(self) -> None: ...


def open_store(
    url: str | None,
    cache_dir: Path,
    *,
    wall_clock: Callable[[], float] | None = None,
    wait_seconds: float = STORE_WAIT_SECONDS,
) -> Store:
    """The store the settings ask for (the URL was checked by config.py): SQLite in `cache_dir` without a URL or with
    a sqlite:/// one, else Redis. `wall_clock` replaces the time source, for tests only: Redis's own `TIME` is used
    otherwise, so replicas whose clocks disagree still agree on the ledger's window."""
    if url is None or url.startswith("sqlite:"):
        from .sqlite import SqliteStore

        path = cache_dir / STORE_FILE_NAME if url is None else Path(url.removeprefix("sqlite://"))
        return SqliteStore(path, cache_dir=cache_dir, wall_clock=wall_clock or time.time, wait_seconds=wait_seconds)
    from .redis import RedisStore  # only when asked: the redis package is an optional extra

    return RedisStore.from_url(url, cache_dir=cache_dir, wall_clock=wall_clock, wait_seconds=wait_seconds)


@asynccontextmanager
async def opened_store(url: str | None, cache_dir: Path, **options: Any) -> AsyncGenerator[Store]:
    """The store, opened (its warnings logged: a broken store still lets the server start, and refuses paid edits
    with its own words) and closed on the way out, even when cancelled."""
    store = open_store(url, cache_dir, **options)
    for warning in await store.open():
        log.warning("%s", warning)
    log.info("store: %s", store.description)
    try:
        yield store
    finally:
        with anyio.CancelScope(shield=True):
            await store.aclose()
