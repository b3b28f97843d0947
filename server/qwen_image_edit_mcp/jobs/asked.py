"""Spend questions that are out with a client which answers by calling again (the 2026-07-28 era's input-required
rounds: the server holds nothing open while the user thinks, and the answer arrives with a second `tools/call`).

The second round finds the edit prepared by the first, so nothing is fetched or checked again and the same question
(same price, same balance) is matched to its answer; and an answer that arrives after the question's time ran out
is known as late and refused. Bounded: a few dozen edits, their bytes capped; an entry the bounds push out only costs
the next round a fresh preparation. Entries outlive their question by a while, so that lateness is still seen.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .prepare import EditArgs, PreparedEdit

MAX_ENTRIES: Final = 64
MAX_BYTES: Final = 256 * 2**20  # the inputs' bytes kept for second rounds, in all
KEPT_AFTER_EXPIRY: Final = 600.0  # how long a timed-out question is still known as one


@dataclass(frozen=True)
class Asked:
    edit: PreparedEdit | None  # dropped once the question has timed out: only what it said matters then
    question: str  # the exact words asked, so the next round asks the same (a new balance must not re-ask)
    answer_by: float
    model: str
    price_usd: Decimal
    seconds: float  # how long the question had: the call's wait_seconds plus the answer margin

    def late(self, now: float) -> bool:
        return now > self.answer_by


def question_key(args: EditArgs) -> str:
    """The same arguments give the same key in every round of one call (EditArgs is a frozen value)."""
    return hashlib.sha256(repr(args).encode()).hexdigest()


class AskedQuestions:
    """Per process; `now` is the runtime's clock, as the edits' deadlines are."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, Asked] = OrderedDict()

    def find(self, key: str, now: float) -> Asked | None:
        self._expire(now)
        return self._entries.get(key)

    def remember(self, key: str, edit: PreparedEdit, question: str, now: float, *, new_call: bool) -> Asked:
        """The entry for `key`: for a new call, this question (any older one with the same arguments is over); for
        a later round of the same call, the one already out (its deadline and words stand), else this one."""
        asked = None if new_call else self.find(key, now)
        if asked is None:
            seconds = edit.answer_by - edit.started
            asked = Asked(edit, question, edit.answer_by, edit.variant.name, edit.price_usd, seconds)
            self._entries[key] = asked
            self._entries.move_to_end(key)
            self._bound()
        return asked

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def _expire(self, now: float) -> None:
        for key, asked in list(self._entries.items()):
            if now > asked.answer_by + KEPT_AFTER_EXPIRY:
                del self._entries[key]
            elif asked.late(now) and asked.edit is not None:
                self._entries[key] = replace(asked, edit=None)

    def _bound(self) -> None:
        while len(self._entries) > MAX_ENTRIES or _bytes(self._entries.values()) > MAX_BYTES:
            self._entries.popitem(last=False)


def _bytes(entries: Iterable[Asked]) -> int:
    total = 0
    for asked in entries:
        edit = asked.edit
        if edit is not None:
            total += sum(len(item.data or b"") for item in edit.inputs)
            total += edit.region.region.held_bytes if edit.region is not None else 0
    return total
