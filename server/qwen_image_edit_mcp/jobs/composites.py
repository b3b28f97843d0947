"""A masked job's composite outlives the call that made it: it is kept in the journal once made (its bytes as a blob,
its URL when the upload worked), and the first one kept wins, so every later read, on any replica sharing the store,
returns the same picture rather than a second composite of its own.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import anyio

from ..errors import WaveSpeedError
from ..media.outputs import Output, PreviewBudget, fit_preview
from ..media.saving import save_output
from ..state.store import KeptOutput, StoreUnavailable
from ..upstream.limits import DOWNLOAD_TIMEOUT, MAX_OUTPUT_BYTES
from .outcome import Completed
from .runtime import Runtime

log = logging.getLogger(__name__)


async def kept_once(runtime: Runtime, completed: Completed, *, answer_by: float) -> Completed:
    """`completed` (whose outputs are fresh composites) once the journal keeps them; the composite kept before, when
    another call got there first. A store that cannot keep it costs later reads the same picture, not this call."""
    made = completed.outputs
    journal = runtime.store.journal
    kept: list[KeptOutput] = []
    try:
        with anyio.fail_after(max(answer_by - runtime.clock.now(), 1.0)):
            kept = [
                KeptOutput(
                    index=output.index,
                    url=output.url,
                    mime=output.mime or "image/png",
                    blob=None if output.data is None else await journal.put_blob(output.data),
                )
                for output in made
            ]
            winner = await journal.keep_composite(completed.prediction_id, kept)
    except (StoreUnavailable, TimeoutError) as exc:
        why = exc.message if isinstance(exc, StoreUnavailable) else "the store did not answer in time"
        log.warning("could not keep the composite of prediction %s: %s", completed.prediction_id, why)
        return completed
    finally:
        for output in made:
            output.data = None  # the blob holds it now; the result never carries the bytes
    if winner == kept:
        return completed
    log.info("prediction %s: returning the composite another call kept first", completed.prediction_id)
    return replace(completed, outputs=await outputs_from_kept(runtime, completed.prediction_id, winner, answer_by))


async def outputs_from_kept(
    runtime: Runtime, prediction_id: str, kept: list[KeptOutput], answer_by: float
) -> list[Output]:
    """The kept composite as this call's outputs: previewed from its blob (or its URL, once the blob is gone), and
    saved where outputs are kept when a folder is set."""
    budget = PreviewBudget(runtime.settings.inline_max_bytes, outputs=len(kept), previews=len(kept))
    outputs: list[Output] = []
    for item in kept:
        output = Output(item.index, url=item.url, mime=item.mime)
        data = await _kept_bytes(runtime, item, answer_by)
        if data is None:
            output.note = "the composite's picture is no longer kept here" + ("" if item.url else ", and it has no URL")
            budget.spent(None)
        else:
            await fit_preview(output, data, item.mime, budget)
            await _saved(runtime, prediction_id, output, data)
        outputs.append(output)
    return outputs


async def _kept_bytes(runtime: Runtime, item: KeptOutput, answer_by: float) -> bytes | None:
    seconds = min(DOWNLOAD_TIMEOUT, max(answer_by - runtime.clock.now(), 1.0))
    try:
        with anyio.fail_after(seconds):
            if item.blob is not None and (data := await runtime.store.journal.get_blob(item.blob)) is not None:
                return data
            if item.url is None:
                return None
            return await runtime.upstream.download(
                item.url, max_bytes=MAX_OUTPUT_BYTES, seconds=seconds, allow_private=runtime.api_is_local
            )
    except (StoreUnavailable, WaveSpeedError, TimeoutError) as exc:
        log.warning("could not read the kept composite %d: %s", item.index, getattr(exc, "message", "timed out"))
        return None


async def _saved(runtime: Runtime, prediction_id: str, output: Output, data: bytes) -> None:
    folder = runtime.settings.output_dir
    if folder is None:
        return
    extension = output.mime.removeprefix("image/") if output.mime else "png"
    try:
        output.saved_path = await anyio.to_thread.run_sync(
            save_output, folder, f"{prediction_id}-masked", output.index, extension, data
        )
    except OSError as exc:
        log.warning("could not save the composite of prediction %s to %s: %s", prediction_id, folder, exc)
