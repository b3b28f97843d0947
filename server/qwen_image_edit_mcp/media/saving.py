"""Writing output images to disk: safe names from the prediction id (never the prompt), atomic, per-user default.

With `--output-dir` / QWEN_EDIT_OUTPUT_DIR every output is kept there. Outputs that arrive as base64 have no URL,
so they are always kept: in the output directory, or else in a per-user default.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..atomic import write_atomically

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def output_filename(prediction_id: str, index: int, extension: str) -> str:
    """Unique per output of a prediction, safe on every file system, and never built from the prompt."""
    stem = _UNSAFE.sub("_", prediction_id)[:64] or "prediction"
    return f"{stem}-{index}.{_UNSAFE.sub('', extension)[:8] or 'bin'}"


def save_output(directory: Path, prediction_id: str, index: int, extension: str, data: bytes) -> Path:
    """Write atomically (temp file + rename), so a reader never sees half an image. Same job, same name."""
    return write_atomically(directory / output_filename(prediction_id, index, extension), data)
