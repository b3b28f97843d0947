"""A masked edit through the tool, in memory on the fake clock: one submit, the composite as the result (uploaded,
saved, previewed), the unmasked edit labelled, and the id with the raw output's URL on every failure after the
submit."""

from __future__ import annotations

import io
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from PIL import Image, ImageDraw

from fakes import FakeClock
from harness import (
    EMULATOR_URL,
    World,
    family_arguments,
    images_of,
    links_of,
    make_world,
    pictures_dir,
    png_data_uri,
    text_of,
)
from qwen_image_edit_mcp.errors import ConnectionFailedError
from qwen_image_edit_mcp.jobs import masked_later as masked_later_module
from qwen_image_edit_mcp.jobs import region as region_module
from qwen_image_edit_mcp.media import outputs as outputs_module
from qwen_image_edit_mcp.media.masks import composite as real_composite
from qwen_image_edit_mcp.media.previews import base64_size
from qwen_image_edit_mcp.media.previews import preview_of as real_preview_of
from qwen_image_edit_mcp.media.uploads import Uploader
from qwen_image_edit_mcp.state.store import STORE_FILE_NAME, JobRecord
from qwen_image_edit_mcp.upstream.curated import BUILT_IN

pytestmark = pytest.mark.anyio
SIZE = (96, 64)


@pytest.fixture
def world(clock: FakeClock, tmp_path: Path) -> World:
    return make_world(clock, tmp_path)


def pictures(tmp_path: Path) -> tuple[Path, Path]:
    folder = pictures_dir(tmp_path)
    image = Image.effect_noise(SIZE, 50).convert("RGB")
    image.save(folder / "photo.png")
    mask = Image.new("L", SIZE, 0)
    ImageDraw.Draw(mask).rectangle((48, 0, 95, 63), fill=255)  # the right half may change
    mask.save(folder / "mask.png")
    return folder / "photo.png", folder / "mask.png"


def masked_call(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    photo, mask = pictures(tmp_path)
    return {"prompt": "invert the colours", "image": str(photo), "mask": str(mask), "feather": 0, **extra}


async def test_the_composite_is_the_result_uploaded_saved_and_previewed_and_the_raw_edit_is_labelled(
    world: World, tmp_path: Path
) -> None:
    arguments = masked_call(tmp_path)
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", arguments)
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    assert (report["masked"], report["mask_coverage"]) == (True, 0.5)
    (composite_url,) = report["outputs"]
    assert composite_url.startswith(f"{EMULATOR_URL}/media/")  # uploaded to storage, fetchable by any client
    (raw_url,) = report["unmasked_outputs"]
    assert "/outputs/" in raw_url
    (saved,) = report["saved_paths"]
    assert saved.endswith("-masked-1.png")
    assert [path.name for path in (tmp_path / "outputs").iterdir()] == [Path(saved).name]  # the raw edit has its URL
    assert len(world.submits()) == 1
    assert world.submits()[0]["json"]["output_format"] == "png"  # lossless by default with a mask
    with Image.open(io.BytesIO(Path(saved).read_bytes())) as out, Image.open(tmp_path / "Pictures/photo.png") as src:
        assert out.getpixel((10, 10)) == src.getpixel((10, 10))  # outside: the input, exactly
        inside, before = out.getpixel((80, 30)), src.getpixel((80, 30))
        assert isinstance(inside, tuple) and isinstance(before, tuple)  # noqa: PT018
        assert inside == tuple(255 - v for v in before)  # inside: the emulator's inverted edit
    (preview,) = images_of(result)
    assert preview.size == SIZE
    titles = {link.uri: link.title or "" for link in links_of(result)}
    assert "Unmasked edit 1" in titles[raw_url]
    assert f"Unmasked edit 1 (as WaveSpeed made it, before the mask): {raw_url}" in text_of(result)
    assert "bit for bit" in text_of(result)


async def test_get_prediction_on_a_masked_edit_returns_the_same_composite(world: World, tmp_path: Path) -> None:
    async with Client(world.server) as client:
        masked = await client.call_tool("edit_image", masked_call(tmp_path))
        assert masked.structured_content is not None
        prediction_id = masked.structured_content["prediction_id"]
        looked_up = await client.call_tool("get_prediction", {"prediction_id": prediction_id})
    assert looked_up.structured_content is not None
    assert looked_up.structured_content["masked"] is True
    assert looked_up.structured_content["outputs"] == masked.structured_content["outputs"]
    assert looked_up.structured_content["unmasked_outputs"] == masked.structured_content["unmasked_outputs"]


async def test_a_pending_masked_edit_is_composited_by_the_later_look_up(world: World, tmp_path: Path) -> None:
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", masked_call(tmp_path, wait_seconds=0))
        report = result.structured_content
        assert report is not None
        assert report["pending"] is True
        assert (report["masked"], report["mask_coverage"]) == (False, 0.5)
        assert "get_prediction on its id applies it once the job completes" in text_of(result)
        later = await client.call_tool("get_prediction", {"prediction_id": report["prediction_id"], "wait_seconds": 30})
        forget_the_recipe(tmp_path)  # from now on only the kept composite can give the masked picture
        again = await client.call_tool("get_prediction", {"prediction_id": report["prediction_id"]})
    finished = later.structured_content
    assert finished is not None
    assert (finished["status"], finished["masked"], finished["mask_coverage"]) == ("completed", True, 0.5)
    assert finished["unmasked_outputs"]
    assert finished["outputs"] != finished["unmasked_outputs"]
    assert again.structured_content is not None
    assert again.structured_content["masked"] is True
    assert again.structured_content["outputs"] == finished["outputs"]  # made once: the same picture every time


def forget_the_recipe(tmp_path: Path) -> None:
    """Delete the input and mask the journal kept for the masked job (not its composite), in the store's database."""
    with closing(sqlite3.connect(tmp_path / "cache" / STORE_FILE_NAME)) as database, database:
        (raw,) = database.execute("SELECT record FROM jobs").fetchone()
        recipe = JobRecord.model_validate_json(raw).mask
        assert recipe is not None
        database.executemany("DELETE FROM blobs WHERE key = ?", [(recipe.image_blob,), (recipe.mask_blob,)])


async def test_a_failure_while_compositing_still_returns_the_id_and_the_raw_output(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise MemoryError("no room for the composite")

    monkeypatch.setattr(region_module, "composite", broken)
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", masked_call(tmp_path))
    assert result.is_error
    report = result.structured_content
    assert report is not None
    assert report["prediction_id"] in text_of(result)
    assert report["outputs"] == []
    (raw_url,) = report["unmasked_outputs"]
    assert f"Unmasked edit 1 (as WaveSpeed made it, before the mask): {raw_url}" in text_of(result)
    assert len(world.submits()) == 1


@pytest.mark.parametrize(
    "fault",
    [{"output_corrupt": kind} for kind in ("truncated", "not_image", "bomb", "empty")] + [{"output_missing": True}],
)
async def test_an_unreadable_raw_output_still_returns_the_id_and_its_url(
    world: World, tmp_path: Path, fault: dict[str, Any]
) -> None:
    world.emulator.update_faults(fault)
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", masked_call(tmp_path))
    assert result.is_error
    report = result.structured_content
    assert report is not None
    assert "the masked composite could not be made" in text_of(result)
    assert len(report["unmasked_outputs"]) == 1
    assert len(world.submits()) == 1


async def test_a_failed_upload_of_the_composite_keeps_it_as_a_file(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(*_: object, **__: object) -> tuple[str, bool]:
        raise ConnectionFailedError("storage is down.", request_sent=False)

    monkeypatch.setattr(Uploader, "upload", refuse)
    photo, mask = pictures(tmp_path)
    arguments = {"prompt": "invert", "image": png_data_uri(SIZE), "mask": str(mask), "feather": 0}
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", arguments)
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    (saved,) = report["saved_paths"]
    assert report["outputs"] == [Path(saved).as_uri()]
    assert "could not be uploaded (storage is down.)" in text_of(result)
    assert photo.exists()
    (prediction_id,) = world.emulator.predictions
    assert report["prediction_id"] == prediction_id
    assert prediction_id in text_of(result)
    (unmasked,) = report["unmasked_outputs"]
    assert unmasked.startswith("http")
    assert unmasked in text_of(result)


async def test_an_upload_of_the_composite_that_crashes_still_returns_the_id_and_the_unmasked_url(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(*_: object, **__: object) -> tuple[str, bool]:
        raise RuntimeError("a bug in the uploader")

    monkeypatch.setattr(Uploader, "upload", crash)
    _, mask = pictures(tmp_path)
    arguments = {"prompt": "invert", "image": png_data_uri(SIZE), "mask": str(mask), "feather": 0}
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", arguments)
    (prediction_id,) = world.emulator.predictions
    assert result.structured_content is not None
    assert result.structured_content["prediction_id"] == prediction_id
    assert f'get_prediction(prediction_id="{prediction_id}"' in text_of(result)
    assert "Error executing tool" not in text_of(result)
    assert len(world.submits()) == 1
    (unmasked,) = result.structured_content["unmasked_outputs"]
    assert f"Unmasked edit 1 (as WaveSpeed made it, before the mask): {unmasked}" in text_of(result)


async def test_a_slow_upload_of_the_composite_is_abandoned_within_the_call(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = anyio.Event()

    async def stall(*_: object, **__: object) -> tuple[str, bool]:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError

    def slow_composite(*args: Any) -> Any:  # the call's time runs out while compositing, on the fake clock
        made = real_composite(*args)
        world.clock.advance(60)
        return made

    monkeypatch.setattr(Uploader, "upload", stall)
    monkeypatch.setattr(region_module, "composite", slow_composite)
    monkeypatch.setattr(region_module, "MIN_UPLOAD_SECONDS", 0.05)
    _, mask = pictures(tmp_path)
    arguments = {"prompt": "invert", "image": png_data_uri(SIZE), "mask": str(mask), "wait_seconds": 10}
    with anyio.fail_after(10):
        async with Client(world.server) as client:
            result = await client.call_tool("edit_image", arguments)
    assert started.is_set()
    assert not result.is_error, text_of(result)
    assert "could not be uploaded (it took longer than" in text_of(result)


async def test_base64_output_is_composited_and_the_unmasked_edit_is_its_saved_file(
    world: World, tmp_path: Path
) -> None:
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", masked_call(tmp_path, enable_base64_output=True))
        listing = await client.list_tools()
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    (raw,) = report["unmasked_outputs"]
    assert raw.startswith("file://")
    assert report["masked"] is True
    assert "mask" not in world.submits()[0]["json"]  # WaveSpeed never sees the mask
    get = next(tool for tool in listing.tools if tool.name == "get_prediction")
    assert "masked edit started here gets its mask applied" in (get.description or "")


@pytest.mark.parametrize("name", list(BUILT_IN))
async def test_every_model_of_the_family_takes_a_mask_on_its_first_image(
    world: World, tmp_path: Path, name: str
) -> None:
    call = masked_call(tmp_path)
    arguments = {**family_arguments(name, [call.pop("image"), png_data_uri((40, 40))]), **call}
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert (result.structured_content["masked"], result.structured_content["variant"]) == (True, name)
    (saved,) = result.structured_content["saved_paths"]
    with Image.open(saved) as out, Image.open(tmp_path / "Pictures/photo.png") as src:
        inside, before = out.getpixel((85, 30)), src.getpixel((85, 30))  # clear of the mark and the inset
        assert isinstance(inside, tuple) and isinstance(before, tuple)  # noqa: PT018
        assert inside == tuple(255 - v for v in before)
        assert out.getpixel((10, 60)) == src.getpixel((10, 60))  # the emulator's LoRA label is outside the mask


async def test_the_mask_check_and_the_composite_run_off_the_event_loop(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    threads: dict[str, int] = {}
    real_region = region_module._region  # pyright: ignore[reportPrivateUsage]

    def recording_region(*args: Any) -> Any:
        threads["mask check"] = threading.get_ident()
        return real_region(*args)

    def recording_composite(*args: Any) -> Any:
        threads["composite"] = threading.get_ident()
        return real_composite(*args)

    monkeypatch.setattr(region_module, "_region", recording_region)
    monkeypatch.setattr(region_module, "composite", recording_composite)
    _, mask = pictures(tmp_path)
    async with Client(world.server) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "invert", "image": png_data_uri(SIZE), "mask": str(mask)}
        )
    assert not result.is_error, text_of(result)
    assert set(threads) == {"mask check", "composite"}
    assert loop_thread not in threads.values()


async def test_the_preview_is_made_from_the_blended_picture_while_the_composite_uploads(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    previewed = threading.Event()
    seen: dict[str, Any] = {}
    real_upload = Uploader.upload

    def recording_preview(picture: Image.Image, data: bytes, mime: str, budget: int) -> Any:
        seen["thread"], seen["size"] = threading.get_ident(), picture.size
        made = real_preview_of(picture, data, mime, budget)
        previewed.set()
        return made

    def no_decode(*_: object) -> None:
        raise AssertionError("the encoded composite was decoded again for its preview")

    async def upload_after_the_preview(self: Uploader, data: bytes, *, filename: str, content_type: str) -> Any:
        if "-masked-" in filename:  # the composite's (the input's went before the submit)
            # The preview is made while this upload is under way, not after it: wait for it (bounded) in a thread.
            assert await anyio.to_thread.run_sync(previewed.wait, 5)
            seen["uploaded"] = filename
        return await real_upload(self, data, filename=filename, content_type=content_type)

    monkeypatch.setattr(outputs_module, "preview_of", recording_preview)
    monkeypatch.setattr(outputs_module, "make_preview", no_decode)
    monkeypatch.setattr(Uploader, "upload", upload_after_the_preview)
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", masked_call(tmp_path))
    assert not result.is_error, text_of(result)
    assert seen["size"] == SIZE
    assert seen["uploaded"].endswith("-masked-1.png")
    assert seen["thread"] != loop_thread
    assert result.structured_content is not None
    (url,) = result.structured_content["outputs"]
    assert url.startswith(f"{EMULATOR_URL}/media/")
    (preview,) = images_of(result)
    assert preview.size == SIZE


async def test_a_composite_too_large_to_show_whole_is_previewed_downscaled_within_the_inline_budget(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path, inline_max_bytes=40_000)
    folder = pictures_dir(tmp_path)
    Image.effect_noise((480, 320), 80).convert("RGB").save(folder / "big.png")
    mask = Image.new("L", (480, 320), 0)
    ImageDraw.Draw(mask).rectangle((240, 0, 479, 319), fill=255)
    mask.save(folder / "big-mask.png")
    arguments = {"prompt": "invert", "image": str(folder / "big.png"), "mask": str(folder / "big-mask.png")}
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", arguments)
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    (saved,) = report["saved_paths"]
    assert base64_size(Path(saved).stat().st_size) > 40_000  # the composite itself would not fit
    (preview,) = images_of(result)
    assert preview.format == "JPEG"
    assert preview.size[0] < 480
    assert "scaled down from 480x320" in text_of(result)
    assert len(result.model_dump_json(by_alias=True, exclude_none=True)) <= 40_000


async def test_a_crash_while_previewing_the_composite_still_returns_the_id_and_the_unmasked_url(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: object) -> None:
        raise RuntimeError("a bug in the preview")

    monkeypatch.setattr(outputs_module, "preview_of", crash)
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", masked_call(tmp_path))
    (prediction_id,) = world.emulator.predictions
    report = result.structured_content
    assert report is not None
    assert report["prediction_id"] == prediction_id
    assert f'get_prediction(prediction_id="{prediction_id}"' in text_of(result)
    assert "RuntimeError" in text_of(result)
    (unmasked,) = report["unmasked_outputs"]
    assert f"Unmasked edit 1 (as WaveSpeed made it, before the mask): {unmasked}" in text_of(result)
    assert len(world.submits()) == 1


async def test_a_glance_at_a_running_masked_job_decodes_nothing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*_: object) -> None:
        raise AssertionError("the kept input was decoded for a job this call could not see complete")

    async with Client(world.server) as client:
        started = await client.call_tool("edit_image", masked_call(tmp_path, wait_seconds=0))
        assert started.structured_content is not None
        monkeypatch.setattr(masked_later_module, "prepare_region", never)
        prediction_id = started.structured_content["prediction_id"]
        glance = await client.call_tool("get_prediction", {"prediction_id": prediction_id})
    report = glance.structured_content
    assert report is not None
    assert (report["pending"], report["masked"], report["mask_coverage"]) == (True, False, 0.5)
    assert "get_prediction on its id applies it once the job completes" in text_of(glance)
