"""The Qwen-Image-Edit family on WaveSpeed, as one table: the schema text, the checks, the client and the emulator
all read it, so the next variant is one row (plus its tests).

Sources: WaveSpeed's model pages (see `shared/wavespeed-api.md` §12). Prices are the documented ones; where WaveSpeed
publishes none, the live price endpoint answers and the fallback is the LoRA variants' $0.025.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, get_args

FAMILY_PREFIX: Final = "wavespeed-ai/qwen-image/"
MAX_IMAGES: Final = 3
MAX_LORAS: Final = 3
MAX_LORA_SCALE: Final = 4.0
UNPUBLISHED_PRICE: Final = Decimal("0.025")

VariantName = Literal["edit", "edit-plus", "edit-2511", "edit-lora", "edit-plus-lora", "edit-2511-lora"]


@dataclass(frozen=True)
class Variant:
    name: VariantName
    images_field: Literal["image", "images"]  # how the variant's request names its input
    max_images: int
    loras: bool
    documented_price: Decimal | None  # USD per run; None where WaveSpeed publishes none
    summary: str  # when a model should choose it, in a few words

    @property
    def model_id(self) -> str:
        return FAMILY_PREFIX + self.name

    @property
    def price_estimate(self) -> Decimal:
        return self.documented_price if self.documented_price is not None else UNPUBLISHED_PRICE

    @property
    def price_text(self) -> str:
        return f"${self.documented_price}" if self.documented_price is not None else "about $0.025 (unpublished)"


VARIANTS: Final[dict[str, Variant]] = {
    variant.name: variant
    for variant in (
        Variant("edit", "image", 1, False, Decimal("0.02"), "the original (2025-08): one image, the default"),
        Variant("edit-plus", "images", MAX_IMAGES, False, Decimal("0.02"), "2509: 1-3 images, combine or reference"),
        Variant("edit-2511", "images", MAX_IMAGES, False, None, "newest, most consistent: 1-3 images"),
        Variant("edit-lora", "image", 1, True, Decimal("0.025"), "edit with up to 3 LoRAs, one image"),
        Variant("edit-plus-lora", "images", MAX_IMAGES, True, Decimal("0.025"), "edit-plus with up to 3 LoRAs"),
        Variant("edit-2511-lora", "images", MAX_IMAGES, True, None, "edit-2511 with up to 3 LoRAs"),
    )
}
assert set(VARIANTS) == set(get_args(VariantName)), "every variant name has its row"


def variant_of_model(model_id: str) -> Variant | None:
    """The variant a prediction's `model` names, or None for a model outside the family."""
    name = model_id.removeprefix(FAMILY_PREFIX) if model_id.startswith(FAMILY_PREFIX) else ""
    return VARIANTS.get(name)


def price_range_text() -> str:
    """What a run of the family costs, lowest to highest price, as the texts state it: "$0.02-0.025"."""
    prices = sorted({variant.price_estimate for variant in VARIANTS.values()})
    return f"${prices[0]}" if len(prices) == 1 else f"${prices[0]}-{prices[-1]}"


def multi_image_names() -> str:
    return " or ".join(name for name, variant in VARIANTS.items() if variant.max_images > 1 and not variant.loras)


def lora_twin(variant: Variant) -> Variant | None:
    """The variant that takes LoRAs on the same base model (`edit` → `edit-lora`)."""
    return VARIANTS.get(f"{variant.name}-lora")
