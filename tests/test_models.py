from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from qwen_image_edit_mcp.models import SIZE_PATTERN, TERMINAL_STATUSES, EditRequest, Prediction, parse_size


@pytest.mark.parametrize(
    ("given", "expected"),
    [("256*256", "256*256"), ("1536*1536", "1536*1536"), ("1024*768", "1024*768"), (" 1024 x 768 ", "1024*768")],
)
def test_sizes_within_range_are_accepted_and_normalised(given: str, expected: str) -> None:
    assert parse_size(given) == expected


@pytest.mark.parametrize(
    ("given", "names"),
    [
        ("255*512", "width"),
        ("512*1537", "height"),
        ("0*0", "width"),
        ("1024", "WIDTH*HEIGHT"),
        ("1024*", "WIDTH*HEIGHT"),
        ("a*b", "WIDTH*HEIGHT"),
        ("-512*512", "WIDTH*HEIGHT"),
        ("512.5*512", "WIDTH*HEIGHT"),
        ("", "WIDTH*HEIGHT"),
    ],
)
def test_malformed_or_out_of_range_sizes_say_what_is_allowed(given: str, names: str) -> None:
    with pytest.raises(ValueError, match=re.escape(names)):
        parse_size(given)


def test_the_schema_pattern_agrees_with_the_validator_on_every_side_length() -> None:
    pattern = re.compile(SIZE_PATTERN)
    for side in range(200, 1600):
        text = f"{side}*{side}"
        in_range = 256 <= side <= 1536
        assert bool(pattern.match(text)) is in_range, text


def test_payload_holds_only_documented_fields_and_omits_an_unset_size() -> None:
    request = EditRequest(prompt="把背景换成海边日落", images=("https://example.com/a.png",))
    assert request.payload() == {
        "prompt": "把背景换成海边日落",
        "image": "https://example.com/a.png",
        "seed": -1,
        "output_format": "jpeg",
        "enable_base64_output": False,
        "enable_sync_mode": False,
    }


@pytest.mark.parametrize(
    "fields",
    [{"prompt": "  "}, {"seed": -2}, {"seed": 2_147_483_648}, {"output_format": "gif"}, {"size": "99*99"}],
)
def test_edit_request_refuses_values_outside_the_documented_ranges(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        EditRequest.model_validate({"prompt": "x", "image": "https://example.com/a.png", **fields})


def test_a_prediction_tolerates_fields_it_does_not_know_and_knows_its_terminal_states() -> None:
    running = Prediction.model_validate({"id": "abc", "status": "processing", "executionTime": 12, "new": {}})
    assert not running.is_terminal
    for status in TERMINAL_STATUSES:
        assert Prediction(id="abc", status=status).is_terminal
    assert Prediction(id="abc", status="completed").succeeded
    assert not Prediction(id="abc", status="failed").succeeded
