"""Builders for the emulator's catalog entries: each entry in WaveSpeed's own shape (`GET /api/v3/models`), its
inputs a JSON Schema (`api_schema.api_schemas[0].request_schema`), so the data modules read as one row per model.
"""

from __future__ import annotations

from typing import Any

CatalogEntry = dict[str, Any]  # one model as WaveSpeed's catalog lists it
PropertySchema = dict[str, Any]  # one input field, as JSON Schema

SIDE_MIN = 256
SIDE_MAX = 1536
SEED_MAX = 2147483647
MAX_LORAS = 3
MAX_LORA_SCALE = 4.0


def string(description: str, **extra: Any) -> PropertySchema:
    return {"type": "string", "description": description, **extra}


def integer(description: str, minimum: int, maximum: int, default: int | None = None) -> PropertySchema:
    schema: PropertySchema = {"type": "integer", "description": description, "minimum": minimum, "maximum": maximum}
    return schema if default is None else {**schema, "default": default}


def number(description: str, minimum: float, maximum: float, default: float | None = None) -> PropertySchema:
    schema: PropertySchema = {"type": "number", "description": description, "minimum": minimum, "maximum": maximum}
    return schema if default is None else {**schema, "default": default}


def boolean(description: str, default: bool = False) -> PropertySchema:
    return {"type": "boolean", "description": description, "default": default}


def images(most: int, least: int = 1) -> PropertySchema:
    return {
        "type": "array",
        "description": f"The input images: {least} to {most} URLs or data URIs; the first is edited.",
        "items": {"type": "string"},
        "minItems": least,
        "maxItems": most,
        "default": [],
    }


def image() -> PropertySchema:
    return string("The image to edit: a URL or a data URI.")


def loras() -> PropertySchema:
    item = {
        "type": "object",
        "properties": {
            "path": string("A Hugging Face <owner>/<model> or a .safetensors URL."),
            "scale": number("How strongly the LoRA applies.", 0.0, MAX_LORA_SCALE, 1.0),
        },
        "required": ["path"],
    }
    return {
        "type": "array",
        "description": f"Up to {MAX_LORAS} LoRAs to apply.",
        "items": item,
        "maxItems": MAX_LORAS,
        "default": [],
    }


def prompt() -> PropertySchema:
    return string("What to change, in English or Chinese.")


def size() -> PropertySchema:
    return string(f"W*H, {SIDE_MIN}-{SIDE_MAX} per side")


def seed() -> PropertySchema:
    return integer("Random seed; -1 picks one.", -1, SEED_MAX, -1)


def output_format() -> PropertySchema:
    return string("The output's format.", enum=["jpeg", "png", "webp"], default="jpeg")


def delivery(*, sync: bool = True, base64: bool = True) -> dict[str, PropertySchema]:
    """The two delivery switches WaveSpeed's own models share (alibaba's models have neither)."""
    fields: dict[str, PropertySchema] = {}
    if base64:
        fields["enable_base64_output"] = boolean("Return the output as base64 instead of a URL.")
    if sync:
        fields["enable_sync_mode"] = boolean("Wait for the result in the submit's own answer.")
    return fields


def angles() -> dict[str, PropertySchema]:
    """The camera fields of the multiple-angles models."""
    return {
        "horizontal_angle": integer("Turn the camera left (-) or right (+), in degrees.", -180, 180, 0),
        "vertical_angle": integer("Tilt the camera down (-) or up (+), in degrees.", -90, 90, 0),
        "zoom": number("Zoom factor.", 0.5, 2.0, 1.0),
    }


def request_schema(properties: dict[str, PropertySchema], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "x-order-properties": list(properties)}


def model_entry(
    model_id: str,
    name: str,
    description: str,
    *,
    price: float,
    properties: dict[str, PropertySchema],
    required: list[str],
    kind: str = "image-to-image",
    formula: str | None = None,
) -> CatalogEntry:
    entry: CatalogEntry = {
        "model_id": model_id,
        "name": name,
        "description": description,
        "type": kind,
        "base_price": price,
        "api_schema": {"api_schemas": [{"request_schema": request_schema(properties, required)}]},
    }
    if formula is not None:
        entry["formula"] = formula
    return entry


def edit_fields(inputs: dict[str, PropertySchema], *, sync: bool = True, base64: bool = True) -> dict[str, Any]:
    """An edit model's fields in WaveSpeed's order: the inputs, the prompt, then the common options."""
    return {
        **inputs,
        "prompt": prompt(),
        "size": size(),
        "seed": seed(),
        "output_format": output_format(),
        **delivery(sync=sync, base64=base64),
    }
