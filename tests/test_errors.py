from __future__ import annotations

import pytest

from qwen_image_edit_mcp.errors import describe_failure
from qwen_image_edit_mcp.models import Prediction, Status


@pytest.mark.parametrize(
    ("code", "name", "advice"),
    [
        (1200, "Content Moderation", "Change the prompt or image"),
        (1401, "Invalid Parameter", "Fix it"),
        (1402, "Media Access Failed", "publicly reachable"),
        (5003, "Service Unavailable", "Try again in a minute"),
    ],
)
def test_each_task_code_is_named_and_explained(code: int, name: str, advice: str) -> None:
    text = describe_failure(Prediction(id="p1", status="failed", code=code, error="upstream reason"))
    assert "prediction p1 ended 'failed'" in text
    assert f"WaveSpeed code {code}: {name}" in text
    assert "upstream reason" in text
    assert advice in text


def test_an_unknown_code_or_no_reason_still_reads_well() -> None:
    text = describe_failure(Prediction(id="p1", status="failed", code=9999, error=""))
    assert "WaveSpeed code 9999)" in text
    assert "no reason given" in text


@pytest.mark.parametrize(("status", "advice"), [("cancelled", "cancelled or deleted"), ("timeout", "timed out")])
def test_other_terminal_states_get_their_own_advice(status: Status, advice: str) -> None:
    assert advice in describe_failure(Prediction(id="p1", status=status))
