"""Putting a caller's image where the upstream can fetch it, once per content.

Uploads are kept for a while upstream (WaveSpeed: 7 days) and count against a quota, so each URL is remembered by
the SHA-256 of the bytes (and the API it belongs to) in the store's upload cache, which outlives the process and is
shared by every replica on the same store. A store that cannot answer costs an upload, not the edit. How the bytes
get there is the upstream's own business (`Upstream.upload`; WaveSpeed's is `wavespeed/storage.py`).
"""

from __future__ import annotations

import hashlib
import logging

import anyio
import anyio.to_thread

from ..state.store import StoreUnavailable, UploadCache
from ..upstream.protocol import Upstream

log = logging.getLogger(__name__)


class Uploader:
    def __init__(self, upstream: Upstream, cache: UploadCache) -> None:  # the store's upload cache
        self._upstream = upstream
        self._cache = cache
        self._locks: dict[str, anyio.Lock] = {}

    async def upload(self, data: bytes, *, filename: str, content_type: str) -> tuple[str, bool]:
        """(download_url, reused). The same bytes are uploaded at most once, even by concurrent calls."""
        # Hashing megabytes is CPU work on the caller's bytes: off the event loop.
        digest = await anyio.to_thread.run_sync(lambda: hashlib.sha256(data).hexdigest())
        # Keyed by the API's address as configured, as before the seam: the entries cached then stay valid.
        key = f"{self._upstream.base_url}|{digest}"
        lock = self._locks.setdefault(key, anyio.Lock())
        try:
            async with lock:
                return await self._upload_once(key, data, filename=filename, content_type=content_type)
        finally:
            if not lock.statistics().tasks_waiting:  # nobody else is on it: the map stays as small as the work in hand
                self._locks.pop(key, None)

    async def _upload_once(self, key: str, data: bytes, *, filename: str, content_type: str) -> tuple[str, bool]:
        try:
            cached = await self._cache.get(key)
        except StoreUnavailable as exc:  # an unreadable cache costs an upload, not this edit
            log.warning("could not look up earlier uploads: %s", exc.message)
            cached = None
        if cached is not None:
            log.info("reusing the upload of %s (%d bytes)", filename, len(data))
            return cached, True
        url = await self._upstream.upload(data, filename=filename, content_type=content_type)
        try:
            await self._cache.put(key, url)
        except StoreUnavailable as exc:  # an unwritable cache costs a re-upload later, not this edit
            log.warning("could not record the upload: %s", exc.message)
        return url, False
