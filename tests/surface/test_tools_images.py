"""Images as users have them, through the tools: local files in, previews that fit, full images kept."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from mcp import Client
from PIL import Image

from fakes import FakeClock, beyond_the_catalog
from harness import World, images_of, links_of, make_world, pictures_dir, result_size, text_of

pytestmark = pytest.mark.anyio
ONE_MIB = 1024 * 1024
URL_IMAGE = "https://example.com/street.jpg"


def photo(path: Path, size: tuple[int, int] = (300, 200)) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def uploads(world: World) -> list[str]:
    return [e["path"] for e in world.emulator.request_log() if e["path"].startswith("/api/v3/media/")]


async def test_a_local_photo_is_uploaded_and_edited(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path)
    source = photo(pictures_dir(tmp_path) / "holiday.jpg")
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "add fireworks", "image": str(source)})
    assert not result.is_error, text_of(result)
    (submit,) = world.submits()
    assert submit["json"]["image"].startswith("http://emulator.test/media/")
    assert uploads(world) == ["/api/v3/media/uploads"]
    (preview,) = images_of(result)
    assert preview.size == (300, 200)  # no size given: the emulator keeps the input's, so it really read our upload


async def test_the_same_file_is_not_uploaded_again_even_after_a_restart(clock: FakeClock, tmp_path: Path) -> None:
    source = photo(pictures_dir(tmp_path) / "cat.jpg")
    world = make_world(clock, tmp_path)
    async with Client(world.server) as client:
        for _ in range(2):
            result = await client.call_tool("edit_image", {"prompt": "add a hat", "image": f"file://{source}"})
            assert not result.is_error, text_of(result)
    restarted = make_world(clock, tmp_path, emulator=world.emulator)  # a new server, same cache folder
    async with Client(restarted.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "add a scarf", "image": str(source)})
        assert not result.is_error, text_of(result)
    assert uploads(world) == ["/api/v3/media/uploads"]
    assert len(world.submits()) == 3
    assert len({submit["json"]["image"] for submit in world.submits()}) == 1


async def test_a_refused_path_explains_itself_and_nothing_is_uploaded_or_submitted(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path)
    secret = photo(tmp_path / "private.jpg")
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": str(secret)})
    assert result.is_error
    assert str(pictures_dir(tmp_path)) in text_of(result)
    assert beyond_the_catalog(world.emulator.request_log()) == []


async def test_a_missing_presigned_endpoint_falls_back_to_multipart(clock: FakeClock, tmp_path: Path) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.update_faults({"presigned_unavailable": True})
    source = photo(pictures_dir(tmp_path) / "a.jpg")
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": str(source)})
    assert not result.is_error, text_of(result)
    assert uploads(world) == ["/api/v3/media/uploads", "/api/v3/media/upload/binary"]


@pytest.mark.parametrize("base64_mode", [False, True], ids=["url-mode", "base64-mode"])
async def test_a_1536_noisy_png_result_stays_under_1_mib_with_a_preview_and_the_full_image_kept(
    clock: FakeClock, tmp_path: Path, base64_mode: bool
) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.update_faults({"noisy_output": True})
    async with Client(world.server) as client:
        result = await client.call_tool(
            "edit_image",
            {
                "prompt": "x",
                "image": URL_IMAGE,
                "size": "1536*1536",
                "output_format": "png",
                "enable_base64_output": base64_mode,
            },
        )
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    served = world.emulator.predictions[report["prediction_id"]].outputs
    assert served is not None
    assert len(served[0]) > 6 * ONE_MIB  # the original really is too big to show
    assert result_size(result) < ONE_MIB
    (preview,) = images_of(result)
    assert preview.format == "JPEG"
    assert max(preview.size) < 1536
    assert "scaled down from 1536x1536" in text_of(result)
    (saved,) = report["saved_paths"]
    assert Path(saved).read_bytes() == served[0]
    assert Path(saved).as_uri() in [link.uri for link in links_of(result)]


async def test_several_outputs_are_each_previewed_within_one_budget_saved_and_linked(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path)
    world.emulator.update_faults({"num_outputs": 3, "noisy_output": True})
    async with Client(world.server) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "x", "image": URL_IMAGE, "size": "1024*1024", "output_format": "png"}
        )
    assert not result.is_error, text_of(result)
    report = result.structured_content
    assert report is not None
    served = world.emulator.predictions[report["prediction_id"]].outputs
    assert served is not None
    assert len(images_of(result)) == 3
    assert len(report["outputs"]) == 3
    assert [Path(p).read_bytes() for p in report["saved_paths"]] == served
    assert len(links_of(result)) == 6  # each output's URL and its saved file
    assert result_size(result) < 700_000


async def test_without_an_output_dir_url_outputs_are_not_kept_but_still_previewed(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path, keep_outputs=False)
    async with Client(world.server) as client:
        result = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE, "size": "512*512"})
    report = result.structured_content
    assert report is not None
    assert report["saved_paths"] == []
    assert len(images_of(result)) == 1
