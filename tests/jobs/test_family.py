"""Which variant runs with which images and LoRAs: the forgiving cases, and the refusals with what to use instead."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.jobs.family import checked_loras, chosen_inputs
from qwen_image_edit_mcp.models import EditRequest, Lora
from qwen_image_edit_mcp.variants import VARIANTS

A, B = "https://example.com/a.png", "https://example.com/b.png"


def test_a_single_image_given_to_a_multi_image_model_is_its_images() -> None:
    variant, given = chosen_inputs("edit-plus", A, None)
    assert given == [A]
    request = EditRequest(prompt="p", model=variant.name, images=tuple(given))
    assert request.payload()["images"] == [A]
    assert "image" not in request.payload()


def test_one_element_images_given_to_a_single_image_model_is_its_image() -> None:
    variant, given = chosen_inputs("edit", None, [A])
    request = EditRequest(prompt="p", model=variant.name, images=tuple(given))
    assert request.payload()["image"] == A
    assert "images" not in request.payload()


@pytest.mark.parametrize(
    ("model", "image", "images", "said"),
    [
        ("edit", A, [B], "either image"),
        ("edit", None, None, "image is required"),
        ("edit", None, [A, B], "edit-plus or edit-2511"),
        ("edit-lora", None, [A, B], "edit-plus or edit-2511"),
        ("edit-plus", None, [A, B, A, B], "at most 3"),
        ("edit-9", A, None, "model must be one of edit, edit-plus"),
    ],
)
def test_wrong_image_combinations_say_what_to_use_instead(
    model: str, image: str | None, images: list[str] | None, said: str
) -> None:
    with pytest.raises(InputError, match=said):
        chosen_inputs(model, image, images)


@pytest.mark.parametrize(
    ("model", "twin"), [("edit", "edit-lora"), ("edit-plus", "edit-plus-lora"), ("edit-2511", "edit-2511-lora")]
)
def test_loras_on_a_model_without_them_name_its_lora_twin(model: str, twin: str) -> None:
    with pytest.raises(InputError, match=f"use model {twin}"):
        checked_loras(VARIANTS[model], [Lora(path="owner/name")])


def test_lora_models_send_their_loras_and_an_empty_list_when_none_are_given() -> None:
    loras = checked_loras(VARIANTS["edit-lora"], [Lora(path="owner/name", scale=0.5)])
    request = EditRequest(prompt="p", model="edit-lora", images=(A,), loras=loras)
    assert request.payload()["loras"] == [{"path": "owner/name", "scale": 0.5}]
    assert EditRequest(prompt="p", model="edit-2511-lora", images=(A,)).payload()["loras"] == []
    assert "loras" not in EditRequest(prompt="p", model="edit-2511", images=(A,)).payload()


@pytest.mark.parametrize("scale", [-0.5, -1e-9, 4.01])
def test_a_lora_scale_outside_0_to_4_is_refused_naming_the_bounds(scale: float) -> None:
    with pytest.raises(ValidationError, match="between 0 and 4"):
        Lora(path="owner/name", scale=scale)
