"""MCP prompts for the edits people ask for most; hosts offer them as slash commands.

Each takes the image and the few words the edit needs, and returns one user message that asks the assistant to call
`edit_image` with exactly the arguments it spells out, as JSON. The arguments are checked here, so a bad one is a
JSON-RPC invalid-params error (-32602) that names it, never a malformed tool call later.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from pydantic import Field

MAX_ARGUMENT_CHARS = 1000  # well within the 4000 characters edit_image takes as its prompt, with the wording

ImageArg = Annotated[
    str,
    Field(
        description="The image to edit: a public http(s) URL, a local file path inside the folders this server may "
        "read, or a data:image/...;base64,... URI."
    ),
]


def _given(name: str, value: str, *, limit: int | None = MAX_ARGUMENT_CHARS) -> str:
    text = value.strip()
    if not text:
        raise MCPError(code=INVALID_PARAMS, message=f"{name} must not be empty")
    if limit is not None and len(text) > limit:
        raise MCPError(code=INVALID_PARAMS, message=f"{name} must be at most {limit} characters")
    return text


def edit_request(image: str, instruction: str) -> str:
    """The user message: what to call, with which arguments, and what to do with the result."""
    # The image is checked by edit_image itself (a data: URI may be long); here it must only be there.
    checked = _given("image", image, limit=None)
    arguments = json.dumps({"image": checked, "prompt": instruction}, ensure_ascii=False, indent=2)
    return (
        "Edit my image with the edit_image tool, using exactly these arguments:\n"
        f"{arguments}\n"
        "Then show me the edited image and give me its link. If the result is still pending, resume it with "
        "get_prediction instead of starting a second edit."
    )


def rewrite_text(
    image: ImageArg,
    new_text: Annotated[str, Field(description="The text to write, exactly as it should appear (English or Chinese).")],
    old_text: Annotated[str, Field(description="The text to replace, if the image has more than one (optional).")] = "",
) -> str:
    new = _given("new_text", new_text)
    which = f'the text "{_given("old_text", old_text)}"' if old_text.strip() else "the text on the sign"
    return edit_request(
        image,
        f'Replace {which} with "{new}". Keep the same font, colour, size, perspective and layout; change nothing else.',
    )


def remove_object(
    image: ImageArg,
    thing: Annotated[str, Field(description="What to remove, e.g. 'the man on the left', 'the power lines'.")],
) -> str:
    return edit_request(
        image,
        f"Remove {_given('thing', thing)} from the image and fill the area naturally with what would be behind "
        "it. Keep everything else unchanged.",
    )


def change_background(
    image: ImageArg,
    background: Annotated[str, Field(description="The new background, e.g. 'a beach at sunset', '纯白背景'.")],
) -> str:
    return edit_request(
        image,
        f"Replace the background with {_given('background', background)}. Keep the main subject exactly as it is, "
        "with matching lighting and natural edges.",
    )


def restyle(
    image: ImageArg,
    style: Annotated[str, Field(description="The style, e.g. 'a watercolour painting', 'Studio Ghibli', 'pixel art'.")],
) -> str:
    return edit_request(
        image,
        f"Redraw the whole image in the style of {_given('style', style)}. Keep the composition, the subjects and "
        "any text where they are.",
    )


PROMPTS: dict[str, tuple[str, str, Callable[..., Any]]] = {
    "rewrite_text": (
        "Rewrite the text on a sign",
        "Change the words on a sign, label or poster, in English or Chinese, keeping the original font.",
        rewrite_text,
    ),
    "remove_object": (
        "Remove an object",
        "Remove something from the picture and fill in what was behind it.",
        remove_object,
    ),
    "change_background": (
        "Change the background",
        "Put the subject in front of a new background.",
        change_background,
    ),
    "restyle": ("Restyle the image", "Redraw the picture in another style, keeping its composition.", restyle),
}


def add_prompts(server: MCPServer[Any]) -> None:
    for name, (title, description, fn) in PROMPTS.items():
        server.prompt(name=name, title=title, description=description)(fn)
