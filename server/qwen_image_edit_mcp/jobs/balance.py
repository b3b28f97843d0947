"""The get_balance use case: the account's balance at WaveSpeed, and this server's spend limit beside it. Free."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import cast

from ..errors import UnexpectedResponseError
from ..reports import BalanceReport
from ..state.ledger import LedgerUnavailable
from .runtime import Runtime


async def read_balance(runtime: Runtime) -> Decimal:
    """The balance in USD (`GET /api/v3/balance` → `data.balance`)."""
    data = await runtime.upstream.get_balance()
    raw = cast("dict[str, object]", data).get("balance") if isinstance(data, dict) else None
    try:
        balance = Decimal(str(raw)) if isinstance(raw, int | float | str) and not isinstance(raw, bool) else None
    except InvalidOperation:
        balance = None
    if balance is None or not balance.is_finite():
        raise UnexpectedResponseError("WaveSpeed's balance answer had no usable balance.")
    return balance


async def run_balance(runtime: Runtime) -> BalanceReport:
    balance = await read_balance(runtime)
    try:
        status = await runtime.spending.status()
    except LedgerUnavailable:
        status = None
    ledger = runtime.spending.ledger
    if status is None:
        return BalanceReport(
            balance_usd=float(balance), spend_limit_usd=None if ledger is None else float(ledger.limit_usd)
        )
    return BalanceReport(
        balance_usd=float(balance),
        spend_limit_usd=float(status.limit_usd),
        spent_usd=float(status.spent_usd + status.reserved_usd),
        remaining_usd=float(status.remaining_usd),
        frees_at=status.frees_at.strftime("%Y-%m-%dT%H:%M:%SZ") if status.frees_at is not None else None,
    )
