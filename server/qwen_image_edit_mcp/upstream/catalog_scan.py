"""Which entries of WaveSpeed's catalog (`GET /api/v3/models`) are Qwen image edit models, as `ModelSpec`s.

An entry is `{model_id, name, description, type, base_price, formula, api_schema: {api_schemas: [{request_schema}]}}`.
It belongs to the family when its id is a Qwen-Image model (`<owner>/qwen-image.../...`) whose name says edit, its
type is not text-to-something, and its request schema takes a prompt and an image (`image`, a string, or `images`,
an array). Anything else is left out: other families, text-to-image, Qwen models that are not edits (layered). The
schema must itself be valid JSON Schema; an entry whose schema is not is left out and logged, never trusted.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final, cast

from .curated import CURATED_BY_ID, UNPUBLISHED_PRICE
from .schema_check import untrusted_shape
from .spec import MAX_ANY_IMAGES, ImagesField, ModelSpec

log = logging.getLogger(__name__)

_QWEN_ID: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}/qwen-image[a-z0-9._-]{0,63}(?:/[a-z0-9._-]{1,96}){0,3}")
# What the shared copy keeps of an entry's texts: enough for the scan (an entry's other fields may be large).
_KEPT_TEXTS: Final = {"model_id": 200, "name": 200, "type": 60, "formula": 200, "description": 500}
# A schema larger than this is not a model's request schema: it is left out rather than checked against.
MAX_SCHEMA_BYTES: Final = 64 * 1024
MAX_PRICE: Final = Decimal(1000)  # USD per run: a base price above it is no price


@dataclass(frozen=True)
class CatalogScan:
    """The family's models by id, and why each Qwen model that is not an edit was left out."""

    models: dict[str, ModelSpec] = field(default_factory=dict[str, ModelSpec])
    left_out: dict[str, str] = field(default_factory=dict[str, str])
    entries: list[Mapping[str, Any]] = field(
        default_factory=list[Mapping[str, Any]]
    )  # the family's raw entries, for the shared cache


def is_qwen_id(model_id: str) -> bool:
    return _QWEN_ID.fullmatch(model_id) is not None


def in_family(model_id: str) -> bool:
    """A Qwen-Image edit model, judged by its id alone (for filtering a history)."""
    return is_qwen_id(model_id) and "edit" in re.split(r"[/._-]", model_id.split("/", 1)[1])


def scan(entries: Sequence[object]) -> CatalogScan:
    """The family among `entries` (the catalog's `data`); CPU work on a few MB, so callers run it in a thread."""
    found = CatalogScan()
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        raw = cast("Mapping[str, Any]", entry)
        model_id = raw.get("model_id")
        if not isinstance(model_id, str) or not is_qwen_id(model_id):
            continue
        spec, why = _spec(model_id, raw)
        if spec is None:
            found.left_out[model_id] = why
            continue
        found.models[model_id] = spec
        found.entries.append(_kept(raw, spec))
    return found


def _spec(model_id: str, raw: Mapping[str, Any]) -> tuple[ModelSpec | None, str]:
    kind = raw.get("type")
    if isinstance(kind, str) and kind.startswith("text-to-"):
        return None, f"a {kind} model: it makes new images and edits none"
    if not in_family(model_id):
        return None, "not an edit model"
    schema, why = _request_schema(raw)
    if schema is None:
        return None, why
    properties = cast("Mapping[str, Mapping[str, Any]]", schema["properties"])
    images_field, max_images = _images(properties)
    if images_field is None or "prompt" not in properties:
        return None, "it takes no image and prompt to edit"
    row = CURATED_BY_ID.get(model_id)
    base_price = _price(raw.get("base_price"))
    fallbacks = [price for price in (base_price, row.fallback_price if row else None) if price is not None]
    formula = str(raw.get("formula") or "")[:200]
    if formula:  # a formula this server cannot evaluate may scale with the images: assume the most the model takes
        fallbacks = [price * max_images for price in fallbacks]
    description = raw.get("description")
    summary = row.summary if row else (description if isinstance(description, str) else "")[:120]
    return (
        ModelSpec(
            model_id=model_id,
            name=row.name if row else model_id,
            summary=summary,
            images_field=images_field,
            max_images=max_images,
            schema=schema,
            fallback_price=max(fallbacks) if fallbacks else (UNPUBLISHED_PRICE if row else None),
            source="catalog",
            price_note=formula,
        ),
        "",
    )


def _request_schema(raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The entry's request schema when it can be trusted (schema_check.py), else None and why not."""
    from jsonschema import Draft202012Validator  # about 0.15 s to import: here, in the scan's worker thread
    from jsonschema.exceptions import SchemaError

    schema: dict[str, Any] = {}
    try:
        found: object = raw["api_schema"]["api_schemas"][0]["request_schema"]
        if not isinstance(found, dict):
            return None, "its request schema is missing"
        schema = cast("dict[str, Any]", found)
        why = untrusted_shape(schema)
        if why is None and len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
            why = f"its request schema is larger than {MAX_SCHEMA_BYTES // 1024} KiB"
        if why is None:
            Draft202012Validator.check_schema(schema)
    except (KeyError, IndexError, TypeError, ValueError, RecursionError, SchemaError) as exc:
        why = f"its request schema is missing or invalid ({type(exc).__name__})"
    if why is not None:
        log.warning("the catalog's schema for %s is unusable (%s); the model is left out", raw.get("model_id"), why)
        return None, why
    return schema, ""


def _kept(raw: Mapping[str, Any], spec: ModelSpec) -> dict[str, Any]:
    kept: dict[str, Any] = {key: str(raw[key])[:most] for key, most in _KEPT_TEXTS.items() if key in raw}
    if "base_price" in raw:
        kept["base_price"] = raw["base_price"]
    return kept | {"api_schema": {"api_schemas": [{"request_schema": spec.schema}]}}


def _images(properties: Mapping[str, Mapping[str, Any]]) -> tuple[ImagesField | None, int]:
    images = properties.get("images")
    if isinstance(images, Mapping) and images.get("type") == "array":
        most: object = images.get("maxItems")
        if isinstance(most, int) and not isinstance(most, bool) and 1 <= most <= MAX_ANY_IMAGES:
            return "images", most
        return "images", MAX_ANY_IMAGES
    image = properties.get("image")
    if isinstance(image, Mapping) and image.get("type") == "string":
        return "image", 1
    return None, 0


def _price(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        return None
    return price if price.is_finite() and 0 < price <= MAX_PRICE else None
