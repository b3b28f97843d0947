"""An edit's per-image steps side by side: results in order, the first refusal speaks for all, and the step ends
with the call's time."""

from __future__ import annotations

import anyio
import pytest

from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.jobs.together import together

pytestmark = pytest.mark.anyio


async def test_results_come_back_in_the_order_of_the_steps() -> None:
    async def late() -> str:
        await anyio.lowlevel.checkpoint()
        await anyio.lowlevel.checkpoint()
        return "first"

    async def early() -> str:
        return "second"

    assert await together([late, early], seconds=5, doing="reading") == ["first", "second"]


async def test_a_refusal_names_its_own_field_and_a_crash_stays_a_crash() -> None:
    async def fine() -> int:
        return 1

    async def refused() -> int:
        raise InputError("images[1]: not an image")

    with pytest.raises(InputError, match=r"images\[1\]: not an image"):
        await together([fine, refused], seconds=5, doing="reading")

    async def broken() -> int:
        raise RuntimeError("a bug")

    with pytest.raises(ExceptionGroup):
        await together([fine, broken], seconds=5, doing="reading")


async def test_a_step_slower_than_the_call_s_time_is_given_up_and_said() -> None:
    never = anyio.Event()

    async def stalled() -> None:
        await never.wait()

    with pytest.raises(InputError, match=r"uploading the images took longer than this call may take \(1 s\)"):
        await together([stalled], seconds=0.05, doing="uploading the images")  # at least 1 s: a real, bounded wait
