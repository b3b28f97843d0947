"""Submit-body validation against the submitted model's own request schema, from the emulator's catalog.

Strict on purpose: the emulator should catch a client that sends a wrong type or range before a paid request would.
Every rule the schema states is checked (required fields, types, bounds, enums, array lengths, nested items); an
integer is an integer (neither 1.0 nor true). On top, the rules WaveSpeed documents that a schema cannot say: a
`size` is "W*H" with each side in range, and a prompt, an input image and a LoRA path are not blank. Unknown fields
are ignored (what WaveSpeed does with them is unverified; clients should not send any).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend  # pyright: ignore[reportUnknownVariableType]

from .catalog import image_field, properties, request_schema
from .imaging import OutputFormat
from .schema_rules import rule, size_bounds, size_rule

DEFAULT_MODEL = "wavespeed-ai/qwen-image/edit"
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("jpeg", "png", "webp")
# The fields EditInput holds by name; every other field the schema knows goes to `options`.
NAMED_FIELDS = frozenset(
    {"prompt", "image", "images", "loras", "size", "seed", "output_format", "enable_base64_output", "enable_sync_mode"}
)
_SIZE = re.compile(r"(\d{1,6})\*(\d{1,6})")


def _is_integer(checker: object, instance: object) -> bool:
    # JSON 1.0 arrives as a float and true as a bool (an int subclass): neither is an integer to WaveSpeed.
    return isinstance(instance, int) and not isinstance(instance, bool)


_extend = cast(Callable[..., type[Validator]], extend)
StrictValidator = _extend(
    Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer)
)


class RequestValidationError(ValueError):
    """The body breaks a rule of the model's schema, or a documented one; the message names the field."""


@dataclass(frozen=True)
class EditInput:
    """A submit body that passed validation, with the defaults filled in for what the model lacks or was not sent."""

    prompt: str
    images: tuple[str, ...]  # from the model's `image` or `images` field, in order; empty for a model with neither
    model: str = DEFAULT_MODEL
    loras: tuple[tuple[str, float], ...] = ()
    size: tuple[int, int] | None = None
    seed: int = -1
    output_format: OutputFormat = "jpeg"
    enable_base64_output: bool = False
    enable_sync_mode: bool = False
    options: dict[str, Any] = field(default_factory=dict[str, Any])  # every other field sent that the schema knows

    @property
    def image(self) -> str:
        return self.images[0]

    @property
    def render_size(self) -> tuple[int, int] | None:
        """The output size: `size`, else the model's own `width` and `height` when both were sent."""
        width, height = self.options.get("width"), self.options.get("height")
        if self.size is None and isinstance(width, int) and isinstance(height, int):
            return width, height
        return self.size


def _invalid(name: str, text: str) -> RequestValidationError:
    return RequestValidationError(f"Invalid parameter '{name}': {text}")


def _check_schema(fields: dict[str, Any], schema: Mapping[str, Any], known: dict[str, dict[str, Any]]) -> None:
    """Required fields first, then every other rule of the schema: the first broken one, in the schema's order."""
    order = [*cast(list[str], schema.get("x-order-properties", [])), *known]
    for name in sorted(cast(list[str], schema.get("required", [])), key=lambda n: order.index(n) if n in order else 0):
        if name not in fields:
            raise RequestValidationError(f"Missing required parameter '{name}'.")
    validator: Validator = StrictValidator(dict(schema))
    errors: list[ValidationError] = list(validator.iter_errors(fields))
    named = [error for error in errors if error.absolute_path and str(error.absolute_path[0]) in known]
    if named:
        name = min((str(error.absolute_path[0]) for error in named), key=order.index)
        raise _invalid(name, rule(name, known[name]))
    if errors:
        raise RequestValidationError(f"Invalid request body: {errors[0].message}")


def _check_strict(fields: dict[str, Any], known: dict[str, dict[str, Any]]) -> None:
    """The documented rules a JSON Schema does not state (the body already matches its schema's types)."""
    for name in ("prompt", "image"):
        if name in known and isinstance(fields.get(name), str) and not fields[name].strip():
            raise _invalid(name, "must not be empty.")
    if "images" in known and any(not item.strip() for item in _strings(fields.get("images"))):
        raise _invalid("images", rule("images", known["images"]))
    if "loras" in known and any(not path.strip() for path, _ in _loras(fields.get("loras"))):
        raise _invalid("loras", rule("loras", known["loras"]))


def _strings(value: object) -> list[str]:
    """The strings of a list field (a model added at run time may let other items through)."""
    return [item for item in cast(list[object], value) if isinstance(item, str)] if isinstance(value, list) else []


def _loras(value: object) -> tuple[tuple[str, float], ...]:
    """(path, scale) of each LoRA object in a list field; scale 1 where none is sent."""
    items = cast(list[object], value) if isinstance(value, list) else []
    loras = [cast(dict[str, object], item) for item in items if isinstance(item, dict)]
    pairs = [(lora.get("path"), lora.get("scale", 1.0)) for lora in loras]
    return tuple(
        (path, float(scale)) for path, scale in pairs if isinstance(path, str) and isinstance(scale, int | float)
    )


def _parse_size(value: object, schema: Mapping[str, Any]) -> tuple[int, int]:
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    low, high = size_bounds(schema)
    if match is None or not (low <= int(match[1]) <= high and low <= int(match[2]) <= high):
        raise _invalid("size", size_rule(schema))
    return int(match[1]), int(match[2])


def _output_format(fields: dict[str, Any], known: dict[str, dict[str, Any]]) -> OutputFormat:
    if "output_format" not in known:
        return "jpeg"
    chosen = fields.get("output_format", known["output_format"].get("default", "jpeg"))
    if chosen not in OUTPUT_FORMATS:
        raise _invalid("output_format", "the emulator renders only jpeg, png or webp.")
    return chosen


def _images(fields: dict[str, Any], entry: Mapping[str, Any]) -> tuple[str, ...]:
    where = image_field(entry)
    if where == "image":
        return tuple(_strings([fields.get("image")]))
    return tuple(_strings(fields.get("images"))) if where == "images" else ()


def validate_edit_request(body: object, entry: Mapping[str, Any]) -> EditInput:
    """The body of a submit to the catalog model `entry`, checked; RequestValidationError naming the field."""
    if not isinstance(body, dict):
        raise RequestValidationError("Invalid request body: expected a JSON object.")
    fields = cast(dict[str, Any], body)
    known = properties(entry)
    _check_schema(fields, request_schema(entry), known)
    _check_strict(fields, known)
    sent = {name: fields[name] for name in known if name in fields}
    seed, prompt = sent.get("seed", -1), sent.get("prompt", "")
    return EditInput(
        prompt=prompt if isinstance(prompt, str) else "",
        images=_images(fields, entry),
        model=entry["model_id"],
        loras=_loras(sent.get("loras")),
        size=_parse_size(sent["size"], known["size"]) if "size" in sent else None,
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else -1,
        output_format=_output_format(fields, known),
        enable_base64_output=sent.get("enable_base64_output", False) is True,
        enable_sync_mode=sent.get("enable_sync_mode", False) is True,
        options={name: value for name, value in sent.items() if name not in NAMED_FIELDS},
    )
