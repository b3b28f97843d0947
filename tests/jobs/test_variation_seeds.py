"""Each variation's seed: consecutive from a given one, random and distinct for -1, inside the model's own range."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.jobs.variations import variation_seeds
from qwen_image_edit_mcp.upstream.curated import BUILT_IN
from qwen_image_edit_mcp.upstream.spec import ModelSpec

EDIT = BUILT_IN["edit"]


def with_seed_field(field: dict[str, object] | None) -> ModelSpec:
    properties: dict[str, object] = {name: value for name, value in EDIT.properties.items() if name != "seed"}
    if field is not None:
        properties["seed"] = field
    return replace(
        EDIT, model_id="x/qwen-image/edit-test", name="edit-test", schema={**EDIT.schema, "properties": properties}
    )


def test_one_variation_keeps_the_seed_as_given_even_minus_one() -> None:
    assert variation_seeds(EDIT, -1, 1) == (-1,)
    assert variation_seeds(EDIT, 5, 1) == (5,)


def test_a_given_seed_gives_consecutive_seeds_up_to_the_top_of_the_range() -> None:
    assert variation_seeds(EDIT, 10, 4) == (10, 11, 12, 13)
    assert variation_seeds(EDIT, 2_147_483_644, 4)[-1] == 2_147_483_647
    with pytest.raises(InputError, match="Use a seed of at most 2147483644"):
        variation_seeds(EDIT, 2_147_483_645, 4)


@pytest.mark.parametrize("attempt", range(20))
def test_random_seeds_are_distinct_and_within_the_models_range(attempt: int) -> None:
    seeds = variation_seeds(with_seed_field({"type": "integer", "minimum": -1, "maximum": 5}), -1, 4)
    assert len(set(seeds)) == 4
    assert all(0 <= seed <= 5 for seed in seeds)


def test_a_range_too_small_for_the_count_or_no_seed_field_is_refused() -> None:
    with pytest.raises(InputError, match="takes only seeds 0-2"):
        variation_seeds(with_seed_field({"type": "integer", "minimum": 0, "maximum": 2}), -1, 4)
    with pytest.raises(InputError, match="takes no seed"):
        variation_seeds(with_seed_field(None), 3, 2)
