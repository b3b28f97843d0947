"""What every store promises, run against both backends: SQLite in a temporary folder and a real redis-server.
Time is a fake wall clock handed to the store: nothing here sleeps."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_helpers import DAY, wall_clock
from store_places import store_opener, store_url

from fakes import FakeClock
from qwen_image_edit_mcp.state.store import (
    JOURNAL_KEEP_SECONDS,
    RECENT_MAX_JOBS,
    UPLOAD_REUSE_SECONDS,
    JobRecord,
    KeptOutput,
    MaskRecipe,
    Store,
)

pytestmark = pytest.mark.anyio

Opener = Callable[[], AbstractAsyncContextManager[Store]]


@pytest.fixture(params=["sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncGenerator[tuple[Opener, FakeClock]]:
    """Opens stores on one shared place (a file, or one redis-server), each as a new process would."""
    clock = wall_clock()
    with store_url(request.param, tmp_path) as url:
        yield store_opener(url, tmp_path / "cache", clock), clock


def record(job_id: str = "job-1", *, at: float, mask: MaskRecipe | None = None) -> JobRecord:
    return JobRecord(
        job_id=job_id, model_id="wavespeed-ai/qwen-image/edit", price_usd=Decimal("0.02"), created_at=at, mask=mask
    )


async def test_an_upload_is_reused_by_another_process_until_six_days_have_passed(
    backend: tuple[Opener, FakeClock],
) -> None:
    opened, clock = backend
    async with opened() as first:
        assert await first.uploads.get("api|abc") is None
        await first.uploads.put("api|abc", "https://cdn.example/abc.png")
    async with opened() as second:
        assert await second.uploads.get("api|abc") == "https://cdn.example/abc.png"
        clock.advance(UPLOAD_REUSE_SECONDS + 1)
        assert await second.uploads.get("api|abc") is None


async def test_a_job_is_journalled_before_its_submit_and_found_by_its_id_after(
    backend: tuple[Opener, FakeClock],
) -> None:
    opened, clock = backend
    async with opened() as first:
        await first.journal.begin(record(at=clock.now()))
        assert await first.journal.get("pred-1") is None
        await first.journal.started("job-1", "pred-1")
    async with opened() as second:
        found = await second.journal.get("pred-1")
        assert found is not None
        assert (found.job_id, found.prediction_id, found.price_usd) == ("job-1", "pred-1", Decimal("0.02"))
        assert await second.journal.known(["pred-1", "pred-elsewhere"]) == {"pred-1"}


async def test_a_masked_jobs_recipe_and_blobs_outlive_the_process(backend: tuple[Opener, FakeClock]) -> None:
    opened, clock = backend
    image, mask = b"\x89PNG input bytes" * 1000, b"\x89PNG mask bytes"
    async with opened() as first:
        keys = [await first.journal.put_blob(image), await first.journal.put_blob(mask)]
        assert keys == [hashlib.sha256(image).hexdigest(), hashlib.sha256(mask).hexdigest()]
        recipe = MaskRecipe(image_blob=keys[0], mask_blob=keys[1], feather=4, output_format="png")
        await first.journal.begin(record(at=clock.now(), mask=recipe))
        await first.journal.started("job-1", "pred-1")
    async with opened() as second:
        found = await second.journal.get("pred-1")
        assert found is not None
        assert found.mask == recipe
        assert await second.journal.get_blob(recipe.image_blob) == image
        assert await second.journal.get_blob(recipe.mask_blob) == mask
        assert await second.journal.get_blob("0" * 64) is None


async def test_the_first_composite_kept_is_the_one_every_later_read_gets(backend: tuple[Opener, FakeClock]) -> None:
    opened, clock = backend
    first_made = [KeptOutput(index=1, url="https://cdn.example/a.png", mime="image/png", blob="a" * 64)]
    second_made = [KeptOutput(index=1, url="https://cdn.example/b.png", mime="image/png", blob="b" * 64)]
    async with opened() as one, opened() as other:
        await one.journal.begin(record(at=clock.now()))
        await one.journal.started("job-1", "pred-1")
        assert await one.journal.keep_composite("pred-1", first_made) == first_made
        assert await other.journal.keep_composite("pred-1", second_made) == first_made
        found = await other.journal.get("pred-1")
        assert found is not None
        assert found.composite == first_made
        assert await other.journal.keep_composite("pred-unknown", second_made) == second_made


async def test_urls_handed_out_by_one_process_are_known_to_another(backend: tuple[Opener, FakeClock]) -> None:
    opened, clock = backend
    async with opened() as one, opened() as other:
        await one.journal.begin(record(at=clock.now()))
        await one.journal.started("job-1", "pred-1")
        await one.journal.hand_out("pred-1", ["https://cdn.example/out.jpeg", "https://cdn.example/in.png"])
        await one.journal.hand_out(None, ["https://cdn.example/other.png"])
        await one.journal.hand_out("pred-1", ["https://cdn.example/out.jpeg"])  # again: listed once
        assert await other.journal.handed_out("https://cdn.example/out.jpeg")
        assert await other.journal.handed_out("https://cdn.example/other.png")
        assert not await other.journal.handed_out("https://cdn.example/never.png")
        found = await other.journal.get("pred-1")
        assert found is not None
        assert found.outputs == ["https://cdn.example/out.jpeg", "https://cdn.example/in.png"]


async def test_the_journal_forgets_jobs_after_30_days(backend: tuple[Opener, FakeClock]) -> None:
    opened, clock = backend
    async with opened() as store:
        await store.journal.begin(record("job-old", at=clock.now()))
        await store.journal.started("job-old", "pred-old")
        clock.advance(JOURNAL_KEEP_SECONDS - DAY)
        await store.journal.begin(record("job-new", at=clock.now()))
        assert await store.journal.known(["pred-old"]) == {"pred-old"}
        clock.advance(2 * DAY)
        await store.journal.begin(record("job-newer", at=clock.now()))
        await store.journal.started("job-new", "pred-new")
        assert await store.journal.known(["pred-old", "pred-new"]) == {"pred-new"}
        assert await store.journal.get("pred-old") is None


async def test_the_newest_started_jobs_are_listed_newest_first_as_get_returns_them(
    backend: tuple[Opener, FakeClock],
) -> None:
    opened, clock = backend
    made = [KeptOutput(index=1, url="https://cdn.example/c.png", mime="image/png", blob="c" * 64)]
    async with opened() as first:
        for name in ("a", "b", "c", "d"):
            await first.journal.begin(record(f"job-{name}", at=clock.now()))
            if name != "c":  # job-c is begun but never submitted
                await first.journal.started(f"job-{name}", f"pred-{name}")
            clock.advance(60)
        await first.journal.keep_composite("pred-b", made)
        await first.journal.hand_out("pred-b", ["https://cdn.example/b.jpeg"])
    async with opened() as one, opened() as other:  # two processes see one list
        listed = await one.journal.recent(10)
        assert [job.prediction_id for job in listed] == ["pred-d", "pred-b", "pred-a"]
        assert listed == [await one.journal.get(f"pred-{name}") for name in ("d", "b", "a")]
        assert listed[1].composite == made
        assert listed[1].outputs == ["https://cdn.example/b.jpeg"]
        assert await other.journal.recent(10) == listed
        assert await other.journal.recent(2) == listed[:2]
        assert await other.journal.recent(0) == listed[:1]  # held to at least one


async def test_the_newest_jobs_are_at_most_a_hundred(backend: tuple[Opener, FakeClock]) -> None:
    opened, clock = backend
    async with opened() as store:
        for number in range(RECENT_MAX_JOBS + 5):
            await store.journal.begin(record(f"job-{number:03}", at=clock.now()))
            await store.journal.started(f"job-{number:03}", f"pred-{number:03}")
            clock.advance(1)
        listed = await store.journal.recent(1000)
    assert [job.job_id for job in listed] == [f"job-{number:03}" for number in range(RECENT_MAX_JOBS + 4, 4, -1)]


async def test_jobs_begun_at_one_moment_are_listed_in_the_same_order_by_both_backends(
    backend: tuple[Opener, FakeClock],
) -> None:
    opened, clock = backend
    async with opened() as store:
        for name in ("job-x", "job-z", "job-y"):
            await store.journal.begin(record(name, at=clock.now()))
            await store.journal.started(name, name.replace("job", "pred"))
        assert [job.job_id for job in await store.journal.recent(3)] == ["job-z", "job-y", "job-x"]


async def test_the_ledger_in_the_store_is_shared_by_two_processes(backend: tuple[Opener, FakeClock]) -> None:
    opened, _ = backend
    async with opened() as one, opened() as other:
        first, second = one.ledger(Decimal("0.05")), other.ledger(Decimal("0.05"))
        reservation = await first.reserve(Decimal("0.02"), label="edit")
        await first.commit(reservation, "pred-1")
        await second.reserve(Decimal("0.02"), label="edit")
        status = await first.status()
        assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (
            Decimal("0.02"),
            Decimal("0.02"),
            Decimal("0.01"),
        )


async def test_shared_text_put_by_one_process_is_read_by_another(backend: tuple[Opener, FakeClock]) -> None:
    opened, _ = backend
    async with opened() as first:
        assert await first.texts.get("catalog|api") is None
        await first.texts.put("catalog|api", '{"entries": []}', seconds=3600)
        await first.texts.put("catalog|api", '{"entries": [1]}', seconds=3600)  # replaced, not added
    async with opened() as second:
        assert await second.texts.get("catalog|api") == '{"entries": [1]}'
        assert await second.texts.get("catalog|other") is None
