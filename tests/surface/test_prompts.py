"""What the server advertises it serves, and the prompts: each one a well-formed edit_image request, every bad
request answered with invalid params (-32602), in both protocol eras."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, TextContent

from fakes import FakeClock
from harness import World, make_world, png_data_uri, text_of

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"
PROMPT_ARGUMENTS: dict[str, dict[str, str]] = {
    "rewrite_text": {"image": URL_IMAGE, "new_text": "欢迎光临", "old_text": "OPEN"},
    "remove_object": {"image": URL_IMAGE, "thing": "the man on the left"},
    "change_background": {"image": URL_IMAGE, "background": "a beach at sunset"},
    "restyle": {"image": URL_IMAGE, "style": "a watercolour painting"},
}


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def world(clock: FakeClock, tmp_path: Path) -> World:
    return make_world(clock, tmp_path, latency=0)


def requested_call(messages_text: str) -> dict[str, Any]:
    found = re.search(r"\{.*\}", messages_text, re.DOTALL)
    assert found is not None, messages_text
    return json.loads(found.group(0))


async def test_only_what_is_served_is_advertised(world: World, mode: str) -> None:
    async with Client(world.server, mode=mode) as client:
        capabilities = client.server_capabilities
        prompts = (await client.list_prompts()).prompts
        resources = (await client.list_resources()).resources
    assert capabilities.tools is not None
    assert capabilities.prompts is not None
    assert prompts
    assert capabilities.resources is not None
    assert resources
    # Nothing is ever sent as a log message to clients (the server logs to stderr), so logging is not advertised.
    assert capabilities.logging is None
    assert capabilities.completions is None


async def test_each_prompt_asks_for_an_edit_image_call_that_its_schema_accepts(world: World, mode: str) -> None:
    async with Client(world.server, mode=mode) as client:
        listed = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
        schema = next(t for t in (await client.list_tools()).tools if t.name == "edit_image").input_schema
        assert set(listed) == set(PROMPT_ARGUMENTS)
        for name, arguments in PROMPT_ARGUMENTS.items():
            prompt = listed[name]
            assert prompt.title
            assert prompt.description
            assert {arg.name for arg in prompt.arguments or [] if arg.required} == {
                "image",
                *(key for key in arguments if key not in ("image", "old_text")),
            }
            assert all(arg.description for arg in prompt.arguments or [])
            result = await client.get_prompt(name, arguments)
            (message,) = result.messages
            assert message.role == "user"
            assert isinstance(message.content, TextContent)
            call = requested_call(message.content.text)
            jsonschema.validate(call, schema)
            assert call["image"] == URL_IMAGE
            assert all(value in call["prompt"] for key, value in arguments.items() if key != "image")


async def test_the_requested_call_edits_when_made(world: World) -> None:
    async with Client(world.server) as client:
        image = png_data_uri((400, 300))
        assert len(image) > 1000  # a data: URI may be long
        prompt = await client.get_prompt("restyle", {"image": image, "style": "pixel art"})
        content = prompt.messages[0].content
        assert isinstance(content, TextContent)
        result = await client.call_tool("edit_image", requested_call(content.text))
    assert not result.is_error, text_of(result)
    assert world.submits()[0]["json"]["prompt"].startswith("Redraw the whole image in the style of pixel art.")


@pytest.mark.parametrize(
    ("name", "arguments", "named"),
    [
        ("no_such_prompt", {"image": URL_IMAGE}, "no_such_prompt"),
        ("restyle", {"image": URL_IMAGE}, "style"),
        ("restyle", {"style": "pixel art"}, "image"),
        ("restyle", {"image": URL_IMAGE, "style": "   "}, "style"),
        ("remove_object", {"image": "", "thing": "the car"}, "image"),
        ("rewrite_text", {"image": URL_IMAGE, "new_text": "x" * 1001}, "new_text"),
    ],
)
async def test_a_prompt_request_that_cannot_be_served_is_invalid_params(
    world: World, mode: str, name: str, arguments: dict[str, str], named: str
) -> None:
    async with Client(world.server, mode=mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.get_prompt(name, arguments)
    assert raised.value.code == INVALID_PARAMS
    assert named in raised.value.message
    assert not world.submits()
