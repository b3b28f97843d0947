"""Which images and LoRAs an edit gives its model: every wrong combination is refused here, before anything is
uploaded or paid, with a message that names what to use instead.

Forgiving where the meaning is plain: a single `image` given to a multi-image model is `images=[image]`, and a
one-element `images` given to a single-image model is its `image`. Both at once is ambiguous, so it is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InputError
from ..models import Lora
from ..upstream.curated import CURATED
from ..upstream.spec import MAX_ANY_IMAGES, ModelSpec

MULTI_IMAGE_HINT = "edit-plus, edit-2511 or edit-2.1 (list_models shows each model's limit)"


def chosen_inputs(spec: ModelSpec, image: str | None, images: Sequence[str] | None) -> list[str]:
    """The images in order, or InputError saying what to change."""
    if image is not None and images:
        raise InputError(
            "give either image (one picture) or images (several pictures, in order), not both; "
            "for several pictures put them all in images."
        )
    given = [image] if image is not None else list(images or [])
    if not given:
        raise InputError(
            "image is required: the picture to edit (or images: several pictures for a multi-image model)."
        )
    if len(given) > spec.max_images == 1:
        raise InputError(
            f"model {spec.name} edits one image, but {len(given)} were given. To combine or reference several "
            f"pictures use a multi-image model such as {MULTI_IMAGE_HINT} with images=[...] (the first is the one "
            "edited)."
        )
    if len(given) > spec.max_images:
        raise InputError(
            f"images holds {len(given)} pictures; model {spec.name} takes at most {spec.max_images}. Use fewer, "
            f"combine some first, or choose a model that takes more (list_models shows each model's limit; the most "
            f"any takes is {MAX_ANY_IMAGES})."
        )
    return given


def checked_loras(spec: ModelSpec, loras: Sequence[Lora] | None) -> tuple[Lora, ...]:
    if not loras:
        return ()
    if not spec.loras:
        twin = f"{spec.name}-lora"
        instead = f"use model {twin}" if twin in CURATED else "use a -lora model"
        raise InputError(f"loras: model {spec.name} takes none; to apply LoRAs {instead} (the same model, with LoRAs).")
    if len(loras) > spec.max_loras:
        raise InputError(
            f"loras holds {len(loras)}; model {spec.name} applies at most {spec.max_loras} at once: drop the weakest."
        )
    return tuple(loras)
