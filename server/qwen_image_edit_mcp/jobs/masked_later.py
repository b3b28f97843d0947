"""Finishing a masked job in a later call (`get_prediction`), from what the journal kept when it was submitted.

The first call composites a job that completes within its wait. When it does not (a host that cuts calls at about
60 s, `wait_seconds=0`), the journal still holds the input, the mask, the feather and the format: the call that sees
the job complete makes the composite, on any replica sharing the store or after a restart, and keeps it, so the
reads after it return the same picture. Without the input (its blob expired after 7 days, or the store cannot
answer), the result is the unmasked edit, and says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import anyio
import anyio.to_thread

from ..errors import InputError
from ..media.masks import prepare_region
from ..state.store import JobRecord, MaskRecipe, StoreUnavailable
from .composites import outputs_from_kept
from .follow import Finish
from .journal import LOOKUP_SECONDS
from .outcome import Completed, Masked, Outcome
from .region import MaskArgs, RegionEdit
from .runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LaterMask:
    """What a later call does with a journalled masked job: `finish` makes (or returns) its composite; an outcome
    without one is labelled with `masked`, whose note says why the mask was not applied when it could not be."""

    finish: Finish | None
    masked: Masked

    def labelled(self, outcome: Outcome) -> Outcome:
        return outcome if outcome.masked is not None else replace(outcome, masked=self.masked)


async def later_mask(
    runtime: Runtime, record: JobRecord | None, *, answer_by: float, may_finish: bool = True
) -> LaterMask | None:
    """How to finish the job's mask, when the journal says it has one; None for an unmasked job. Unless this call
    `may_finish` the job, nothing is read or decoded: the outcome is only labelled."""
    if record is None or (recipe := record.mask) is None:
        return None
    base = Masked(recipe.coverage, recipe.feather, lossless=recipe.output_format != "jpeg")
    if (kept := record.composite) is not None:

        async def returned(completed: Completed) -> Completed:
            outputs = await outputs_from_kept(runtime, completed.prediction_id, kept, answer_by)
            for output in completed.outputs:
                output.data = None
            return replace(completed, outputs=outputs, masked=replace(base, unmasked=completed.outputs))

        return LaterMask(returned, base)
    if not may_finish:
        return LaterMask(None, base)
    edit, why = await _region_edit(runtime, recipe)
    if edit is None:
        return LaterMask(None, replace(base, note=f"{why}, so this is the edit without the mask"))
    return LaterMask(edit.finisher(runtime, answer_by=answer_by), base)


async def _region_edit(runtime: Runtime, recipe: MaskRecipe) -> tuple[RegionEdit | None, str]:
    journal = runtime.store.journal
    try:
        with anyio.fail_after(LOOKUP_SECONDS):
            image, mask = await journal.get_blob(recipe.image_blob), await journal.get_blob(recipe.mask_blob)
    except (StoreUnavailable, TimeoutError) as exc:
        why = exc.message if isinstance(exc, StoreUnavailable) else "the store did not answer in time"
        return None, f"The input and mask kept for this masked edit could not be read ({why})"
    if image is None or mask is None:
        return None, "The input and mask kept for this masked edit are gone (they are kept for 7 days)"
    try:
        region = await anyio.to_thread.run_sync(prepare_region, image, mask, recipe.feather)
    except (InputError, OSError, SyntaxError, EOFError) as exc:  # bytes that passed once: only damage gets here
        log.warning("the kept input or mask no longer decodes: %s", exc)
        return None, "The input and mask kept for this masked edit no longer decode"
    return RegionEdit(region, MaskArgs("(kept)", recipe.feather, recipe.output_format), mask), ""
