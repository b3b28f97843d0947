"""The demo's command line, for a person at a terminal: every bad argument is refused before anything starts, in one
line that names the option and what it takes (exit code 2), never as a validator's dump."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from ..models import MAX_SIDE, MIN_SIDE, OutputFormat, parse_size
from .catalog import max_images
from .catalog_data import BUILT_IN_MODELS, QWEN_EDIT_MODEL_IDS

PROG = "qwen-image-edit-mcp demo"
DEFAULT_PROMPT = 'Change the sign text to "你好 MCP" and make the sky a sunset'
MAX_PROMPT = 4000
MAX_LATENCY = 600.0
FORMATS_BY_SUFFIX: dict[str, OutputFormat] = {".jpeg": "jpeg", ".jpg": "jpeg", ".png": "png", ".webp": "webp"}
# The 2025 family by the short names the demo has always taken; any Qwen edit model id works as well.
SHORT_NAMES = {
    name: f"wavespeed-ai/qwen-image/{name}"
    for name in ("edit", "edit-plus", "edit-2511", "edit-lora", "edit-plus-lora", "edit-2511-lora")
}
EXAMPLE_ID = "wavespeed-ai/qwen-image-2.1/edit"
MOST_IMAGES = {entry["model_id"]: max_images(entry) for entry in BUILT_IN_MODELS}


class BadArgument(ValueError):
    """One line for the user: the option, and what it takes."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see --help)\n")
        raise SystemExit(2)


@dataclass(frozen=True)
class DemoOptions:
    prompt: str
    images: tuple[str, ...]  # URLs, data: URIs or absolute paths, in order; empty: the generated sample picture
    allowed_dirs: tuple[Path, ...]  # the folders of the user's own files, which the server may then read
    model: str
    size: str | None
    output_format: OutputFormat
    mask: str | None  # edit one region only: a file, URL or data: URI, as --image takes
    latency: float
    out: Path | None  # a file or a folder (None: this one) that exists or whose folder exists, writable
    real: bool


def parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG,
        description="One edit end to end: the WaveSpeed emulator on this machine (or, with --real, the real API), "
        "this server launched over stdio as a desktop host launches it, and the edited image saved here.",
    )
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="the edit to make, in English or Chinese")
    parser.add_argument(
        "--image",
        action="append",
        help="the picture to edit: a file, an http(s) URL or a data: URI (default: a generated sample); repeat it "
        "for a multi-image model (the first is edited)",
    )
    parser.add_argument(
        "--model",
        default="edit",
        help=f"which model of the family runs: {', '.join(SHORT_NAMES)} or any Qwen edit model id, such as "
        f"{EXAMPLE_ID} (default edit)",
    )
    parser.add_argument("--size", help=f"output size WIDTH*HEIGHT, each side {MIN_SIDE}-{MAX_SIDE}, e.g. 1024*768")
    parser.add_argument(
        "--mask",
        help="edit one region only: a mask (file, URL or data: URI) at the picture's size or aspect ratio, white "
        "where it may change and black where it must stay exactly as it is",
    )
    parser.add_argument(
        "--format", choices=["jpeg", "png", "webp"], help="output format (default jpeg; png with --mask)"
    )
    parser.add_argument(
        "--latency", type=float, default=3.0, help=f"emulated job time in seconds, 0-{MAX_LATENCY:g} (default 3)"
    )
    parser.add_argument(
        "--out",
        help="where to save the result: a file, or a folder (a name without extension) for "
        "edited-<id>.<format>; default: the current folder. Missing folders are created first.",
    )
    parser.add_argument("--real", action="store_true", help="use the real WaveSpeed API (needs WAVESPEED_API_KEY)")
    return parser


def parse(argv: Sequence[str]) -> DemoOptions:
    """The checked options; on any bad one, a single line on stderr and exit code 2."""
    command = parser()
    args = command.parse_args(list(argv))
    try:
        checked = _images(args.image or [], args.model, _model(args.model))
        mask = None if args.mask is None else _image(args.mask, option="--mask")
        folders = [folder for _, folder in [*checked, *([mask] if mask else [])] if folder is not None]
        out = _out(args.out)
        return DemoOptions(
            prompt=_prompt(args.prompt),
            images=tuple(image for image, _ in checked),
            allowed_dirs=tuple(dict.fromkeys(folders)),
            model=args.model,
            size=_size(args.size),
            output_format=_output_format(args.format, out, masked=mask is not None),
            mask=mask[0] if mask else None,
            latency=_latency(args.latency),
            out=out,
            real=args.real,
        )
    except BadArgument as bad:
        command.error(str(bad))


def _prompt(prompt: str) -> str:
    if not prompt.strip():
        raise BadArgument("--prompt must describe the edit; it is empty")
    if len(prompt) > MAX_PROMPT:
        raise BadArgument(f"--prompt must be at most {MAX_PROMPT} characters; it has {len(prompt)}")
    return prompt


def _size(size: str | None) -> str | None:
    try:
        return None if size is None else parse_size(size)
    except ValueError as wrong:
        raise BadArgument(f"--{wrong}") from None


def _latency(latency: float) -> float:
    if not 0 <= latency <= MAX_LATENCY:  # also refuses nan
        raise BadArgument(f"--latency must be between 0 and {MAX_LATENCY:g} seconds; got {latency:g}")
    return latency


def _model(model: str) -> str:
    """The model id --model names (a short name or an id of the Qwen edit family)."""
    model_id = SHORT_NAMES.get(model, model)
    if model_id in QWEN_EDIT_MODEL_IDS:
        return model_id
    if model_id in MOST_IMAGES:
        raise BadArgument(f"--model {model} is not a Qwen image edit model; choose an edit model, such as edit")
    raise BadArgument(
        f"--model takes {', '.join(SHORT_NAMES)} or a Qwen edit model id, such as {EXAMPLE_ID}; got {model!r}"
    )


def _images(images: list[str], model: str, model_id: str) -> list[tuple[str, Path | None]]:
    most = MOST_IMAGES[model_id]
    if len(images) > most:
        widest = max(QWEN_EDIT_MODEL_IDS, key=MOST_IMAGES.__getitem__)
        hint = "edit-plus or edit-2511 for up to 3" if len(images) <= 3 else f"{widest} for up to {MOST_IMAGES[widest]}"
        raise BadArgument(f"--image was given {len(images)} times; --model {model} takes {most} (use --model {hint})")
    return [_image(image) for image in images]


def _image(image: str, option: str = "--image") -> tuple[str, Path | None]:
    """A URL or data: URI as given; a file the user named, resolved, readable, with its folder allowed."""
    if image.startswith("data:"):
        return image, None
    if "://" in image:
        parts = urlsplit(image)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadArgument(f"{option} takes a file, an http(s) URL or a data: URI; got {image!r}")
        return image, None
    path = Path(image).expanduser().resolve()  # relative to where the user runs the demo
    if not path.is_file():
        raise BadArgument(f"{option}: no such file: {path}")
    if not os.access(path, os.R_OK):
        raise BadArgument(f"{option}: cannot read {path} (permission denied)")
    return str(path), path.parent


def _output_format(chosen: OutputFormat | None, out: Path | None, *, masked: bool) -> OutputFormat:
    """--format, else what the --out file's name says, else JPEG (PNG for a masked edit): the saved bytes are always
    what the name says they are."""
    if out is None or out.is_dir() or not out.suffix:
        return chosen or ("png" if masked else "jpeg")
    named = FORMATS_BY_SUFFIX.get(out.suffix.lower())
    if named is None:
        raise BadArgument(
            f"--out: cannot save as {out.suffix}: the edit comes as JPEG, PNG or WebP; name the file .jpeg, .png or "
            ".webp (or end the name with / to save into a folder)"
        )
    if chosen is not None and chosen != named:
        raise BadArgument(f"--out names a .{out.suffix.lstrip('.')} file but --format is {chosen}; make them agree")
    return named


def _out(out: str | None) -> Path | None:
    """The file (or folder) to write to, its folders created now: a failure here costs nothing; after a paid edit,
    it would."""
    if not out:
        target, folder = None, Path.cwd()
    else:
        target = Path(out).expanduser().resolve()
        # A name with no extension (or ending in a slash) is a folder to save into; anything else is the file.
        is_folder = target.is_dir() or not target.suffix or out.endswith(("/", os.sep))
        folder = target if is_folder else target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadArgument(f"--out: cannot create the folder {folder}: {error.strerror or error}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadArgument(f"--out: cannot write into {folder} (permission denied)")
    return target
