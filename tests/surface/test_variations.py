"""Variations through the SDK's Client against the emulator: N jobs with distinct seeds under one question and one
reservation, every id returned whatever happens to the others, one result under 1 MiB."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult
from pydantic import SecretStr

from fakes import API_KEY, FakeClock
from harness import World, images_of, links_of, make_world, result_size, text_of
from masked_pictures import FEATHER, check_pixels, mask_file, photo
from qwen_image_edit_mcp.config import Settings
from qwen_image_edit_mcp.emulator import EmulatorConfig, running_emulator
from qwen_image_edit_mcp.emulator.catalog_data import built_in_catalog
from qwen_image_edit_mcp.spend_config import parse_confirm_spend
from qwen_image_edit_mcp.surface.server import create_server

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"
ONE_MIB = 2**20


def edit(**extra: Any) -> dict[str, Any]:
    return {"prompt": "add a hat", "image": URL_IMAGE, **extra}


def rows(result: Any) -> list[dict[str, Any]]:
    report = result.structured_content
    assert report is not None, text_of(result)
    return report["variations"]


async def test_three_variations_make_three_submits_with_consecutive_seeds_and_return_three_ids(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path)
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", edit(seed=42, variations=3))
        assert not result.is_error, text_of(result)
        sent = sorted(submit["json"]["seed"] for submit in world.submits())
        assert sent == [42, 43, 44]
        report = result.structured_content
        assert report is not None
        ids = [row["prediction_id"] for row in report["variations"]]
        assert len(set(ids)) == 3
        assert all(ids)
        assert [row["seed"] for row in report["variations"]] == [42, 43, 44]
        assert all(row["status"] == "completed" and row["outputs"] for row in report["variations"])
        assert report["prediction_id"] == ids[0]
        assert report["outputs"] == [url for row in report["variations"] for url in row["outputs"]]
        assert report["cost_usd"] == pytest.approx(0.06)
        assert [row["cost_usd"] for row in report["variations"]] == [0.02, 0.02, 0.02]
        assert len(images_of(result)) == 3
        text = text_of(result)
        assert "3 variations of the edit (edit): 3 completed" in text
        assert all(pid in text for pid in ids)
        assert "Total cost: $0.06" in text
        # Each is an ordinary prediction for the other tools.
        for pid in ids:
            again = await client.call_tool("get_prediction", {"prediction_id": pid})
            assert not again.is_error
            assert again.structured_content is not None
            assert again.structured_content["status"] == "completed"
            assert "variations" not in again.structured_content or again.structured_content["variations"] is None
        listed = await client.call_tool("list_predictions", {})
    assert listed.structured_content is not None
    here = {item["prediction_id"] for item in listed.structured_content["predictions"] if item["started_here"]}
    assert set(ids) <= here


async def test_a_random_seed_gives_distinct_reported_seeds(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path)
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", edit(variations=4))
    seeds = [row["seed"] for row in rows(result)]
    assert len(set(seeds)) == 4
    assert all(0 <= seed <= 2_147_483_647 for seed in seeds)
    assert sorted(submit["json"]["seed"] for submit in world.submits()) == sorted(seeds)


async def test_one_variation_is_the_single_edit_it_always_was(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path)
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", edit())
    assert result.structured_content is not None
    assert result.structured_content.get("variations") is None
    assert [submit["json"]["seed"] for submit in world.submits()] == [-1]


async def test_a_limit_with_room_for_two_refuses_all_three_with_nothing_submitted(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path, max_spend_usd=Decimal("0.05"))
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", edit(variations=3))
        assert result.is_error
        text = text_of(result)
        assert "3 variations cost $0.06 together ($0.02 each)" in text
        assert "2 would fit now: call again with variations=2" in text
        assert world.submits() == []
        balance = await client.call_tool("get_balance", {})
        assert balance.structured_content is not None
        assert balance.structured_content["spent_usd"] == 0
        fits = await client.call_tool("edit_image", edit(variations=2))
    assert not fits.is_error, text_of(fits)
    assert len(world.submits()) == 2


async def test_the_atomic_booking_refuses_all_when_the_room_went_after_the_check(
    clock: FakeClock, tmp_path: Path
) -> None:
    """The check before asking saw room for 3; by the booking another edit took some: all or none still holds."""
    world = make_world(clock, tmp_path, max_spend_usd=Decimal("0.06"), confirm_spend=parse_confirm_spend("always"))
    other = make_world(clock, tmp_path, max_spend_usd=Decimal("0.06"), emulator=world.emulator)
    spent: list[bool] = []

    async def user(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        if not spent:  # while the question is out, another process sharing the store spends $0.02
            async with Client(other.server) as elsewhere:
                assert not (await elsewhere.call_tool("edit_image", edit())).is_error
            spent.append(True)
        return ElicitResult(action="accept", content={"go_ahead": True})

    async with Client(world.server, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", edit(variations=3))
    assert result.is_error
    assert "2 would fit now" in text_of(result)
    assert len(world.submits()) == 1  # the other process's edit only


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_user_is_asked_once_for_the_total_naming_each_seed(
    clock: FakeClock, tmp_path: Path, mode: str
) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"))
    asked: list[str] = []

    async def user(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"go_ahead": True})

    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", edit(seed=7, variations=3))
    assert not result.is_error, text_of(result)
    assert len(asked) == 1
    words = re.sub(r" \(question [0-9a-f]{8}\)$", "", asked[0])
    assert words == (
        "This edit runs edit 3 times (variations with seeds 7, 8, 9) for $0.06 in all ($0.02 each); "
        "balance $10000.00. Go ahead?"
    )
    assert len(world.submits()) == 3


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_random_seeds_asked_about_are_the_seeds_that_run(clock: FakeClock, tmp_path: Path, mode: str) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"))
    asked: list[str] = []

    async def user(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"go_ahead": True})

    async with Client(world.server, mode=mode, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", edit(variations=2))
    named = re.search(r"seeds (\d+), (\d+)\)", asked[0])
    assert named is not None
    assert [row["seed"] for row in rows(result)] == [int(named[1]), int(named[2])]


async def test_a_declined_question_pays_for_none(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always"))

    async def user(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        return ElicitResult(action="decline")

    async with Client(world.server, elicitation_callback=user) as client:
        result = await client.call_tool("edit_image", edit(variations=4))
    assert not result.is_error
    assert "declined to pay $0.08" in text_of(result)
    assert world.submits() == []


async def test_a_submit_of_unknown_outcome_is_not_resent_and_the_others_complete(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path, max_spend_usd=Decimal("1"))
    world.emulator.update_faults({"submit_error_status": 502, "submit_error_count": 1})
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", edit(seed=1, variations=3))
        balance = await client.call_tool("get_balance", {})
    assert not result.is_error, text_of(result)
    assert len(world.submits()) == 3  # one each: the unknown one was not sent again
    found = rows(result)
    lost = [row for row in found if row["prediction_id"] is None]
    assert len(lost) == 1
    assert "may or may not have been created" in (lost[0]["error"] or "")
    assert lost[0]["cost_usd"] == 0.02  # it may be charged: it counts
    done = [row for row in found if row["prediction_id"]]
    assert len(done) == 2
    assert all(row["status"] == "completed" for row in done)
    assert "2 completed, 1 not completed" in text_of(result)
    assert "no job" in text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["cost_usd"] == pytest.approx(0.06)
    # The unknown one keeps its reservation (to its lease); the two created are spent.
    assert balance.structured_content is not None
    assert balance.structured_content["spent_usd"] + balance.structured_content["remaining_usd"] == 1
    assert balance.structured_content["remaining_usd"] == pytest.approx(0.94)


async def test_a_refused_submit_costs_nothing_and_its_room_comes_back(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path, max_spend_usd=Decimal("1"))
    world.emulator.update_faults({"submit_error_status": 400, "submit_error_count": 1})
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", edit(variations=2))
        balance = await client.call_tool("get_balance", {})
    found = rows(result)
    assert sorted(row["cost_usd"] for row in found) == [0, 0.02]
    assert balance.structured_content is not None
    assert balance.structured_content["remaining_usd"] == pytest.approx(0.98)


async def test_rate_limits_are_retried_per_variation_and_each_runs_exactly_once(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.update_faults({"submit_429": 2, "retry_after": 0.1})
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", edit(variations=3))
    assert not result.is_error, text_of(result)
    assert len(world.submits()) == 5
    assert len(world.emulator.predictions) == 3
    assert all(row["status"] == "completed" for row in rows(result))


async def test_a_failed_and_a_pending_variation_keep_their_ids_beside_the_finished_one(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.update_faults({"fail_count": 1})
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", edit(variations=2))
    found = rows(result)
    assert all(row["prediction_id"] for row in found)
    assert sorted(row["status"] for row in found) == ["completed", "failed"]
    failed = next(row for row in found if row["status"] == "failed")
    assert failed["error"]
    assert not result.is_error  # one finished: the call did its job

    (tmp_path / "slow").mkdir()
    slow = make_world(clock, tmp_path / "slow", latency=100.0)
    async with Client(slow.server) as client:
        waiting = await client.call_tool("edit_image", edit(variations=2, wait_seconds=5))
    report = waiting.structured_content
    assert report is not None
    assert report["pending"] is True
    assert all(row["pending"] and row["prediction_id"] for row in report["variations"])
    text = text_of(waiting)
    assert all(f'get_prediction(prediction_id="{row["prediction_id"]}"' in text for row in report["variations"])


async def test_progress_names_each_id_as_wavespeed_accepts_it(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path)
    said: list[str] = []

    async def heard(progress: float, total: float | None, message: str | None) -> None:
        said.append(message or "")

    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", edit(seed=3, variations=2), progress_callback=heard)
    for row in rows(result):
        assert any(
            message.startswith(f"variation {row['seed'] - 2} of 2 (seed {row['seed']}): submitted: prediction ")
            and row["prediction_id"] in message
            for message in said
        ), said


async def test_four_variations_of_1536_pngs_make_one_result_under_1_mib(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path, inline_max_bytes=1_000_000)
    world.emulator.update_faults({"noisy_output": True})
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", edit(size="1536*1536", output_format="png", variations=4))
    assert not result.is_error, text_of(result)
    assert result_size(result) < ONE_MIB
    previews = images_of(result)
    assert len(previews) == 4
    report = result.structured_content
    assert report is not None
    assert len(report["saved_paths"]) == 4
    uris = {link.uri for link in links_of(result)}
    assert all(url in uris for url in report["outputs"])


async def test_each_masked_variation_is_composited(clock: FakeClock, tmp_path: Path) -> None:
    source = photo(tmp_path)
    world = make_world(clock, tmp_path)
    async with Client(world.server) as client:
        arguments = {"prompt": "invert it", "image": str(source), "mask": mask_file(tmp_path), "feather": FEATHER}
        result = await client.call_tool("edit_image", {**arguments, "variations": 2})
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    assert report["masked"] is True
    assert len(report["variations"]) == 2
    for row in report["variations"]:
        (saved,) = [path for path in report["saved_paths"] if row["prediction_id"] in path]
        check_pixels(Path(saved), source)  # the input outside the mask, bit for bit; the edit inside
    assert text_of(result).count("Masked: the output is the edit inside the mask") == 2


async def test_recent_edits_lists_each_variation_newest_first(clock: FakeClock, tmp_path: Path) -> None:
    from fakes import AppsSupport

    world = make_world(clock, tmp_path)
    async with Client(world.server, extensions=[AppsSupport()]) as client:
        result = await client.call_tool("edit_image", edit(variations=2))
        recent = await client.call_tool("recent_edits", {"limit": 5})
    assert not recent.is_error, text_of(recent)
    assert recent.structured_content is not None
    edits = recent.structured_content["edits"]
    ids = {row["prediction_id"] for row in rows(result)}
    assert {item["prediction_id"] for item in edits} == ids
    by_id = {row["prediction_id"]: row for row in rows(result)}
    for item in edits:
        assert item["outputs"] == by_id[item["prediction_id"]]["outputs"]
        assert item["variant"] == "edit"


async def test_a_model_without_a_seed_refuses_variations(world_without_seed: World) -> None:
    async with Client(world_without_seed.server) as client:
        result = await client.call_tool(
            "edit_image", {**edit(variations=2), "model": "wavespeed-ai/qwen-image/edit-noseed"}
        )
    assert result.is_error
    assert "takes no seed" in text_of(result)
    assert world_without_seed.submits() == []


@pytest.fixture
def world_without_seed(clock: FakeClock, tmp_path: Path) -> World:
    world = make_world(clock, tmp_path)
    entry = copy.deepcopy(built_in_catalog()["wavespeed-ai/qwen-image/edit"])
    entry.update(model_id="wavespeed-ai/qwen-image/edit-noseed", name="Qwen-Image Edit without a seed")
    schema = entry["api_schema"]["api_schemas"][0]["request_schema"]
    del schema["properties"]["seed"]
    schema["x-order-properties"].remove("seed")
    world.emulator.change_catalog([entry], [])
    return world


class FirstSubmitLost(httpx.AsyncBaseTransport):
    """The first submit reaches the emulator (its job exists) and the connection resets before its answer is read."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner, self.broken = inner, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method == "POST" and "/qwen-image/" in request.url.path and not self.broken:
            self.broken += 1
            await response.aread()
            raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
        return response


async def test_a_submit_whose_connection_is_lost_is_not_resent_and_says_a_job_may_exist(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path, wrap=FirstSubmitLost)
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", edit(variations=3))
    assert len(world.submits()) == 3
    assert len(world.emulator.predictions) == 3  # the lost one exists too: the caller is told to look for it
    found = rows(result)
    (lost,) = [row for row in found if row["prediction_id"] is None]
    assert "It may have created a job" in (lost["error"] or "")
    assert "list_predictions" in (lost["error"] or "")
    assert sum(1 for row in found if row["status"] == "completed") == 2


@pytest.mark.parametrize(
    "faults", [{"poll_stalls": 2, "stall_seconds": 0.8}, {"poll_resets": 2}], ids=["stalls", "resets"]
)
async def test_stalled_and_reset_polls_still_end_each_variation_once(
    clock: FakeClock, tmp_path: Path, faults: dict[str, Any]
) -> None:
    """Over loopback, where a stall is a real timeout and a reset a real dropped connection."""
    async with running_emulator(EmulatorConfig(api_key=API_KEY, latency=0)) as emulator:
        settings = Settings(
            api_key=SecretStr(API_KEY),
            base_url=emulator.base_url,
            request_timeout=0.5,
            cache_dir=tmp_path / "cache",
        )
        emulator.state.update_faults(faults)
        async with Client(create_server(settings, clock=clock)) as client:
            result = await client.call_tool("edit_image", edit(variations=3))
    assert not result.is_error, text_of(result)
    assert len(emulator.state.predictions) == 3
    assert all(row["status"] == "completed" for row in rows(result))
