"""Putting a caller's image into WaveSpeed's media storage, once per content.

The presigned flow comes first (POST /api/v3/media/uploads, then a PUT to storage with exactly the returned headers
and no API key); the documented multipart POST /api/v3/media/upload/binary is the fallback when that endpoint is
missing or refuses. WaveSpeed keeps uploads for 7 days and uploads count against a quota, so each download_url is
remembered by the SHA-256 of the bytes (and the API it belongs to) in a small JSON file that survives restarts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import anyio
import anyio.to_thread

from ..atomic import write_atomically
from ..errors import AuthenticationError, ConnectionFailedError, MissingApiKeyError, RateLimitError, WaveSpeedError
from .client import WaveSpeedClient

log = logging.getLogger(__name__)

# WaveSpeed keeps uploads 7 days; stop handing out a cached URL a day before it could vanish mid-job.
REUSE_SECONDS = 6 * 24 * 3600
# Failures that would fail the multipart upload just the same: no point trying it.
_NO_FALLBACK = (AuthenticationError, RateLimitError, MissingApiKeyError, ConnectionFailedError)


class UploadCache:
    """download_url by content, persisted as JSON. Blocking file I/O: the Uploader calls it from a worker thread."""

    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._now = wall_clock
        self._entries: dict[str, dict[str, Any]] | None = None

    def get(self, key: str) -> str | None:
        entry = self._load().get(key)
        if entry is None or entry.get("expires", 0) <= self._now():
            return None
        url = entry.get("url")
        return url if isinstance(url, str) else None

    def put(self, key: str, url: str) -> None:
        entries = self._load()
        now = self._now()
        # Prune while writing, so the file stays small however long the server lives.
        for stale in [k for k, v in entries.items() if v.get("expires", 0) <= now]:
            del entries[stale]
        entries[key] = {"url": url, "expires": now + REUSE_SECONDS}
        write_atomically(self.path, json.dumps(entries).encode())

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._entries is None:
            try:
                raw: Any = json.loads(self.path.read_text(encoding="utf-8"))
                items = cast(dict[str, Any], raw).items() if isinstance(raw, dict) else ()
                self._entries = {key: cast(dict[str, Any], value) for key, value in items if isinstance(value, dict)}
            except FileNotFoundError:
                self._entries = {}
            except (OSError, ValueError) as exc:
                log.warning("upload cache %s unreadable (%s); starting afresh", self.path, exc)
                self._entries = {}
        return self._entries


class Uploader:
    def __init__(self, client: WaveSpeedClient, cache: UploadCache) -> None:
        self._client = client
        self._cache = cache
        self._locks: dict[str, anyio.Lock] = {}

    async def upload(self, data: bytes, *, filename: str, content_type: str) -> tuple[str, bool]:
        """(download_url, reused). The same bytes are uploaded at most once, even by concurrent calls."""
        # Hashing megabytes is CPU work on the caller's bytes: off the event loop.
        digest = await anyio.to_thread.run_sync(lambda: hashlib.sha256(data).hexdigest())
        key = f"{self._client.base_url}|{digest}"
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            cached = await anyio.to_thread.run_sync(self._cache.get, key)
            if cached is not None:
                log.info("reusing the upload of %s (%d bytes)", filename, len(data))
                return cached, True
            url = await self._upload(data, filename=filename, content_type=content_type)
            try:
                await anyio.to_thread.run_sync(self._cache.put, key, url)
            except OSError as exc:  # an unwritable cache costs a re-upload later, not this edit
                log.warning("could not record the upload in %s: %s", self._cache.path, exc)
            return url, False

    async def _upload(self, data: bytes, *, filename: str, content_type: str) -> str:
        try:
            upload = await self._client.create_upload(filename=filename, size=len(data), content_type=content_type)
            await self._client.put_upload(upload, data)
        except _NO_FALLBACK:
            raise
        except WaveSpeedError as exc:
            log.info("direct upload unavailable (%s); using the multipart upload", exc.message)
        else:
            log.info("uploaded %s (%d bytes) to WaveSpeed storage", filename, len(data))
            return upload.download_url
        url = await self._client.upload_binary(filename=filename, content_type=content_type, data=data)
        log.info("uploaded %s (%d bytes) with the multipart upload", filename, len(data))
        return url
