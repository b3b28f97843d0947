"""The live catalog of Qwen edit models: fetched lazily from the upstream, kept an hour, shared through the store.

    memory    this process's copy: a resolve costs a dictionary look-up while it is fresh
    store     the family's entries under one key (the store's `texts`), so one replica's fetch serves every replica
    upstream  `list_models()`, at most once per hour, or once per minute when a model is not found (it may be new)

A fetch that fails leaves the last copy in use (however old: a model listed yesterday most likely still runs) and is
not tried again for a minute, so a broken catalog costs one bounded wait, not one per call. With no copy at all the
catalog is unavailable: the curated 2025 models still run on their documented schemas, and a model only the catalog
could describe is refused with nothing paid (`resolve`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import anyio
import anyio.to_thread

from ..errors import InputError
from ..state.store import StoreUnavailable, TextCache
from .catalog_scan import CatalogScan, is_qwen_id, scan
from .curated import BUILT_IN, CURATED, CURATED_BY_ID
from .spec import ModelSpec

log = logging.getLogger(__name__)

TTL_SECONDS: Final = 3600.0
RETRY_SECONDS: Final = 60.0  # after a failed fetch, and between refreshes for a model not found
FETCH_SECONDS: Final = 15.0  # the longest one fetch may take (a call with less time left waits less)
MAX_NAME_LENGTH: Final = 200

FetchCatalog = Callable[[], Awaitable[list[object]]]


@dataclass(frozen=True)
class _Copy:
    scan: CatalogScan
    fetched_at: float  # wall-clock seconds


class Catalog:
    def __init__(
        self,
        fetch: FetchCatalog,
        texts: TextCache | None,
        *,
        key: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._texts = texts
        # One copy per API address; by its digest, so an address with credentials in it never lands in the store.
        self._key = "catalog|" + hashlib.sha256(key.encode()).hexdigest()
        self._clock = clock
        self._copy: _Copy | None = None
        self._tried_at = float("-inf")  # the last fetch from the upstream, successful or not
        self._lock = anyio.Lock()

    @classmethod
    def offline(cls) -> Catalog:
        """No catalog at all: the built-in models only (a runtime built without a server)."""

        async def unavailable() -> list[object]:
            raise ConnectionError("no catalog is configured")

        return cls(unavailable, None, key="offline")

    async def models(self, *, seconds: float = FETCH_SECONDS) -> dict[str, ModelSpec] | None:
        """The family's models by id, or None when no catalog could be read."""
        copy = await self._current(seconds)
        return None if copy is None else copy.scan.models

    async def resolve(self, name: str, *, seconds: float = FETCH_SECONDS) -> ModelSpec:
        """The model `name` means (a short name or a catalog id), or InputError saying why it cannot run."""
        checked_name(name)
        row = CURATED.get(name) or CURATED_BY_ID.get(name)
        model_id = row.model_id if row else name
        copy = await self._current(seconds)
        unknown = copy is not None and model_id not in copy.scan.models and model_id not in copy.scan.left_out
        if unknown and is_qwen_id(model_id) and self._may_refresh():
            copy = await self._current(seconds, refresh=True)  # it may have been listed since the last fetch
        if copy is not None and model_id in copy.scan.models:
            return copy.scan.models[model_id]
        if row is not None and row.name in BUILT_IN:
            return BUILT_IN[row.name]
        raise InputError(_not_runnable(name, model_id, copy))

    def _may_refresh(self) -> bool:
        since = self._clock() - self._tried_at
        return since >= RETRY_SECONDS or since < 0  # a clock set back does not hold the next try for ever

    async def _current(self, seconds: float, *, refresh: bool = False) -> _Copy | None:
        if not refresh and self._fresh(self._copy):
            return self._copy
        with anyio.move_on_after(min(seconds, FETCH_SECONDS)):
            async with self._lock:  # one fetch at a time: a burst of calls waits for the first one's answer
                if refresh and self._may_refresh():
                    await self._fetch_now()
                elif not refresh and not self._fresh(self._copy):
                    await self._renew()
        return self._copy

    def _fresh(self, copy: _Copy | None) -> bool:
        # A copy "from the future" (a clock set back, a replica whose clock runs ahead) is not fresh: it is read again.
        return copy is not None and 0 <= self._clock() - copy.fetched_at < TTL_SECONDS

    async def _renew(self) -> None:
        shared = await self._shared()
        if self._fresh(shared):
            self._copy = shared
        elif self._may_refresh():  # else the upstream failed moments ago: the copy in hand (or none) stands for now
            await self._fetch_now()

    async def _fetch_now(self) -> None:
        try:
            entries = await self._fetch()
            found = await anyio.to_thread.run_sync(scan, entries)  # a few MB of JSON objects: off the event loop
        except Exception as exc:  # any failure has one answer: the last copy stands, and no retry for a minute
            self._tried_at = self._clock()  # (a fetch cut short by its caller's time is tried again by the next)
            log.warning(
                "the model catalog could not be read (%s: %s); using %s", type(exc).__name__, exc, _what(self._copy)
            )
            return
        self._tried_at = self._clock()
        self._copy = _Copy(found, self._clock())
        log.info("model catalog: %d Qwen edit models", len(found.models))
        await self._share(self._copy)

    async def _shared(self) -> _Copy | None:
        if self._texts is None:
            return None
        try:
            text = await self._texts.get(self._key)
            if text is None:
                return None
            kept = await anyio.to_thread.run_sync(json.loads, text)
            found = await anyio.to_thread.run_sync(scan, kept["entries"])
            found.left_out.update({str(key): str(why) for key, why in dict(kept.get("left_out", {})).items()})
            return _Copy(found, float(kept["fetched_at"]))  # one from a clock ahead is not fresh here: read again
        except (StoreUnavailable, ValueError, KeyError, TypeError) as exc:
            log.warning("the shared model catalog could not be read (%s)", type(exc).__name__)
            return None

    async def _share(self, copy: _Copy) -> None:
        if self._texts is None:
            return
        shared = {"fetched_at": copy.fetched_at, "entries": copy.scan.entries, "left_out": copy.scan.left_out}
        text = await anyio.to_thread.run_sync(json.dumps, shared)
        try:
            await self._texts.put(self._key, text, seconds=TTL_SECONDS)
        except StoreUnavailable as exc:
            log.warning("the model catalog could not be shared through the store: %s", exc.message)


def checked_name(name: str) -> None:
    if not name or len(name) > MAX_NAME_LENGTH or any(ch.isspace() or ord(ch) < 0x20 for ch in name):
        raise InputError(
            f"model must be a short name ({', '.join(CURATED)}) or a catalog model id such as "
            "'wavespeed-ai/qwen-image-2.1/edit'; list_models shows them all."
        )


def _what(copy: _Copy | None) -> str:
    return "the copy read earlier" if copy is not None else "the built-in models only"


def _not_runnable(name: str, model_id: str, copy: _Copy | None) -> str:
    listing = "Call list_models for the models that run, with their fields and prices."
    if not is_qwen_id(model_id) and model_id not in (copy.scan.left_out if copy else {}):
        if "/" not in model_id:
            return f"model {name!r} is not a short name this server knows ({', '.join(CURATED)}). {listing}"
        return (
            f"model {name!r} is not a Qwen-Image edit model: this server runs only the Qwen-Image-Edit family "
            f"(ids like wavespeed-ai/qwen-image-2.1/edit). Nothing was sent or paid. {listing}"
        )
    if copy is None:
        return (
            f"model {name!r} is known only from WaveSpeed's live model catalog, which cannot be read right now, so its "
            f"fields cannot be checked: nothing was sent or paid. The built-in models still run: "
            f"{', '.join(BUILT_IN)}. Try again in a minute."
        )
    if model_id in copy.scan.left_out:
        why = copy.scan.left_out[model_id]
        return f"model {name!r} cannot edit images here: {why}. Nothing was sent or paid. {listing}"
    return f"WaveSpeed's catalog does not list {name!r} as a Qwen image edit model. Nothing was sent or paid. {listing}"
