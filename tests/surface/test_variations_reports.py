"""What a result of several variations reports beside the runs themselves: the seeds sent for a model whose schema
has no -1, every output's NSFW flag and unmasked edit, and the journal's hand-outs under one bound."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult

from fakes import AppsSupport, FakeClock
from harness import World, links_of, make_world, text_of
from masked_pictures import mask_file, photo
from qwen_image_edit_mcp.emulator.catalog_data import built_in_catalog
from qwen_image_edit_mcp.jobs import journal
from qwen_image_edit_mcp.spend_config import parse_confirm_spend
from qwen_image_edit_mcp.state.sqlite_journal import SqliteJournal

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"
SEED_FROM_0 = "wavespeed-ai/qwen-image/edit-seed0"


def with_seeds_from_0(world: World) -> World:
    """A catalog model whose seed starts at 0: the server's own -1 is not sent to it."""
    entry = copy.deepcopy(built_in_catalog()["wavespeed-ai/qwen-image/edit"])
    entry.update(model_id=SEED_FROM_0, name="Qwen edit, seeds from 0")
    entry["api_schema"]["api_schemas"][0]["request_schema"]["properties"]["seed"].update(minimum=0, default=0)
    world.emulator.change_catalog([entry], [])
    return world


async def test_the_random_seeds_asked_about_are_sent_to_a_model_whose_seeds_start_at_0(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = with_seeds_from_0(make_world(clock, tmp_path, confirm_spend=parse_confirm_spend("always")))
    asked: list[str] = []

    async def user(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"go_ahead": True})

    async with Client(world.server, elicitation_callback=user) as client:
        arguments = {"prompt": "x", "image": URL_IMAGE, "model": SEED_FROM_0, "variations": 3}
        result = await client.call_tool("edit_image", arguments)
    assert not result.is_error, text_of(result)
    named = re.search(r"seeds (\d+), (\d+), (\d+)\)", asked[0])
    assert named is not None, asked
    sent = sorted(submit["json"].get("seed") for submit in world.submits())
    assert result.structured_content is not None
    assert sent == sorted(int(seed) for seed in named.groups())
    assert sent == sorted(row["seed"] for row in result.structured_content["variations"])


async def test_every_output_has_its_nsfw_flag_in_order(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.update_faults({"nsfw": True})
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE, "variations": 3})
    report = result.structured_content
    assert report is not None
    assert len(report["outputs"]) == 3
    assert report["has_nsfw_contents"] == [True, True, True]


async def test_every_variations_unmasked_edit_is_listed_and_can_be_previewed(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path)
    async with Client(world.server, extensions=[AppsSupport()]) as client:
        arguments = {"prompt": "x", "image": str(photo(tmp_path)), "mask": mask_file(tmp_path), "variations": 2}
        result = await client.call_tool("edit_image", arguments)
        assert not result.is_error, text_of(result)
        assert result.structured_content is not None
        unmasked = [str(link.uri) for link in links_of(result) if (link.title or "").startswith("Unmasked edit")]
        assert len(unmasked) == 2
        assert result.structured_content["unmasked_outputs"] == unmasked
        for uri in unmasked:
            shown = await client.call_tool("preview_image", {"source": uri})
            assert not shown.is_error, text_of(shown)


async def test_the_journal_hand_outs_of_every_variation_wait_side_by_side(
    clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that does not answer holds each hand-out for its bound; the variations' run at once, not in turn."""
    monkeypatch.setattr(journal, "HAND_OUT_SECONDS", 0.2)
    waiting: list[int] = [0]
    most: list[int] = [0]

    async def stalled(self: SqliteJournal, prediction_id: str | None, urls: Sequence[str]) -> None:
        waiting[0] += 1
        most[0] = max(most[0], waiting[0])
        try:
            await anyio.sleep_forever()
        finally:
            waiting[0] -= 1

    monkeypatch.setattr(SqliteJournal, "hand_out", stalled)
    world = make_world(clock, tmp_path)
    async with Client(world.server, extensions=[AppsSupport()]) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE, "variations": 4})
    assert not result.is_error, text_of(result)
    assert most[0] == 5  # each variation's outputs, and the call's other URLs, all waiting at once
