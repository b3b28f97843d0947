"""Reading the emulator's catalog entries: a model's request schema, its input images, the price of one run, and
the checks an entry sent to `POST /_emulator/catalog` must pass before the emulator serves it."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, cast

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .catalog_data import PER_IMAGE
from .catalog_fields import CatalogEntry

ImageField = Literal["image", "images"]
# A model id is a path under /api/v3/: an owner, then at least one more segment.
_MODEL_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)+")
FORMULAS = (PER_IMAGE,)


class CatalogError(ValueError):
    """An entry (or a change to the catalog) that does not have WaveSpeed's shape; the message says what."""


def request_schema(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema of the model's submit body (`api_schema.api_schemas[0].request_schema`)."""
    return cast(dict[str, Any], entry["api_schema"]["api_schemas"][0]["request_schema"])


def properties(entry: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return cast(dict[str, dict[str, Any]], request_schema(entry).get("properties", {}))


def image_field(entry: Mapping[str, Any]) -> ImageField | None:
    """Which field carries the model's input images: `images` (a list), `image` (one), or neither."""
    fields = properties(entry)
    return "images" if "images" in fields else "image" if "image" in fields else None


def max_images(entry: Mapping[str, Any]) -> int:
    """How many input images one run takes at most (0 for a model without any)."""
    field = image_field(entry)
    if field == "images":
        most = properties(entry)["images"].get("maxItems")
        return most if isinstance(most, int) else 1
    return 1 if field == "image" else 0


def count_images(inputs: Mapping[str, Any]) -> int:
    """How many input images `inputs` holds, as the per-image price counts them: the `images` list's length, one
    for an `image`, and never less than one (a quote before the images are chosen prices one)."""
    listed: object = inputs.get("images")
    return max(len(cast(list[object], listed)), 1) if isinstance(listed, list) else 1


def price_of(entry: Mapping[str, Any], inputs: Mapping[str, Any]) -> Decimal:
    """One run's price in USD: the entry's base_price, times the input images where its formula says so."""
    price = Decimal(str(entry["base_price"]))
    if entry.get("formula") == PER_IMAGE:
        price *= count_images(inputs)
    return price


def checked_entry(raw: object) -> CatalogEntry:
    """A copy of `raw` if it is a catalog entry the emulator can serve; CatalogError naming the fault otherwise."""
    if not isinstance(raw, dict):
        raise CatalogError("each model must be a JSON object")
    entry = copy.deepcopy(cast(CatalogEntry, raw))
    model_id = entry.get("model_id")
    if not isinstance(model_id, str) or _MODEL_ID.fullmatch(model_id) is None:
        raise CatalogError(f"model_id must be a path like 'owner/model'; got {model_id!r}")
    price = entry.get("base_price")
    if isinstance(price, bool) or not isinstance(price, int | float) or not 0 <= price < float("inf"):
        raise CatalogError(f"{model_id}: base_price must be a number, 0 or more")
    formula = entry.get("formula")
    if formula is not None and formula not in FORMULAS:
        raise CatalogError(f"{model_id}: the emulator knows only the formula {PER_IMAGE!r}")
    try:
        schema = request_schema(entry)
    except (KeyError, IndexError, TypeError):
        raise CatalogError(f"{model_id}: api_schema.api_schemas[0].request_schema is missing") from None
    _check_schema(model_id, schema)
    for key, default in (("name", model_id), ("description", ""), ("type", "image-to-image")):
        entry.setdefault(key, default)
    return entry


def _check_schema(model_id: str, schema: object) -> None:
    if not isinstance(schema, dict) or not isinstance(cast(dict[str, Any], schema).get("properties"), dict):
        raise CatalogError(f"{model_id}: request_schema must be an object schema with properties")
    try:
        Draft202012Validator.check_schema(cast(dict[str, Any], schema))
    except SchemaError as invalid:
        raise CatalogError(f"{model_id}: request_schema is not a valid JSON Schema: {invalid.message}") from None
