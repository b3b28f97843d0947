"""The pictures of the masked-edit tests: a noisy photo, a mask with a white box, and the check that a composite is the
input outside the box, the emulator's "invert" edit inside it and a blend in the feathered band between."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image, ImageDraw

from harness import pictures_dir
from qwen_image_edit_mcp.emulator import RunningEmulator

SIZE = (160, 100)
BOX = (60, 20, 139, 79)  # the mask's white rectangle, inclusive
FEATHER = 6


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def photo(tmp_path: Path, mode: str = "RGB") -> Path:
    image = Image.effect_noise(SIZE, 50).convert("RGB")
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").crop((0, 0, *SIZE)))
    path = pictures_dir(tmp_path) / f"photo-{mode}.png"
    image.save(path)
    return path


def mask_image(size: tuple[int, int] = SIZE, box: tuple[int, int, int, int] = BOX) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle(box, fill=255)
    return mask


def mask_file(tmp_path: Path) -> str:
    path = pictures_dir(tmp_path) / "mask.png"
    path.write_bytes(png(mask_image()))
    return str(path)


def mask_as(form: str, tmp_path: Path, emulator: RunningEmulator) -> str:
    if form == "file":
        return mask_file(tmp_path)
    data = png(mask_image())
    if form == "data URI":
        return "data:image/png;base64," + base64.b64encode(data).decode()
    upload = emulator.state.create_upload("mask.png", len(data), "image/png", data)
    return f"{emulator.base_url}/media/{upload.token}/mask.png"


def region_of(x: int, y: int) -> str:
    inside_box = BOX[0] <= x <= BOX[2] and BOX[1] <= y <= BOX[3]
    depth = min(x - BOX[0], BOX[2] - x, y - BOX[1], BOX[3] - y) if inside_box else -1
    return "outside" if depth < 0 else "band" if depth < FEATHER else "inside"


def check_pixels(saved: Path, source: Path) -> None:
    with Image.open(saved) as out, Image.open(source) as src:
        assert (out.mode, out.size) == (src.mode, src.size)
        seen = {"outside": 0, "band": 0, "inside": 0}
        for y in range(SIZE[1]):
            for x in range(SIZE[0]):
                got, before = out.getpixel((x, y)), src.getpixel((x, y))
                assert isinstance(got, tuple) and isinstance(before, tuple)  # noqa: PT018
                inverted = tuple(255 - v for v in before[:3]) + before[3:]  # the edit keeps no alpha: the input's
                where = region_of(x, y)
                seen[where] += 1
                if where == "outside":
                    assert got == before, (x, y)
                elif where == "inside":
                    assert got == inverted, (x, y)
                elif got != before:  # the band blends: between the two, channel by channel
                    assert all(min(a, b) <= g <= max(a, b) for g, a, b in zip(got, before, inverted, strict=True))
        assert all(seen.values())
