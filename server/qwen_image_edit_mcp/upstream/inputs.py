"""One run's inputs, built for one model and checked against its request schema before anything is paid.

edit_image's own arguments (the core fields: prompt, images, loras, size, ...) go in under the names the model's
schema uses; a model's other fields come from `options`. A field the model's schema lacks is never sent: left out
when the caller did not set it, refused when they did. Every refusal names the field, the model and what is allowed.
The check is JSON Schema (the `jsonschema` library), run on inputs whose size is bounded first.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, cast

import anyio.to_thread

from ..errors import InputError
from .schema_check import SchemaValidator, checkable, validator_for
from .spec import CORE_FIELDS, ModelSpec

MAX_OPTIONS_BYTES: Final = 16 * 1024  # options as JSON: far more than any model's fields need

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


async def schema_checks_ready() -> None:
    """Import the schema checker in a worker thread (about 0.15 s, once): the stdio server answers tools/list without
    it, and no call's checks wait for it on the event loop."""
    await anyio.to_thread.run_sync(importlib.import_module, "jsonschema")


def run_inputs(
    spec: ModelSpec, core: Mapping[str, Any], explicit: frozenset[str], options: Mapping[str, Any]
) -> dict[str, Any]:
    """The body for `spec`: the core fields it takes (`explicit` ones it lacks are refused), then `options`."""
    schema = checkable(spec)
    validator = validator_for(schema)
    inputs: dict[str, Any] = {}
    for name, value in core.items():
        if name in explicit and not spec.takes(name):
            raise InputError(f"{name}: model {spec.name} takes no {name}. {_fields_text(spec)}")
        # The server's own default (seed -1, jpeg) goes only to a model that accepts it; else the model's own applies.
        if spec.takes(name) and (name in explicit or _accepts(validator, schema["properties"][name], value)):
            inputs[name] = value
    inputs.update(checked_options(spec, options))
    check_against_schema(spec, inputs, validator)
    return inputs


def _accepts(validator: SchemaValidator, field_schema: object, value: object) -> bool:
    return validator.evolve(schema=field_schema).is_valid(value)


def checked_options(spec: ModelSpec, options: Mapping[str, Any]) -> dict[str, Any]:
    if not options:
        return {}
    try:
        size = len(json.dumps(options))
    except (TypeError, ValueError, RecursionError):
        raise InputError("options must be a JSON object of the model's own fields") from None
    if size > MAX_OPTIONS_BYTES:
        raise InputError(f"options is {size} bytes as JSON; at most {MAX_OPTIONS_BYTES} are accepted")
    for name in options:
        if name in CORE_FIELDS:
            raise InputError(f"options.{name}: give {name} as edit_image's own argument, not inside options.")
        if not spec.takes(name):
            shown = name if len(name) <= 60 else name[:57] + "..."  # a name of kilobytes is not echoed whole
            raise InputError(f"options.{shown}: model {spec.name} has no field {shown!r}. {_fields_text(spec)}")
    return dict(options)


def check_against_schema(spec: ModelSpec, inputs: Mapping[str, Any], validator: SchemaValidator | None = None) -> None:
    """InputError naming the first field that breaks the model's schema (checked as schema_check.py says)."""
    validator = validator if validator is not None else validator_for(checkable(spec))
    errors = validator.iter_errors(dict(inputs))
    error = next(errors, None)  # the first, in the schema's own order: one clear message beats a list
    if error is not None:
        raise InputError(_explained(spec, error))


def _explained(spec: ModelSpec, error: ValidationError) -> str:
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else "?"
        path = [*path, missing]
        what = "is required"
    else:
        what = _what(error)
    if not path:  # a rule over several fields (dependentRequired, allOf, ...): it names them itself
        return f"The fields given do not suit model {spec.name}: {str(error.message)[:200]}. {_fields_text(spec)}"
    name = path[0]
    where = name if name in CORE_FIELDS else f"options.{name}"
    if len(path) > 1:
        where += "".join(f"[{part}]" for part in path[1:])
    allowed = describe_field(spec.properties.get(name, {}))
    return f"{where} {what} for model {spec.name}: it takes {allowed}."


def _what(error: ValidationError) -> str:
    got = _shown(error.instance)
    match error.validator:
        case "type":
            return f"must be of type {error.validator_value}; got {got}"
        case "minimum" | "exclusiveMinimum" | "maximum" | "exclusiveMaximum":
            return f"is out of range ({got})"
        case "enum":
            return f"does not allow {got}"
        case "maxItems" | "minItems":
            return f"holds {len(cast('list[object]', error.instance))} items, which is not allowed"
        case _:
            return f"is not valid ({str(error.message)[:160]})"


def _shown(value: object) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_field(schema: Mapping[str, Any]) -> str:
    """A field's rule in a few words: 'a number 1-10 (default 4)', 'one of jpeg, png, webp'."""
    kind = schema.get("type")
    text = {"integer": "an integer", "number": "a number", "string": "a string", "boolean": "true or false"}.get(
        str(kind), "an array" if kind == "array" else "a value"
    )
    if isinstance(schema.get("enum"), list):
        text = "one of " + ", ".join(str(item) for item in cast("list[object]", schema["enum"]))
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None or high is not None:
        text += f" {_num(low) if low is not None else '...'}-{_num(high) if high is not None else '...'}"
    if kind == "array" and schema.get("maxItems") is not None:
        text += f" of at most {schema['maxItems']} items"
    if "default" in schema:
        text += f" (default {_shown(schema['default'])})"
    return text


def _num(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _fields_text(spec: ModelSpec) -> str:
    options = spec.option_names
    if not options:
        return f"It takes no options; its fields are {', '.join(spec.ordered_fields)}. See list_models."
    described = "; ".join(f"{name}: {describe_field(spec.properties[name])}" for name in options)
    return f"Its own fields (in options) are {described}. See list_models."
