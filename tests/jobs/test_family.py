"""Which images and LoRAs a model gets: the forgiving cases, the refusals with what to use instead, and the body each
model is sent (its own field names, and only its fields)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qwen_image_edit_mcp.emulator.catalog_data import BUILT_IN_MODELS
from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.jobs.family import checked_loras, chosen_inputs
from qwen_image_edit_mcp.jobs.prepare import EditArgs, checked_body
from qwen_image_edit_mcp.models import Lora
from qwen_image_edit_mcp.upstream.catalog_scan import scan
from qwen_image_edit_mcp.upstream.curated import BUILT_IN
from qwen_image_edit_mcp.upstream.spec import ModelSpec

A, B = "https://example.com/a.png", "https://example.com/b.png"
NEWEST = scan(list(BUILT_IN_MODELS)).models["wavespeed-ai/qwen-image-2.1/edit"]


def body(model: ModelSpec, images: list[str], **args: object) -> dict[str, object]:
    loras = args.pop("loras", ())
    return checked_body(EditArgs(prompt="p", **args), model, tuple(loras), "jpeg", images)  # type: ignore[arg-type]


def test_a_single_image_given_to_a_multi_image_model_is_its_images() -> None:
    given = chosen_inputs(BUILT_IN["edit-plus"], A, None)
    assert given == [A]
    sent = body(BUILT_IN["edit-plus"], given)
    assert sent["images"] == [A]
    assert "image" not in sent


def test_one_element_images_given_to_a_single_image_model_is_its_image() -> None:
    sent = body(BUILT_IN["edit"], chosen_inputs(BUILT_IN["edit"], None, [A]))
    assert sent["image"] == A
    assert "images" not in sent


@pytest.mark.parametrize(
    ("model", "image", "images", "said"),
    [
        (BUILT_IN["edit"], A, [B], "either image"),
        (BUILT_IN["edit"], None, None, "image is required"),
        (BUILT_IN["edit"], None, [A, B], "edit-plus, edit-2511 or edit-2.1"),
        (BUILT_IN["edit-lora"], None, [A, B], "edit-plus, edit-2511 or edit-2.1"),
        (BUILT_IN["edit-plus"], None, [A, B, A, B], "model edit-plus takes at most 3"),
        (NEWEST, None, [A] * 11, "model edit-2.1 takes at most 10"),
    ],
)
def test_wrong_image_combinations_say_what_to_use_instead(
    model: ModelSpec, image: str | None, images: list[str] | None, said: str
) -> None:
    with pytest.raises(InputError, match=said):
        chosen_inputs(model, image, images)


def test_a_model_that_takes_ten_images_gets_ten() -> None:
    assert body(NEWEST, chosen_inputs(NEWEST, None, [A] * 10))["images"] == [A] * 10


@pytest.mark.parametrize(
    ("model", "twin"), [("edit", "edit-lora"), ("edit-plus", "edit-plus-lora"), ("edit-2511", "edit-2511-lora")]
)
def test_loras_on_a_model_without_them_name_its_lora_twin(model: str, twin: str) -> None:
    with pytest.raises(InputError, match=f"use model {twin}"):
        checked_loras(BUILT_IN[model], [Lora(path="owner/name")])
    with pytest.raises(InputError, match="use a -lora model"):
        checked_loras(NEWEST, [Lora(path="owner/name")])


def test_lora_models_send_their_loras_and_an_empty_list_when_none_are_given() -> None:
    loras = checked_loras(BUILT_IN["edit-lora"], [Lora(path="owner/name", scale=0.5)])
    assert body(BUILT_IN["edit-lora"], [A], loras=loras)["loras"] == [{"path": "owner/name", "scale": 0.5}]
    assert body(BUILT_IN["edit-2511-lora"], [A])["loras"] == []
    assert "loras" not in body(BUILT_IN["edit-2511"], [A])


def test_a_body_holds_the_models_fields_with_options_and_no_others() -> None:
    sent = body(NEWEST, [A], options={"guidance_scale": 6})
    assert sent == {
        "prompt": "p",
        "images": [A],
        "seed": -1,
        "output_format": "jpeg",
        "enable_base64_output": False,
        "enable_sync_mode": False,
        "guidance_scale": 6,
    }


@pytest.mark.parametrize("scale", [-0.5, -1e-9, 4.01])
def test_a_lora_scale_outside_0_to_4_is_refused_naming_the_bounds(scale: float) -> None:
    with pytest.raises(ValidationError, match="between 0 and 4"):
        Lora(path="owner/name", scale=scale)
