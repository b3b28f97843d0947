"""The masked edit's own steps, around the usual edit: before the submit, the mask and the input are read and
checked (a refusal costs nothing); once the job completed, the composite is made, saved, uploaded and previewed.

The second step runs inside `follow`, so any failure there still ends in an outcome carrying the id and the
unmasked output's URL. The journal keeps what compositing needs (jobs/journal.py), so a later `get_prediction`
finishes a masked job the first call did not see complete (jobs/composites.py), and the composite, once made, is kept
too: every later read returns the same picture.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import anyio
import anyio.to_thread

from ..errors import InputError, WaveSpeedError
from ..folders import default_output_dir
from ..media.inputs import ResolvedImage, read_image
from ..media.masks import Composite, Region, composite, prepare_region
from ..media.outputs import Output, PreviewBudget, fit_preview
from ..media.saving import save_output
from ..models import OutputFormat
from ..upstream.limits import DOWNLOAD_TIMEOUT, MAX_OUTPUT_BYTES
from .composites import kept_once
from .follow import Finish
from .outcome import Completed, Masked, Outcome, OutputsUnusable
from .runtime import Runtime

log = logging.getLogger(__name__)

# The composite's upload may use what is left of the call's time, and at least this: the job is paid for already.
MIN_UPLOAD_SECONDS = 5.0


@dataclass(frozen=True)
class MaskArgs:
    mask: str
    feather: int
    output_format: OutputFormat  # what the composite is saved as: png and webp are lossless, jpeg is not


@dataclass(frozen=True)
class RegionEdit:
    """A masked edit, checked and ready: what compositing needs once the job is back."""

    region: Region
    args: MaskArgs
    mask_data: bytes  # the mask as given, kept in the journal with the input for a later call to composite
    # Why a later call could not apply the mask (the journal did not record the job), when it could not.
    later_note: str | None = None

    def unjournalled(self) -> RegionEdit:
        """This edit, once the journal failed to record its prediction: only this call can composite it."""
        why = "The journal could not record this job, so only this call could apply its mask"
        return replace(self, later_note=why)

    def labelled(self, outcome: Outcome) -> Outcome:
        """Any outcome but a composite says it was asked for one (and, when the journal failed, why no later call
        can apply the mask)."""
        return outcome if outcome.masked is not None else replace(outcome, masked=self.masked([], self.later_note))

    def finisher(self, runtime: Runtime, *, answer_by: float) -> Finish:
        """What `follow` does with the completed job, inside its guarantee: composite it."""

        async def finish(completed: Completed) -> Completed:
            made = await composited(runtime, completed, self, answer_by=answer_by)
            return await kept_once(runtime, made, answer_by=answer_by)

        return finish

    def masked(self, unmasked: list[Output], note: str | None = None) -> Masked:
        lossless = self.args.output_format != "jpeg"
        return Masked(self.region.coverage, self.args.feather, unmasked=unmasked, lossless=lossless, note=note)


async def prepare_region_edit(
    runtime: Runtime, args: MaskArgs, first: ResolvedImage, given: str, *, size: str | None, seconds: float
) -> RegionEdit:
    """The mask and the first image's pixels, checked against each other; InputError (nothing paid) otherwise."""
    if size is not None:
        raise InputError(
            "size cannot be used with mask: a masked edit keeps the input's size, so that every pixel outside the "
            "mask is the input's own. Leave size out (or edit without a mask, then resize)."
        )
    try:
        with anyio.fail_after(max(seconds, 1.0)):
            mask = await read_image(args.mask, runtime.inputs, field="mask")
            if mask is None:
                mask = await _fetched(runtime, args.mask.strip(), "mask")
            source = first.data if first.data is not None else await _fetched(runtime, given.strip(), "image")
            region = await anyio.to_thread.run_sync(_region, source, mask, args.feather)
    except TimeoutError:
        raise InputError(
            f"mask: reading the mask and the image took longer than this call may take ({seconds:.0f} s), so nothing "
            "was submitted. Pass local files or data URIs, or raise wait_seconds."
        ) from None
    log.info("masked edit: the edit may change %.1f%% of the image", region.coverage * 100)
    return RegionEdit(region, args, mask)


def _region(source: bytes, mask: bytes, feather: int) -> Region:
    try:
        return prepare_region(source, mask, feather)
    except (OSError, SyntaxError, EOFError) as exc:  # Pillow's words for truncated or corrupt data
        raise InputError(f"mask: the mask or the image could not be decoded ({exc}); nothing was submitted.") from None


async def _fetched(runtime: Runtime, url: str, what: str) -> bytes:
    """The bytes at a URL the caller gave, which the composite needs: bounded, and never from this machine or a
    private network unless WaveSpeed itself is local (an emulator)."""
    try:
        data = await runtime.upstream.download(
            url, max_bytes=MAX_OUTPUT_BYTES, seconds=DOWNLOAD_TIMEOUT, allow_private=runtime.api_is_local
        )
    except WaveSpeedError as exc:
        raise InputError(
            f"mask: the {what} URL could not be fetched, and a masked edit needs its pixels ({exc.message}); nothing "
            "was submitted. Pass a local file or a data URI instead."
        ) from None
    if data is None:
        raise InputError(f"mask: the {what} at the URL is larger than {MAX_OUTPUT_BYTES // 2**20} MB.")
    return data


async def composited(runtime: Runtime, completed: Completed, edit: RegionEdit, *, answer_by: float) -> Completed:
    """The completed edit, its outputs replaced by their composites (saved, uploaded within the call's time,
    previewed); the unmasked outputs stay listed. OutputsUnusable when an output could not be composited."""
    raw = completed.outputs
    composites: list[Output] = []
    budget = PreviewBudget(runtime.settings.inline_max_bytes, outputs=len(raw), previews=len(raw))
    for output in raw:
        if output.data is None:
            raise OutputsUnusable(
                f"the masked composite could not be made: the edit's output {output.index} could not be read "
                f"({output.note or 'no image'})"
            )
        try:
            made = await anyio.to_thread.run_sync(composite, edit.region, output.data, edit.args.output_format)
        except (InputError, OSError, SyntaxError, EOFError) as exc:
            raise OutputsUnusable(
                f"the masked composite could not be made: the edit's output {output.index} did not decode ({exc})"
            ) from None
        output.data = None
        seconds = max(answer_by - runtime.clock.now(), MIN_UPLOAD_SECONDS)
        composites.append(await _delivered(runtime, completed.prediction_id, output.index, made, seconds, budget))
    return replace(completed, outputs=composites, masked=edit.masked(raw))


async def _delivered(
    runtime: Runtime, prediction_id: str, index: int, made: Composite, seconds: float, budget: PreviewBudget
) -> Output:
    """The composite as an output: uploaded and saved (see `_kept`) while its preview is made from the blended
    picture in a worker thread; the two overlap, and an unforeseen error in either is raised once both ended."""
    output = Output(index, url=None, mime=made.mime, data=made.data)  # the bytes until the journal keeps them
    failures: list[Exception] = []  # raised below as themselves, not as a group: follow() makes an outcome of them

    async def previewed() -> None:
        try:
            await fit_preview(output, made.data, made.mime, budget, picture=made.picture)
        except Exception as exc:
            failures.append(exc)

    async def kept() -> None:
        try:
            await _kept(runtime, prediction_id, output, made, seconds)
        except Exception as exc:
            failures.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(previewed)
        group.start_soon(kept)
    if failures:
        raise failures[0]
    return output


async def _kept(runtime: Runtime, prediction_id: str, output: Output, made: Composite, seconds: float) -> None:
    """Uploaded (so any client can fetch it) and saved where outputs are kept; saved in the default folder too when
    the upload failed and no folder is set, so it always exists somewhere."""
    extension = made.mime.removeprefix("image/")
    name = f"{prediction_id}-masked-{output.index}.{extension}"
    uploader = runtime.inputs.uploader
    try:
        with anyio.fail_after(seconds):
            if uploader is not None:
                output.url, _ = await uploader.upload(made.data, filename=name, content_type=made.mime)
    except (WaveSpeedError, TimeoutError) as exc:
        why = exc.message if isinstance(exc, WaveSpeedError) else f"it took longer than {seconds:.0f} s"
        log.warning("could not upload the composite of prediction %s: %s", prediction_id, why)
        _noted(output, f"the composite could not be uploaded ({why}); it is kept as a file")
    folder = runtime.settings.output_dir or (default_output_dir() if output.url is None else None)
    if folder is not None:
        try:
            output.saved_path = await anyio.to_thread.run_sync(
                save_output, folder, f"{prediction_id}-masked", output.index, extension, made.data
            )
        except OSError as exc:
            log.warning("could not save the composite of prediction %s to %s: %s", prediction_id, folder, exc)
            _noted(output, f"could not save it to {folder}: {exc.strerror}")


def _noted(output: Output, note: str) -> None:
    """Add to what the output's note says: the preview, made alongside, may have a word of its own."""
    output.note = f"{output.note}; {note}" if output.note else note
