"""Money around the one paid request: the run's price, checked against the spend limit, reserved, then committed
or released.

    quote      the run's price for its own inputs: WaveSpeed's price endpoint, cached, else the fallback (pricing.py)
    check_room before the user is asked: a limit that already has no room for the price refuses (SpendRefused)
    reserve    the atomic booking right before the submit (SpendRefused when it would pass the limit); with
               variations, `reserve_all` books one per variation in one step, all or none. Each `Booking` is released
               when its submit provably created nothing, else committed with the prediction id, which the edit runs
               beside following the job (the reservation already counts, so nothing waits for it)

A submit whose outcome is unknown (sent, then no answer; a 5xx; an answer that is not WaveSpeed's) neither commits
nor releases: its reservation is left to its lease, after which the ledger counts it as spent. For a spend cap that
is the safe side: at worst one run's room is blocked for a day, and the cap is never passed. Reserving, committing
and releasing are shielded from cancellation, so a cancelled call cannot strand a reservation or lose a spend.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import anyio

from ..config import Settings
from ..errors import InputError
from ..state.ledger import (
    LedgerError,
    LedgerStatus,
    LedgerUnavailable,
    Reservation,
    SpendLedger,
    SpendLimitExceeded,
    format_usd,
    to_micros,
)
from ..state.store import Store
from ..upstream.protocol import Upstream
from ..upstream.spec import ModelSpec
from .pricing import QUOTE_SECONDS, PriceBook, Quote, parse_price

log = logging.getLogger(__name__)


class SpendRefused(InputError):
    """The spend limit refused the run (or could not be checked): nothing was sent, nothing was paid."""


@dataclass(frozen=True)
class Booking:
    """One run's reservation against the limit (`reservation` None when no limit is set). Exactly one of `release`
    (the submit provably created nothing) or `commit` (it created a prediction) is called, or neither when the
    outcome is unknown; both are shielded, never raise, and `commit` gives up after `seconds`."""

    price_usd: Decimal
    ledger: SpendLedger | None = None
    reservation: Reservation | None = None

    async def release(self) -> None:
        if self.ledger is not None and self.reservation is not None:
            await _settle(self.ledger, self.reservation, None)

    async def commit(self, prediction_id: str, seconds: float | None = None) -> None:
        if self.ledger is not None and self.reservation is not None:
            await _settle(self.ledger, self.reservation, prediction_id, seconds)


def live_prices(client: Upstream) -> Callable[[str, Mapping[str, Any]], Awaitable[Decimal]]:
    async def fetch(model_id: str, inputs: Mapping[str, Any]) -> Decimal:
        return parse_price({"data": await client.get_price(model_id, inputs)})

    return fetch


def open_spending(settings: Settings, client: Upstream, store: Store, clock: Callable[[], float]) -> Spending:
    """Live prices (cached on `clock`) and, when a limit is set, its ledger in the store."""
    ledger = None if settings.max_spend_usd is None else store.ledger(settings.max_spend_usd)
    if ledger is not None:
        log.info("spend limit: $%s per rolling 24 h (ledger in the %s)", ledger.limit_usd, store.description)
    return Spending(PriceBook(live_prices(client), clock=clock), ledger)


class Spending:
    """The price book and, when a limit is set, the ledger. Built once per process by the server's lifespan."""

    def __init__(self, prices: PriceBook, ledger: SpendLedger | None = None) -> None:
        self._prices = prices
        self.ledger = ledger

    @classmethod
    def documented(cls, ledger: SpendLedger | None = None) -> Spending:
        """Each model's fallback price only (no look-ups), and no limit unless a ledger is given: for a runtime built
        without a server."""
        return cls(PriceBook(None), ledger)

    async def quote(self, model: ModelSpec, inputs: Mapping[str, Any], *, seconds: float = QUOTE_SECONDS) -> Quote:
        return await self._prices.quote(model.model_id, inputs, fallback=model.fallback_price, seconds=seconds)

    async def status(self) -> LedgerStatus | None:
        return None if self.ledger is None else await self.ledger.status()

    async def check_room(self, price_usd: Decimal, *, count: int = 1) -> None:
        """Before anyone is asked to pay: SpendRefused when the limit already has no room for `count` runs at
        `price_usd`, or cannot be read. The booking itself is `reserve`'s, atomically, right before the submit."""
        if self.ledger is None:
            return
        try:
            status = await self.ledger.status()
        except LedgerError as exc:
            raise _unavailable(exc) from None
        if status.remaining_usd < price_usd * count:
            if count == 1:
                raise SpendRefused(_looks_full(status, price_usd))
            frees = _at(" Some room frees up at", status.frees_at)
            raise SpendRefused(_no_room_for_all(status.remaining_usd, price_usd, count, status.limit_usd) + frees)

    async def reserve(self, price_usd: Decimal, *, label: str) -> Booking:
        """Book one run at `price_usd` against the limit (SpendRefused, nothing booked, when it would pass it)."""
        return (await self.reserve_all(price_usd, label=label, count=1))[0]

    async def reserve_all(self, price_usd: Decimal, *, label: str, count: int) -> list[Booking]:
        """Book `count` runs at `price_usd` against the limit in one atomic step, all or none (SpendRefused, nothing
        booked, when they would pass it): one booking per run, each settled on its own."""
        if self.ledger is None:
            return [Booking(price_usd) for _ in range(count)]
        reservations = await _reserve(self.ledger, price_usd, label, count)
        return [Booking(price_usd, self.ledger, reservation) for reservation in reservations]


def _looks_full(status: LedgerStatus, price_usd: Decimal) -> str:
    def usd(amount: Decimal) -> str:
        return format_usd(to_micros(amount))

    reserved = f", plus {usd(status.reserved_usd)} reserved by edits in progress" if status.reserved_usd else ""
    frees = f" Some room frees up at {status.frees_at:%Y-%m-%dT%H:%M:%SZ}." if status.frees_at is not None else ""
    return (
        f"Refused before any paid request: this edit costs {usd(price_usd)}, which would pass the spend limit of "
        f"{usd(status.limit_usd)} per rolling 24 h (--max-spend-usd / QWEN_EDIT_MAX_SPEND_USD). Spent in the last "
        f"24 h: {usd(status.spent_usd)}{reserved}; {usd(status.remaining_usd)} left. Nothing was submitted and "
        f"nobody was asked to pay.{frees}"
    )


def _unavailable(exc: LedgerError) -> SpendRefused:
    return SpendRefused(
        f"Refused before any paid request: the spend limit cannot be checked ({exc.message}). "
        "Nothing was submitted; try again once the ledger is reachable."
    )


def _no_room_for_all(room_usd: Decimal, price_usd: Decimal, count: int, limit_usd: Decimal) -> str:
    """A refusal of several variations: all or none, and how many would fit now."""
    fit = max(0, min(count - 1, int(room_usd // price_usd) if price_usd > 0 else count - 1))
    return (
        f"Refused before any paid request: {count} variations cost {_usd(price_usd * count)} together "
        f"({_usd(price_usd)} each), which would pass the spend limit of {_usd(limit_usd)} per rolling 24 h "
        f"(--max-spend-usd / QWEN_EDIT_MAX_SPEND_USD), which has {_usd(room_usd)} left. Variations run all or none, "
        f"so nothing was submitted and nobody was asked to pay. "
        + (f"{fit} would fit now: call again with variations={fit}." if fit else "Not even one fits now.")
    )


def _at(what: str, when: datetime | None) -> str:
    return "" if when is None else f"{what} {when:%Y-%m-%dT%H:%M:%SZ}."


def _usd(amount: Decimal) -> str:
    return format_usd(to_micros(amount))


async def _reserve(ledger: SpendLedger, price_usd: Decimal, label: str, count: int) -> list[Reservation]:
    reservations: list[Reservation] | None = None
    try:
        with anyio.CancelScope(shield=True):  # a booking made must be known, or it would block room for a day
            reservations = await ledger.reserve_many([price_usd] * count, label=label)
    except SpendLimitExceeded as exc:
        if count == 1:
            raise SpendRefused(exc.message) from None
        room = max(exc.limit_usd - exc.spent_usd - exc.reserved_usd, Decimal(0))
        frees = _at(f" Room for all {count} frees up at", exc.frees_at)
        if exc.frees_at is None and price_usd * count > exc.limit_usd:
            frees = " Even with nothing spent, together they cost more than the whole limit."
        raise SpendRefused(_no_room_for_all(room, price_usd, count, exc.limit_usd) + frees) from None
    except LedgerUnavailable as exc:
        raise _unavailable(exc) from None
    assert reservations is not None  # the shield never swallows an exception
    return reservations


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
