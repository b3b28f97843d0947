"""How a model's request schema is trusted and checked: the rules that keep a check on the caller's input bounded,
whatever schema the catalog publishes.

A catalog schema is data from outside, so before it is used:
- its shape is checked (`properties` a mapping of schemas, `required` and `x-order-properties` lists of names) and it
  must be valid JSON Schema; a model whose schema is not is left out of the family, never guessed at;
- a schema with a reference (`$ref`, `$dynamicRef`) is left out: a remote one would be fetched by the checker, and a
  chain of local ones can cost exponential time. Request schemas are flat; none has needed one.

The check itself runs on the whole schema (every top-level keyword too) with integers as WaveSpeed reads them (28.0
is not an integer), but without the keywords whose cost or meaning the server cannot bound: `pattern` (a regular
expression from outside can backtrack for seconds), `format` and `uniqueItems` (quadratic). An image field is checked
for its type and count only: it holds a stand-in until the image is delivered. WaveSpeed still checks all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

from .spec import ModelSpec

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

REFERENCES: Final = frozenset({"$ref", "$dynamicRef", "$recursiveRef"})
UNCHECKED: Final = frozenset({"pattern", "patternProperties", "format", "uniqueItems"})
_STRING_LIMITS: Final = frozenset({"maxLength", "minLength", "contentEncoding", "contentMediaType"})


def untrusted_shape(schema: Mapping[str, Any]) -> str | None:
    """Why a request schema cannot be used as it is ("" never), or None when it can."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not all(
        isinstance(value, Mapping) for value in cast("Mapping[str, object]", properties).values()
    ):
        return "its request schema's properties are not all schemas"
    for key in ("required", "x-order-properties"):
        names = schema.get(key, [])
        if not isinstance(names, list) or not all(isinstance(name, str) for name in cast("list[object]", names)):
            return f"its request schema's {key} is not a list of names"
    if _holds_any(schema, REFERENCES):
        return "its request schema uses references, which this server does not follow"
    return None


def _holds_any(value: object, keywords: frozenset[str]) -> bool:
    if isinstance(value, Mapping):
        items = cast("Mapping[str, object]", value)
        return any(key in keywords or _holds_any(item, keywords) for key, item in items.items())
    if isinstance(value, list):
        return any(_holds_any(item, keywords) for item in cast("list[object]", value))
    return False


def checkable(spec: ModelSpec) -> dict[str, Any]:
    """The schema the server checks inputs against: the model's, less what cannot be bounded (see the docstring)."""
    schema = cast("dict[str, Any]", _without(spec.schema, UNCHECKED))
    properties = dict(cast("dict[str, Any]", schema.get("properties") or {}))
    if spec.images_field in properties:
        properties[spec.images_field] = _without(properties[spec.images_field], _STRING_LIMITS)
    return {**schema, "properties": properties}


def _without(value: object, keywords: frozenset[str]) -> object:
    if isinstance(value, Mapping):
        items = cast("Mapping[str, object]", value).items()
        return {key: _without(item, keywords) for key, item in items if key not in keywords}
    if isinstance(value, list):
        return [_without(item, keywords) for item in cast("list[object]", value)]
    return value


class SchemaValidator(Protocol):
    def iter_errors(self, instance: object) -> Iterator[ValidationError]: ...

    def is_valid(self, instance: object) -> bool: ...

    def evolve(self, *, schema: object) -> SchemaValidator: ...


def validator_for(schema: Mapping[str, Any]) -> SchemaValidator:
    """A Draft 2020-12 validator with WaveSpeed's integers and no reference retrieval (the schema has none anyway)."""
    from referencing import Registry

    return _strict_draft()(schema, registry=cast(Any, Registry)())


@cache
def _strict_draft() -> Callable[..., SchemaValidator]:
    from jsonschema import Draft202012Validator, validators  # imported already: see inputs.schema_checks_ready()

    def integer(_: object, instance: object) -> bool:
        return isinstance(instance, int) and not isinstance(instance, bool)

    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", integer)
    return cast(Callable[..., SchemaValidator], validators.extend(Draft202012Validator, type_checker=checker))  # pyright: ignore[reportUnknownMemberType]
