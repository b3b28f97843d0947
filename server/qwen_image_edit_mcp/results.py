"""From a prediction to a tool result: text for the model, inline previews for the host, links, structured data.

Each output is carried three ways, because hosts differ in what they show: its URL verbatim in the text, a
ResourceLink, and an inline ImageContent preview when it fits the inline budget. Structured content never holds
image bytes. The result is built the same way for edit_image and get_prediction.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from .client import WaveSpeedClient
from .errors import WaveSpeedError
from .images import decode_base64, sniff_image_type
from .models import MODEL_ID, Prediction, PredictionReport
from .saving import default_output_dir, save_output

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = 20.0


@dataclass
class Output:
    index: int  # 1-based, as a person counts
    url: str | None  # what WaveSpeed returned, when it returned a URL
    mime: str | None = None
    data: bytes | None = None  # the image bytes, when they were fetched or came inline
    saved_path: Path | None = None
    note: str | None = None  # why something is missing (no preview, not saved)

    @property
    def link(self) -> str | None:
        return self.url or (self.saved_path.as_uri() if self.saved_path else None)


def _b64_size(n: int) -> int:
    return 4 * ((n + 2) // 3)


async def gather_outputs(
    client: WaveSpeedClient, prediction: Prediction, *, inline_max_bytes: int, output_dir: Path | None
) -> list[Output]:
    """Fetch (URL mode, only what could be shown) or decode (base64 mode, then saved) every output."""
    outputs: list[Output] = []
    budget = inline_max_bytes
    for index, value in enumerate(prediction.outputs, start=1):
        if value.startswith(("http://", "https://")):
            output = Output(index, url=value)
            await _download_preview(client, output, budget)
        else:
            output = Output(index, url=None)
            await _decode_and_save(output, value, prediction.id, output_dir)
        if output.data is not None:
            size = _b64_size(len(output.data))
            if size <= budget:
                budget -= size
            else:
                output.note = output.note or (
                    f"no inline preview: the image ({len(output.data) / 1e6:.1f} MB) is larger than the inline budget "
                    f"left ({max(budget, 0) * 3 // 4 / 1e6:.2f} MB); open the link for the full image"
                )
                output.data = None
        outputs.append(output)
    return outputs


async def _download_preview(client: WaveSpeedClient, output: Output, budget: int) -> None:
    assert output.url is not None
    if budget <= 0:
        output.note = "no inline preview: the inline budget is used up; open the URL"
        return
    try:
        data = await client.download(output.url, max_bytes=budget * 3 // 4, timeout=DOWNLOAD_TIMEOUT)
    except WaveSpeedError as exc:
        output.note = f"no inline preview: downloading the output failed ({exc.message}); the URL may still work"
        return
    if data is None:
        output.note = "no inline preview: the image is larger than the inline budget; open the URL for it"
        return
    output.mime = sniff_image_type(data)
    if output.mime is None:
        output.note = "no inline preview: the output URL did not return an image"
        return
    output.data = data


async def _decode_and_save(output: Output, value: str, prediction_id: str, output_dir: Path | None) -> None:
    try:
        data = decode_base64(value)
    except (binascii.Error, ValueError):
        output.note = "the base64 output could not be decoded"
        return
    output.mime = sniff_image_type(data) or "application/octet-stream"
    output.data = data
    directory = output_dir or default_output_dir()
    try:
        output.saved_path = await anyio.to_thread.run_sync(
            save_output, directory, prediction_id, output.index, output.mime, data
        )
    except OSError as exc:
        log.warning("could not save output %d of %s to %s: %s", output.index, prediction_id, directory, exc)
        output.note = f"could not save the image to {directory}: {exc.strerror or exc}"


def build_report(
    prediction: Prediction,
    outputs: list[Output],
    *,
    elapsed: float,
    polls: int,
    next_step: str | None,
) -> PredictionReport:
    return PredictionReport(
        prediction_id=prediction.id,
        status=prediction.status,
        model=prediction.model or MODEL_ID,
        pending=not prediction.is_terminal,
        outputs=[link for output in outputs if (link := output.link)],
        has_nsfw_contents=prediction.has_nsfw_contents,
        saved_paths=[str(output.saved_path) for output in outputs if output.saved_path],
        created_at=prediction.created_at,
        error=(prediction.error or None) if prediction.status != "completed" else None,
        error_code=prediction.code if prediction.code else None,
        inference_ms=(prediction.timings or {}).get("inference") or None,
        elapsed_seconds=round(elapsed, 3),
        polls=polls,
        next_step=next_step,
    )


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


def pending_text(report: PredictionReport, *, waited: float, interruption: WaveSpeedError | None) -> str:
    if interruption is not None:
        head = (
            f"Lost contact with WaveSpeed while waiting for prediction {report.prediction_id} "
            f"(last status: {report.status}): {interruption.message}"
        )
    else:
        head = (
            f"Still running: prediction {report.prediction_id} is '{report.status}' after {waited:.0f} s "
            "(this call's wait limit)."
        )
    return f"{head}\n{report.next_step}"


def build_result(
    report: PredictionReport, outputs: list[Output], text: str, *, is_error: bool = False
) -> CallToolResult:
    content: list[ContentBlock] = [TextContent(type="text", text=text)]
    content.extend(
        ImageContent(type="image", data=base64.b64encode(output.data).decode("ascii"), mime_type=output.mime)
        for output in outputs
        if output.data is not None and output.mime and output.mime.startswith("image/")
    )
    content.extend(
        ResourceLink(
            type="resource_link",
            uri=link,
            name=Path(link.split("?", 1)[0]).name or f"output-{output.index}",
            title=f"Edited image {output.index} (prediction {report.prediction_id})",
            mime_type=output.mime,
        )
        for output in outputs
        if (link := output.link) is not None
    )
    # The spec asks tools with structured output to repeat it as JSON text, for clients that only read text.
    content.append(TextContent(type="text", text=report.model_dump_json(exclude_none=True)))
    return CallToolResult(content=content, structured_content=report.model_dump(mode="json"), is_error=is_error)
