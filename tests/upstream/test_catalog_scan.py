"""Which catalog entries are Qwen image edit models, read from entries in WaveSpeed's own shape (the emulator's)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from qwen_image_edit_mcp.emulator.catalog_data import BUILT_IN_MODELS, NOT_EDIT_MODEL_IDS, QWEN_EDIT_MODEL_IDS
from qwen_image_edit_mcp.upstream.catalog_scan import in_family, scan


def entry(model_id: str, **properties: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"prompt": {"type": "string"}, **properties}, "required": ["prompt"]}
    return {
        "model_id": model_id,
        "type": "image-to-image",
        "base_price": 0.04,
        "api_schema": {"api_schemas": [{"request_schema": schema}]},
    }


def test_every_qwen_edit_model_of_the_catalog_is_found_and_nothing_else() -> None:
    found = scan(list(BUILT_IN_MODELS))
    assert sorted(found.models) == sorted(QWEN_EDIT_MODEL_IDS)
    assert not set(found.models) & set(NOT_EDIT_MODEL_IDS)
    assert "text-to-image" in found.left_out["wavespeed-ai/qwen-image/text-to-image"]
    assert "not an edit model" in found.left_out["wavespeed-ai/qwen-image/layered"]
    assert "google/nano-banana/edit" not in found.left_out  # other families are not even considered


def test_a_model_reads_its_image_field_its_limit_its_short_name_and_its_prices() -> None:
    found = scan(list(BUILT_IN_MODELS)).models
    newest = found["wavespeed-ai/qwen-image-2.1/edit"]
    assert (newest.name, newest.images_field, newest.max_images, newest.source) == ("edit-2.1", "images", 10, "catalog")
    assert "guidance_scale" in newest.option_names
    assert found["wavespeed-ai/qwen-image/edit"].images_field == "image"
    assert found["wavespeed-ai/qwen-image/edit"].max_images == 1
    assert found["wavespeed-ai/qwen-image-max/edit"].price_note == "base_price * images"


def test_the_fallback_price_is_the_larger_of_the_catalogs_and_the_tables() -> None:
    cheap = entry("wavespeed-ai/qwen-image-2.1/edit", images={"type": "array", "maxItems": 10})
    cheap["base_price"] = 0.001
    assert scan([cheap]).models["wavespeed-ai/qwen-image-2.1/edit"].fallback_price == Decimal("0.03")
    dear = entry("wavespeed-ai/qwen-image-9/edit", image={"type": "string"})
    dear["base_price"] = 0.5
    assert scan([dear]).models["wavespeed-ai/qwen-image-9/edit"].fallback_price == Decimal("0.5")
    unpriced = entry("wavespeed-ai/qwen-image-9/edit", image={"type": "string"})
    del unpriced["base_price"]
    assert scan([unpriced]).models["wavespeed-ai/qwen-image-9/edit"].fallback_price is None


def test_entries_that_cannot_be_trusted_are_left_out_not_guessed() -> None:
    invalid = entry("wavespeed-ai/qwen-image-9/edit", image={"type": "no-such-type"})
    no_image = entry("wavespeed-ai/qwen-image-9/edit-text")
    unbounded = entry("wavespeed-ai/qwen-image-9/edit-many", images={"type": "array"})
    broken: list[object] = [None, 7, {"model_id": 5}, {"model_id": "wavespeed-ai/qwen-image-8/edit", "api_schema": []}]
    found = scan([invalid, no_image, unbounded, *broken])
    assert list(found.models) == ["wavespeed-ai/qwen-image-9/edit-many"]
    assert found.models["wavespeed-ai/qwen-image-9/edit-many"].max_images == 16  # bounded all the same
    assert "invalid" in found.left_out["wavespeed-ai/qwen-image-9/edit"]
    assert "no image" in found.left_out["wavespeed-ai/qwen-image-9/edit-text"]


def test_the_family_is_told_by_its_ids() -> None:
    assert in_family("alibaba/qwen-image-3.0/edit")
    assert in_family("wavespeed-ai/qwen-image/edit-2509-multiple-angles")
    assert not in_family("wavespeed-ai/qwen-image/text-to-image")
    assert not in_family("google/nano-banana/edit")
    assert not in_family("wavespeed-ai/qwen-image/../edit" + "x" * 300)


def test_the_scan_keeps_the_raw_entries_of_the_family_only() -> None:
    entries = copy.deepcopy(list(BUILT_IN_MODELS))
    assert len(scan(entries).entries) == len(QWEN_EDIT_MODEL_IDS)


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ({"properties": {"prompt": {"type": "string"}, "image": True}}, "properties are not all schemas"),
        ({"properties": {"prompt": {"$ref": "http://169.254.169.254/latest"}, "image": {}}}, "uses references"),
        ({"properties": {"prompt": {}, "image": {"$ref": "#/properties/prompt"}}}, "uses references"),
        ({"properties": {"prompt": {}, "image": {}}, "x-order-properties": 5}, "x-order-properties is not a list"),
        ({"properties": {"prompt": {}, "image": {}}, "required": [["prompt"]]}, "required is not a list of names"),
    ],
)
def test_a_schema_the_server_could_not_check_safely_leaves_its_model_out(schema: dict[str, Any], why: str) -> None:
    odd = entry("wavespeed-ai/qwen-image-9/edit")
    odd["api_schema"]["api_schemas"][0]["request_schema"] = {"type": "object", **schema}
    found = scan([odd])
    assert found.models == {}
    assert why in found.left_out["wavespeed-ai/qwen-image-9/edit"]


def test_a_model_priced_by_a_formula_falls_back_to_its_most_images() -> None:
    priced = entry("wavespeed-ai/qwen-image-9/edit", images={"type": "array", "maxItems": 6})
    priced.update(base_price=0.07, formula="base_price * images")
    assert scan([priced]).models["wavespeed-ai/qwen-image-9/edit"].fallback_price == Decimal("0.42")


def test_the_shared_copy_keeps_what_the_scan_reads_and_no_more() -> None:
    big = entry("wavespeed-ai/qwen-image-9/edit", image={"type": "string"})
    big.update(description="x" * 10_000, extra="y" * 10_000)
    (kept,) = scan([big]).entries
    assert set(kept) == {"model_id", "type", "base_price", "description", "api_schema"}
    assert len(kept["description"]) == 500
