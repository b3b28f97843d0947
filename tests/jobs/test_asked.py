"""Spend questions out with a client that answers by a second round: a later round finds the first one's edit,
words and deadline; a new call starts over; a late answer is known as late for a while; the memory is bounded."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from qwen_image_edit_mcp.jobs import asked as asked_module
from qwen_image_edit_mcp.jobs.asked import KEPT_AFTER_EXPIRY, AskedQuestions, question_key
from qwen_image_edit_mcp.jobs.prepare import EditArgs, PreparedEdit
from qwen_image_edit_mcp.jobs.pricing import Quote
from qwen_image_edit_mcp.media.inputs import ReadImage
from qwen_image_edit_mcp.variants import VARIANTS

ARGS = EditArgs(prompt="add a hat", image="https://example.com/a.jpg", wait_seconds=50)
EDIT = PreparedEdit(
    ARGS,
    VARIANTS["edit"],
    (ReadImage("image", data=b"x" * 1000),),
    (),
    "jpeg",
    None,
    Quote(Decimal("0.02"), "live"),
    0.0,
)
KEY = question_key(ARGS)


def test_the_same_arguments_give_the_same_key_and_others_another() -> None:
    assert question_key(replace(ARGS)) == KEY
    assert question_key(replace(ARGS, seed=3)) != KEY


def test_a_later_round_keeps_the_first_question_s_words_and_deadline() -> None:
    book = AskedQuestions()
    first = book.remember(KEY, EDIT, "balance $12.34. Go ahead?", 1.0, new_call=True)
    later = book.remember(KEY, replace(EDIT, started=30.0), "balance $12.32. Go ahead?", 30.0, new_call=False)
    assert later == first
    assert (later.question, later.answer_by, later.seconds) == ("balance $12.34. Go ahead?", 60.0, 60.0)


def test_a_new_call_with_the_same_arguments_starts_over() -> None:
    book = AskedQuestions()
    book.remember(KEY, EDIT, "first", 1.0, new_call=True)
    again = book.remember(KEY, replace(EDIT, started=100.0), "second", 100.0, new_call=True)
    assert (again.question, again.answer_by) == ("second", 160.0)


def test_a_timed_out_question_drops_its_bytes_but_stays_known_as_late_for_a_while() -> None:
    book = AskedQuestions()
    book.remember(KEY, EDIT, "q", 1.0, new_call=True)
    found = book.find(KEY, 61.0)
    assert found is not None
    assert found.late(61.0)
    assert found.edit is None
    assert (found.model, found.price_usd) == ("edit", Decimal("0.02"))
    assert book.find(KEY, 60.0 + KEPT_AFTER_EXPIRY + 1) is None


def test_the_book_is_bounded_in_count_and_bytes() -> None:
    book = AskedQuestions()
    for seed in range(asked_module.MAX_ENTRIES + 10):
        args = replace(ARGS, seed=seed)
        book.remember(question_key(args), replace(EDIT, args=args), "q", 1.0, new_call=True)
    assert book.find(question_key(replace(ARGS, seed=0)), 1.0) is None  # the oldest went first
    assert book.find(question_key(replace(ARGS, seed=asked_module.MAX_ENTRIES + 9)), 1.0) is not None
    huge = replace(EDIT, inputs=(ReadImage("image", data=b"x" * (asked_module.MAX_BYTES + 1)),))
    book.remember(KEY, huge, "q", 1.0, new_call=True)
    assert book.find(KEY, 1.0) is None  # an edit too big to keep is prepared again next round instead
