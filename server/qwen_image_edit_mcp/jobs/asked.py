"""Spend questions out with a client which answers by calling again (the 2026-07-28 era's input-required rounds: the
server holds nothing open while the user thinks, and the answer arrives with a later `tools/call`).

Each question carries a reference of its own ("... Go ahead? (question 3fa9c1d2)"), so an answer counts only for the
question it answered, in the call that asked it:

- a later round finds its question by the call's arguments, and asks it again word for word, so the SDK matches the
  answer to it; its edit, prepared in the first round, is reused (nothing fetched or checked again);
- each question is answered once: the tool's body `claim`s it before anything is paid, so a resent answer (a retry,
  a decline sent again as an accept) finds it gone;
- a later round that finds no question (answered already, pushed out by the bounds, or asked by another process)
  asks a new one, with a new reference, which no earlier answer matches: the user is asked again, never skipped;
- an answer after the question's time is refused as late, for a while after that time.

Bounded: a thousand questions at most, the oldest going first, and their edits' bytes in all; past the byte bound
the oldest questions drop their edit (the next round prepares it again) but keep their words and deadline.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .prepare import EditArgs, PreparedEdit

MAX_QUESTIONS: Final = 1024
MAX_BYTES: Final = 256 * 2**20  # the prepared edits' bytes kept for later rounds, in all
KEPT_AFTER_EXPIRY: Final = 600.0  # how long a timed-out question is still known as one


@dataclass(frozen=True)
class Asked:
    ref: str  # in the question's words: what ties an answer to this question and no other
    key: str  # the call's arguments (`question_key`)
    edit: PreparedEdit | None  # dropped past the byte bound or once late: only the words and deadline matter then
    question: str  # the exact words asked, which a later round asks again so that the answer matches
    answer_by: float
    model: str  # the model's id
    price_usd: Decimal
    seconds: float  # how long the question had: the call's wait_seconds plus the answer margin
    seeds: tuple[int, ...] = (-1,)  # the variations' seeds, which the words name: a later round runs these

    def late(self, now: float) -> bool:
        return now > self.answer_by


def question_key(args: EditArgs) -> str:
    """The same arguments give the same key in every round of one call (EditArgs is a frozen value)."""
    return hashlib.sha256(repr(args).encode()).hexdigest()


def new_ref() -> str:
    return secrets.token_hex(4)


class AskedQuestions:
    """Per process; `now` is the runtime's clock, as the edits' deadlines are."""

    def __init__(self) -> None:
        self._questions: OrderedDict[str, Asked] = OrderedDict()  # by ref, oldest first

    def latest(self, key: str, now: float) -> Asked | None:
        """The newest question out for these arguments: a later round of a call asks it again."""
        self._expire(now)
        found = [asked for asked in self._questions.values() if asked.key == key]
        return found[-1] if found else None

    def ask(self, key: str, edit: PreparedEdit, words: str, ref: str) -> Asked:
        """A new question for this call, remembered for its later rounds. It replaces any older question about the
        same arguments: a later round finds the newest one, so an older one could never be claimed, and its answer
        (a "no", say) could be resent once the newer one is gone. Its call is asked anew instead."""
        for older in [other for other, asked in self._questions.items() if asked.key == key]:
            del self._questions[older]
        seconds = edit.answer_by - edit.started
        asked = Asked(ref, key, edit, words, edit.answer_by, edit.model.model_id, edit.price_usd, seconds, edit.seeds)
        self._questions[ref] = asked
        self._bound()
        return asked

    def knows(self, ref: str) -> bool:
        return ref in self._questions

    def claim(self, ref: str) -> bool:
        """Take the question as answered, once: False when it was answered already (or is no longer known)."""
        return self._questions.pop(ref, None) is not None

    def _expire(self, now: float) -> None:
        for ref, asked in list(self._questions.items()):
            if now > asked.answer_by + KEPT_AFTER_EXPIRY:
                del self._questions[ref]
            elif asked.late(now) and asked.edit is not None:
                self._questions[ref] = replace(asked, edit=None)

    def _bound(self) -> None:
        while len(self._questions) > MAX_QUESTIONS:
            self._questions.popitem(last=False)
        held = sum(_bytes(asked.edit) for asked in self._questions.values())
        for ref, asked in self._questions.items():  # oldest first; replacing a value keeps the order
            if held <= MAX_BYTES:
                break
            held -= _bytes(asked.edit)
            self._questions[ref] = replace(asked, edit=None)


def _bytes(edit: PreparedEdit | None) -> int:
    if edit is None:
        return 0
    held = sum(len(item.data or b"") for item in edit.inputs)
    return held + (edit.region.region.held_bytes if edit.region is not None else 0)
