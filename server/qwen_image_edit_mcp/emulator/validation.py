"""Submit-body validation, rule for rule as the family's docs state them (wavespeed-api.md §2 and §12), per variant.

Strict on purpose: the emulator should catch a client that sends a wrong type or range before a paid request
would. Unknown fields are ignored (what WaveSpeed does with them is unverified; clients should not send any).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from ..variants import MAX_LORA_SCALE, MAX_LORAS, VARIANTS, Variant
from .imaging import OutputFormat

SIDE_MIN = 256
SIDE_MAX = 1536
SEED_MIN = -1
SEED_MAX = 2147483647
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("jpeg", "png", "webp")
_SIZE = re.compile(r"(\d{1,6})\*(\d{1,6})")


class RequestValidationError(ValueError):
    """The body breaks a documented rule; the message names the field."""


@dataclass(frozen=True)
class EditInput:
    """A submit body that passed validation, with the documented defaults filled in."""

    prompt: str
    images: tuple[str, ...]
    model: str = VARIANTS["edit"].model_id
    loras: tuple[tuple[str, float], ...] = ()
    size: tuple[int, int] | None = None
    seed: int = -1
    output_format: OutputFormat = "jpeg"
    enable_base64_output: bool = False
    enable_sync_mode: bool = False

    @property
    def image(self) -> str:
        return self.images[0]


def _invalid(field: str, rule: str) -> RequestValidationError:
    return RequestValidationError(f"Invalid parameter '{field}': {rule}")


def _required_string(body: dict[str, Any], field: str) -> str:
    if field not in body:
        raise RequestValidationError(f"Missing required parameter '{field}'.")
    value = body[field]
    if not isinstance(value, str):
        raise _invalid(field, "must be a string.")
    if not value.strip():
        raise _invalid(field, "must not be empty.")
    return value


def _parse_size(value: object) -> tuple[int, int]:
    rule = f'must be a string "W*H" with each side an integer from {SIDE_MIN} to {SIDE_MAX}.'
    if not isinstance(value, str):
        raise _invalid("size", rule)
    match = _SIZE.fullmatch(value)
    if match is None:
        raise _invalid("size", rule)
    width, height = int(match[1]), int(match[2])
    if not (SIDE_MIN <= width <= SIDE_MAX and SIDE_MIN <= height <= SIDE_MAX):
        raise _invalid("size", rule)
    return width, height


def _parse_seed(value: object) -> int:
    # bool is an int subclass and JSON 1.0 arrives as float: neither is an integer seed.
    if not isinstance(value, int) or isinstance(value, bool) or not SEED_MIN <= value <= SEED_MAX:
        raise _invalid("seed", f"must be an integer from {SEED_MIN} to {SEED_MAX}.")
    return value


def _parse_format(value: object) -> OutputFormat:
    if value not in OUTPUT_FORMATS:
        raise _invalid("output_format", "must be one of jpeg, png, webp.")
    return value


def _parse_bool(body: dict[str, Any], field: str) -> bool:
    value = body.get(field, False)
    if not isinstance(value, bool):
        raise _invalid(field, "must be a boolean.")
    return value


def _parse_images(fields: dict[str, Any], variant: Variant) -> tuple[str, ...]:
    if variant.images_field == "image":
        return (_required_string(fields, "image"),)
    if "images" not in fields:
        raise RequestValidationError("Missing required parameter 'images'.")
    value: object = fields["images"]
    rule = f"must be an array of 1 to {variant.max_images} non-empty strings."
    if not isinstance(value, list) or not 1 <= len(cast(list[object], value)) <= variant.max_images:
        raise _invalid("images", rule)
    items = cast(list[object], value)
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise _invalid("images", rule)
    return tuple(cast(list[str], items))


def _parse_loras(fields: dict[str, Any], variant: Variant) -> tuple[tuple[str, float], ...]:
    if not variant.loras or "loras" not in fields:
        return ()  # fields a variant does not document are ignored, as for every unknown field
    value: object = fields["loras"]
    rule = f"must be an array of at most {MAX_LORAS} objects {{path: string, scale: number 0-{MAX_LORA_SCALE:g}}}."
    if not isinstance(value, list) or len(cast(list[object], value)) > MAX_LORAS:
        raise _invalid("loras", rule)
    loras: list[tuple[str, float]] = []
    for item in cast(list[object], value):
        entry = cast(dict[str, object], item) if isinstance(item, dict) else {}
        path, scale = entry.get("path"), entry.get("scale", 1.0)
        if not isinstance(path, str) or not path.strip() or isinstance(scale, bool):
            raise _invalid("loras", rule)
        if not isinstance(scale, int | float) or not 0 <= scale <= MAX_LORA_SCALE:
            raise _invalid("loras", rule)
        loras.append((path, float(scale)))
    return tuple(loras)


def validate_edit_request(body: object, variant: Variant = VARIANTS["edit"]) -> EditInput:
    if not isinstance(body, dict):
        raise RequestValidationError("Invalid request body: expected a JSON object.")
    fields = cast(dict[str, Any], body)
    return EditInput(
        prompt=_required_string(fields, "prompt"),
        images=_parse_images(fields, variant),
        model=variant.model_id,
        loras=_parse_loras(fields, variant),
        size=_parse_size(fields["size"]) if "size" in fields else None,
        seed=_parse_seed(fields["seed"]) if "seed" in fields else -1,
        output_format=_parse_format(fields["output_format"]) if "output_format" in fields else "jpeg",
        enable_base64_output=_parse_bool(fields, "enable_base64_output"),
        enable_sync_mode=_parse_bool(fields, "enable_sync_mode"),
    )
