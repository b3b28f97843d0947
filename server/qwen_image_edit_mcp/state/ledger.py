"""The spend limit: a ledger of what this server has spent in any rolling 24 hours.

How the edit use case is meant to use it (the store gives the ledger, `Store.ledger(limit)`, only when a limit is set):

    reservation = await ledger.reserve(price, label=model_id)  # SpendLimitExceeded: refuse, nothing was paid
    try:
        prediction_id = await submit(...)
    except <an error proving WaveSpeed created nothing: a 4xx refusal, a connection that failed before sending>:
        await ledger.release(reservation)  # never spent: the room comes back
        raise
    await ledger.commit(reservation, prediction_id)  # spent: it counts for the next 24 h

Reserve before every submit: the check and the booking are one atomic step, so concurrent edits (threads, uvicorn
workers, replicas sharing Redis) cannot all slip under the limit together. Commit as soon as WaveSpeed returns an id,
whatever the job does later (WaveSpeed refunds failed jobs within hours; the cap stays on the safe side). When it is
unclear whether the submit arrived (a timeout after sending, a 5xx), neither release nor commit: the lease runs out
and the reservation counts as spent. Settle (commit or release) inside a shielded cancel scope, so a cancelled tool
call does not strand its reservation. `LedgerUnavailable` from `reserve` means the limit cannot be checked: refuse.
`status()` is what `get_balance` reports beside the account balance: the limit, what was spent, what is left.
`reserve_many` books several amounts at once, all or nothing (their sum checked once); each is settled on its own.

Amounts are whole micro-dollars inside (rounded up when reserving), `Decimal` outside: never float sums.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field

WINDOW_SECONDS = 24 * 3600.0
# A submit takes seconds; 15 minutes is far beyond any of its timeouts. An uncommitted reservation older than that
# belongs to a process that died mid-submit, which may have paid: it then counts as spent (until 24 h after its lease
# ended) rather than expiring. For a spend cap over-counting is the safe side: at worst one price's room is blocked
# for a day, and the cap is never passed.
LEASE_SECONDS = 15 * 60.0
_MICROS = Decimal(1_000_000)


class LedgerError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LedgerUnavailable(LedgerError):
    """The ledger could not be read or written, so the limit cannot be checked: the edit must be refused."""


class LedgerSettingsError(ValueError):
    """The spend-limit settings cannot work (bad limit, bad URL, or the Redis extra is not installed)."""


class SpendLimitExceeded(LedgerError):
    """This run's price does not fit under the limit: refused before any paid request."""

    def __init__(
        self,
        message: str,
        *,
        limit_usd: Decimal,
        spent_usd: Decimal,
        reserved_usd: Decimal,
        amount_usd: Decimal,
        frees_at: datetime | None,
    ) -> None:
        super().__init__(message)
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.reserved_usd = reserved_usd
        self.amount_usd = amount_usd
        self.frees_at = frees_at


@dataclass(frozen=True)
class Reservation:
    id: str
    amount_usd: Decimal
    label: str
    reserved_at: float
    lease_until: float


@dataclass(frozen=True)
class LedgerStatus:
    """`spent_usd` includes reservations whose lease ran out; `frees_at` is when the next piece of room frees up."""

    limit_usd: Decimal
    spent_usd: Decimal
    reserved_usd: Decimal
    remaining_usd: Decimal
    frees_at: datetime | None


class SpendLedger(Protocol):
    @property
    def limit_usd(self) -> Decimal: ...

    async def reserve(self, amount_usd: Decimal, *, label: str) -> Reservation:
        """Book `amount_usd` against the limit, or raise SpendLimitExceeded (nothing booked)."""
        ...

    async def reserve_many(self, amounts_usd: Sequence[Decimal], *, label: str) -> list[Reservation]:
        """Book every amount in one atomic step, or none: their sum (each rounded up to micros on its own) is checked
        against the limit once, and SpendLimitExceeded names that sum. One Reservation per amount, in the order
        given, each committed or released on its own. An empty list raises ValueError."""
        ...

    async def commit(self, reservation: Reservation, prediction_id: str) -> None:
        """The submit created `prediction_id`: the amount is spent and counts for the next 24 h."""
        ...

    async def release(self, reservation: Reservation) -> None:
        """The submit provably created nothing: give the room back. A no-op once committed."""
        ...

    async def status(self) -> LedgerStatus: ...


class Entry(BaseModel):
    """One reservation or spend as stored (a JSON object in the file, a hash value in Redis)."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    id: str
    label: str
    micros: int = Field(ge=0)
    state: Literal["reserved", "spent"]
    reserved_at: float
    lease_until: float
    ends: float  # when it stops counting against the limit
    prediction_id: str | None = None


def to_micros(amount_usd: Decimal) -> int:
    """Whole micro-dollars, rounded up: a reservation never books less than the price."""
    given = cast(object, amount_usd)  # checked as it arrives at run time, whatever the annotation promises
    if not isinstance(given, Decimal) or not given.is_finite() or given < 0:
        raise ValueError(f"an amount must be a finite Decimal of 0 or more, got {amount_usd!r}")
    return int((amount_usd * _MICROS).to_integral_value(rounding=ROUND_CEILING))


def to_micros_each(amounts_usd: Sequence[Decimal]) -> list[int]:
    """Each amount in whole micro-dollars, rounded up one by one (as `reserve` books it); none at all is refused."""
    if not amounts_usd:
        raise ValueError("reserve_many needs at least one amount")
    return [to_micros(amount) for amount in amounts_usd]


def to_usd(micros: int) -> Decimal:
    return Decimal(micros).scaleb(-6)


def format_usd(micros: int) -> str:
    amount = to_usd(micros)
    return f"${amount.quantize(Decimal('0.01'))}" if micros % 10_000 == 0 else f"${amount.normalize():f}"


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def new_entry(micros: int, label: str, now: float, *, lease: float, window: float) -> Entry:
    lease_until = now + lease
    return Entry(
        id=uuid.uuid4().hex,
        label=label,
        micros=micros,
        state="reserved",
        reserved_at=now,
        lease_until=lease_until,
        ends=lease_until + window,
    )


def spent_entry(reservation: Reservation, prediction_id: str, now: float, *, window: float) -> Entry:
    # Counted from now, not from the reservation: WaveSpeed charged somewhere in between, so this never undercounts.
    return Entry(
        id=reservation.id,
        label=reservation.label,
        micros=to_micros(reservation.amount_usd),
        state="spent",
        reserved_at=reservation.reserved_at,
        lease_until=reservation.lease_until,
        ends=now + window,
        prediction_id=prediction_id,
    )


def to_reservation(entry: Entry) -> Reservation:
    return Reservation(
        id=entry.id,
        amount_usd=to_usd(entry.micros),
        label=entry.label,
        reserved_at=entry.reserved_at,
        lease_until=entry.lease_until,
    )


def counted(entries: list[Entry], now: float) -> list[Entry]:
    return [entry for entry in entries if entry.ends > now]


def fits(limit_micros: int, entries: list[Entry], micros: int, now: float) -> bool:
    return sum(entry.micros for entry in counted(entries, now)) + micros <= limit_micros


def _split(entries: list[Entry], now: float) -> tuple[int, int]:
    """(spent, reserved) micros: a reservation whose lease ran out is spent-unknown, so it counts as spent."""
    live = counted(entries, now)
    reserved = sum(entry.micros for entry in live if entry.state == "reserved" and entry.lease_until > now)
    return sum(entry.micros for entry in live) - reserved, reserved


def summarize(limit_micros: int, entries: list[Entry], now: float) -> LedgerStatus:
    spent, reserved = _split(entries, now)
    frees = min((entry.ends for entry in counted(entries, now)), default=None)
    return status_of(limit_micros, spent, reserved, frees)


def status_of(limit_micros: int, spent: int, reserved: int, frees: float | None) -> LedgerStatus:
    """The status from its sums (a store may add them up where the entries are, rather than reading each one):
    `spent` counts leases that ran out, `reserved` the leases still running, `frees` is the earliest live end."""
    return LedgerStatus(
        limit_usd=to_usd(limit_micros),
        spent_usd=to_usd(spent),
        reserved_usd=to_usd(reserved),
        remaining_usd=to_usd(max(0, limit_micros - spent - reserved)),
        frees_at=None if frees is None else utc(frees),
    )


def room_frees_at(limit_micros: int, entries: list[Entry], micros: int, now: float) -> float | None:
    """When enough of today's spending has turned 24 h old for `micros` more to fit; None if it never can."""
    if micros > limit_micros:
        return None
    live = sorted(counted(entries, now), key=lambda entry: entry.ends)
    total = sum(entry.micros for entry in live)
    if total + micros <= limit_micros:
        return now
    for entry in live:
        total -= entry.micros
        if total + micros <= limit_micros:
            return entry.ends
    return None  # unreachable: with every entry gone the total is 0


def refusal(limit_micros: int, entries: list[Entry], micros: int, now: float) -> SpendLimitExceeded:
    spent, reserved = _split(entries, now)
    frees = room_frees_at(limit_micros, entries, micros, now)
    head = (
        f"Refused before any paid request: this edit costs {format_usd(micros)}, which would pass the spend limit of "
        f"{format_usd(limit_micros)} per rolling 24 h (--max-spend-usd / QWEN_EDIT_MAX_SPEND_USD). "
        f"Spent in the last 24 h: {format_usd(spent)}"
    )
    head += f", plus {format_usd(reserved)} reserved by edits in progress." if reserved else "."
    if frees is None:
        tail = " One edit costs more than the whole limit: raise the limit to run it."
    else:
        # Rounded up to the second and minute: "frees up at" must never name a moment that is still too early.
        at = utc(math.ceil(frees))
        minutes = max(1, math.ceil((frees - now) / 60))
        tail = f" Room for it frees up at {at.strftime('%Y-%m-%dT%H:%M:%SZ')} (in {minutes} min)."
    return SpendLimitExceeded(
        head + tail,
        limit_usd=to_usd(limit_micros),
        spent_usd=to_usd(spent),
        reserved_usd=to_usd(reserved),
        amount_usd=to_usd(micros),
        frees_at=None if frees is None else utc(frees),
    )


def limit_micros_of(limit_usd: Decimal) -> int:
    if not limit_usd.is_finite() or limit_usd <= 0:
        raise LedgerSettingsError(
            f"--max-spend-usd / QWEN_EDIT_MAX_SPEND_USD must be above 0 (unset means no limit), got {limit_usd}"
        )
    # Rounded down: the cap never grows by rounding.
    return int((limit_usd * _MICROS).to_integral_value(rounding=ROUND_FLOOR))
