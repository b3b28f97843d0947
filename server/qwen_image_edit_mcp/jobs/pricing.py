"""What one run costs, for the spend ledger to reserve and the result to state: WaveSpeed's live quote for the run's
own inputs, cached, else the most the run may cost as far as this server knows.

The live price comes from `POST /api/v3/model/price` (`{"model_id", "inputs"}` → `data.price`, and
`data.discounted_price` when a discount applies); `parse_price` reads that answer, and the caller's `fetch` does the
request. A quote may depend on the inputs (the image count, the size), so quotes are cached per model and inputs
(all but the prompt and the seed).

Whatever the live answer is, a positive finite number is the price: reserving less than the platform may charge would
let the limit be passed. Without a live answer, the fallback is the larger of the model's fallback price (documented,
or the catalog's base price) and the last live quote seen for that model.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

import anyio

from ..errors import InputError

log = logging.getLogger(__name__)

PriceFetch = Callable[[str, Mapping[str, Any]], Awaitable[Decimal]]

TTL_SECONDS = 600.0
# After a failed lookup the documented price stands for a minute: a broken price endpoint must not add a doomed
# request (and its timeout) to every edit, yet a live price is back soon after the endpoint is.
RETRY_SECONDS = 60.0
# A look-up slower than this is broken: the fallback price stands, and the submit keeps the call's time.
QUOTE_SECONDS = 10.0
# Quotes kept for distinct inputs: a few per model is all a session uses; the bound keeps a long-lived server small.
MAX_CACHED_QUOTES = 256
# Fields that tell one run from the next but never its price: a new prompt must not cost every edit a look-up. They
# are still sent with the look-up that is made.
UNPRICED_FIELDS = frozenset({"prompt", "seed"})


class PriceUnknown(InputError):
    """No live price and none documented for this model: the run cannot be reserved, so it must not be sent."""


@dataclass(frozen=True)
class Quote:
    price_usd: Decimal
    source: Literal["live", "documented", "last live"]  # "last live": an earlier quote that was above the table's


@dataclass(frozen=True)
class _Cached:
    quote: Quote
    until: float


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value))  # str() first: a JSON float 0.02 becomes Decimal("0.02"), not its binary cousin
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _field(value: object, name: str) -> object:
    return cast("Mapping[str, object]", value).get(name) if isinstance(value, Mapping) else None


def parse_price(body: object) -> Decimal:
    """The price WaveSpeed's answer charges: `data.discounted_price` when it is a positive number, else `data.price`.

    A ValueError when neither is one. A zero discounted price is treated as absent: for a spend cap, reserving the
    list price is the safe reading of an answer that may just be missing a field.
    """
    data = _field(body, "data")
    for name in ("discounted_price", "price"):
        number = _number(_field(data, name))
        if number is not None and number > 0:
            return number
    raise ValueError("the price answer has neither a positive price nor a positive discounted_price")


class PriceBook:
    """Quotes one run: live when WaveSpeed answers with a price, else the most the run may cost as far as known."""

    def __init__(
        self,
        fetch: PriceFetch | None,  # None: no look-ups, the fallback price always
        *,
        clock: Callable[[], float] = time.monotonic,
        ttl_seconds: float = TTL_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._ttl = ttl_seconds
        self._retry = retry_seconds
        self._cache: OrderedDict[tuple[str, str], _Cached] = OrderedDict()
        self._last_live: dict[str, Decimal] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._unpriced_until: dict[str, float] = {}  # a model with no price at all: not asked again for a minute

    async def quote(
        self, model_id: str, inputs: Mapping[str, Any], *, fallback: Decimal | None, seconds: float = QUOTE_SECONDS
    ) -> Quote:
        """Within `seconds` (capped at QUOTE_SECONDS), waiting for another call's look-up included: on time-out the
        fallback, as when the look-up fails. `fallback`: the model's documented price, None when none is known."""
        seconds = min(seconds, QUOTE_SECONDS)
        priced = {name: value for name, value in inputs.items() if name not in UNPRICED_FIELDS}
        key = (model_id, json.dumps(priced, sort_keys=True, default=str))
        with anyio.move_on_after(seconds):
            return await self._quote(key, inputs, fallback)
        log.warning("price lookup for %s took longer than %.1f s; using the fallback price", model_id, seconds)
        return self._fallback(key, fallback)

    async def _quote(self, key: tuple[str, str], inputs: Mapping[str, Any], fallback: Decimal | None) -> Quote:
        model_id = key[0]
        # One lookup per model at a time: a burst of edits asks WaveSpeed once, the rest wait for its answer.
        async with self._locks.setdefault(model_id, anyio.Lock()):
            cached = self._cache.get(key)
            if cached is not None and cached.until > self._clock():
                return cached.quote
            if fallback is None and self._unpriced_until.get(model_id, float("-inf")) > self._clock():
                return self._fallback(key, fallback)  # refused at once: the look-up failed moments ago
            live = await self._live(model_id, inputs)
            if live is None:
                return self._fallback(key, fallback)
            self._last_live[model_id] = live
            quote = Quote(live, "live")
            self._remember(key, quote, self._ttl)
            return quote

    def _fallback(self, key: tuple[str, str], documented: Decimal | None) -> Quote:
        """The larger of the documented price and the last live quote for the model, kept for a minute so that the
        next edits do not wait for a broken look-up too. Never less than the platform was last seen to charge."""
        model_id = key[0]
        last = self._last_live.get(model_id)
        if documented is None and last is None:
            self._unpriced_until[model_id] = self._clock() + self._retry
            raise PriceUnknown(
                f"No price is known for {model_id}: WaveSpeed's price look-up gave none, and neither the catalog nor "
                "this server's table lists one, so the spend cannot be reserved. Nothing was sent or paid; try again "
                "in a minute."
            )
        if documented is None or (last is not None and last > documented):
            quote = Quote(cast(Decimal, last), "last live")
        else:
            quote = Quote(documented, "documented")
        self._remember(key, quote, self._retry)
        return quote

    def _remember(self, key: tuple[str, str], quote: Quote, seconds: float) -> None:
        self._cache[key] = _Cached(quote, self._clock() + seconds)
        self._cache.move_to_end(key)
        while len(self._cache) > MAX_CACHED_QUOTES:
            self._cache.popitem(last=False)

    async def _live(self, model_id: str, inputs: Mapping[str, Any]) -> Decimal | None:
        if self._fetch is None:
            return None
        try:
            price = await self._fetch(model_id, inputs)
        except Exception as exc:  # any failure of this lookup has the same answer: the fallback price
            log.warning(
                "price lookup for %s failed (%s: %s); using the fallback price", model_id, type(exc).__name__, exc
            )
            return None
        answered = cast(object, price)  # from an injected fetch: checked as it arrives, whatever its annotation says
        if not isinstance(answered, Decimal) or not answered.is_finite() or answered <= 0:
            log.warning("price lookup for %s answered %r, which is not a price; using the fallback", model_id, price)
            return None
        return price
