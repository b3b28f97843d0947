"""Arguments that fail the tool's schema, said the way a model (or a person) can act on them.

The SDK reports them as pydantic's dump ("1 validation error for edit_imageArguments ... errors.pydantic.dev"),
which buries the one thing that matters: which argument, and what it may be. The rejected values stay out: they are
the caller's data, and one can be megabytes of base64.

The SDK's argument models also ignore names they do not know, so `negative_prompt` (which no tool takes) or a
misspelled `promt` would vanish and the edit run, and be paid, without it: `refusing_unknown` makes a tool's model
refuse them, and the refusal names them with the arguments the tool does take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from difflib import get_close_matches
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

MOST_LISTED = 5  # a call with more wrong arguments than this gets the first few and a count
LONGEST_REASON = 300  # our own validators' reasons are short; nothing the caller sent is echoed at length
LONGEST_NAME = 60  # an unknown argument's name is the caller's text: shown, but not at any length

Model = TypeVar("Model", bound=BaseModel)


def refusing_unknown(model: type[Model]) -> type[Model]:
    """`model` (a tool's argument model), refusing argument names it has no field for (`extra_forbidden`)."""
    if model.model_config.get("extra") == "forbid":
        return model
    # Same name, module and fields, so nothing else about the tool changes; pydantic merges the parent's config.
    namespace = {"model_config": ConfigDict(extra="forbid"), "__module__": model.__module__}
    return cast(type[Model], type(model.__name__, (model,), namespace))


def argument_names(input_schema: Mapping[str, Any]) -> list[str]:
    """The arguments a caller may pass: the input schema's properties (never `ctx` or resolver-filled ones)."""
    properties = cast(Mapping[str, object], input_schema.get("properties") or {})
    return [str(name) for name in properties]


def describe_invalid_arguments(tool: str, error: ValidationError, known: Sequence[str] = ()) -> str:
    """One sentence per wrong argument, then, if a name is unknown, the ones `tool` takes (`known`), then what to
    do; nothing was sent to WaveSpeed."""
    details = error.errors(include_url=False, include_input=False)
    unknown = [_printable(detail["loc"][0]) for detail in details if _unknown_argument(detail)]
    problems = [_problem(detail) for detail in details if not _unknown_argument(detail)]
    if unknown:  # first, so that the count below never hides it
        problems.insert(0, _unknown(unknown, known))
    listed = "; ".join(problems[:MOST_LISTED])
    if len(problems) > MOST_LISTED:
        listed += f"; and {len(problems) - MOST_LISTED} more"
    takes = ""
    if unknown:
        takes = f" {tool} takes: {', '.join(known)}." if known else f" {tool} takes no arguments."
        if "options" in known:  # a model's own field given at the top level: say where it goes
            takes += " A model's own fields go inside options (list_models names them)."
    return (
        f"Invalid arguments for {tool}: {listed}.{takes} Nothing was sent to WaveSpeed (so nothing was paid): "
        "fix the named argument(s) and call again."
    )


def _unknown_argument(detail: ErrorDetails) -> bool:
    """A top-level name the tool has no argument for (a nested one, inside a LoRA say, is an unknown field)."""
    return detail["type"] == "extra_forbidden" and len(detail["loc"]) == 1


def _unknown(names: list[str], known: Sequence[str]) -> str:
    shown = ", ".join(repr(name) + _guess(name, known) for name in names[:MOST_LISTED])
    if len(names) > MOST_LISTED:
        shown += f" and {len(names) - MOST_LISTED} more"
    return f"unknown argument{'s' if len(names) > 1 else ''} {shown}"


def _guess(name: str, known: Sequence[str]) -> str:
    """The argument a misspelled name most likely meant (`promt`: prompt), if one is close."""
    close = get_close_matches(name, known, n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _printable(key: str | int) -> str:
    """A name the caller sent, printable and short: it is their text."""
    name = "".join(ch for ch in str(key) if ch.isprintable())
    return name if len(name) <= LONGEST_NAME else name[: LONGEST_NAME - 1] + "…"


def _problem(detail: ErrorDetails) -> str:
    where = ".".join(str(part) for part in detail["loc"])[:100] or "arguments"  # keys can be the caller's
    reason = detail["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if detail["type"] == "missing":
        reason = "Field required"
    if detail["type"] == "extra_forbidden":
        reason = "unknown field"
    if len(reason) > LONGEST_REASON:
        reason = reason[: LONGEST_REASON - 1] + "…"
    return f"{where}: {reason}"
