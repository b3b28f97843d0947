"""A run's inputs checked against its model's own schema: every refusal names the field, the model and what is
allowed, and a field the model lacks is never sent."""

from __future__ import annotations

from typing import Any

import pytest

from qwen_image_edit_mcp.emulator.catalog_data import BUILT_IN_MODELS
from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.upstream.catalog_scan import scan
from qwen_image_edit_mcp.upstream.curated import BUILT_IN
from qwen_image_edit_mcp.upstream.inputs import describe_field, run_inputs
from qwen_image_edit_mcp.upstream.spec import ModelSpec

MODELS = scan(list(BUILT_IN_MODELS)).models
NEWEST = MODELS["wavespeed-ai/qwen-image-2.1/edit"]
ANGLES = MODELS["wavespeed-ai/qwen-image/edit-multiple-angles"]
ALIBABA = MODELS["alibaba/qwen-image-3.0/edit"]


def core(model: ModelSpec, **changes: Any) -> dict[str, Any]:
    image: Any = "https://example.com/a.png" if model.images_field == "image" else ["https://example.com/a.png"]
    return {"prompt": "p", model.images_field: image, "seed": -1, "output_format": "jpeg",
            "enable_base64_output": False, "enable_sync_mode": False, **changes}  # fmt: skip


def test_a_models_own_field_in_options_is_checked_and_sent() -> None:
    inputs = run_inputs(NEWEST, core(NEWEST), frozenset(), {"guidance_scale": 7.5, "num_inference_steps": 30})
    assert inputs["guidance_scale"] == 7.5
    assert inputs["num_inference_steps"] == 30


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"guidance_scale": 11}, r"guidance_scale is out of range \(11\) for model edit-2\.1: it takes a number 1-10"),
        ({"num_inference_steps": 2.5}, "options.num_inference_steps must be of type integer; got 2.5"),
        ({"num_inference_steps": True}, "must be of type integer; got true"),
        ({"strength": 0.5}, r"options\.strength: model edit-2\.1 has no field 'strength'\. Its own fields"),
        ({"seed": 5}, "give seed as edit_image's own argument"),
    ],
)  # fmt: skip
def test_options_out_of_their_schema_are_refused_naming_field_model_and_range(
    options: dict[str, Any], said: str
) -> None:
    with pytest.raises(InputError, match=said):
        run_inputs(NEWEST, core(NEWEST), frozenset(), options)


def test_a_required_option_left_out_is_named_with_its_rule() -> None:
    with pytest.raises(
        InputError,
        match=r"options\.horizontal_angle is required for model edit-multiple-angles: it takes an integer -180-180",
    ):
        run_inputs(ANGLES, core(ANGLES), frozenset(), {})
    assert run_inputs(ANGLES, core(ANGLES), frozenset(), {"horizontal_angle": 90})["horizontal_angle"] == 90


def test_a_field_the_model_lacks_is_left_out_when_unset_and_refused_when_set() -> None:
    inputs = run_inputs(ALIBABA, core(ALIBABA), frozenset(), {})
    assert "enable_sync_mode" not in inputs
    assert "enable_base64_output" not in inputs
    with pytest.raises(InputError, match=r"enable_sync_mode: model edit-3\.0 takes no enable_sync_mode"):
        run_inputs(ALIBABA, core(ALIBABA, enable_sync_mode=True), frozenset({"enable_sync_mode"}), {})


def test_a_core_field_out_of_the_models_enum_is_refused() -> None:
    with pytest.raises(
        InputError, match='output_format does not allow "gif" for model edit: it takes one of jpeg, png, webp'
    ):
        run_inputs(BUILT_IN["edit"], core(BUILT_IN["edit"], output_format="gif"), frozenset({"output_format"}), {})


def test_options_too_large_or_not_json_are_refused_before_any_check() -> None:
    with pytest.raises(InputError, match="bytes as JSON"):
        run_inputs(NEWEST, core(NEWEST), frozenset(), {"guidance_scale": "x" * 20_000})
    with pytest.raises(InputError, match="JSON object"):
        run_inputs(NEWEST, core(NEWEST), frozenset(), {"guidance_scale": object()})


def test_a_field_is_described_in_a_few_words() -> None:
    assert describe_field({"type": "number", "minimum": 1, "maximum": 10, "default": 4}) == "a number 1-10 (default 4)"
    assert describe_field({"type": "string", "enum": ["a", "b"]}) == "one of a, b"
    assert describe_field({"type": "array", "maxItems": 10}) == "an array of at most 10 items"


def model(properties: dict[str, Any], **schema: Any) -> ModelSpec:
    entry = {
        "model_id": "wavespeed-ai/qwen-image-9/edit",
        "type": "image-to-image",
        "base_price": 0.03,
        "api_schema": {"api_schemas": [{"request_schema": {
            "type": "object",
            "properties": {"prompt": {"type": "string"}, "image": {"type": "string"}, **properties},
            "required": ["prompt", "image"],
            **schema,
        }}]},
    }  # fmt: skip
    return scan([entry]).models["wavespeed-ai/qwen-image-9/edit"]


def test_the_servers_own_defaults_go_only_to_a_model_that_accepts_them() -> None:
    picky = model({"seed": {"type": "integer", "minimum": 0}, "output_format": {"type": "string", "enum": ["png"]}})
    sent = run_inputs(picky, core(picky), frozenset(), {})
    assert "seed" not in sent  # -1 is the server's default, not the caller's: the model's own applies
    assert "output_format" not in sent
    with pytest.raises(InputError, match=r"seed is out of range \(-1\)"):
        run_inputs(picky, core(picky), frozenset({"seed"}), {})


def test_integers_are_integers_as_wavespeed_reads_them() -> None:
    with pytest.raises(InputError, match=r"must be of type integer; got 28\.0"):
        run_inputs(NEWEST, core(NEWEST), frozenset(), {"num_inference_steps": 28.0})


def test_a_patterns_cost_is_never_paid_and_a_top_level_rule_is_checked() -> None:
    evil = model(
        {"width": {"type": "integer"}, "height": {"type": "integer"}, "tag": {"type": "string", "pattern": "^(a+)+$"}},
        dependentRequired={"width": ["height"]},
    )
    run_inputs(evil, core(evil), frozenset(), {"tag": "a" * 5000 + "!"})  # not checked here: WaveSpeed checks it
    with pytest.raises(InputError, match="'height' is a dependency of 'width'"):
        run_inputs(evil, core(evil), frozenset(), {"width": 1024})


def test_an_image_field_is_checked_for_its_type_and_count_not_its_stand_ins_text() -> None:
    limited = model({"image": {"type": "string", "maxLength": 20}})
    assert run_inputs(limited, core(limited), frozenset(), {})["image"] == "https://example.com/a.png"
