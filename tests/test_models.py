from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from qwen_image_edit_mcp.errors import InputError
from qwen_image_edit_mcp.jobs.prepare import EditArgs, checked_body
from qwen_image_edit_mcp.models import (
    MAX_LORA_SCALE,
    SIZE_PATTERN,
    TERMINAL_STATUSES,
    Lora,
    OutputFormat,
    Prediction,
    Prompt,
    Seed,
    Size,
    parse_size,
)
from qwen_image_edit_mcp.upstream.curated import BUILT_IN
from qwen_image_edit_mcp.upstream.inputs import run_inputs

URL = "https://example.com/a.png"


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
    args = EditArgs(prompt="把背景换成海边日落", image=URL)
    assert checked_body(args, BUILT_IN["edit"], (), "jpeg", [URL]) == {
        "prompt": "把背景换成海边日落",
        "image": URL,
        "seed": -1,
        "output_format": "jpeg",
        "enable_base64_output": False,
        "enable_sync_mode": False,
    }


def test_a_lora_model_always_gets_loras_even_when_none_are_given() -> None:
    # WaveSpeed's docs mark loras optional, its ComfyUI node required: an empty list satisfies both.
    body = checked_body(EditArgs(prompt="x", images=(URL,)), BUILT_IN["edit-plus-lora"], (), "jpeg", [URL])
    assert (body["loras"], body["images"]) == ([], [URL])
    lora = Lora(path="owner/name", scale=0.5)
    body = checked_body(EditArgs(prompt="x", image=URL), BUILT_IN["edit-lora"], (lora,), "png", [URL])
    assert (body["loras"], body["output_format"]) == ([{"path": "owner/name", "scale": 0.5}], "png")


@pytest.mark.parametrize(
    ("kind", "value"),
    [(Prompt, "  "), (Seed, -2), (Seed, 2_147_483_648), (OutputFormat, "gif"), (Size, "99*99")],
)
def test_edit_arguments_outside_the_documented_ranges_are_refused(kind: Any, value: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(kind).validate_python(value)


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"seed": -2}, "seed is out of range"),
        ({"seed": 2_147_483_648}, "seed is out of range"),
        ({"output_format": "gif"}, "output_format does not allow"),
    ],
)
def test_a_body_outside_the_models_documented_ranges_is_refused_naming_the_field(
    fields: dict[str, object], said: str
) -> None:
    core = {"prompt": "x", "image": URL, "seed": -1, "output_format": "jpeg", **fields}
    with pytest.raises(InputError, match=said):
        run_inputs(BUILT_IN["edit"], core, frozenset(fields), {})


@pytest.mark.parametrize("scale", [-0.1, MAX_LORA_SCALE + 0.1])
def test_a_lora_scale_beyond_the_documented_bound_is_refused_as_the_schema_refuses_it(scale: float) -> None:
    with pytest.raises(ValidationError, match="LoRA scale must be between 0 and 4"):
        Lora.model_validate({"path": "owner/name", "scale": scale})
    lora_scale = BUILT_IN["edit-lora"].properties["loras"]["items"]["properties"]["scale"]
    assert (lora_scale["minimum"], lora_scale["maximum"]) == (0, MAX_LORA_SCALE)


def test_a_prediction_tolerates_fields_it_does_not_know_and_knows_its_terminal_states() -> None:
    running = Prediction.model_validate({"id": "abc", "status": "processing", "executionTime": 12, "new": {}})
    assert not running.is_terminal
    for status in TERMINAL_STATUSES:
        assert Prediction(id="abc", status=status).is_terminal
    assert Prediction(id="abc", status="completed").succeeded
    assert not Prediction(id="abc", status="failed").succeeded


def lora_refusal(path: str) -> str:
    """What the caller is told about a LoRA path: the reasons only, as the tools word them (no input echoed)."""
    with pytest.raises(ValidationError) as caught:
        Lora.model_validate({"path": path})
    return " ".join(error["msg"] for error in caught.value.errors(include_input=False, include_url=False))


@pytest.mark.parametrize(
    "path",
    [
        "https://user:pw@example.com/x.safetensors",
        "https://user@example.com/x.safetensors",
        "https://:pw@example.com/x.safetensors",
        "HTTPS://user:pw@example.com/x.safetensors",
        "http://user:pw@example.com/x.safetensors",
        "user:pw@example.com/x.safetensors",
    ],
)
def test_a_lora_url_with_credentials_is_refused_without_echoing_them(path: str) -> None:
    text = lora_refusal(path)
    assert "LoRA URL" in text
    assert "user" not in text
    assert "pw" not in text
    assert "example.com" not in text


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("http://example.com/x.safetensors", "https"),
        ("ftp://example.com/x.safetensors", "https"),
        ("https:///x.safetensors", "host name"),
        ("https://example.com/my lora.safetensors", "spaces"),
        ("https://example.com/x\tlora.safetensors", "spaces"),
        ("https://example.com/x\x00.safetensors", "control characters"),
        ("https://example.com/x\x7f.safetensors", "control characters"),
        ("https://example.com:99999/x.safetensors", "not a valid URL"),
        ("https://example.com/x.bin", ".safetensors"),
        ("https://example.com/x.bin?name=x.safetensors", ".safetensors"),
    ],
)
def test_a_lora_url_follows_the_image_url_rules_and_is_never_echoed(path: str, reason: str) -> None:
    text = lora_refusal(path)
    assert reason in text
    assert "example.com" not in text


def test_an_over_long_lora_url_is_refused_by_its_length() -> None:
    text = lora_refusal("https://example.com/" + "a" * 2048 + ".safetensors")
    assert "2048" in text


@pytest.mark.parametrize(
    "path",
    [
        "owner/name",
        "https://huggingface.co/owner/name/resolve/main/lora.safetensors",
        "https://example.com/x.safetensors?download=1",
        " https://example.com/X.SAFETENSORS ",
    ],
)
def test_a_repository_name_or_a_plain_https_safetensors_url_is_accepted(path: str) -> None:
    assert Lora.model_validate({"path": path}).path == path.strip()
