"""The emulator's built-in catalog: what `GET /api/v3/models` answers, one entry per model in WaveSpeed's shape.

The 2025 Qwen-Image-Edit family (`wavespeed-ai/qwen-image/edit` and its five siblings) follows WaveSpeed's docs
(`shared/wavespeed-api.md` §12) field for field. The 2026 models (`qwen-image-2.0`, `-2.0-pro`, `-max`, `-2.1`,
alibaba's `qwen-image-3.0` pair, the multiple-angles pair) are PLAUSIBLE EMULATED GUESSES: their ids come from
third-party catalogs (§16), but their prices and fields are made up to look like the real ones and to exercise a
client that must read each model's schema rather than hard-code it. The last entries are models a Qwen edit server
must refuse: text-to-image, a layer decomposition, and other families' edit models.

Tests and benchmarks change the catalog at run time through `POST /_emulator/catalog`; `built_in_catalog()` is what
a reset restores.
"""

from __future__ import annotations

import copy
from typing import Final

from .catalog_fields import (
    CatalogEntry,
    angles,
    edit_fields,
    image,
    images,
    integer,
    loras,
    model_entry,
    number,
    output_format,
    prompt,
    seed,
    size,
    string,
)
from .catalog_fields import delivery as delivery_fields

QWEN = "wavespeed-ai/qwen-image/"
PER_IMAGE: Final = "base_price * images"  # the one input-dependent price rule the emulator knows

FAMILY_2025: Final[tuple[CatalogEntry, ...]] = (
    model_entry(
        QWEN + "edit",
        "Qwen-Image-Edit",
        "The original Qwen image editor (2025-08): one image, semantic and appearance edits, bilingual text.",
        price=0.02,
        properties=edit_fields({"image": image()}),
        required=["image", "prompt"],
    ),
    model_entry(
        QWEN + "edit-lora",
        "Qwen-Image-Edit LoRA",
        "Qwen-Image-Edit with up to 3 LoRAs, one image.",
        price=0.025,
        properties=edit_fields({"image": image(), "loras": loras()}),
        required=["image", "prompt"],
    ),
    model_entry(
        QWEN + "edit-plus",
        "Qwen-Image-Edit Plus (2509)",
        "Qwen-Image-Edit 2509: 1 to 3 images, to combine or to use as references.",
        price=0.02,
        properties=edit_fields({"images": images(3)}),
        required=["images", "prompt"],
    ),
    model_entry(
        QWEN + "edit-plus-lora",
        "Qwen-Image-Edit Plus LoRA",
        "Qwen-Image-Edit Plus with up to 3 LoRAs.",
        price=0.025,
        properties=edit_fields({"images": images(3), "loras": loras()}),
        required=["images", "prompt"],
    ),
    model_entry(
        QWEN + "edit-2511",
        "Qwen-Image-Edit 2511",
        "Qwen-Image-Edit 2511: the most consistent of the 2025 models, 1 to 3 images.",
        price=0.025,
        properties=edit_fields({"images": images(3)}),
        required=["images", "prompt"],
    ),
    model_entry(
        QWEN + "edit-2511-lora",
        "Qwen-Image-Edit 2511 LoRA",
        "Qwen-Image-Edit 2511 with up to 3 LoRAs.",
        price=0.025,
        properties=edit_fields({"images": images(3), "loras": loras()}),
        required=["images", "prompt"],
    ),
)

_SIDE = "Output {0} in pixels; with the other side, overrides size."
FAMILY_2026: Final[tuple[CatalogEntry, ...]] = (
    model_entry(
        "wavespeed-ai/qwen-image-2.0/edit",
        "Qwen-Image 2.0 Edit",
        "Qwen-Image 2.0's editor: 1 to 3 images.",
        price=0.03,
        properties=edit_fields({"images": images(3)}),
        required=["images", "prompt"],
    ),
    model_entry(
        "wavespeed-ai/qwen-image-2.0-pro/edit",
        "Qwen-Image 2.0 Pro Edit",
        "Qwen-Image 2.0 Pro's editor: 1 to 3 images, finer detail.",
        price=0.05,
        properties=edit_fields({"images": images(3)}),
        required=["images", "prompt"],
    ),
    model_entry(
        "wavespeed-ai/qwen-image-max/edit",
        "Qwen-Image Max Edit",
        "Qwen-Image Max's editor: 1 to 6 images, priced per input image.",
        price=0.07,
        formula=PER_IMAGE,
        properties={
            **edit_fields({"images": images(6)}),
            "width": integer(_SIDE.format("width"), 512, 2048),
            "height": integer(_SIDE.format("height"), 512, 2048),
        },
        required=["images", "prompt"],
    ),
    model_entry(
        "alibaba/qwen-image-3.0/edit",
        "Qwen-Image 3.0 Edit",
        "Alibaba's Qwen-Image 3.0 editor: 1 to 4 images.",
        price=0.04,
        properties=edit_fields({"images": images(4)}, sync=False, base64=False),
        required=["images", "prompt"],
    ),
    model_entry(
        "alibaba/qwen-image-3.0-pro/edit",
        "Qwen-Image 3.0 Pro Edit",
        "Alibaba's Qwen-Image 3.0 Pro editor: 1 to 4 images.",
        price=0.06,
        properties=edit_fields({"images": images(4)}, sync=False, base64=False),
        required=["images", "prompt"],
    ),
    model_entry(
        "wavespeed-ai/qwen-image-2.1/edit",
        "Qwen-Image 2.1 Edit",
        "Qwen-Image 2.1's editor (open weights): up to 10 reference images, local edits marked by masks.",
        price=0.03,
        properties={
            **edit_fields({"images": images(10)}),
            "guidance_scale": number("How closely the edit follows the prompt.", 1.0, 10.0, 4.0),
            "num_inference_steps": integer("Denoising steps.", 1, 50, 28),
        },
        required=["images", "prompt"],
    ),
    model_entry(
        QWEN + "edit-multiple-angles",
        "Qwen-Image-Edit Multiple Angles",
        "Show one image's subject from another camera angle.",
        price=0.025,
        properties={**edit_fields({"image": image()}), **angles()},
        required=["image", "horizontal_angle"],
    ),
    model_entry(
        QWEN + "edit-2509-multiple-angles",
        "Qwen-Image-Edit 2509 Multiple Angles",
        "Show up to 3 images' subject from another camera angle.",
        price=0.025,
        properties={**edit_fields({"images": images(3)}), **angles()},
        required=[],
    ),
)

_COMMON = {"size": size(), "seed": seed(), "output_format": output_format(), **delivery_fields()}
NOT_EDIT: Final[tuple[CatalogEntry, ...]] = (
    model_entry(
        QWEN + "text-to-image",
        "Qwen-Image Text-to-Image",
        "Qwen-Image: a picture from a prompt alone.",
        kind="text-to-image",
        price=0.02,
        properties={"prompt": prompt(), **_COMMON},
        required=["prompt"],
    ),
    model_entry(
        QWEN + "text-to-image-lora",
        "Qwen-Image Text-to-Image LoRA",
        "Qwen-Image with up to 3 LoRAs: a picture from a prompt alone.",
        kind="text-to-image",
        price=0.025,
        properties={"prompt": prompt(), "loras": loras(), **_COMMON},
        required=["prompt"],
    ),
    model_entry(
        QWEN + "layered",
        "Qwen-Image Layered",
        "Decompose one image into 2 to 8 RGBA layers (not an edit).",
        price=0.03,
        properties={
            "image": image(),
            "prompt": string("An optional description of the image."),
            "num_layers": integer("How many layers to return.", 2, 8, 4),
            "seed": seed(),
            **delivery_fields(),
        },
        required=["image"],
    ),
    model_entry(
        "google/nano-banana/edit",
        "Nano Banana Edit",
        "Google's Gemini 2.5 Flash Image editor.",
        price=0.038,
        properties={
            "images": images(10),
            "prompt": prompt(),
            "output_format": string("The output's format.", enum=["png", "jpeg"], default="png"),
            **delivery_fields(),
        },
        required=["images", "prompt"],
    ),
    model_entry(
        "bytedance/seedream-v4/edit",
        "Seedream 4.0 Edit",
        "ByteDance's Seedream 4.0 editor.",
        price=0.027,
        properties={
            "images": images(10),
            "prompt": prompt(),
            "size": string("W*H, 1024-4096 per side", default="2048*2048"),
            "seed": seed(),
            **delivery_fields(),
        },
        required=["images", "prompt"],
    ),
)

BUILT_IN_MODELS: Final[tuple[CatalogEntry, ...]] = (*FAMILY_2025, *FAMILY_2026, *NOT_EDIT)
# The Qwen edit family: every model a Qwen image edit server may run (the demo's --model takes any of them).
QWEN_EDIT_MODEL_IDS: Final[tuple[str, ...]] = tuple(entry["model_id"] for entry in (*FAMILY_2025, *FAMILY_2026))
NOT_EDIT_MODEL_IDS: Final[tuple[str, ...]] = tuple(entry["model_id"] for entry in NOT_EDIT)


def built_in_catalog() -> dict[str, CatalogEntry]:
    """A fresh copy of the built-in catalog, model id -> entry: changing it changes nothing here."""
    return {entry["model_id"]: copy.deepcopy(entry) for entry in BUILT_IN_MODELS}
