"""The masked edit's composite, measured on its own: a 1536x1536 RGBA input, a photo-like edit and an elliptic mask,
in a fresh process whose peak memory is then the composite's and nothing else's.

    .venv/bin/python bench/compositing.py DIR    # writes the pictures to DIR if missing, prints one JSON line

`bench.py` runs it and adds the figures to its report: the stages' median times (the mask's check and feather and the
input's decoding, which happen before the submit; decoding the edit; the blend itself; the PNG encoding; the preview,
made from the blended pixels) and the peak memory.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIDE = 1536
RUNS = 5
NAMES = ("source.png", "edit.png", "mask.png")


def make_pictures(directory: Path) -> None:
    """A photo-like RGBA input (smooth gradients, a little grain), its edit (RGB, as the model returns) and a mask."""
    from PIL import Image, ImageDraw, ImageFilter

    size = (SIDE, SIDE)
    gradient = Image.linear_gradient("L").resize(size)  # pyright: ignore[reportUnknownMemberType]
    grain = Image.effect_noise(size, 12).filter(ImageFilter.GaussianBlur(1))
    source = Image.merge("RGBA", (gradient, grain, gradient.rotate(90), Image.new("L", size, 230)))
    edit = Image.merge("RGB", (grain, gradient.rotate(180), gradient))
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((300, 300, 1236, 1100), fill=255)
    directory.mkdir(parents=True, exist_ok=True)
    for name, image in zip(NAMES, (source, edit, mask), strict=True):
        image.save(directory / name)


def _peak_kib() -> int:
    return int(re.findall(r"VmHWM:\s*(\d+) kB", Path("/proc/self/status").read_text())[0])


def _median_ms(step: Callable[[], Any]) -> float:
    times: list[float] = []
    for _ in range(RUNS):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure(directory: Path) -> dict[str, float]:
    from qwen_image_edit_mcp.config import DEFAULT_INLINE_MAX_BYTES
    from qwen_image_edit_mcp.media import masks
    from qwen_image_edit_mcp.media.previews import preview_of

    source, edit, mask = (directory / name for name in NAMES)
    data = [path.read_bytes() for path in (source, edit, mask)]
    baseline = _peak_kib()
    region = masks.prepare_region(data[0], data[2], masks.DEFAULT_FEATHER)
    masks.composite(region, data[1], "png")  # the whole step once: its peak is what the server's process sees
    peak_mib = (_peak_kib() - baseline) / 1024
    base, picture = masks.decoded(region, data[1])
    blended = masks.blended(region, base, picture.copy())
    made = masks.encoded(blended, "png")
    return {
        "prepare_ms": _median_ms(lambda: masks.prepare_region(data[0], data[2], masks.DEFAULT_FEATHER)),
        "decode_ms": _median_ms(lambda: masks.decoded(region, data[1])),
        "blend_ms": _median_ms(lambda: masks.blended(region, base, picture.copy())),
        "encode_ms": _median_ms(lambda: masks.encoded(blended, "png")),
        "preview_ms": _median_ms(lambda: preview_of(blended, made.data, made.mime, DEFAULT_INLINE_MAX_BYTES)),
        "peak_mib": peak_mib,
    }


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("bench/results/pictures")
    if not all((folder / name).exists() for name in NAMES):
        make_pictures(folder)
    print(json.dumps(measure(folder)))
