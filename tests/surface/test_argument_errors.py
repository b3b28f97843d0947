"""Arguments that fail a tool's schema are said one line per argument, with no pydantic dump and no echo of what
was sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from pydantic import BaseModel, Field, ValidationError

from fakes import FakeClock
from harness import make_world, text_of
from qwen_image_edit_mcp.surface.argument_errors import MOST_LISTED, describe_invalid_arguments

pytestmark = pytest.mark.anyio
URL_IMAGE = "https://example.com/street.jpg"


class Arguments(BaseModel):
    seed: int = Field(ge=0)
    name: str


def failure(**values: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Arguments.model_validate(values)
    return caught.value


def test_each_wrong_argument_is_named_with_what_it_may_be_and_its_value_is_not_echoed() -> None:
    text = describe_invalid_arguments("edit_image", failure(seed="secret-value-123"))
    assert text.startswith("Invalid arguments for edit_image: seed: Input should be a valid integer")
    assert "name: Field required" in text
    assert "secret-value-123" not in text
    assert "pydantic" not in text
    assert "input_value" not in text
    assert "Nothing was sent to WaveSpeed" in text


def test_many_wrong_arguments_are_counted_after_the_first_few() -> None:
    class Many(BaseModel):
        a: int
        b: int
        c: int
        d: int
        e: int
        f: int
        g: int

    with pytest.raises(ValidationError) as caught:
        Many.model_validate({})
    text = describe_invalid_arguments("edit_image", caught.value)
    assert text.count("Field required") == MOST_LISTED
    assert "and 2 more" in text


async def test_over_mcp_a_schema_failure_is_one_readable_line_and_the_server_serves_on(
    clock: FakeClock, tmp_path: Path
) -> None:
    world = make_world(clock, tmp_path)
    async with Client(world.server) as client:
        refused = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE, "size": "10*10"})
        works = await client.call_tool("edit_image", {"prompt": "x", "image": URL_IMAGE})
    assert refused.is_error
    assert text_of(refused).startswith("Invalid arguments for edit_image: size: size width must be between 256")
    assert "\n" not in text_of(refused)
    assert len(world.submits()) == 1  # only the second call reached WaveSpeed
    assert not works.is_error
