"""Tool schemas without the titles pydantic writes on every property ("Model Id" for model_id): they say nothing the
name does not, and every listed tool costs the host's model context on every turn (about 2 KB of tools/list)."""

from __future__ import annotations

from typing import Any, Final, cast

_DATA: Final = frozenset({"default", "examples", "enum", "const"})  # values, not schemas: left as they are


def without_titles(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` without its `title` keywords; a property that is itself named "title" is kept."""
    return cast(dict[str, Any], _stripped(schema, naming=False))


def _stripped(value: object, *, naming: bool) -> object:
    """`naming`: the mapping's keys are names (of properties, of $defs), not keywords."""
    if isinstance(value, dict):
        items = cast(dict[str, object], value).items()
        return {
            key: item
            if not naming and key in _DATA
            else _stripped(item, naming=not naming and key in ("properties", "$defs", "patternProperties"))
            for key, item in items
            if naming or key != "title" or not isinstance(item, str)
        }
    if isinstance(value, list):
        return [_stripped(item, naming=False) for item in cast(list[object], value)]
    return value
