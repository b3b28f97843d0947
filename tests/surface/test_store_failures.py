"""The tools when the store is broken or has forgotten, in memory on the fake clock with a real SQLite file: a damaged
database refuses paid edits, naming the file, with nothing sent, while the free tools go on working; a masked job whose
kept input is gone comes back unmasked, saying why."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from mcp import Client
from PIL import Image, ImageDraw

from fakes import FakeClock
from harness import World, make_world, pictures_dir, text_of
from qwen_image_edit_mcp.emulator.validation import EditInput
from qwen_image_edit_mcp.state.store import STORE_FILE_NAME

pytestmark = pytest.mark.anyio
EDIT = {"prompt": "add a hat", "image": "https://example.com/street.jpg"}


def masked_call(tmp_path: Path) -> dict[str, object]:
    folder = pictures_dir(tmp_path)
    Image.effect_noise((64, 48), 50).convert("RGB").save(folder / "photo.png")
    mask = Image.new("L", (64, 48), 0)
    ImageDraw.Draw(mask).rectangle((32, 0, 63, 47), fill=255)
    mask.save(folder / "mask.png")
    photo, mask_path = str(folder / "photo.png"), str(folder / "mask.png")
    return {"prompt": "invert", "image": photo, "mask": mask_path, "feather": 0, "wait_seconds": 0}


async def test_a_damaged_database_refuses_paid_edits_naming_the_file_and_the_free_tools_still_work(
    clock: FakeClock, tmp_path: Path
) -> None:
    database = tmp_path / "cache" / STORE_FILE_NAME
    database.parent.mkdir(parents=True)
    database.write_bytes(b"this is not a database, whatever its name says" * 100)
    world = make_world(clock, tmp_path, latency=1.0)
    # A job the account ran elsewhere (the dashboard, another tool): one that get_prediction may look up.
    prediction = world.emulator.create_prediction(EditInput(prompt="x", images=("https://example.com/a.png",)))
    async with Client(world.server) as client:
        refused = await client.call_tool("edit_image", EDIT)
        looked_up = await client.call_tool("get_prediction", {"prediction_id": prediction.id, "wait_seconds": 5})
        listed = await client.call_tool("list_predictions", {})
        balance = await client.call_tool("get_balance", {})
    assert refused.is_error
    assert str(database) in text_of(refused)
    assert "nothing was submitted" in text_of(refused)
    assert world.submits() == []
    assert not looked_up.is_error, text_of(looked_up)
    assert looked_up.structured_content is not None
    assert looked_up.structured_content["status"] == "completed"
    assert not listed.is_error, text_of(listed)
    assert listed.structured_content is not None
    assert [p["started_here"] for p in listed.structured_content["predictions"]] == [None]  # the journal cannot say
    assert not balance.is_error, text_of(balance)


async def test_a_masked_job_whose_kept_input_is_gone_comes_back_unmasked_and_says_why(
    world: World, tmp_path: Path
) -> None:
    async with Client(world.server) as client:
        started = await client.call_tool("edit_image", masked_call(tmp_path))
        assert started.structured_content is not None
        with closing(sqlite3.connect(tmp_path / "cache" / STORE_FILE_NAME)) as database, database:
            database.execute("DELETE FROM blobs")  # what 7 days do
        later = await client.call_tool(
            "get_prediction", {"prediction_id": started.structured_content["prediction_id"], "wait_seconds": 30}
        )
    report = later.structured_content
    assert report is not None
    assert (report["status"], report["masked"]) == ("completed", False)
    assert "are gone (they are kept for 7 days), so this is the edit without the mask" in text_of(later)


@pytest.fixture
def world(clock: FakeClock, tmp_path: Path) -> World:
    return make_world(clock, tmp_path)
