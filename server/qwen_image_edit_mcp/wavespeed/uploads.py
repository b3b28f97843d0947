"""Putting a caller's image into WaveSpeed's media storage, once per content.

The presigned flow comes first (POST /api/v3/media/uploads, then a PUT to storage with exactly the returned headers
and no API key); the documented multipart POST /api/v3/media/upload/binary is the fallback when that endpoint is
missing or refuses. WaveSpeed keeps uploads for 7 days and uploads count against a quota, so each download_url is
remembered by the SHA-256 of the bytes (and the API it belongs to) in the store's upload cache, which outlives the
process and is shared by every replica on the same store. A store that cannot answer costs an upload, not the edit.
"""

from __future__ import annotations

import hashlib
import logging

import anyio
import anyio.to_thread

from ..errors import AuthenticationError, ConnectionFailedError, MissingApiKeyError, RateLimitError, WaveSpeedError
from ..state.store import StoreUnavailable, UploadCache
from .client import WaveSpeedClient

log = logging.getLogger(__name__)

# Failures that would fail the multipart upload just the same: no point trying it.
_NO_FALLBACK = (AuthenticationError, RateLimitError, MissingApiKeyError, ConnectionFailedError)


class Uploader:
    def __init__(self, client: WaveSpeedClient, cache: UploadCache) -> None:  # the store's upload cache
        self._client = client
        self._cache = cache
        self._locks: dict[str, anyio.Lock] = {}

    async def upload(self, data: bytes, *, filename: str, content_type: str) -> tuple[str, bool]:
        """(download_url, reused). The same bytes are uploaded at most once, even by concurrent calls."""
        # Hashing megabytes is CPU work on the caller's bytes: off the event loop.
        digest = await anyio.to_thread.run_sync(lambda: hashlib.sha256(data).hexdigest())
        key = f"{self._client.base_url}|{digest}"
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
        url = await self._upload(data, filename=filename, content_type=content_type)
        try:
            await self._cache.put(key, url)
        except StoreUnavailable as exc:  # an unwritable cache costs a re-upload later, not this edit
            log.warning("could not record the upload: %s", exc.message)
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
