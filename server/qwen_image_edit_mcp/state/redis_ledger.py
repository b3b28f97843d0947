"""The spend ledger for replicas on several machines: kept in Redis, each change one atomic Lua script
(redis_scripts.py describes the keys and the scripts).

Reserving prunes what has aged out, compares the running total against the limit and adds the new entry in one
script: replicas cannot both slip under the limit. Its times come from Redis's own clock (`TIME`), so a replica whose
clock is a day ahead can neither prune the others' spending nor widen the limit; only tests inject a wall clock.

A Redis that loses its data (a FLUSHALL, a restart without persistence, an eviction) would otherwise forget what was
spent and let the whole limit be spent again. So the first reservation writes a marker holding a random epoch, and
each ledger remembers the epoch it has seen, in memory and in a small file in the cache folder (so a restart still
knows). A ledger that knows an epoch refuses while the marker is gone, holds another epoch nobody acknowledged, or
the ledger's own keys disagree (one vanished while the other holds data), until the operator runs
`qwen-image-edit-mcp --acknowledge-ledger-reset`: that marks a new epoch acknowledged, which every ledger adopts.

The `redis` package is an optional extra, imported only when a Redis URL is configured.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio
import anyio.to_thread
from pydantic import ValidationError

from ..addresses import url_secrets
from . import redis_scripts
from .ledger import (
    LEASE_SECONDS,
    WINDOW_SECONDS,
    Entry,
    LedgerStatus,
    LedgerUnavailable,
    Reservation,
    limit_micros_of,
    refusal,
    status_of,
    to_micros,
    to_micros_each,
    to_usd,
)
from .redis_epochs import Epochs, describe_loss

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

KEY_PREFIX: Final = "qwen-image-edit-mcp:{spend}"
INSTALL_HINT: Final = "pip install 'qwen-image-edit-mcp[redis]'"
_OUTCOMES: Final = {
    "reserving": "The spend limit cannot be checked, so nothing was sent",
    "reading": "What was spent cannot be read",
}


def redact(url: str) -> str:
    """The URL with any password (in the authority or a `password=` query parameter) replaced by ***."""
    head, scheme_end, rest = url.partition("://")
    if scheme_end and "@" in rest:
        # Up to the last @ is credentials, whatever they hold: a "/" or "?" in a password fools urlsplit.
        credentials, _, place = rest.rpartition("@")
        user, colon, _ = credentials.partition(":")
        url = f"{head}://{user}:***@{place}" if colon else f"{head}://***@{place}"
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(key == "password" for key, _ in pairs):
        query = urlencode([(key, "***" if key == "password" else value) for key, value in pairs], safe="*")
        url = url.replace(f"?{parts.query}", f"?{query}", 1)
    return url


def masked(exc: BaseException, secrets: list[str]) -> str:
    """The exception as `Type: message`, with every secret of the URL replaced by ***."""
    detail = f"{type(exc).__name__}: {exc}"
    for secret in secrets:
        detail = detail.replace(secret, "***")
    return detail


def connect(url: str, wait_seconds: float, *, decode: bool = True) -> Redis:
    """A client that waits at most `wait_seconds` for a connection or an answer. ValueError for a URL it cannot use
    (its message masked). A dead pooled connection is retried once; a timeout never is: a script that ran but whose
    answer was late must not run twice (a reservation would be booked twice)."""
    import redis.asyncio
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    try:
        return redis.asyncio.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]  (untyped **kwargs)
            url,
            decode_responses=decode,
            socket_timeout=wait_seconds,
            socket_connect_timeout=wait_seconds,
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
    except ValueError as exc:
        raise ValueError(masked(exc, url_secrets(url))) from None


def _entry_head(entry_id: str, label: str, micros: int, state: str, prediction_id: str | None) -> str:
    """The entry's JSON without its times and closing brace: the script appends the times it computed."""
    fields = {"id": entry_id, "label": label, "micros": micros, "state": state, "prediction_id": prediction_id}
    return json.dumps(fields)[:-1]


class RedisLedger:
    """A SpendLedger in Redis, shared by every replica that points at the same server and key prefix."""

    def __init__(
        self,
        client: Redis,
        limit_usd: Decimal,
        *,
        url: str,
        epochs: Epochs,
        wall_clock: Callable[[], float] | None = None,
        key_prefix: str = KEY_PREFIX,
        lease_seconds: float = LEASE_SECONDS,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        from redis.exceptions import RedisError  # the package is an optional extra

        self._client = client
        self._limit = limit_micros_of(limit_usd)
        self.url = redact(url)  # the only form of the URL kept: every message and log can use it
        self._secrets = url_secrets(url)
        self._keys = ledger_keys(key_prefix)
        self._epochs = epochs
        self._clock = wall_clock
        self._lease = lease_seconds
        self._window = window_seconds
        self._errors = (RedisError, OSError)
        self._reserve = client.register_script(redis_scripts.RESERVE)
        self._commit = client.register_script(redis_scripts.COMMIT)
        self._release = client.register_script(redis_scripts.RELEASE)
        self._status = client.register_script(redis_scripts.STATUS)

    @property
    def limit_usd(self) -> Decimal:
        return to_usd(self._limit)

    async def reserve(self, amount_usd: Decimal, *, label: str) -> Reservation:
        return (await self.reserve_many([amount_usd], label=label))[0]

    async def reserve_many(self, amounts_usd: Sequence[Decimal], *, label: str) -> list[Reservation]:
        parts = [(uuid.uuid4().hex, micros) for micros in to_micros_each(amounts_usd)]
        micros = sum(part for _, part in parts)
        known = await self._epochs.known()
        args = [known or "", self._now(), uuid.uuid4().hex, micros, self._limit, repr(self._lease), repr(self._window)]
        for entry_id, part in parts:
            args += [entry_id, _entry_head(entry_id, label, part, "reserved", None)]
        answer = await self._run("reserving", lambda: self._reserve(self._keys, args))
        await self._trust(answer, known)
        now = float(answer[2])
        if answer[0] == "refused":
            raise refusal(self._limit, await self._entries(answer[3:]), micros, now)
        lease_until = float(answer[3])
        return [
            Reservation(id=entry_id, amount_usd=to_usd(part), label=label, reserved_at=now, lease_until=lease_until)
            for entry_id, part in parts
        ]

    async def commit(self, reservation: Reservation, prediction_id: str) -> None:
        # Counted from now, not from the reservation: WaveSpeed charged somewhere in between, so this never undercounts.
        micros = to_micros(reservation.amount_usd)
        head = _entry_head(reservation.id, reservation.label, micros, "spent", prediction_id)
        args = [self._now(), repr(self._window), reservation.id, head]
        args += [repr(reservation.reserved_at), repr(reservation.lease_until), micros]
        await self._run("committing", lambda: self._commit(self._keys, args))

    async def release(self, reservation: Reservation) -> None:
        await self._run("releasing", lambda: self._release(self._keys, [reservation.id]))

    async def status(self) -> LedgerStatus:
        known = await self._epochs.known()
        answer = await self._run("reading", lambda: self._status(self._keys, [known or "", self._now()]))
        await self._trust(answer, known)
        # Summed inside Redis: every paid edit asks, and a busy day holds thousands of entries.
        total, reserved, frees = int(answer[3]), int(answer[4]), str(answer[5])
        return status_of(self._limit, total - reserved, reserved, float(frees) if frees else None)

    def _now(self) -> str:
        return "" if self._clock is None else repr(self._clock())

    async def _trust(self, answer: list[Any], known: str | None) -> None:
        """Refuse a ledger that lost its data; remember (or adopt) the epoch it holds."""
        if answer[0] in ("lost", "broken"):
            raise LedgerUnavailable(describe_loss(self.url, [str(part) for part in answer]))
        epoch = str(answer[1])
        if epoch and epoch != known:
            if known is not None:
                log.warning(
                    "the spend ledger in Redis at %s was reset and the reset acknowledged (epoch %s, was %s): "
                    "spending resumes from what it holds now",
                    self.url,
                    epoch[:12],
                    known[:12],
                )
            await self._epochs.remember(epoch)

    async def _entries(self, raws: list[Any]) -> list[Entry]:
        """Every live entry, parsed in a worker thread: 20,000 of them take about 0.1 s."""
        try:
            return await anyio.to_thread.run_sync(lambda: [Entry.model_validate_json(raw) for raw in raws])
        except ValidationError as exc:
            raise LedgerUnavailable(
                f"The spend ledger in Redis at {self.url} holds a damaged entry ({exc.error_count()} invalid "
                "field(s)), so the spend limit cannot be checked and nothing was sent."
            ) from None

    async def _run(self, what: str, operation: Callable[[], Awaitable[object]]) -> list[Any]:
        # Shielded, and bounded by the socket timeouts: a cancelled caller still learns whether it holds room, and a
        # commit or release in its cleanup is not cut short.
        try:
            with anyio.CancelScope(shield=True):
                answer = await operation()
                return cast("list[Any]", answer if isinstance(answer, list) else [answer])
        except self._errors as exc:
            outcome = _OUTCOMES.get(what, "A reservation left unsettled counts as spent once its lease runs out")
            raise LedgerUnavailable(
                f"The spend ledger in Redis at {self.url} failed while {what} ({masked(exc, self._secrets)}). "
                f"{outcome}; check that Redis is reachable."
            ) from None
        raise AssertionError("unreachable: a shield scope does not swallow exceptions")


def ledger_keys(key_prefix: str = KEY_PREFIX) -> list[str]:
    """ends, entries, total, marker: one hash tag, so a Redis Cluster keeps them in one slot, as the scripts need."""
    return [f"{key_prefix}:ends", f"{key_prefix}:entries", f"{key_prefix}:total", f"{key_prefix}:marker"]
