"""What a field of a model's request schema takes, said in one clause for a 400 answer: `must be an integer from -1
to 2147483647.`, read off the field's own JSON Schema, so a model added at run time is explained as well as a
built-in one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from .catalog_fields import SIDE_MAX, SIDE_MIN

IMAGE_FIELDS = ("image", "images")  # strings that must also not be blank
_SIDES = re.compile(r"(\d+)\s*-\s*(\d+) per side")
_ARTICLES = {"integer": "an integer", "number": "a number"}


def size_bounds(schema: Mapping[str, Any]) -> tuple[int, int]:
    """The smallest and largest side a `size` field takes, as its description says ("W*H, 256-1536 per side")."""
    described = _SIDES.search(str(schema.get("description", "")))
    return (int(described[1]), int(described[2])) if described else (SIDE_MIN, SIDE_MAX)


def size_rule(schema: Mapping[str, Any]) -> str:
    low, high = size_bounds(schema)
    return f'must be a string "W*H" with each side an integer from {low} to {high}.'


def _figure(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _range(schema: Mapping[str, Any], *, between: str = " from {0} to {1}") -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return between.format(_figure(low), _figure(high))
    if low is not None:
        return f" of at least {_figure(low)}"
    return f" of at most {_figure(high)}" if high is not None else ""


def _count(schema: Mapping[str, Any]) -> str:
    least, most = schema.get("minItems"), schema.get("maxItems")
    if least is not None and most is not None:
        return f"{least} to {most} "
    if most is not None:
        return f"at most {most} "
    return f"at least {least} " if least is not None else ""


def _items(field: str, schema: Mapping[str, Any]) -> str:
    items = cast(Mapping[str, Any], schema.get("items", {}))
    kind = items.get("type")
    if kind == "string":
        return "non-empty strings" if field in IMAGE_FIELDS else "strings"
    if kind == "object":
        fields = cast(Mapping[str, Mapping[str, Any]], items.get("properties", {}))
        parts = [f"{name}: {sub.get('type', 'any')}{_range(sub, between=' {0}-{1}')}" for name, sub in fields.items()]
        return "objects {" + ", ".join(parts) + "}" if parts else "objects"
    return f"{kind}s" if isinstance(kind, str) else "items"


def rule(field: str, schema: Mapping[str, Any]) -> str:
    """What `field` (with this property schema) takes, as the end of "Invalid parameter '<field>': ..."."""
    if field == "size":
        return size_rule(schema)
    kind = schema.get("type")
    if isinstance(schema.get("enum"), list):
        return "must be one of " + ", ".join(str(choice) for choice in cast(list[object], schema["enum"])) + "."
    if kind in _ARTICLES:
        return f"must be {_ARTICLES[str(kind)]}{_range(schema)}."
    if kind == "array":
        return f"must be an array of {_count(schema)}{_items(field, schema)}."
    if isinstance(kind, str):
        return f"must be {'an' if kind[0] in 'aeiou' else 'a'} {kind}."
    return "is not valid."
