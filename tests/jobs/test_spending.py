"""The money around one submit, with a real ledger (the embedded store's): a booking committed with the id or
released, what each failure of a submit says it means (the error's own outcome), the room checked before asking, and
settling even when the call is cancelled."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from harness import ledger_in
from qwen_image_edit_mcp.errors import ApiError, ConnectionFailedError, InsufficientBalanceError, ServerError, api_error
from qwen_image_edit_mcp.jobs.spending import Spending, SpendRefused
from qwen_image_edit_mcp.models import Prediction
from qwen_image_edit_mcp.state.ledger import LedgerStatus
from qwen_image_edit_mcp.state.store import STORE_FILE_NAME

pytestmark = pytest.mark.anyio
PRICE = Decimal("0.02")
LABEL = "wavespeed-ai/qwen-image/edit"
PREDICTION = Prediction(id="e6832d4abffb4d79bfbca19783fca133")


def spending(tmp_path: Path, limit: str = "0.05") -> Spending:
    return Spending.documented(ledger_in(tmp_path, limit))


async def status(money: Spending) -> LedgerStatus:
    result = await money.status()
    assert result is not None
    return result


async def test_a_created_job_is_committed_with_its_id_and_its_price(tmp_path: Path) -> None:
    money = spending(tmp_path)
    booking = await money.reserve(PRICE, label=LABEL)
    assert (await status(money)).reserved_usd == PRICE  # counted from the booking on, before any request
    await booking.commit(PREDICTION.id, 5.0)
    assert ((await status(money)).spent_usd, (await status(money)).reserved_usd) == (PRICE, 0)
    with sqlite3.connect(tmp_path / STORE_FILE_NAME) as database:  # what another process would read
        assert database.execute("SELECT count(*) FROM ledger WHERE prediction_id = ?", (PREDICTION.id,)).fetchone() == (
            1,
        )


async def test_a_released_booking_gives_its_room_back(tmp_path: Path) -> None:
    money = spending(tmp_path)
    await (await money.reserve(PRICE, label=LABEL)).release()
    assert (await status(money)).remaining_usd == Decimal("0.05")


@pytest.mark.parametrize(
    ("error", "nothing_created", "may_resend"),
    [
        (api_error(400, "bad size"), True, False),
        (api_error(402, ""), True, False),
        (api_error(403, "top up"), True, False),
        (api_error(429, ""), True, True),
        (ConnectionFailedError("refused", request_sent=False), True, True),
        (ConnectionFailedError("timed out", request_sent=True), False, False),
        (api_error(503, ""), False, False),
        (ServerError("x", status_code=500), False, False),
        (ApiError("x", status_code=200), False, False),
    ],
)
def test_a_failed_submit_says_once_what_it_means(error: ApiError, nothing_created: bool, may_resend: bool) -> None:
    assert error.created_nothing is nothing_created
    assert error.outcome == ("nothing_created" if nothing_created else "unknown")
    assert error.may_resend is may_resend


def test_an_empty_account_is_its_own_error() -> None:
    assert isinstance(api_error(402, ""), InsufficientBalanceError)


async def test_a_cancel_while_the_answer_arrives_still_commits(tmp_path: Path) -> None:
    money = spending(tmp_path)
    reached = False
    booking = await money.reserve(PRICE, label=LABEL)
    with anyio.CancelScope() as scope:
        scope.cancel()  # the caller gives up just as WaveSpeed's answer with the id arrives
        async with anyio.create_task_group() as beside:  # as start does: commit beside the follow-up
            beside.start_soon(booking.commit, PREDICTION.id, 5.0)
            await anyio.lowlevel.checkpoint()
            reached = True
    assert not reached
    assert (await status(money)).spent_usd == PRICE


async def test_over_the_limit_nothing_is_booked(tmp_path: Path) -> None:
    money = spending(tmp_path, limit="0.03")
    await (await money.reserve(PRICE, label=LABEL)).commit(PREDICTION.id, 5.0)
    with pytest.raises(SpendRefused, match="Refused before any paid request"):
        await money.reserve(PRICE, label=LABEL)
    assert (await status(money)).reserved_usd == 0


async def test_a_limit_that_looks_full_refuses_before_anyone_is_asked(tmp_path: Path) -> None:
    money = spending(tmp_path, limit="0.03")
    await money.check_room(PRICE)  # room for one
    await (await money.reserve(PRICE, label=LABEL)).commit(PREDICTION.id, 5.0)
    with pytest.raises(SpendRefused, match=r"costs \$0\.02, which would pass the spend limit of \$0\.03"):
        await money.check_room(PRICE)


async def test_without_a_limit_every_booking_is_free_of_the_ledger() -> None:
    money = Spending.documented()
    await money.check_room(Decimal(1000))
    booking = await money.reserve(Decimal(1000), label=LABEL)
    await booking.commit(PREDICTION.id, 1.0)
    assert await money.status() is None


async def test_variations_are_booked_all_or_none_each_settled_on_its_own(tmp_path: Path) -> None:
    money = spending(tmp_path, "0.07")
    bookings = await money.reserve_all(PRICE, label=LABEL, count=3)
    assert (await status(money)).reserved_usd == Decimal("0.06")
    await bookings[0].release()  # created nothing
    await bookings[1].commit(PREDICTION.id, 5.0)  # created a job
    # the third's outcome is unknown: it keeps its reservation
    now = await status(money)
    assert (now.spent_usd, now.reserved_usd) == (Decimal("0.02"), Decimal("0.02"))
    with pytest.raises(SpendRefused, match=r"\$0\.03 left.*1 would fit now: call again with variations=1"):
        await money.reserve_all(PRICE, label=LABEL, count=3)
    assert (await status(money)).reserved_usd == Decimal("0.02")  # nothing of the refused three was booked


async def test_the_check_before_asking_says_how_many_variations_fit(tmp_path: Path) -> None:
    money = spending(tmp_path, "0.05")
    with pytest.raises(SpendRefused, match=r"3 variations cost \$0\.06 together \(\$0\.02 each\).*2 would fit now"):
        await money.check_room(PRICE, count=3)
    await money.check_room(PRICE, count=2)
    with pytest.raises(SpendRefused, match="Not even one fits now"):
        await money.check_room(Decimal("0.06"), count=2)
    await (await money.reserve(PRICE, label=LABEL)).commit(PREDICTION.id, 5.0)
    with pytest.raises(SpendRefused, match=r"Some room frees up at 20\d\d-"):
        await money.check_room(PRICE, count=2)
    with pytest.raises(SpendRefused, match=r"1 would fit now.*Room for all 2 frees up at 20\d\d-"):
        await money.reserve_all(PRICE, label=LABEL, count=2)
    with pytest.raises(SpendRefused, match=r"together they cost more than the whole limit"):
        await money.reserve_all(PRICE, label=LABEL, count=3)
