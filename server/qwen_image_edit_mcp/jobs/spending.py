"""Money around the one paid request: the run's price, reserved against the spend limit, then committed or released.

    quote      the run's price: WaveSpeed's price endpoint, cached per variant (10 min), else the documented price
    paid       reserve the price (refused before any paid request when it would pass the limit), submit, release
               when the submit provably created nothing; else `Paid.commit` records the prediction id, which the
               edit runs beside following the job (the reservation already counts, so nothing waits for it)

A submit whose outcome is unknown (sent, then no answer; a 5xx; an answer that is not WaveSpeed's) neither commits
nor releases: its reservation is left to its lease, after which the ledger counts it as spent. For a spend cap that
is the safe side: at worst one run's room is blocked for a day, and the cap is never passed. Reserving, committing
and releasing are shielded from cancellation, so a cancelled call cannot strand a reservation or lose a spend.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from ..config import Settings
from ..errors import ApiError, ConnectionFailedError, InputError, MissingApiKeyError, ServerError
from ..models import EditRequest, Prediction
from ..variants import VARIANTS, Variant
from ..wavespeed.client import WaveSpeedClient
from .ledger import LedgerStatus, LedgerUnavailable, Reservation, SpendLedger, SpendLimitExceeded, open_ledger
from .pricing import QUOTE_SECONDS, PriceBook, Quote, parse_price

log = logging.getLogger(__name__)


class SpendRefused(InputError):
    """The spend limit refused the run (or could not be checked): nothing was sent, nothing was paid."""


async def _nothing_to_commit(seconds: float) -> None:
    pass


@dataclass(frozen=True)
class Paid:
    """A submit that created `prediction`. Its reservation is still to be committed: `commit(seconds)` (shielded,
    never raises, given up after `seconds`) may run beside the job's follow-up, since a reservation already counts
    against the limit."""

    prediction: Prediction
    price_usd: Decimal
    commit: Callable[[float], Coroutine[Any, Any, None]] = _nothing_to_commit


def documented_prices() -> dict[str, Decimal]:
    """Every variant's fallback price: the documented one, or the family's estimate where none is published."""
    return {variant.model_id: variant.price_estimate for variant in VARIANTS.values()}


def price_inputs(request: EditRequest) -> dict[str, Any]:
    """What the price endpoint is asked about: the run's fields, without the images (a run's price does not depend
    on them, and an inline image would send megabytes to a look-up)."""
    return {name: value for name, value in request.payload().items() if name not in ("image", "images")}


def live_prices(client: WaveSpeedClient) -> Callable[[str, Mapping[str, Any]], Awaitable[Decimal]]:
    async def fetch(model_id: str, inputs: Mapping[str, Any]) -> Decimal:
        return parse_price({"data": await client.get_price(model_id, inputs)})

    return fetch


def created_nothing(exc: BaseException) -> bool:
    """True when a failed submit provably created no job: a 4xx refusal, or a connection that never opened."""
    if isinstance(exc, ConnectionFailedError):
        return not exc.request_sent
    if isinstance(exc, ApiError):
        return not isinstance(exc, ServerError) and 400 <= exc.status_code < 500
    return isinstance(exc, MissingApiKeyError)


@asynccontextmanager
async def open_spending(
    settings: Settings, client: WaveSpeedClient, cache_dir: Path, clock: Callable[[], float]
) -> AsyncGenerator[Spending]:
    """Live prices (cached on `clock`) and the ledger the settings ask for, closed on the way out."""
    url = settings.ledger_url.get_secret_value() if settings.ledger_url is not None else None
    ledger = open_ledger(settings.max_spend_usd, cache_dir, url)
    if ledger is not None:
        where = "shared in Redis" if url else f"in {cache_dir}"
        log.info("spend limit: $%s per rolling 24 h (ledger %s)", ledger.limit_usd, where)
    try:
        yield Spending(PriceBook(live_prices(client), documented_prices(), clock=clock), ledger)
    finally:
        if ledger is not None:
            with anyio.CancelScope(shield=True):
                await ledger.aclose()


class Spending:
    """The price book and, when a limit is set, the ledger. Built once per process by the server's lifespan."""

    def __init__(self, prices: PriceBook, ledger: SpendLedger | None = None) -> None:
        self._prices = prices
        self.ledger = ledger

    @classmethod
    def documented(cls, ledger: SpendLedger | None = None) -> Spending:
        """Documented prices only (no look-ups), and no limit unless a ledger is given: for a runtime built without a
        server."""

        prices = documented_prices()

        async def documented(model_id: str, inputs: Mapping[str, Any]) -> Decimal:
            return prices[model_id]

        return cls(PriceBook(documented, prices), ledger)

    async def quote(self, variant: Variant, inputs: Mapping[str, Any], *, seconds: float = QUOTE_SECONDS) -> Quote:
        return await self._prices.quote(variant.model_id, inputs, seconds=seconds)

    async def status(self) -> LedgerStatus | None:
        return None if self.ledger is None else await self.ledger.status()

    async def paid(
        self, request: EditRequest, send: Callable[[], Awaitable[Prediction]], *, quote_seconds: float = QUOTE_SECONDS
    ) -> Paid:
        """Quote (within `quote_seconds`), reserve, `send()` the submit; release the room if it provably created
        nothing. The caller commits (Paid.commit). Raises SpendRefused before sending when the limit says no."""
        variant, ledger = request.variant, self.ledger
        quote = await self.quote(variant, price_inputs(request), seconds=quote_seconds)
        if ledger is None:
            return Paid(await send(), quote.price_usd)
        reservation = await _reserve(ledger, quote.price_usd, variant.model_id)
        try:
            prediction = await send()
        except BaseException as exc:
            if created_nothing(exc):
                await _settle(ledger, reservation, None)
            else:
                log.warning(
                    "submit of unknown outcome: its $%s reservation stays until its lease ends", quote.price_usd
                )
            raise
        return Paid(prediction, quote.price_usd, partial(_settle, ledger, reservation, prediction.id))


async def _reserve(ledger: SpendLedger, price_usd: Decimal, label: str) -> Reservation:
    reservation: Reservation | None = None
    try:
        with anyio.CancelScope(shield=True):  # a booking made must be known, or it would block room for a day
            reservation = await ledger.reserve(price_usd, label=label)
    except SpendLimitExceeded as exc:
        raise SpendRefused(exc.message) from None
    except LedgerUnavailable as exc:
        raise SpendRefused(
            f"Refused before any paid request: the spend limit cannot be checked ({exc.message}). "
            "Nothing was submitted; try again once the ledger is reachable."
        ) from None
    assert reservation is not None  # the shield never swallows an exception
    return reservation


async def _settle(
    ledger: SpendLedger, reservation: Reservation, prediction_id: str | None, seconds: float | None = None
) -> None:
    try:
        with anyio.move_on_after(seconds, shield=True) as scope:  # the call answers on time, settled or not
            if prediction_id is None:
                await ledger.release(reservation)
            else:
                await ledger.commit(reservation, prediction_id)
        if scope.cancelled_caught:
            log.warning(
                "the spend ledger did not record prediction %s within %.1f s; its reservation counts as spent once "
                "its lease ends",
                prediction_id,
                seconds,
            )
    except Exception:
        # The job exists (or provably does not) whatever the ledger says: never turn that into a failed call.
        # An unsettled reservation is counted as spent once its lease ends, so the cap still holds.
        log.exception("could not settle the spend reservation %s (prediction %s)", reservation.id, prediction_id)
