"""What one run costs, for the spend ledger to reserve: WaveSpeed's live price, cached, else the documented one.

The live price comes from `POST /api/v3/model/price` (`{"model_id", "inputs"}` → `data.price`, and
`data.discounted_price` when a discount applies); `parse_price` reads that answer, and the caller's `fetch` does the
request. Qwen-Image-Edit is priced per run, not by its inputs, so one price is kept per model id (variant).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

import anyio

log = logging.getLogger(__name__)

PriceFetch = Callable[[str, Mapping[str, Any]], Awaitable[Decimal]]

TTL_SECONDS = 600.0
# After a failed lookup the documented price stands for a minute: a broken price endpoint must not add a doomed
# request (and its timeout) to every edit, yet a live price is back soon after the endpoint is.
RETRY_SECONDS = 60.0
# A look-up slower than this is broken: the documented price stands, and the submit keeps the call's time.
QUOTE_SECONDS = 10.0
# Qwen-Image-Edit costs $0.02-$0.025 a run; an answer fifty times that is a bug or a unit mix-up, not a price.
MAX_PLAUSIBLE_USD = Decimal("1.00")


class PriceUnknown(Exception):
    """No live price and none documented for this model: the run cannot be reserved, so it must not be sent."""


@dataclass(frozen=True)
class Quote:
    price_usd: Decimal
    source: Literal["live", "documented"]


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
    """Quotes one run of a model: live when WaveSpeed answers sensibly, the documented price when it does not."""

    def __init__(
        self,
        fetch: PriceFetch,
        documented: Mapping[str, Decimal],
        *,
        clock: Callable[[], float] = time.monotonic,
        ttl_seconds: float = TTL_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        max_plausible_usd: Decimal = MAX_PLAUSIBLE_USD,
    ) -> None:
        self._fetch = fetch
        self._documented = dict(documented)
        self._clock = clock
        self._ttl = ttl_seconds
        self._retry = retry_seconds
        self._max = max_plausible_usd
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, anyio.Lock] = {}

    async def quote(self, model_id: str, inputs: Mapping[str, Any], *, seconds: float = QUOTE_SECONDS) -> Quote:
        """Within `seconds` (capped at QUOTE_SECONDS), waiting for another call's look-up included: on time-out the
        documented price, as when the look-up fails."""
        seconds = min(seconds, QUOTE_SECONDS)
        with anyio.move_on_after(seconds):
            return await self._quote(model_id, inputs)
        log.warning("price lookup for %s took longer than %.1f s; using the documented price", model_id, seconds)
        return self._fallback(model_id)

    async def _quote(self, model_id: str, inputs: Mapping[str, Any]) -> Quote:
        # One lookup per model at a time: a burst of edits asks WaveSpeed once, the rest wait for its answer.
        async with self._locks.setdefault(model_id, anyio.Lock()):
            cached = self._cache.get(model_id)
            if cached is not None and cached.until > self._clock():
                return cached.quote
            live = await self._live(model_id, inputs)
            if live is None:
                return self._fallback(model_id)
            quote = Quote(live, "live")
            self._cache[model_id] = _Cached(quote, self._clock() + self._ttl)
            return quote

    def _fallback(self, model_id: str) -> Quote:
        """The documented price, kept for a minute so that the next edits do not wait for a broken look-up too."""
        if model_id not in self._documented:
            raise PriceUnknown(
                f"No price is known for {model_id}: WaveSpeed's price lookup failed and none is documented."
            )
        quote = Quote(self._documented[model_id], "documented")
        self._cache[model_id] = _Cached(quote, self._clock() + self._retry)
        return quote

    async def _live(self, model_id: str, inputs: Mapping[str, Any]) -> Decimal | None:
        try:
            price = await self._fetch(model_id, inputs)
        except Exception as exc:  # any failure of this lookup has the same answer: the documented price
            log.warning(
                "price lookup for %s failed (%s: %s); using the documented price", model_id, type(exc).__name__, exc
            )
            return None
        answered = cast(object, price)  # from an injected fetch: checked as it arrives, whatever its annotation says
        if not isinstance(answered, Decimal) or not answered.is_finite() or not 0 < answered <= self._max:
            log.warning(
                "price lookup for %s answered %r, which is not a plausible price; using the documented one",
                model_id,
                price,
            )
            return None
        return price
