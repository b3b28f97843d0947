"""From a prediction to a tool result: text for the model, inline previews for the host, links, structured data.

Each output is carried three ways, because hosts differ in what they show: its URL (or saved file) verbatim in the
text, a ResourceLink, and an inline ImageContent preview. The whole result stays under the inline budget: an output
whose original does not fit is previewed downscaled, and the text says so. Structured content never holds image
bytes. Outputs are fetched only from the URLs the API returned, capped in size and time.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import anyio.to_thread
from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from .client import WaveSpeedClient
from .errors import WaveSpeedError
from .image_bytes import EXTENSIONS, decode_base64, sniff_image_type
from .models import MODEL_ID, Prediction, PredictionReport
from .previews import Preview, base64_size, make_preview
from .saving import default_output_dir, output_filename, save_output

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = 60.0
MAX_OUTPUT_BYTES = 64 * 1024 * 1024  # a 1536x1536 PNG of pure noise is about 7 MB
# What the text, JSON and links of a result take, at most, per output and in all; the rest is for previews.
_RESERVE_PER_OUTPUT = 1_500
_RESERVE = 6_000


@dataclass
class Output:
    index: int  # 1-based, as a person counts
    url: str | None  # what WaveSpeed returned, when it returned a URL
    mime: str | None = None
    data: bytes | None = None  # the full image, while a preview is made from it
    saved_path: Path | None = None
    preview: Preview | None = None
    note: str | None = None  # why something is missing (no preview, not saved)

    @property
    def link(self) -> str | None:
        return self.url or (self.saved_path.as_uri() if self.saved_path else None)


async def gather_outputs(
    client: WaveSpeedClient, prediction: Prediction, *, inline_max_bytes: int, output_dir: Path | None
) -> list[Output]:
    """Fetch or decode every output, keep it on disk where asked (always for base64), then fit the previews."""
    outputs: list[Output] = []
    for index, value in enumerate(prediction.outputs, start=1):
        output = Output(index, url=value if value.startswith(("http://", "https://")) else None)
        if output.url is not None:
            if output_dir is not None or inline_max_bytes > 0:
                await _download(client, output, prediction.id, output_dir)
        else:
            await _decode_and_save(output, value, prediction.id, output_dir or default_output_dir())
        outputs.append(output)
    await _fit_previews(outputs, inline_max_bytes - _RESERVE - _RESERVE_PER_OUTPUT * len(outputs))
    for output in outputs:
        output.data = None  # the previews and files hold what is needed; free the originals
    return outputs


async def _download(client: WaveSpeedClient, output: Output, prediction_id: str, output_dir: Path | None) -> None:
    assert output.url is not None
    suffix = PurePosixPath(urlsplit(output.url).path).suffix.lstrip(".").lower()
    extension = suffix if suffix in EXTENSIONS.values() or suffix == "jpg" else "img"
    destination = output_dir / output_filename(prediction_id, output.index, extension) if output_dir else None
    try:
        data = await client.download(
            output.url, max_bytes=MAX_OUTPUT_BYTES, timeout=DOWNLOAD_TIMEOUT, destination=destination
        )
    except (WaveSpeedError, OSError) as exc:
        reason = exc.message if isinstance(exc, WaveSpeedError) else str(exc)
        output.note = f"no preview: fetching the output failed ({reason}); the URL may still work"
        return
    if data is None:
        output.note = f"no preview: the output is larger than {MAX_OUTPUT_BYTES // 2**20} MB; open the URL"
        return
    output.mime = sniff_image_type(data)
    output.saved_path = destination
    if output.mime is None:
        output.note = "no preview: the output URL did not return an image"
        return
    if destination is not None and extension == "img":
        # The URL named no known image type: name the file by what it turned out to be.
        named = destination.with_suffix("." + EXTENSIONS.get(output.mime, "img"))
        output.saved_path = await anyio.to_thread.run_sync(destination.replace, named)
    output.data = data


async def _decode_and_save(output: Output, value: str, prediction_id: str, directory: Path) -> None:
    try:
        data = decode_base64(value)
    except (binascii.Error, ValueError):
        output.note = "the base64 output could not be decoded"
        return
    output.mime = sniff_image_type(data) or "application/octet-stream"
    output.data = data
    try:
        output.saved_path = await anyio.to_thread.run_sync(
            save_output, directory, prediction_id, output.index, EXTENSIONS.get(output.mime, "bin"), data
        )
    except OSError as exc:
        log.warning("could not save output %d of %s to %s: %s", output.index, prediction_id, directory, exc)
        output.note = f"could not save the image to {directory}: {exc.strerror or exc}"


async def _fit_previews(outputs: list[Output], budget: int) -> None:
    """Share the budget: each output may use what is left divided by the outputs still to come."""
    pending = [(output, output.data, output.mime) for output in outputs if output.data is not None and output.mime]
    for position, (output, data, mime) in enumerate(pending):
        share = budget // (len(pending) - position)
        preview = await anyio.to_thread.run_sync(make_preview, data, mime, share)
        if preview is None:
            output.note = output.note or "no preview: even a small one would not fit the inline budget"
            continue
        output.preview = preview
        budget -= base64_size(len(preview.data))


def build_report(
    prediction: Prediction,
    outputs: list[Output],
    *,
    elapsed: float,
    polls: int,
    next_step: str | None,
) -> PredictionReport:
    failed = prediction.is_terminal and not prediction.succeeded
    return PredictionReport(
        prediction_id=prediction.id,
        status=prediction.status,
        model=prediction.model or MODEL_ID,
        pending=not prediction.is_terminal,
        outputs=[link for output in outputs if (link := output.link)],
        has_nsfw_contents=prediction.has_nsfw_contents,
        saved_paths=[str(output.saved_path) for output in outputs if output.saved_path],
        created_at=prediction.created_at,
        error=(prediction.error or None) if failed else None,
        error_code=(prediction.code or None) if failed else None,
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
    # The spec asks tools with structured output to repeat it as JSON text, for clients that only read text.
    content.append(TextContent(type="text", text=report.model_dump_json(exclude_none=True)))
    return CallToolResult(content=content, structured_content=report.model_dump(mode="json"), is_error=is_error)


def _link(uri: str, title: str, mime: str | None) -> ResourceLink:
    name = PurePosixPath(urlsplit(uri).path).name or "output"
    return ResourceLink(type="resource_link", uri=uri, name=name, title=title, mime_type=mime)
