"""From several variations to one tool result: each rendered as a single edit is (its text, previews and links,
each preview within its share of the host's limit), under one head, with one report listing them all.

The report's top level is the first variation that has an id, so a program that reads one prediction still finds
one; `outputs` and `saved_paths` hold every variation's, `pending` is true while any runs, and `cost_usd` is the
total. Every id reaches the caller: a pending, failed or interrupted variation is listed with its id beside the
finished ones, and one whose submit failed says why and whether a job may exist anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from mcp.types import CallToolResult, ContentBlock, TextContent

from ..jobs.outcome import Completed, Pending
from ..jobs.start import Variation, total_cost
from ..models import MODEL_ID
from ..reports import EditReport, PredictionReport, VariationReport
from ..upstream.curated import short_name
from .rendering import render


def render_variations(runs: Sequence[Variation], *, model_id: str, resume_wait: float) -> CallToolResult:
    count = len(runs)
    rendered = [None if run.outcome is None else render(run.outcome, resume_wait=resume_wait) for run in runs]
    rows = [_row(run, result) for run, result in zip(runs, rendered, strict=True)]
    total = total_cost(runs)
    content: list[ContentBlock] = [TextContent(type="text", text=_head(runs, rows, total, model_id))]
    for index, (run, result) in enumerate(zip(runs, rendered, strict=True), start=1):
        label = f"Variation {index} of {count} (seed {run.seed})"
        if result is None:
            content.append(TextContent(type="text", text=f"{label}: no job. {run.failure or ''}".rstrip()))
            continue
        blocks = list(result.content[:-1])  # its JSON text is left out: the whole call's report is at the end
        first = blocks[0]
        if isinstance(first, TextContent):
            blocks[0] = TextContent(type="text", text=f"{label}: {first.text}")
        content.extend(blocks)
    report = _report(runs, rendered, rows, total, model_id)
    content.append(TextContent(type="text", text=report.model_dump_json()))
    failed = all(result is None or result.is_error for result in rendered)
    return CallToolResult(content=content, structured_content=report.model_dump(mode="json"), is_error=failed)


def _row(run: Variation, result: CallToolResult | None) -> VariationReport:
    if result is None or result.structured_content is None:
        return VariationReport(prediction_id=None, seed=run.seed, cost_usd=float(run.cost_usd), error=run.failure)
    single = PredictionReport.model_validate(result.structured_content)
    return VariationReport(
        prediction_id=single.prediction_id,
        seed=run.seed,
        status=single.status,
        pending=single.pending,
        outputs=single.outputs,
        cost_usd=float(run.cost_usd),
        error=single.error,
    )


def _head(runs: Sequence[Variation], rows: Sequence[VariationReport], total: Decimal, model_id: str) -> str:
    done = sum(1 for run in runs if isinstance(run.outcome, Completed))
    running = sum(1 for run in runs if isinstance(run.outcome, Pending))
    model = short_name(model_id) or model_id
    head = f"{len(runs)} variations of the edit ({model}): {done} completed"
    if running:
        head += f", {running} still running"
    if others := len(runs) - done - running:
        head += f", {others} not completed"
    ids = ", ".join(f"{row.prediction_id or 'no job'} (seed {row.seed})" for row in rows)
    lines = [f"{head}. Predictions: {ids}. Total cost: ${total:g}."]
    if done:
        lines.append(
            "Show the user the variations side by side and let them pick one; to refine it, call edit_image with its "
            "output URL as image."
        )
    if running:
        lines.append(
            "Each variation still running is resumed with get_prediction on its own id (below). Do not call "
            "edit_image again for these: that would start and bill new jobs."
        )
    return "\n".join(lines)


def _report(
    runs: Sequence[Variation],
    rendered: Sequence[CallToolResult | None],
    rows: list[VariationReport],
    total: Decimal,
    model_id: str,
) -> EditReport:
    first = next((result for result in rendered if result is not None and result.structured_content), None)
    if first is not None and first.structured_content is not None:
        base = PredictionReport.model_validate(first.structured_content)
    else:
        base = PredictionReport(
            prediction_id=None,
            status=None,
            model=model_id or MODEL_ID,
            variant=short_name(model_id),
            pending=False,
            elapsed_seconds=0.0,
            polls=0,
            next_step="No variation created a job: see each one's error before trying again.",
        )
    return EditReport.model_validate(
        {
            **base.model_dump(),
            "pending": any(row.pending for row in rows),
            "outputs": [url for row in rows for url in row.outputs],
            "saved_paths": _joined(rendered, "saved_paths"),
            "has_nsfw_contents": _joined(rendered, "has_nsfw_contents"),  # in the order of `outputs`
            "unmasked_outputs": _joined(rendered, "unmasked_outputs"),
            "cost_usd": float(total),
            "elapsed_seconds": max(_elapsed(rendered), default=base.elapsed_seconds),
            "polls": sum(_polls(result) for result in rendered),
            "next_step": _next_step(runs, base),
            "variations": rows,
        }
    )


def _elapsed(rendered: Sequence[CallToolResult | None]) -> list[float]:
    return [float(data.get("elapsed_seconds") or 0) for result in rendered if (data := _data(result))]


def _joined(rendered: Sequence[CallToolResult | None], name: str) -> list[Any]:
    """Every variation's list under `name`, in order."""
    lists = [cast("list[Any]", data.get(name) or []) for result in rendered if (data := _data(result))]
    return [item for items in lists for item in items]


def _polls(result: CallToolResult | None) -> int:
    return int(data.get("polls") or 0) if (data := _data(result)) else 0


def _data(result: CallToolResult | None) -> dict[str, Any] | None:
    return None if result is None else result.structured_content


def _next_step(runs: Sequence[Variation], base: PredictionReport) -> str | None:
    if any(isinstance(run.outcome, Pending) for run in runs):
        return "Resume each pending variation with get_prediction on its prediction_id; do not call edit_image again."
    if any(isinstance(run.outcome, Completed) for run in runs):
        return "Show the variations side by side; to refine one, call edit_image with its output URL as image."
    return base.next_step
