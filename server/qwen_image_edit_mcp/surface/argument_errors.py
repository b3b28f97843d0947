"""Arguments that fail the tool's schema, said the way a model (or a person) can act on them.

The SDK reports them as pydantic's dump ("1 validation error for edit_imageArguments ... errors.pydantic.dev"),
which buries the one thing that matters: which argument, and what it may be. The rejected values stay out: they are
the caller's data, and one can be megabytes of base64.
"""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails

MOST_LISTED = 5  # a call with more wrong arguments than this gets the first few and a count
LONGEST_REASON = 300  # our own validators' reasons are short; nothing the caller sent is echoed at length


def describe_invalid_arguments(tool: str, error: ValidationError) -> str:
    """One sentence per wrong argument, then what to do; nothing was sent to WaveSpeed."""
    problems = [_problem(detail) for detail in error.errors(include_url=False, include_input=False)]
    listed = "; ".join(problems[:MOST_LISTED])
    if len(problems) > MOST_LISTED:
        listed += f"; and {len(problems) - MOST_LISTED} more"
    return (
        f"Invalid arguments for {tool}: {listed}. Nothing was sent to WaveSpeed (so nothing was paid): "
        "fix the named argument(s) and call again."
    )


def _problem(detail: ErrorDetails) -> str:
    where = ".".join(str(part) for part in detail["loc"])[:100] or "arguments"  # keys can be the caller's
    reason = detail["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if detail["type"] == "missing":
        reason = "Field required"
    if len(reason) > LONGEST_REASON:
        reason = reason[: LONGEST_REASON - 1] + "…"
    return f"{where}: {reason}"
