"""One model an edit can run on, whatever told us about it: the curated table (curated.py), the live catalog
(catalog.py), or both. Everything else (the checks, the request body, the price, `list_models`) reads this.

A model's fields are its request schema (JSON Schema `properties`, `required`, `x-order-properties`, as WaveSpeed's
catalog publishes them). The fields edit_image has arguments for are the core fields; every other field of a model is
one of its options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal, cast

ImagesField = Literal["image", "images"]
Source = Literal["built-in", "catalog"]

# The fields edit_image takes as its own arguments; a model's other fields go in `options`.
CORE_FIELDS: Final = frozenset(
    {"prompt", "image", "images", "loras", "size", "seed", "output_format", "enable_base64_output", "enable_sync_mode"}
)
# A model whose schema gives no maxItems for its images still gets a bound: nothing here takes more.
MAX_ANY_IMAGES: Final = 16


@dataclass(frozen=True)
class ModelSpec:
    model_id: str  # what the run is submitted to: /api/v3/<model_id>
    name: str  # the short name when the curated table has one, else the id
    summary: str  # when to choose it, in a few words
    images_field: ImagesField  # how its request names its input: the first image is the one edited
    max_images: int
    schema: Mapping[str, Any]  # the request schema
    fallback_price: Decimal | None  # USD per run when the price look-up fails; None: none known
    source: Source
    price_note: str = field(default="", compare=False)  # how the price is quoted, in a few words

    @property
    def properties(self) -> Mapping[str, Mapping[str, Any]]:
        return cast("Mapping[str, Mapping[str, Any]]", self.schema.get("properties") or {})

    @property
    def required(self) -> frozenset[str]:
        return frozenset(cast("list[str]", self.schema.get("required") or []))

    def takes(self, field_name: str) -> bool:
        return field_name in self.properties

    @property
    def loras(self) -> bool:
        return self.takes("loras")

    @property
    def max_loras(self) -> int:
        return _int(self.properties.get("loras", {}).get("maxItems"), 3)

    @property
    def ordered_fields(self) -> list[str]:
        """The model's fields in its own order (`x-order-properties`), then any it left out."""
        order = [
            name
            for name in cast("list[object]", self.schema.get("x-order-properties") or [])
            if name in self.properties
        ]
        return [str(name) for name in order] + [name for name in self.properties if name not in order]

    @property
    def option_names(self) -> list[str]:
        return [name for name in self.ordered_fields if name not in CORE_FIELDS]


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default
