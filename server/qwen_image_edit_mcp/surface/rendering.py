"""From an outcome to a tool result: text for the model, inline previews for the host, links, structured data.

Each output is carried three ways, because hosts differ in what they show: its URL (or saved file) verbatim in the
text, a ResourceLink, and an inline ImageContent preview. Structured content never holds image bytes, and the same
report is repeated as JSON text for clients that read only text.
"""

from __future__ import annotations

import base64
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from ..errors import describe_failure
from ..jobs.outcome import Completed, Failed, Interrupted, Outcome, Pending
from ..media.outputs import Output
from ..models import MODEL_ID
from ..reports import BalanceReport, ModelInfo, ModelList, PredictionList, PredictionReport
from ..upstream.curated import short_name
from .masked import mask_lines, unmasked_titles, with_mask


def render(outcome: Outcome, *, resume_wait: float) -> CallToolResult:
    resume = f'call get_prediction(prediction_id="{outcome.prediction_id}", wait_seconds={resume_wait:g})'
    match outcome:
        case Completed():
            next_step = "Show the user the edited image. To refine it, call edit_image with an output URL as image."
            if any(output.note and output.url for output in outcome.outputs):
                next_step += f" To fetch an output again (its URL stays valid for 7 days): {resume}."
            report = _report(outcome, outcome.outputs, next_step)
            text = "\n".join([completed_text(report, outcome.outputs), *mask_lines(outcome, report)])
            return _result(report, outcome.outputs, text)
        case Pending():
            report = _report(outcome, [], f"Nothing is lost: {resume} to wait for the result. {_NO_REPEAT}")
            text = (
                f"Still running: prediction {report.prediction_id} is '{report.status}' after {outcome.waited:.0f} s "
                f"(this call's wait limit).\n{report.next_step}"
            )
            return _result(report, [], "\n".join([text, *mask_lines(outcome, report)]))
        case Failed():
            report = _report(outcome, [], None)
            return _result(report, [], describe_failure(outcome.prediction), is_error=True)
        case Interrupted():
            return _interrupted(outcome, resume)


_NO_REPEAT = "Do not call edit_image again for this edit: that would start and bill a second job."


def _interrupted(outcome: Interrupted, resume: str) -> CallToolResult:
    if not outcome.outputs_stage:
        report = _report(outcome, [], f"Nothing is lost: {resume} to wait for the result. {_NO_REPEAT}")
        text = (
            f"Lost contact with WaveSpeed while waiting for prediction {report.prediction_id} "
            f"(last status: {report.status}): {outcome.reason}\n{report.next_step}"
        )
        return _result(report, [], "\n".join([text, *mask_lines(outcome, report)]), is_error=True)
    urls = [o for o in outcome.prediction.outputs if o.startswith(("http://", "https://"))]
    # A masked edit's outputs are the edit before its mask: listed as unmasked (by mask_lines), not as the result.
    outputs = [] if outcome.masked else [Output(index, url) for index, url in enumerate(urls, start=1)]
    report = _report(outcome, outputs, f"Downloading it again later may work: {resume}. {_NO_REPEAT}")
    lines = [
        f"The edit completed (prediction {report.prediction_id}), but this server could not prepare its output: "
        f"{outcome.reason}.",
        *(f"Output {o.index} as WaveSpeed gave it: {o.url}" for o in outputs),
        *mask_lines(outcome, report),
        report.next_step or "",
    ]
    return _result(report, outputs, "\n".join(lines), is_error=not outputs)


def _report(outcome: Outcome, outputs: list[Output], next_step: str | None) -> PredictionReport:
    prediction = outcome.prediction
    failed = prediction.is_terminal and not prediction.succeeded
    report = PredictionReport(
        prediction_id=prediction.id,
        status=prediction.status,
        model=prediction.model or MODEL_ID,
        variant=short_name(prediction.model or MODEL_ID),
        pending=not prediction.is_terminal,
        outputs=[link for output in outputs if (link := output.link)],
        has_nsfw_contents=prediction.has_nsfw_contents,
        saved_paths=[str(output.saved_path) for output in outputs if output.saved_path],
        created_at=prediction.created_at,
        error=(prediction.error or None) if failed else None,
        error_code=(prediction.code or None) if failed else None,
        inference_ms=(prediction.timings or {}).get("inference") or None,
        elapsed_seconds=round(outcome.elapsed, 3),
        polls=outcome.polls,
        cost_usd=None if outcome.cost_usd is None else float(outcome.cost_usd),
        next_step=next_step,
    )
    return with_mask(report, outcome)


def completed_text(report: PredictionReport, outputs: list[Output]) -> str:
    count = len(outputs)
    lines = [
        f"Edit completed: prediction {report.prediction_id}, {count} output{'s' if count != 1 else ''} "
        f"in {report.elapsed_seconds:.1f} s."
    ]
    for output in outputs:
        where = output.url or (str(output.saved_path) if output.saved_path else "(not available)")
        lines.append(f"Output {output.index}: {where}")
        if output.url and output.saved_path:
            lines.append(f"  saved to {output.saved_path}")
        preview = output.preview
        if preview is not None and preview.original_size is not None:
            (w, h), (pw, ph) = preview.original_size, preview.size
            lines.append(
                f"  (the inline preview is scaled down from {w}x{h} to {pw}x{ph} to fit the host's size limit; "
                "the link has the full image)"
            )
        if output.note:
            lines.append(f"  ({output.note})")
    flagged = [str(i) for i, flag in enumerate(report.has_nsfw_contents, start=1) if flag]
    if flagged:
        lines.append(f"WaveSpeed flagged output {', '.join(flagged)} as possibly NSFW; it may be blank or blurred.")
    if not outputs:
        lines.append("WaveSpeed reported success but returned no output.")
    if report.next_step:
        lines.append(report.next_step)
    return "\n".join(lines)


def _result(report: PredictionReport, outputs: list[Output], text: str, *, is_error: bool = False) -> CallToolResult:
    if report.cost_usd is not None:
        text += f"\nCost: ${report.cost_usd:g} for this run ({report.variant or report.model})."
    content: list[ContentBlock] = [TextContent(type="text", text=text)]
    content.extend(
        ImageContent(type="image", data=base64.b64encode(preview.data).decode("ascii"), mime_type=preview.mime)
        for output in outputs
        if (preview := output.preview) is not None
    )
    for output in outputs:
        title = f"Edited image {output.index} (prediction {report.prediction_id})"
        if output.url is not None:
            content.append(_link(output.url, title, output.mime))
        if output.saved_path is not None:
            content.append(_link(output.saved_path.as_uri(), f"{title}, saved file", output.mime))
    content.extend(_link(uri, title, None) for uri, title in unmasked_titles(report))
    # The spec asks tools with structured output to repeat it as JSON text, for clients that only read text.
    content.append(TextContent(type="text", text=report.model_dump_json()))
    return CallToolResult(content=content, structured_content=report.model_dump(mode="json"), is_error=is_error)


def _link(uri: str, title: str, mime: str | None) -> ResourceLink:
    name = PurePosixPath(urlsplit(uri).path).name or "output"
    return ResourceLink(type="resource_link", uri=uri, name=name, title=title, mime_type=mime)


def render_listing(listing: PredictionList, *, since_hours: float) -> CallToolResult:
    summaries = listing.predictions
    lines = [
        f"Recent edits (last {since_hours:g} h, newest first): {len(summaries)} shown of {listing.total}, "
        f"page {listing.page}."
    ]
    for summary in summaries:
        detail = summary.outputs[0] if summary.outputs else (summary.error or "")
        line = f"- {summary.prediction_id}  {summary.variant or '?'}  {summary.status}  {summary.created_at or ''}"
        here = "  (started here)" if summary.started_here else ""
        lines.append(f"{line}{here}  {detail}".rstrip())
    if not summaries:
        lines.append("No predictions match.")
    if listing.next_step:
        lines.append(listing.next_step)
    return CallToolResult(
        content=[
            TextContent(type="text", text="\n".join(lines)),
            TextContent(type="text", text=listing.model_dump_json()),
        ],
        structured_content=listing.model_dump(mode="json"),
    )


def render_balance(report: BalanceReport) -> CallToolResult:
    text = f"WaveSpeed balance: ${report.balance_usd:.2f}."
    if report.spend_limit_usd is None:
        text += " This server has no spend limit (--max-spend-usd / QWEN_EDIT_MAX_SPEND_USD)."
    elif report.remaining_usd is None:
        text += f" Spend limit: ${report.spend_limit_usd:g} per rolling 24 h (its ledger cannot be read just now)."
    else:
        text += (
            f" Spend limit: ${report.spend_limit_usd:g} per rolling 24 h; spent ${report.spent_usd or 0:g}, "
            f"${report.remaining_usd:g} left."
        )
        if report.frees_at:
            text += f" The oldest spend turns 24 h old at {report.frees_at}."
    return CallToolResult(
        content=[TextContent(type="text", text=text), TextContent(type="text", text=report.model_dump_json())],
        structured_content=report.model_dump(mode="json"),
    )


def render_models(listing: ModelList) -> CallToolResult:
    lines = [_model_line(model) for model in listing.models]
    head = f"{len(listing.models)} Qwen image edit models"
    if listing.catalog != "live":
        head += " (WaveSpeed's live catalog cannot be read just now: only the built-in ones are listed)"
    text = (
        f"{head}. Pass the short name or the id as edit_image's model, and a model's own fields in options. "
        "Each edit's exact price is quoted live for its inputs.\n" + "\n".join(lines)
    )
    return CallToolResult(
        content=[TextContent(type="text", text=text), TextContent(type="text", text=listing.model_dump_json())],
        structured_content=listing.model_dump(mode="json"),
    )


def _model_line(model: ModelInfo) -> str:
    name = model.name if model.name == model.model_id else f"{model.name} ({model.model_id})"
    price = f"${model.list_price_usd:g}" if model.list_price_usd is not None else "price quoted live"
    if model.price_rule:
        price += f" ({model.price_rule})"
    images = "1 image" if model.max_images == 1 else f"up to {model.max_images} images"
    line = f"- {name}: {model.summary}; {images}{', loras' if model.loras else ''}; {price}"
    if model.options:
        line += "; options: " + ", ".join(
            f"{o.name}{' (required)' if o.required else ''}: {o.rule}" for o in model.options
        )
    return line
