"""The spend ledger for replicas on several machines: kept in Redis, reserved by one atomic Lua script.

Three keys share a hash tag (so a Redis Cluster keeps them in one slot): a sorted set of entry ids scored by the moment
each stops counting against the limit, a hash of the entries themselves as JSON, and the running total of their
micro-dollars. Reserving prunes what has aged out, compares the total against the limit and adds the new entry in one
script, which Redis runs without interleaving any other command: replicas cannot both slip under the limit. Every
change to the entries goes through a script that also moves the total, so the two cannot drift apart. Run Redis
with a `noeviction` (or `volatile-*`) policy: an evicted ledger key would forget spending.

Times come from each replica's wall clock (injectable, so tests never sleep), not Redis's: clocks kept by NTP agree to
well under a second, which is nothing against a 24 h window.

The `redis` package is an optional extra and is imported only when a ledger URL is configured.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import anyio

from .ledger import (
    LEASE_SECONDS,
    WINDOW_SECONDS,
    Entry,
    LedgerSettingsError,
    LedgerStatus,
    LedgerUnavailable,
    Reservation,
    limit_micros_of,
    new_entry,
    refusal,
    spent_entry,
    summarize,
    to_micros,
    to_reservation,
    to_usd,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

T = TypeVar("T")

KEY_PREFIX = "qwen-image-edit-mcp:{spend}"
INSTALL_HINT = "pip install 'qwen-image-edit-mcp[redis]'"
_SCHEMES = ("redis", "rediss", "unix")
# Seconds before an unreachable Redis counts as down: an edit then fails fast instead of hanging.
_TIMEOUT = 5.0

# KEYS: ends (zset), entries (hash), total (integer micros of every entry in the hash).
# ARGV: now, micros, limit micros, id, ends, entry JSON.
# Answers {"ok"} or {"refused", <every live entry's JSON>...} so the refusal can say when room frees up. The running
# total keeps a reservation O(entries pruned), not O(entries): summing 20,000 JSON entries took 60 ms of Redis time.
_RESERVE = """
local total = tonumber(redis.call('GET', KEYS[3]) or '0')
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    total = total - cjson.decode(raw).micros
    redis.call('HDEL', KEYS[2], id)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if total + tonumber(ARGV[2]) > tonumber(ARGV[3]) then
  redis.call('SET', KEYS[3], string.format('%d', total))
  local entries = redis.call('HVALS', KEYS[2])
  table.insert(entries, 1, 'refused')
  return entries
end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[6])
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[4])
redis.call('SET', KEYS[3], string.format('%d', total + tonumber(ARGV[2])))
return {'ok'}
"""
# ARGV: id, ends, entry JSON, micros. Replaces the reservation whatever its state, or adds it back if already pruned.
_COMMIT = """
local raw = redis.call('HGET', KEYS[2], ARGV[1])
local before = raw and cjson.decode(raw).micros or 0
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('INCRBY', KEYS[3], string.format('%d', tonumber(ARGV[4]) - before))
return 1
"""
# ARGV: id. Only a reservation still in flight can be given back; a committed spend stays.
_RELEASE = """
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if raw then
  local entry = cjson.decode(raw)
  if entry.state == 'reserved' then
    redis.call('HDEL', KEYS[2], ARGV[1])
    redis.call('ZREM', KEYS[1], ARGV[1])
    redis.call('INCRBY', KEYS[3], string.format('%d', -entry.micros))
    return 1
  end
end
return 0
"""


def redact(url: str) -> str:
    """The URL with any password (in the authority or a `password=` query parameter) replaced by ***."""
    parts = urlsplit(url)
    # Pieces are replaced in place: rebuilding with urlunsplit would turn unix:///path into unix:/path.
    if parts.password is not None:
        url = url.replace(parts.netloc, f"{parts.username or ''}:***@{parts.netloc.rpartition('@')[2]}", 1)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(key == "password" for key, _ in pairs):
        query = urlencode([(key, "***" if key == "password" else value) for key, value in pairs], safe="*")
        url = url.replace(f"?{parts.query}", f"?{query}", 1)
    return url


def _secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [value for key, value in parse_qsl(parts.query) if key == "password" and value]
    # Both spellings: the URL's percent-encoded one and the decoded one the client would use.
    return [*found, parts.password, unquote(parts.password)] if parts.password else found


class RedisLedger:
    """A SpendLedger in Redis, shared by every replica that points at the same server and key prefix."""

    def __init__(
        self,
        client: Redis,
        limit_usd: Decimal,
        *,
        url: str,
        key_prefix: str = KEY_PREFIX,
        wall_clock: Callable[[], float] = time.time,
        lease_seconds: float = LEASE_SECONDS,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        from redis.exceptions import RedisError  # the package is an optional extra

        self._client = client
        self._limit = limit_micros_of(limit_usd)
        self.url = redact(url)  # the only form of the URL kept: every message and log can use it
        self._secrets = _secrets(url)
        self._keys = [f"{key_prefix}:ends", f"{key_prefix}:entries", f"{key_prefix}:total"]
        self._clock = wall_clock
        self._lease = lease_seconds
        self._window = window_seconds
        self._errors = (RedisError, OSError)
        self._reserve_script = client.register_script(_RESERVE)
        self._commit_script = client.register_script(_COMMIT)
        self._release_script = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, limit_usd: Decimal, **options: Any) -> RedisLedger:
        """A ledger at `url` (redis://, rediss:// or unix://); a LedgerSettingsError when that cannot work."""
        if urlsplit(url).scheme not in _SCHEMES:
            raise LedgerSettingsError(
                f"QWEN_EDIT_LEDGER_URL must be a redis://, rediss:// or unix:// URL, got {redact(url)!r}"
            )
        try:
            import redis.asyncio
        except ImportError:
            raise LedgerSettingsError(
                f"QWEN_EDIT_LEDGER_URL is set, but the Redis client is not installed: {INSTALL_HINT}"
            ) from None
        try:
            client = redis.asyncio.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]  (untyped **kwargs)
                url, decode_responses=True, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT
            )
        except ValueError as exc:
            message = str(exc)
            for secret in _secrets(url):
                message = message.replace(secret, "***")
            raise LedgerSettingsError(f"QWEN_EDIT_LEDGER_URL {redact(url)!r} is not usable: {message}") from None
        return cls(client, limit_usd, url=url, **options)

    @property
    def limit_usd(self) -> Decimal:
        return to_usd(self._limit)

    async def reserve(self, amount_usd: Decimal, *, label: str) -> Reservation:
        micros = to_micros(amount_usd)
        now = self._clock()
        entry = new_entry(micros, label, now, lease=self._lease, window=self._window)
        args = [repr(now), micros, self._limit, entry.id, repr(entry.ends), entry.model_dump_json()]
        answer = cast("list[str]", await self._run("reserving", lambda: self._reserve_script(self._keys, args)))
        if answer[0] != "ok":
            entries = [Entry.model_validate_json(raw) for raw in answer[1:]]
            raise refusal(self._limit, entries, micros, now)
        return to_reservation(entry)

    async def commit(self, reservation: Reservation, prediction_id: str) -> None:
        entry = spent_entry(reservation, prediction_id, self._clock(), window=self._window)
        args = [entry.id, repr(entry.ends), entry.model_dump_json(), entry.micros]
        await self._run("committing", lambda: self._commit_script(self._keys, args))

    async def release(self, reservation: Reservation) -> None:
        await self._run("releasing", lambda: self._release_script(self._keys, [reservation.id]))

    async def status(self) -> LedgerStatus:
        values = await self._run("reading", lambda: self._client.hvals(self._keys[1]))
        entries = [Entry.model_validate_json(raw) for raw in values]
        return summarize(self._limit, entries, self._clock())

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _run(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        # Shielded, and bounded by the socket timeouts: a cancelled caller still learns whether it holds room, and a
        # commit or release in its cleanup is not cut short.
        try:
            with anyio.CancelScope(shield=True):
                return await operation()
        except self._errors as exc:
            detail = f"{type(exc).__name__}: {exc}"
            for secret in self._secrets:
                detail = detail.replace(secret, "***")
            outcome = (
                "The spend limit cannot be checked, so nothing was sent"
                if what == "reserving"
                else "A reservation left unsettled counts as spent once its lease runs out"
            )
            raise LedgerUnavailable(
                f"The spend ledger in Redis at {self.url} failed while {what} ({detail}). {outcome}; check that "
                "Redis is reachable."
            ) from None
        raise AssertionError("unreachable: a shield scope does not swallow exceptions")
