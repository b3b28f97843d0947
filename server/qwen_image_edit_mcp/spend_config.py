"""The money settings: the spend limit and when to ask the user before paying (its ledger lives in the store).

--max-spend-usd / QWEN_EDIT_MAX_SPEND_USD      cap on what this server spends in any rolling 24 h (unset: none)
--confirm-spend / QWEN_EDIT_CONFIRM_SPEND       always | above:USD | never (default): ask through elicitation
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

CONFIRM_NAMES = "--confirm-spend / QWEN_EDIT_CONFIRM_SPEND"
LIMIT_NAMES = "--max-spend-usd / QWEN_EDIT_MAX_SPEND_USD"


@dataclass(frozen=True)
class ConfirmSpend:
    """When an edit asks the user first: `always`, `above` a price in USD, or `never` (the default)."""

    mode: Literal["always", "above", "never"] = "never"
    above_usd: Decimal = Decimal(0)

    def asks_for(self, price_usd: Decimal) -> bool:
        return self.mode == "always" or (self.mode == "above" and price_usd > self.above_usd)

    def __str__(self) -> str:
        return f"above:{self.above_usd}" if self.mode == "above" else self.mode


NEVER_ASK: Final = ConfirmSpend()


def usd(raw: str, names: str) -> Decimal:
    """A positive, finite amount of US dollars ("1.50", "$2"), or a ValueError naming the setting."""
    try:
        amount = Decimal(raw.strip().removeprefix("$"))
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"{names} must be an amount in US dollars above 0, e.g. 5 or 0.50; got {raw!r}")
    return amount


def parse_confirm_spend(raw: str) -> ConfirmSpend:
    text = raw.strip().lower()
    if text in ("always", "never"):
        return ConfirmSpend(mode=text)
    if text.startswith("above:"):
        return ConfirmSpend(mode="above", above_usd=usd(text.removeprefix("above:"), CONFIRM_NAMES + " above:"))
    raise ValueError(f"{CONFIRM_NAMES} must be always, above:USD (e.g. above:0.02) or never; got {raw!r}")
