"""Running an edit's per-image steps side by side (reading the inputs, uploading them), as one step of the call:
within its time, and refused as the first refusal says, each naming its own field. Nothing is paid in these steps,
so a slow one is simply abandoned and the caller told how to avoid it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import anyio

from ..errors import InputError

T = TypeVar("T")


async def together(steps: Sequence[Callable[[], Awaitable[T]]], *, seconds: float, doing: str) -> list[T]:
    """Every step's result in order, or InputError: the first refusal, or `doing` took longer than `seconds`."""
    done: list[T | None] = [None] * len(steps)

    async def one(index: int) -> None:
        done[index] = await steps[index]()

    seconds = max(seconds, 1.0)
    try:
        with anyio.fail_after(seconds):
            async with anyio.create_task_group() as group:
                for index in range(len(steps)):
                    group.start_soon(one, index)
    except TimeoutError:
        raise InputError(
            f"{doing} took longer than this call may take ({seconds:.0f} s), so nothing was submitted. "
            "Pass public URLs, or raise wait_seconds."
        ) from None
    except ExceptionGroup as group:
        raise first_input_error(group) from None
    return [item for item in done if item is not None]


def first_input_error(group: ExceptionGroup) -> Exception:
    refused = group.subgroup(InputError)
    if refused is None:
        return group
    first = refused.exceptions[0]
    return first if not isinstance(first, ExceptionGroup) else first_input_error(first)
