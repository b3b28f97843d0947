"""preview_image over HTTP, where callers are remote: the output folder holds every caller's edits, so a file there
is shown only when this deployment handed it out (an edit's saved_paths), never found by its path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from http_harness import SECURED, http_client, http_server, settings_for
from qwen_image_edit_mcp.emulator import RunningEmulator

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
URL_IMAGE = "https://example.com/street.jpg"


async def test_over_http_only_saved_files_this_deployment_handed_out_are_previewed(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    settings = replace(settings_for(emulator, tmp_path), allowed_dirs=(), remote_callers=True)
    assert settings.output_dir is not None
    settings.output_dir.mkdir(parents=True)
    # Another caller's edit from before, in the shared output folder: its path is easy to guess or to learn.
    earlier = settings.output_dir / "edited-earlier.png"
    Image.new("RGB", (320, 200), (200, 30, 30)).save(earlier)
    async with http_server(settings, SECURED) as url:
        async with http_client(url) as first:
            edit = await first.call_tool("edit_image", {"prompt": "add a kite", "image": URL_IMAGE, "size": "512*512"})
        assert edit.structured_content is not None
        (saved,) = edit.structured_content["saved_paths"]
        async with http_client(url) as second:
            guessed = await second.call_tool("preview_image", {"source": str(earlier), "max_side": 128})
            as_uri = await second.call_tool("preview_image", {"source": earlier.as_uri(), "max_side": 128})
            handed_out = await second.call_tool("preview_image", {"source": saved, "max_side": 128})
            by_uri = await second.call_tool("preview_image", {"source": Path(saved).as_uri(), "max_side": 128})
    for refused in (guessed, as_uri):
        assert refused.is_error
        assert "over HTTP, only files this server handed out" in str(refused.content[0])
    for shown in (handed_out, by_uri):
        assert not shown.is_error, shown.content
        assert shown.structured_content is not None
        assert shown.structured_content["width"] == 512


async def test_with_callers_on_this_machine_the_output_folder_stays_previewable(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    """The same file and request with callers on this machine (remote_callers off, as over stdio): shown."""
    settings = replace(settings_for(emulator, tmp_path), allowed_dirs=())
    assert settings.output_dir is not None
    settings.output_dir.mkdir(parents=True)
    earlier = settings.output_dir / "edited-earlier.png"
    Image.new("RGB", (320, 200), (200, 30, 30)).save(earlier)
    async with http_server(settings, SECURED) as url, http_client(url) as client:
        shown = await client.call_tool("preview_image", {"source": str(earlier), "max_side": 128})
    assert not shown.is_error, shown.content
