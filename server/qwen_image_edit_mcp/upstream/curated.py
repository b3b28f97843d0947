"""What this server knows beyond any schema: each Qwen edit model's short name, when to choose it, and a fallback
price. The table overlays WaveSpeed's live catalog (catalog.py) rather than replacing it; for the 2025 models it also
holds their documented request schema, so they run when the catalog cannot be read.

Sources: WaveSpeed's model pages and third-party catalogs (`shared/wavespeed-api.md` §12 and §16). The 2026 rows name
models the research found; their fields are never written here: only the live catalog says what they take.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from ..models import MAX_LORA_SCALE
from .spec import ModelSpec


@dataclass(frozen=True)
class Curated:
    name: str
    model_id: str
    summary: str
    fallback_price: Decimal | None  # the documented price (USD per run); None where none is published
    documented: dict[str, Any] | None = None  # the request schema, for the 2025 models that run without a catalog


def _common() -> dict[str, Any]:
    return {
        "prompt": {"type": "string", "description": "What to change."},
        "size": {"type": "string", "description": "Output size 'W*H', each side 256-1536."},
        "seed": {"type": "integer", "minimum": -1, "maximum": 2147483647, "default": -1},
        "output_format": {"type": "string", "enum": ["jpeg", "png", "webp"], "default": "jpeg"},
        "enable_base64_output": {"type": "boolean", "default": False},
        "enable_sync_mode": {"type": "boolean", "default": False},
    }


def documented_schema(images_field: str, *, loras: bool) -> dict[str, Any]:
    """A 2025 model's request schema as WaveSpeed's pages document it (wavespeed-api.md §2, §12)."""
    image: dict[str, Any] = (
        {"type": "string", "description": "The image to edit."}
        if images_field == "image"
        else {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3}
    )
    common = _common()
    properties: dict[str, Any] = {"prompt": common.pop("prompt"), images_field: image, **common}
    if loras:
        lora = {"path": {"type": "string"}, "scale": {"type": "number", "minimum": 0, "maximum": MAX_LORA_SCALE}}
        properties["loras"] = {
            "type": "array",
            "maxItems": 3,
            "items": {"type": "object", "properties": lora, "required": ["path", "scale"]},
        }
    return {
        "type": "object",
        "properties": properties,
        "required": ["prompt", images_field],
        "x-order-properties": list(properties),
    }


_FAMILY: Final = "wavespeed-ai/qwen-image/"
_2025: Final = [
    ("edit", "image", False, "0.02", "the original (2025-08), the default: one picture, one change"),
    ("edit-plus", "images", False, "0.02", "2509: combine or reference 2-3 pictures"),
    ("edit-2511", "images", False, None, "2511: the most consistent of the 2025 models"),
    ("edit-lora", "image", True, "0.025", "edit with up to 3 LoRAs, one image"),
    ("edit-plus-lora", "images", True, "0.025", "edit-plus with up to 3 LoRAs"),
    ("edit-2511-lora", "images", True, None, "edit-2511 with up to 3 LoRAs"),
]
_2026: Final = [
    (
        "edit-2.1",
        "wavespeed-ai/qwen-image-2.1/edit",
        "0.03",
        "the newest (Qwen-Image-2.1, 2026-09): many references, local edits; a good first choice",
    ),
    (
        "edit-max",
        "wavespeed-ai/qwen-image-max/edit",
        "0.07",
        "the hardest edits, several pictures, at the highest price",
    ),
    (
        "edit-2.0",
        "wavespeed-ai/qwen-image-2.0/edit",
        "0.03",
        "2.0 (2026): sharper text and detail than 2025 for a little more",
    ),
    ("edit-2.0-pro", "wavespeed-ai/qwen-image-2.0-pro/edit", "0.05", "2.0 when fidelity matters more than price"),
    ("edit-3.0", "alibaba/qwen-image-3.0/edit", "0.04", "Alibaba's own Qwen-Image 3.0 service"),
    ("edit-3.0-pro", "alibaba/qwen-image-3.0-pro/edit", "0.06", "3.0 when fidelity matters more than price"),
    (
        "edit-multiple-angles",
        _FAMILY + "edit-multiple-angles",
        "0.025",
        "turn the camera around the subject (angles in options)",
    ),
    (
        "edit-2509-multiple-angles",
        _FAMILY + "edit-2509-multiple-angles",
        "0.025",
        "camera angles on the 2509 model, with references",
    ),
]

CURATED: Final[dict[str, Curated]] = {
    **{
        name: Curated(
            name, _FAMILY + name, summary, Decimal(price) if price else None, documented_schema(field, loras=loras)
        )
        for name, field, loras, price, summary in _2025
    },
    **{name: Curated(name, model_id, summary, Decimal(price)) for name, model_id, price, summary in _2026},
}
CURATED_BY_ID: Final[dict[str, Curated]] = {row.model_id: row for row in CURATED.values()}
# The published price of the LoRA variants, for the 2025 models that publish none.
UNPUBLISHED_PRICE: Final = Decimal("0.025")


def built_in(row: Curated) -> ModelSpec | None:
    """The model as the documented schema describes it, for a 2025 model; None for a model only a catalog can say."""
    if row.documented is None:
        return None
    images_field = "image" if "image" in row.documented["properties"] else "images"
    return ModelSpec(
        model_id=row.model_id,
        name=row.name,
        summary=row.summary,
        images_field=images_field,
        max_images=1 if images_field == "image" else 3,
        schema=row.documented,
        fallback_price=row.fallback_price or UNPUBLISHED_PRICE,
        source="built-in",
    )


BUILT_IN: Final[dict[str, ModelSpec]] = {
    name: spec for name, row in CURATED.items() if (spec := built_in(row)) is not None
}


def short_name(model_id: str) -> str | None:
    row = CURATED_BY_ID.get(model_id)
    return row.name if row is not None else None


def price_range_text() -> str:
    """What a run of the family costs as the texts state it, lowest to highest list price: "$0.02-0.07"."""
    prices = sorted({row.fallback_price or UNPUBLISHED_PRICE for row in CURATED.values()})
    return f"${prices[0]}" if len(prices) == 1 else f"${prices[0]}-{prices[-1]}"
