"""The upload cache, the job journal and the blobs in the Redis store (redis.py holds the clients).

    qwen-image-edit-mcp:upload:<key>               {url, uploaded_at} as JSON, expiring UPLOAD_KEEP_SECONDS later
    qwen-image-edit-mcp:blob:<sha256>              the bytes, expiring BLOB_KEEP_SECONDS after the last put
    qwen-image-edit-mcp:{journal}:jobs             hash: job id -> the JobRecord as `begin` wrote it
    qwen-image-edit-mcp:{journal}:created          sorted set: job id by created_at, to prune the oldest first
    qwen-image-edit-mcp:{journal}:predictions      hash: prediction id -> job id
    qwen-image-edit-mcp:{journal}:prediction-of    hash: job id -> prediction id (to forget both together)
    qwen-image-edit-mcp:{journal}:composites       hash: job id -> the kept composite (HSETNX: the first one wins)
    qwen-image-edit-mcp:{journal}:outputs          hash: job id -> the URLs handed out for it, in order
    qwen-image-edit-mcp:{journal}:handed:<url>     when the URL was handed out (a long URL by its SHA-256)

The journal's keys share a hash tag, so each change is one Lua script over declared keys (redis_journal_scripts.py),
atomic even in a Redis Cluster. Jobs are pruned on `begin` by created_at (the store's clock) and capped at
JOURNAL_MAX_JOBS; every journal key also expires JOURNAL_KEEP_SECONDS after its last write, a backstop for a journal
nobody writes any more. Uploads and blobs are single keys, spread over the cluster; blobs go through a client that
keeps bytes as bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import anyio.to_thread
from pydantic import BaseModel, TypeAdapter, ValidationError

from . import redis_journal_scripts as journal_scripts
from .redis_ledger import masked
from .store import (
    BLOB_KEEP_SECONDS,
    JOURNAL_KEEP_SECONDS,
    JOURNAL_MAX_JOBS,
    UPLOAD_KEEP_SECONDS,
    UPLOAD_REUSE_SECONDS,
    JobRecord,
    KeptOutput,
    StoreUnavailable,
    recent_count,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

T = TypeVar("T")

UPLOAD_PREFIX: Final = "qwen-image-edit-mcp:upload:"
BLOB_PREFIX: Final = "qwen-image-edit-mcp:blob:"
JOURNAL_PREFIX: Final = "qwen-image-edit-mcp:{journal}"
JOURNAL_KEYS: Final = [
    f"{JOURNAL_PREFIX}:{name}" for name in ("jobs", "created", "predictions", "prediction-of", "composites", "outputs")
]
_LONGEST_URL_KEY: Final = 200  # characters of a URL kept in a key as is; a longer one goes by its SHA-256
_KEEP: Final = int(JOURNAL_KEEP_SECONDS)
_COMPOSITE: Final = TypeAdapter(list[KeptOutput])


class _Upload(BaseModel):
    url: str
    uploaded_at: float


class RedisAccess:
    """The store's two clients (text, and bytes for blobs), its clock, and what their failures mean."""

    def __init__(self, text: Redis, raw: Redis, *, url: str, secrets: list[str], clock: Callable[[], float]) -> None:
        from redis.exceptions import RedisError  # the package is an optional extra

        self.text = text
        self.raw = raw
        self.url = url  # masked
        self.clock = clock
        self._secrets = secrets
        self._errors = (RedisError, OSError)

    async def run(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            return await operation()
        except self._errors as exc:
            cause = masked(exc, self._secrets)
        except (ValidationError, ValueError) as exc:
            cause = f"a record in it is damaged: {type(exc).__name__}"
        raise StoreUnavailable(
            f"The store in Redis at {self.url} could not be read or written ({cause}) while {what}; check that Redis "
            "is reachable and keeps its data."
        )


class RedisUploads:
    def __init__(self, access: RedisAccess) -> None:
        self._access = access

    async def get(self, key: str) -> str | None:
        async def work() -> str | None:
            raw = cast("str | None", await self._access.text.get(UPLOAD_PREFIX + key))
            found = None if raw is None else _Upload.model_validate_json(raw)
            # By the store's clock, not only Redis's expiry: a URL is handed out again only while a day is left.
            young = found is not None and found.uploaded_at > self._access.clock() - UPLOAD_REUSE_SECONDS
            return found.url if found is not None and young else None

        return await self._access.run("reading the upload cache", work)

    async def put(self, key: str, url: str) -> None:
        value = _Upload(url=url, uploaded_at=self._access.clock()).model_dump_json()
        await self._access.run(
            "recording an upload",
            lambda: self._access.text.set(UPLOAD_PREFIX + key, value, ex=int(UPLOAD_KEEP_SECONDS)),
        )

    async def put_old(self, found: Sequence[tuple[str, str, float]]) -> None:
        """Uploads from the old uploads.json, each expiring when it would have; one already here is kept."""
        now = self._access.clock()

        async def work() -> None:
            async with self._access.text.pipeline(transaction=False) as pipe:
                for key, url, uploaded_at in found:
                    left = max(1, int(uploaded_at + UPLOAD_KEEP_SECONDS - now))
                    value = _Upload(url=url, uploaded_at=uploaded_at).model_dump_json()
                    pipe.set(UPLOAD_PREFIX + key, value, ex=left, nx=True)
                await pipe.execute()

        await self._access.run("importing the old upload cache", work)


def handed_key(url: str) -> str:
    name = url if len(url) <= _LONGEST_URL_KEY else "sha256:" + hashlib.sha256(url.encode()).hexdigest()
    return f"{JOURNAL_PREFIX}:handed:{name}"


class RedisJournal:
    def __init__(self, access: RedisAccess) -> None:
        self._access = access
        client = access.text
        self._begin = client.register_script(journal_scripts.BEGIN)
        self._started = client.register_script(journal_scripts.STARTED)
        self._get = client.register_script(journal_scripts.GET)
        self._recent = client.register_script(journal_scripts.RECENT)
        self._hand_out = client.register_script(journal_scripts.HAND_OUT)
        self._keep = client.register_script(journal_scripts.KEEP_COMPOSITE)

    async def begin(self, record: JobRecord) -> None:
        cutoff = self._access.clock() - JOURNAL_KEEP_SECONDS
        args = [_KEEP, repr(cutoff), JOURNAL_MAX_JOBS, record.job_id, repr(record.created_at)]
        args += [record.model_dump_json(), record.prediction_id or ""]
        await self._access.run("recording a job before its submit", lambda: self._begin(JOURNAL_KEYS, args))

    async def started(self, job_id: str, prediction_id: str) -> None:
        what = f"recording that job {job_id} became {prediction_id}"
        await self._access.run(what, lambda: self._started(JOURNAL_KEYS, [_KEEP, job_id, prediction_id]))

    async def get(self, prediction_id: str) -> JobRecord | None:
        async def work() -> JobRecord | None:
            found = cast("list[str] | None", await self._get(JOURNAL_KEYS, [prediction_id]))
            return None if found is None else _merged(prediction_id, *found)

        return await self._access.run(f"reading job {prediction_id}", work)

    async def recent(self, limit: int) -> list[JobRecord]:
        count = recent_count(limit)

        async def work() -> list[JobRecord]:
            # Bounded: jobs begun but never submitted are skipped, and no more than this many are looked at.
            found = cast("list[str]", await self._recent(JOURNAL_KEYS, [count, count * 4 + 50]))
            return [_merged(*found[i : i + 4]) for i in range(0, len(found), 4)]

        return await self._access.run("reading the newest jobs", work)

    async def known(self, prediction_ids: Sequence[str]) -> set[str]:
        if not prediction_ids:
            return set()
        ids = list(prediction_ids)
        found = await self._access.run("reading the job journal", lambda: self._access.text.hmget(JOURNAL_KEYS[2], ids))
        return {pid for pid, job in zip(ids, cast("list[str | None]", found), strict=True) if job is not None}

    async def hand_out(self, prediction_id: str | None, urls: Sequence[str]) -> None:
        keys = [*JOURNAL_KEYS, *(handed_key(url) for url in urls)]
        args = [_KEEP, prediction_id or "", repr(self._access.clock()), *urls]
        await self._access.run("recording the URLs handed out", lambda: self._hand_out(keys, args))

    async def handed_out(self, url: str) -> bool:
        raw = await self._access.run("reading the URLs handed out", lambda: self._access.text.get(handed_key(url)))
        return raw is not None and float(cast(str, raw)) >= self._access.clock() - JOURNAL_KEEP_SECONDS

    async def keep_composite(self, prediction_id: str, outputs: Sequence[KeptOutput]) -> list[KeptOutput]:
        made = _COMPOSITE.dump_json(list(outputs)).decode()

        async def work() -> list[KeptOutput]:
            kept = cast("str | None", await self._keep(JOURNAL_KEYS, [_KEEP, prediction_id, made]))
            return list(outputs) if kept is None else _COMPOSITE.validate_json(kept)

        return await self._access.run(f"keeping the composite of {prediction_id}", work)

    async def put_blob(self, data: bytes) -> str:
        key = await anyio.to_thread.run_sync(lambda: hashlib.sha256(data).hexdigest())

        async def work() -> str:
            name, keep = BLOB_PREFIX + key, int(BLOB_KEEP_SECONDS)
            # Kept already: only its expiry moves, without sending the bytes again.
            if not await self._access.raw.expire(name, keep):
                await self._access.raw.set(name, data, ex=keep)
            return key

        return await self._access.run("keeping a blob", work)

    async def get_blob(self, key: str) -> bytes | None:
        found = await self._access.run(f"reading blob {key}", lambda: self._access.raw.get(BLOB_PREFIX + key))
        return cast("bytes | None", found)


def _merged(prediction_id: str, record: str, composite: str, outputs: str) -> JobRecord:
    """The record as `begin` wrote it, with its prediction id, the URLs handed out since and its composite."""
    fields: dict[str, Any] = {**json.loads(record), "prediction_id": prediction_id}
    if outputs:
        fields["outputs"] = list(dict.fromkeys([*fields.get("outputs", []), *json.loads(outputs)]))
    if composite:
        fields["composite"] = json.loads(composite)
    return JobRecord.model_validate(fields)
