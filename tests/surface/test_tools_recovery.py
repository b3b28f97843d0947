"""Recovery: list_predictions finds a job whose id never reached the model, and get_prediction resumes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from fakes import FakeClock
from harness import World, make_world, text_of

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"


@pytest.fixture
def world(clock: FakeClock, tmp_path: Path) -> World:
    return make_world(clock, tmp_path)


async def test_a_job_whose_id_was_lost_is_found_and_resumed(world: World) -> None:
    world.emulator.update_faults({"hold": True})
    async with Client(world.server) as client:
        # The model starts an edit and never sees the answer (its call timed out, or it was cancelled).
        await client.call_tool("edit_image", {"prompt": "add a kite", "image": URL_IMAGE, "wait_seconds": 0})
        listing = await client.call_tool("list_predictions", {})
        assert not listing.is_error, text_of(listing)
        assert listing.structured_content is not None
        (job,) = listing.structured_content["predictions"]
        assert job["status"] in {"created", "processing"}
        assert job["prediction_id"] in text_of(listing)
        world.emulator.update_faults({"hold": False})
        resumed = await client.call_tool("get_prediction", {"prediction_id": job["prediction_id"], "wait_seconds": 30})
    assert resumed.structured_content is not None
    assert resumed.structured_content["status"] == "completed"
    assert len(world.submits()) == 1  # found and resumed, never paid for twice


async def test_the_listing_is_newest_first_filtered_and_paged(world: World, clock: FakeClock) -> None:
    world.emulator.update_faults({"fail_code": 1402, "fail_count": 1})
    async with Client(world.server) as client:
        ids: list[str] = []
        for n in range(3):
            result = await client.call_tool("edit_image", {"prompt": f"edit {n}", "image": URL_IMAGE})
            assert result.structured_content is not None
            ids.append(result.structured_content["prediction_id"])
        everything = await client.call_tool("list_predictions", {})
        failed = await client.call_tool("list_predictions", {"status": "failed"})
        first_page = await client.call_tool("list_predictions", {"page_size": 2})
    assert everything.structured_content is not None
    assert [p["prediction_id"] for p in everything.structured_content["predictions"]] == ids[::-1]
    assert everything.structured_content["predictions"][0]["outputs"][0].startswith("http://emulator.test/outputs/")
    assert failed.structured_content is not None
    assert [p["prediction_id"] for p in failed.structured_content["predictions"]] == [ids[0]]
    assert failed.structured_content["predictions"][0]["error"]
    assert first_page.structured_content is not None
    assert first_page.structured_content["total"] == 3
    assert len(first_page.structured_content["predictions"]) == 2
    assert "page 2" in text_of(first_page)
    (query,) = [e["json"] for e in world.requests("POST", "/api/v3/predictions") if e["json"].get("status")]
    assert "model" not in query  # the whole family: filtered here, since WaveSpeed filters by one model only
    assert query["created_after"].endswith("Z")


async def test_listing_without_a_key_asks_for_it(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path, api_key=None)
    async with Client(world.server) as client:
        result = await client.call_tool("list_predictions", {})
    assert result.is_error
    assert "WAVESPEED_API_KEY" in text_of(result)


async def test_the_listing_covers_the_family_and_can_name_one_model(world: World) -> None:
    async with Client(world.server) as client:
        for model in ("edit", "edit-plus", "edit-2511-lora"):
            await client.call_tool("edit_image", {"prompt": "p", "image": URL_IMAGE, "model": model})
        family = await client.call_tool("list_predictions", {})
        plus = await client.call_tool("list_predictions", {"model": "edit-plus"})
    assert family.structured_content is not None
    assert [p["variant"] for p in family.structured_content["predictions"]] == ["edit-2511-lora", "edit-plus", "edit"]
    assert "edit-plus" in text_of(family)
    assert plus.structured_content is not None
    assert [p["variant"] for p in plus.structured_content["predictions"]] == ["edit-plus"]
    (query,) = [e["json"] for e in world.requests("POST", "/api/v3/predictions") if e["json"].get("model")]
    assert query["model"] == "wavespeed-ai/qwen-image/edit-plus"
