"""What a masked edit adds to a tool result: the report's mask fields, the lines saying what was kept exactly, and
the unmasked edit, listed and labelled as such (never as the result)."""

from __future__ import annotations

from ..jobs.outcome import Completed, Interrupted, Outcome
from ..reports import PredictionReport


def with_mask(report: PredictionReport, outcome: Outcome) -> PredictionReport:
    """The report with the mask's fields, when the call had a mask; `masked` only when the outputs are composites."""
    masked = outcome.masked
    if masked is None:
        return report
    unmasked = [link for output in masked.unmasked if (link := output.link)]
    if isinstance(outcome, Interrupted) and outcome.outputs_stage and not unmasked:
        unmasked = [url for url in outcome.prediction.outputs if url.startswith(("http://", "https://"))]
    return report.model_copy(
        update={
            "masked": isinstance(outcome, Completed) and masked.note is None,
            "mask_coverage": masked.coverage,
            "unmasked_outputs": unmasked,
        }
    )


def mask_lines(outcome: Outcome, report: PredictionReport) -> list[str]:
    """For the text: what the mask kept, where the unmasked edit is, and what a later look-up returns."""
    masked = outcome.masked
    if masked is None:
        return []
    unmasked = [f"Unmasked edit {i} (as WaveSpeed made it, before the mask): {url}" for i, url in _numbered(report)]
    share = f"{masked.coverage:.1%}"
    if masked.note is not None:
        return [*unmasked, f"{masked.note}: the mask ({share} of the image) was not applied."]
    if isinstance(outcome, Completed):
        kept = (
            "bit for bit"
            if masked.lossless
            else "before encoding (the output is JPEG, which is lossy: use png or webp to keep them exactly)"
        )
        return [
            f"Masked: the output is the edit inside the mask ({share} of the image, with a {masked.feather} px soft "
            f"edge) and the input everywhere else, at the input's size; the pixels outside the mask are the input's "
            f"{kept}.",
            *unmasked,
        ]
    return [
        *unmasked,
        f"This edit has a mask ({share} of the image): get_prediction on its id applies it once the job completes.",
    ]


def _numbered(report: PredictionReport) -> list[tuple[int, str]]:
    return list(enumerate(report.unmasked_outputs, start=1))


def unmasked_titles(report: PredictionReport) -> list[tuple[str, str]]:
    """(uri, title) of each unmasked output, for the result's resource links."""
    pid = report.prediction_id
    return [(uri, f"Unmasked edit {i} (prediction {pid}), before the mask") for i, uri in _numbered(report)]
