"""Variations: the same edit run several times with distinct seeds, to pick the best of them.

A given seed `s` gives `s ... s+N-1`; -1 gives N random seeds, drawn here so that each is known before anything is
paid (the question names them and the result reports them). One variation keeps seed -1 as given: WaveSpeed draws
it, as it always has. A model without a seed field cannot make its runs differ by seed, so it runs one variation.
"""

from __future__ import annotations

import secrets
from typing import Final, cast

from ..errors import InputError
from ..models import MAX_SEED
from ..upstream.spec import ModelSpec

MAX_VARIATIONS: Final = 4


def variation_seeds(model: ModelSpec, seed: int, count: int) -> tuple[int, ...]:
    """The seed of each variation, in order; InputError when the model cannot take them."""
    if count == 1:
        return (seed,)
    if not model.takes("seed"):
        raise InputError(
            f"variations: model {model.name} takes no seed, so its runs cannot differ by seed. Use variations=1, or "
            "a model with a seed (list_models shows each model's fields)."
        )
    lowest, highest = _seed_range(model)
    if highest - lowest + 1 < count:
        raise InputError(f"variations={count}: model {model.name} takes only seeds {lowest}-{highest}; ask for fewer.")
    if seed == -1:
        drawn: list[int] = []
        while len(drawn) < count:  # distinct, so no two variations are the same run
            if (picked := lowest + secrets.randbelow(highest - lowest + 1)) not in drawn:
                drawn.append(picked)
        return tuple(drawn)
    if seed < lowest or seed + count - 1 > highest:
        raise InputError(
            f"seed {seed} with variations={count} runs seeds {seed}-{seed + count - 1}, but model {model.name} takes "
            f"seeds {lowest}-{highest}. Use a seed of at most {highest - count + 1}, or -1 for random ones."
        )
    return tuple(range(seed, seed + count))


def _seed_range(model: ModelSpec) -> tuple[int, int]:
    """The seeds a variation may use: the model's own bounds, never -1 (which means "random")."""
    field = model.properties.get("seed", {})
    lowest = max(0, _whole(field.get("minimum"), 0), _whole(field.get("exclusiveMinimum"), -2) + 1)
    highest = min(
        MAX_SEED, _whole(field.get("maximum"), MAX_SEED), _whole(field.get("exclusiveMaximum"), MAX_SEED + 1) - 1
    )
    return lowest, max(lowest, highest)


def _whole(value: object, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(cast(float, value))
