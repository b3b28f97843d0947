"""The live catalog: fetched once an hour (not once per call), shared through the store, refreshed once for a model
not found, and what runs when it cannot be read. A fake fetch and a fake wall clock: nothing sleeps."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from qwen_image_edit_mcp.emulator.catalog_data import BUILT_IN_MODELS
from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.state.store import open_store
from qwen_image_edit_mcp.upstream.catalog import RETRY_SECONDS, TTL_SECONDS, Catalog

pytestmark = pytest.mark.anyio

NEW = "wavespeed-ai/qwen-image-9/edit"


class Upstream:
    def __init__(self) -> None:
        self.entries: list[Any] = copy.deepcopy(list(BUILT_IN_MODELS))
        self.fetches = 0
        self.fail = False

    async def list_models(self) -> list[object]:
        self.fetches += 1
        if self.fail:
            raise ConnectionError("the catalog is down")
        return copy.deepcopy(self.entries)

    def add(self, model_id: str) -> None:
        entry = copy.deepcopy(next(e for e in self.entries if e["model_id"] == "wavespeed-ai/qwen-image/edit"))
        entry["model_id"] = model_id
        self.entries.append(entry)


class Clock:
    def __init__(self) -> None:
        self.at = 1_800_000_000.0

    def __call__(self) -> float:
        return self.at


def catalog(upstream: Upstream, clock: Clock, texts: Any = None) -> Catalog:
    return Catalog(upstream.list_models, texts, key="http://api", clock=clock)


async def test_the_catalog_is_fetched_once_an_hour_not_once_per_call() -> None:
    upstream, clock = Upstream(), Clock()
    models = catalog(upstream, clock)
    for _ in range(5):
        assert (await models.resolve("edit-2.1")).model_id == "wavespeed-ai/qwen-image-2.1/edit"
    assert upstream.fetches == 1
    clock.at += TTL_SECONDS - 1
    await models.resolve("edit")
    assert upstream.fetches == 1
    clock.at += 2
    await models.resolve("edit")
    assert upstream.fetches == 2


async def test_another_process_on_the_same_store_reads_the_shared_copy(tmp_path: Path) -> None:
    upstream, clock = Upstream(), Clock()
    store = open_store(None, tmp_path)
    await store.open()
    try:
        await catalog(upstream, clock, store.texts).resolve("edit-max")
        second = catalog(upstream, clock, store.texts)  # a new process: nothing in memory
        assert (await second.resolve("edit-max")).max_images == 6
        assert upstream.fetches == 1
        clock.at += TTL_SECONDS + 1  # the shared copy is as old as its fetch, whoever reads it
        await second.resolve("edit-max")
        assert upstream.fetches == 2
    finally:
        await store.aclose()


async def test_a_model_listed_since_the_last_fetch_is_found_by_one_refresh_at_most_once_a_minute() -> None:
    upstream, clock = Upstream(), Clock()
    models = catalog(upstream, clock)
    await models.resolve("edit")
    clock.at += RETRY_SECONDS
    upstream.add(NEW)
    assert (await models.resolve(NEW)).model_id == NEW
    assert upstream.fetches == 2
    with pytest.raises(InputError, match="does not list"):
        await models.resolve("wavespeed-ai/qwen-image-10/edit")
    with pytest.raises(InputError, match="does not list"):
        await models.resolve("wavespeed-ai/qwen-image-11/edit")
    assert upstream.fetches == 2  # a typo costs no fetch per call


async def test_models_that_are_not_qwen_edits_are_refused_saying_why_without_a_refresh() -> None:
    upstream, clock = Upstream(), Clock()
    models = catalog(upstream, clock)
    clock.at += RETRY_SECONDS * 10
    with pytest.raises(InputError, match="text-to-image model"):
        await models.resolve("wavespeed-ai/qwen-image/text-to-image")
    with pytest.raises(InputError, match="not a Qwen-Image edit model"):
        await models.resolve("google/nano-banana/edit")
    with pytest.raises(InputError, match="not a short name"):
        await models.resolve("edit-9")
    with pytest.raises(InputError, match="short name"):
        await models.resolve("x" * 300)
    assert upstream.fetches == 1


async def test_with_the_catalog_down_the_built_in_models_run_and_catalog_only_ones_are_refused() -> None:
    upstream, clock = Upstream(), Clock()
    upstream.fail = True
    models = catalog(upstream, clock)
    built_in = await models.resolve("edit-plus")
    assert (built_in.source, built_in.max_images) == ("built-in", 3)
    with pytest.raises(InputError, match=r"cannot be read right now.*nothing was sent or paid"):
        await models.resolve("edit-2.1")
    assert upstream.fetches == 1  # the failure is not retried on every call
    clock.at += RETRY_SECONDS
    upstream.fail = False
    assert (await models.resolve("edit-2.1")).source == "catalog"
    assert upstream.fetches == 2


async def test_a_failed_refetch_keeps_the_last_copy_in_use() -> None:
    upstream, clock = Upstream(), Clock()
    models = catalog(upstream, clock)
    await models.resolve("edit-2.1")
    clock.at += TTL_SECONDS + 1
    upstream.fail = True
    assert (await models.resolve("edit-2.1")).source == "catalog"
    listed = await models.models()
    assert listed is not None
    assert "wavespeed-ai/qwen-image-2.1/edit" in listed


async def test_a_fetch_that_hangs_is_abandoned_within_the_calls_time() -> None:
    import anyio

    async def hanging() -> list[object]:
        await anyio.sleep_forever()
        raise AssertionError

    models = Catalog(hanging, None, key="http://api", clock=Clock())
    with anyio.fail_after(5):
        built_in = await models.resolve("edit", seconds=0.05)
    assert built_in.source == "built-in"


async def test_a_clock_set_back_does_not_keep_the_copy_fresh_for_ever() -> None:
    upstream, clock = Upstream(), Clock()
    models = catalog(upstream, clock)
    await models.resolve("edit")
    clock.at -= 24 * 3600  # the copy now looks a day younger than now
    await models.resolve("edit")
    assert upstream.fetches == 2


async def test_a_fetch_cut_short_by_its_callers_time_is_tried_again_by_the_next_caller() -> None:
    import anyio

    upstream, clock = Upstream(), Clock()
    slow = True

    async def fetch() -> list[object]:
        if slow:
            await anyio.sleep_forever()
        return await upstream.list_models()

    models = Catalog(fetch, None, key="http://api", clock=clock)
    with anyio.fail_after(5):
        with pytest.raises(InputError, match="cannot be read right now"):
            await models.resolve("edit-2.1", seconds=0.01)
        slow = False
        assert (await models.resolve("edit-2.1")).source == "catalog"  # not held back a minute by the cut one


async def test_the_shared_copy_says_which_qwen_models_are_not_edits(tmp_path: Path) -> None:
    upstream, clock = Upstream(), Clock()
    store = open_store(None, tmp_path)
    await store.open()
    try:
        await catalog(upstream, clock, store.texts).resolve("edit")
        replica = catalog(upstream, clock, store.texts)
        clock.at += RETRY_SECONDS * 2
        with pytest.raises(InputError, match="text-to-image model"):
            await replica.resolve("wavespeed-ai/qwen-image/text-to-image")
        assert upstream.fetches == 1
    finally:
        await store.aclose()


async def test_a_shared_copy_from_a_replica_whose_clock_runs_ahead_is_read_again(tmp_path: Path) -> None:
    upstream, ahead, here = Upstream(), Clock(), Clock()
    ahead.at += 365 * 24 * 3600
    store = open_store(None, tmp_path)
    await store.open()
    try:
        await catalog(upstream, ahead, store.texts).resolve("edit")
        await catalog(upstream, here, store.texts).resolve("edit")
        assert upstream.fetches == 2  # not trusted as fresh for a year
    finally:
        await store.aclose()
