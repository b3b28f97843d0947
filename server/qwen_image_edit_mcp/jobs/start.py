"""The edit use case: validate, resolve the image, submit once, follow the job to an outcome.

Everything the server can refuse itself is refused before the submit (a refusal costs the user nothing), and
`check_edit` makes the same refusals before the user is asked to approve a spend. The submit
is sent once; from the moment WaveSpeed answers with an id, `follow` owns the job and every outcome carries it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

import anyio

from ..errors import (
    ConnectionFailedError,
    InputError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    WaveSpeedError,
)
from ..media.inputs import ResolvedImage, read_image, resolve_image
from ..media.masks import DEFAULT_FEATHER
from ..models import EditRequest, Lora, OutputFormat
from ..variants import Variant
from .family import checked_loras, chosen_inputs
from .follow import follow
from .outcome import NoPrediction, Outcome
from .region import MaskArgs, prepare_region_edit
from .runtime import ANSWER_MARGIN, ProgressFn, Runtime
from .spending import Paid, SpendRefused
from .waiting import submit_once

log = logging.getLogger(__name__)

# A sync-mode request holds the prediction id until WaveSpeed answers; give it room or it cannot help.
MIN_SYNC_WAIT_SECONDS: Final = 10.0


@dataclass(frozen=True)
class EditArgs:
    """edit_image's arguments, already checked against their schema."""

    prompt: str
    image: str | None = None
    images: tuple[str, ...] | None = None
    model: str = "edit"
    loras: tuple[Lora, ...] | None = None
    size: str | None = None
    seed: int = -1
    output_format: OutputFormat | None = None  # jpeg, or png with a mask
    enable_base64_output: bool = False
    enable_sync_mode: bool = False
    wait_seconds: float = 50.0
    mask: str | None = None  # edit one region only: see jobs/region.py
    feather: int = DEFAULT_FEATHER


async def run_edit(runtime: Runtime, args: EditArgs, progress: ProgressFn) -> Outcome:
    """One paid job, start to outcome. Raises InputError or NoPrediction while no job exists; never after."""
    clock = runtime.clock
    started = clock.now()
    variant, given, loras = _checked(args)
    deadline = started + args.wait_seconds
    resolved = await _prepare(runtime, given, _fields(args, given), answer_by=deadline + ANSWER_MARGIN)
    for note in (item.note for item in resolved if item.note):
        log.info("edit_image input: %s", note)
        await progress(f"image ready: {note}")
    output_format = args.output_format or ("png" if args.mask is not None else "jpeg")
    region = None
    if args.mask is not None:
        masking = MaskArgs(args.mask, args.feather, output_format)
        seconds = deadline + ANSWER_MARGIN - clock.now()
        region = await prepare_region_edit(runtime, masking, resolved[0], given[0], size=args.size, seconds=seconds)
    request = EditRequest(
        prompt=args.prompt,
        model=variant.name,
        images=tuple(item.value for item in resolved),
        loras=loras,
        size=args.size,
        seed=args.seed,
        output_format=output_format,
        enable_base64_output=args.enable_base64_output,
        enable_sync_mode=args.enable_sync_mode,
    )
    del resolved  # the bytes read are the region's now, if anyone's: not held while the job runs
    await progress("submitting the edit to WaveSpeed" + (" (sync mode)" if args.enable_sync_mode else ""))
    paid = await _submit(runtime, request, deadline=deadline, wait_seconds=args.wait_seconds)
    prediction = paid.prediction
    log.info("edit_image submitted prediction %s (status %s)", prediction.id, prediction.status)
    outcome: Outcome | None = None
    async with anyio.create_task_group() as beside:  # the spend is recorded while the job is followed
        beside.start_soon(paid.commit, max(deadline + ANSWER_MARGIN - clock.now(), 1.0))
        outcome = await follow(
            runtime,
            prediction,
            progress,
            started=started,
            deadline=deadline,
            polls=0,
            history=runtime.durations,
            announce=f"submitted: prediction {prediction.id} is {prediction.status}",
            finish=None if region is None else region.finisher(runtime, answer_by=deadline + ANSWER_MARGIN),
        )
    assert outcome is not None  # follow returns or raises
    outcome = replace(outcome, cost_usd=paid.price_usd)
    return outcome if region is None else region.labelled(outcome)


async def check_edit(runtime: Runtime, args: EditArgs) -> None:
    """Every refusal `run_edit` makes before paying, made without uploading or sending anything (InputError): what
    runs before the user is asked to approve the spend, so that nobody approves an edit that is then refused."""
    _, given, _ = _checked(args)
    answer_by = runtime.clock.now() + args.wait_seconds + ANSWER_MARGIN
    fields = _fields(args, given)
    read = [await read_image(value, runtime.inputs, field=field) for value, field in zip(given, fields, strict=True)]
    if args.mask is not None:
        masking = MaskArgs(args.mask, args.feather, args.output_format or "png")
        first = ResolvedImage(given[0], data=read[0])
        seconds = answer_by - runtime.clock.now()
        await prepare_region_edit(runtime, masking, first, given[0], size=args.size, seconds=seconds)


def _checked(args: EditArgs) -> tuple[Variant, list[str], tuple[Lora, ...]]:
    """The variant, its images and its LoRAs, from arguments that are consistent; InputError otherwise."""
    if args.enable_sync_mode and args.wait_seconds < MIN_SYNC_WAIT_SECONDS:
        raise InputError(
            f"enable_sync_mode holds the request open until the image is ready, so it needs wait_seconds of at "
            f"least {MIN_SYNC_WAIT_SECONDS:g} (got {args.wait_seconds:g}). Raise wait_seconds or leave sync mode off."
        )
    variant, given = chosen_inputs(args.model, args.image, args.images)
    return variant, given, checked_loras(variant, args.loras)


def _fields(args: EditArgs, given: list[str]) -> list[str]:
    """How each image's refusal names it."""
    return [f"images[{index}]" for index in range(len(given))] if args.images else ["image"]


async def _prepare(runtime: Runtime, given: list[str], fields: list[str], *, answer_by: float) -> list[ResolvedImage]:
    """The images as WaveSpeed takes them, read and uploaded concurrently. Uploads count against the call's time
    too: nothing is paid yet, so a slow one is simply abandoned, and the caller told how to avoid it."""
    resolved: list[ResolvedImage | None] = [None] * len(given)

    async def one(index: int) -> None:
        resolved[index] = await resolve_image(given[index], runtime.inputs, field=fields[index])

    seconds = max(answer_by - runtime.clock.now(), 1.0)
    try:
        with anyio.fail_after(seconds):
            async with anyio.create_task_group() as group:
                for index in range(len(given)):
                    group.start_soon(one, index)
    except TimeoutError:
        raise InputError(
            f"preparing the images (reading and uploading) took longer than this call may take ({seconds:.0f} s), "
            "so nothing was submitted. Pass public URLs, or raise wait_seconds."
        ) from None
    except ExceptionGroup as group:  # the first refusal speaks for all: each names its own field
        raise _first_input_error(group) from None
    return [item for item in resolved if item is not None]


def _first_input_error(group: ExceptionGroup) -> Exception:
    refused = group.subgroup(InputError)
    if refused is None:
        return group
    first = refused.exceptions[0]
    return first if not isinstance(first, ExceptionGroup) else _first_input_error(first)


async def _submit(runtime: Runtime, request: EditRequest, *, deadline: float, wait_seconds: float) -> Paid:
    """The submit, inside the spend ledger's reservation (see spending.py)."""
    sync, answer_by = request.enable_sync_mode, deadline + ANSWER_MARGIN
    try:
        return await runtime.spending.paid(
            request,
            lambda: submit_once(
                runtime.wavespeed, request, clock=runtime.clock, deadline=deadline, answer_by=answer_by
            ),
            quote_seconds=max(answer_by - runtime.clock.now(), 1.0),
        )
    except SpendRefused:
        raise
    except WaveSpeedError as exc:
        if _outcome_unknown(exc):
            _log_abandoned(f"no answer with an id ({exc.message})")
        raise NoPrediction(submit_failure(exc, sync=sync, wait_seconds=wait_seconds)) from None
    except anyio.get_cancelled_exc_class():
        # An async submit is shielded (see submit_once), so this is a sync-mode request or a retry's backoff.
        if sync:
            _log_abandoned("the client cancelled the call while the sync-mode request was open")
        else:
            log.info("edit_image cancelled before the submit was sent again (nothing was created)")
        raise
    except Exception as exc:
        log.exception("unexpected %s while submitting an edit", type(exc).__name__)
        _log_abandoned(f"an unexpected {type(exc).__name__}")
        raise NoPrediction(
            f"The submit ended with an unexpected error ({type(exc).__name__}), so its outcome is unknown."
            + _UNKNOWN_OUTCOME
        ) from None


def _outcome_unknown(exc: WaveSpeedError) -> bool:
    if isinstance(exc, ConnectionFailedError):
        return exc.request_sent
    return isinstance(exc, ServerError | UnexpectedResponseError)


def _log_abandoned(why: str) -> None:
    """A submit that may have created a job whose id nobody knows: say when, so list_predictions can match it."""
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    log.warning("abandoned a submit of unknown outcome at %s: %s; a job may exist, see list_predictions", at, why)


_UNKNOWN_OUTCOME: Final = (
    " This server does not resend a request whose outcome is unknown, so that you are never billed twice: "
    "call list_predictions (or check the WaveSpeed dashboard) to find the job and resume it with "
    "get_prediction before trying again."
)


def submit_failure(exc: WaveSpeedError, *, sync: bool, wait_seconds: float) -> str:
    """Why the edit could not be submitted, and whether a job might exist anyway."""
    if sync and isinstance(exc, ConnectionFailedError | ServerError | UnexpectedResponseError):
        return (
            f"The sync-mode request got no answer with a prediction id within {wait_seconds:g} s ({exc.message}). "
            "The job may still have been created and may complete."
            + _UNKNOWN_OUTCOME
            + " Async mode (enable_sync_mode=false, the default) always returns an id that get_prediction can resume."
        )
    if isinstance(exc, ConnectionFailedError) and exc.request_sent:
        return (
            f"The edit request was sent but no answer came back: {exc.message} It may have created a job."
            + _UNKNOWN_OUTCOME
        )
    if isinstance(exc, ServerError | UnexpectedResponseError):
        return f"{exc.message} The job may or may not have been created." + _UNKNOWN_OUTCOME
    if isinstance(exc, RateLimitError):
        return f"{exc.message} No job was created (retried a few times)."
    return exc.message + " No job was created."
