"""Which variant of the family runs, with which images and LoRAs: every wrong combination is refused here, before
anything is uploaded or paid, with a message that names what to use instead.

Forgiving where the meaning is plain: a single `image` given to a multi-image variant is `images=[image]`, and a
one-element `images` given to a single-image variant is its `image`. Both at once is ambiguous, so it is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InputError
from ..models import Lora
from ..variants import MAX_IMAGES, MAX_LORAS, VARIANTS, Variant, lora_twin, multi_image_names


def chosen_inputs(model: str, image: str | None, images: Sequence[str] | None) -> tuple[Variant, list[str]]:
    """The variant and its images in order, or InputError saying what to change."""
    variant = VARIANTS.get(model)
    if variant is None:
        raise InputError(f"model must be one of {', '.join(VARIANTS)}; got {model!r}.")
    if image is not None and images:
        raise InputError(
            "give either image (one picture) or images (1-3 pictures, in order), not both; "
            "for several pictures put them all in images."
        )
    given = [image] if image is not None else list(images or [])
    if not given:
        raise InputError("image is required: the picture to edit (or images: 1-3 pictures for a multi-image model).")
    if len(given) > MAX_IMAGES:
        raise InputError(
            f"images holds {len(given)} pictures; the family takes at most {MAX_IMAGES}. Combine some first, or "
            "edit in steps."
        )
    if len(given) > variant.max_images:
        raise InputError(
            f"model {variant.name} edits one image, but {len(given)} were given. To combine or reference several "
            f"pictures use model {multi_image_names()} with images=[...] (the first is the one edited)."
        )
    return variant, given


def checked_loras(variant: Variant, loras: Sequence[Lora] | None) -> tuple[Lora, ...]:
    if not loras:
        return ()
    if not variant.loras:
        twin = lora_twin(variant)
        instead = f"use model {twin.name}" if twin is not None else "use a -lora model"
        raise InputError(
            f"loras: model {variant.name} takes none; to apply LoRAs {instead} (the same model, with LoRAs)."
        )
    if len(loras) > MAX_LORAS:
        raise InputError(f"loras holds {len(loras)}; at most {MAX_LORAS} can be applied at once: drop the weakest.")
    return tuple(loras)
