"""The job journal from the use cases' side: a paid job is written down before its submit, given its id after, and
looked up by later calls (state/store.py keeps it, in SQLite or Redis).

    begin_jobs     before the submit: a record per variation (and a masked edit's input and mask, as blobs). A store
                   that cannot write refuses the paid edit (JobNotRecorded): a job that could not be finished later is
                   not started
    note_started   after the submit: the prediction id, shielded and bounded; a failure is logged, never raised, since
                   the id reaches the caller whatever the store does
    journalled     a later call's look-up by prediction id; a store that cannot answer gives None, logged
    hand_out       the URLs a result handed out, so that any replica sharing the store may preview them
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Final

import anyio

from ..errors import InputError
from ..state.store import JobRecord, MaskRecipe, StoreUnavailable
from .prepare import PreparedEdit
from .runtime import Runtime

log = logging.getLogger(__name__)

# A look-up or a note after the job exists waits at most this for the store: the call answers on time regardless.
LOOKUP_SECONDS: Final = 5.0
# What a result may wait for the URLs it hands out to be recorded (other replicas' previews): less than the margin
# a call keeps after its wait (ANSWER_MARGIN).
HAND_OUT_SECONDS: Final = 2.0


class JobNotRecorded(InputError):
    """The store could not record the job, so it was not started: nothing was sent, nothing was paid."""


async def begin_jobs(runtime: Runtime, prepared: PreparedEdit, *, seconds: float) -> list[str]:
    """Record the jobs about to be submitted, one per variation; their job ids. JobNotRecorded (nothing sent) when
    the store cannot record them all: a variation the journal does not know could not be finished later."""
    journal = runtime.store.journal
    try:
        with anyio.fail_after(max(seconds, 0.1)):
            recipe = None
            if (region := prepared.region) is not None:  # kept once, shared by every variation
                recipe = MaskRecipe(
                    image_blob=await journal.put_blob(region.region.source),
                    mask_blob=await journal.put_blob(region.mask_data),
                    feather=region.args.feather,
                    output_format=region.args.output_format,
                    coverage=region.region.coverage,
                )
            records = [
                JobRecord(
                    job_id=uuid.uuid4().hex,
                    model_id=prepared.model.model_id,
                    price_usd=prepared.run_price_usd,
                    created_at=time.time(),
                    mask=recipe,
                )
                for _ in prepared.seeds
            ]
            for record in records:
                await journal.begin(record)
    except StoreUnavailable as exc:
        raise JobNotRecorded(_refusal(exc.message)) from None
    except TimeoutError:
        raise JobNotRecorded(
            _refusal(f"The {runtime.store.description} did not answer within {seconds:.1f} s.")
        ) from None
    return [record.job_id for record in records]


def _refusal(why: str) -> str:
    return (
        f"Refused before any paid request: the job could not be recorded. {why} A job this server cannot record "
        "could not be finished or found again later, so nothing was submitted. get_prediction and list_predictions "
        "still work; fix the store (see QWEN_EDIT_STORE_URL and QWEN_EDIT_CACHE_DIR), then try again."
    )


async def note_started(runtime: Runtime, job_id: str, prediction_id: str, seconds: float) -> bool:
    """Give the journalled job its prediction id: whether that worked. Never raises, answers within `seconds`."""
    with anyio.move_on_after(min(seconds, LOOKUP_SECONDS), shield=True) as scope:
        try:
            await runtime.store.journal.started(job_id, prediction_id)
        except StoreUnavailable as exc:
            log.warning("could not record prediction %s in the journal: %s", prediction_id, exc.message)
        except Exception:
            log.exception("could not record prediction %s in the journal", prediction_id)
        else:
            return True
    if scope.cancelled_caught:
        log.warning("the journal did not record prediction %s within %.1f s", prediction_id, seconds)
    return False


async def journalled(runtime: Runtime, prediction_id: str) -> JobRecord | None:
    """The job's record when this deployment started it; None when it did not, or the store could not say (logged)."""
    try:
        with anyio.fail_after(LOOKUP_SECONDS):
            return await runtime.store.journal.get(prediction_id)
    except StoreUnavailable as exc:
        log.warning("could not look up prediction %s in the journal: %s", prediction_id, exc.message)
    except TimeoutError:
        log.warning("the %s did not answer within %g s", runtime.store.description, LOOKUP_SECONDS)
    return None


async def hand_out(runtime: Runtime, prediction_id: str | None, urls: Sequence[str]) -> None:
    """Record what a result handed out; never raises. Bounded by HAND_OUT_SECONDS: the result waits for it, and a
    host cuts a call at about 60 s."""
    if not urls:
        return
    with anyio.move_on_after(HAND_OUT_SECONDS, shield=True) as scope:
        try:
            await runtime.store.journal.hand_out(prediction_id, urls)
        except StoreUnavailable as exc:
            log.warning("could not record the URLs handed out: %s", exc.message)
        except Exception:
            log.exception("could not record the URLs handed out")
    if scope.cancelled_caught:
        log.warning("the journal did not record the URLs of prediction %s within %g s", prediction_id, HAND_OUT_SECONDS)
