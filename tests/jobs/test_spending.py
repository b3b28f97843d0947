"""The money around one submit, with a real file ledger and a stand-in submit: commit with the id, release only when
nothing was created, keep the reservation when the outcome is unknown, and settle even when the call is cancelled."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from qwen_image_edit_mcp.errors import ApiError, ConnectionFailedError, InsufficientBalanceError, ServerError, api_error
from qwen_image_edit_mcp.jobs.ledger import LedgerStatus
from qwen_image_edit_mcp.jobs.ledger_file import FileLedger
from qwen_image_edit_mcp.jobs.spending import Spending, SpendRefused, created_nothing
from qwen_image_edit_mcp.models import EditRequest, Prediction

pytestmark = pytest.mark.anyio
REQUEST = EditRequest(prompt="add a hat", images=("https://example.com/a.jpg",))
PREDICTION = Prediction(id="e6832d4abffb4d79bfbca19783fca133")


def spending(tmp_path: Path, limit: str = "0.05") -> Spending:
    return Spending.documented(FileLedger(Decimal(limit), tmp_path))


async def status(money: Spending) -> LedgerStatus:
    result = await money.status()
    assert result is not None
    return result


async def test_a_created_job_is_committed_with_its_id_and_its_price(tmp_path: Path) -> None:
    money = spending(tmp_path)

    async def send() -> Prediction:
        assert (await status(money)).reserved_usd == Decimal("0.02")  # reserved before the request
        return PREDICTION

    paid = await money.paid(REQUEST, send)
    assert (paid.prediction.id, paid.price_usd) == (PREDICTION.id, Decimal("0.02"))
    assert (await status(money)).reserved_usd == Decimal("0.02")  # counted all along, committed beside the follow-up
    await paid.commit(5.0)
    assert ((await status(money)).spent_usd, (await status(money)).reserved_usd) == (Decimal("0.02"), 0)
    assert PREDICTION.id in (tmp_path / "spend.json").read_text()


@pytest.mark.parametrize(
    ("error", "released"),
    [
        (api_error(400, "bad size"), True),
        (api_error(402, ""), True),
        (api_error(429, ""), True),
        (ConnectionFailedError("refused", request_sent=False), True),
        (ConnectionFailedError("timed out", request_sent=True), False),
        (api_error(503, ""), False),
    ],
)
async def test_only_a_submit_that_provably_created_nothing_gives_its_room_back(
    tmp_path: Path, error: Exception, released: bool
) -> None:
    money = spending(tmp_path)

    async def send() -> Prediction:
        raise error

    with pytest.raises(type(error)):
        await money.paid(REQUEST, send)
    assert (await status(money)).remaining_usd == (Decimal("0.05") if released else Decimal("0.03"))


def test_what_counts_as_created_nothing() -> None:
    assert isinstance(api_error(402, ""), InsufficientBalanceError)
    assert created_nothing(api_error(403, "top up"))
    assert not created_nothing(ServerError("x", status_code=500))
    assert not created_nothing(ApiError("x", status_code=200))
    assert not created_nothing(RuntimeError("a bug"))


async def test_a_cancel_while_the_answer_arrives_still_commits(tmp_path: Path) -> None:
    money = spending(tmp_path)
    reached = False
    with anyio.CancelScope() as scope:

        async def send() -> Prediction:
            scope.cancel()  # the caller gives up just as WaveSpeed's answer with the id arrives
            return PREDICTION

        paid = await money.paid(REQUEST, send)
        async with anyio.create_task_group() as beside:  # as run_edit does: commit beside the follow-up
            beside.start_soon(paid.commit, 5.0)
            await anyio.lowlevel.checkpoint()
            reached = True
    assert not reached
    assert (await status(money)).spent_usd == Decimal("0.02")


async def test_over_the_limit_nothing_is_sent(tmp_path: Path) -> None:
    money = spending(tmp_path, limit="0.03")
    sent: list[int] = []

    async def send() -> Prediction:
        sent.append(1)
        return PREDICTION

    await (await money.paid(REQUEST, send)).commit(5.0)
    with pytest.raises(SpendRefused, match="Refused before any paid request"):
        await money.paid(REQUEST, send)
    assert sent == [1]
