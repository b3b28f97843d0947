"""Spend questions out with a client that answers by a later round: found by the call's arguments, each with its own
reference, claimed once, known as late for a while, and bounded in count and bytes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from qwen_image_edit_mcp.jobs import asked as asked_module
from qwen_image_edit_mcp.jobs.asked import KEPT_AFTER_EXPIRY, AskedQuestions, new_ref, question_key
from qwen_image_edit_mcp.jobs.prepare import EditArgs, PreparedEdit
from qwen_image_edit_mcp.jobs.pricing import Quote
from qwen_image_edit_mcp.media.inputs import ReadImage
from qwen_image_edit_mcp.upstream.curated import BUILT_IN

ARGS = EditArgs(prompt="add a hat", image="https://example.com/a.jpg", wait_seconds=50)
EDIT = PreparedEdit(
    ARGS,
    BUILT_IN["edit"],
    (ReadImage("image", data=b"x" * 1000),),
    {"prompt": "add a hat", "image": "image (uploaded when submitted)"},
    "jpeg",
    None,
    Quote(Decimal("0.02"), "live"),
    0.0,
)
KEY = question_key(ARGS)


def test_the_same_arguments_give_the_same_key_and_others_another() -> None:
    assert question_key(replace(ARGS)) == KEY
    assert question_key(replace(ARGS, seed=3)) != KEY


def test_every_question_has_a_reference_of_its_own() -> None:
    assert len({new_ref() for _ in range(1000)}) > 990


def test_a_newer_question_about_the_same_arguments_replaces_the_older_one() -> None:
    book = AskedQuestions()
    first = book.ask(KEY, EDIT, "first", "aaaaaa")
    assert book.latest(KEY, 1.0) == first
    second = book.ask(KEY, replace(EDIT, started=30.0), "second", "bbbbbb")
    assert book.latest(KEY, 31.0) == second
    assert (second.answer_by, second.seconds) == (90.0, 60.0)
    assert not book.knows(first.ref)  # the older call's answer matches nothing now: it is asked anew
    assert book.latest(question_key(replace(ARGS, seed=3)), 31.0) is None


def test_a_question_is_claimed_once() -> None:
    book = AskedQuestions()
    asked = book.ask(KEY, EDIT, "q", "aaaaaa")
    assert book.claim(asked.ref)
    assert not book.claim(asked.ref)
    assert book.latest(KEY, 1.0) is None


def test_a_timed_out_question_drops_its_bytes_but_stays_known_as_late_for_a_while() -> None:
    book = AskedQuestions()
    book.ask(KEY, EDIT, "q", "aaaaaa")
    found = book.latest(KEY, 61.0)
    assert found is not None
    assert found.late(61.0)
    assert found.edit is None
    assert (found.model, found.price_usd) == ("wavespeed-ai/qwen-image/edit", Decimal("0.02"))  # the id, not "edit"
    assert book.latest(KEY, 60.0 + KEPT_AFTER_EXPIRY + 1) is None


def test_the_oldest_questions_go_first_past_the_count_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asked_module, "MAX_QUESTIONS", 4)
    book = AskedQuestions()
    keys = [question_key(replace(ARGS, seed=seed)) for seed in range(6)]
    for seed, key in enumerate(keys):
        book.ask(key, EDIT, "q", f"{seed:06d}")
    assert [book.latest(key, 1.0) is not None for key in keys] == [False, False, True, True, True, True]


def test_past_the_byte_bound_the_oldest_questions_keep_their_words_but_not_their_edit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(asked_module, "MAX_BYTES", 2500)
    book = AskedQuestions()
    keys = [question_key(replace(ARGS, seed=seed)) for seed in range(3)]
    for seed, key in enumerate(keys):
        book.ask(key, EDIT, f"q{seed}", f"{seed:06d}")  # 1000 bytes each
    found = [book.latest(key, 1.0) for key in keys]
    assert [asked.question if asked else None for asked in found] == ["q0", "q1", "q2"]
    assert [asked.edit is not None if asked else None for asked in found] == [False, True, True]
