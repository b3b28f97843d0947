from __future__ import annotations

import pytest

from qwen_image_edit_mcp.errors import describe_failure, failure_of
from qwen_image_edit_mcp.models import Prediction


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
def test_other_terminal_states_get_their_own_advice(status: str, advice: str) -> None:
    assert advice in describe_failure(Prediction(id="p1", status=status))


@pytest.mark.parametrize(
    ("code", "retryable"), [(1200, False), (1402, False), (5000, True), (5003, True), (None, False)]
)
def test_a_failed_prediction_becomes_a_typed_error_that_says_if_a_new_job_may_succeed(
    code: int | None, retryable: bool
) -> None:
    failure = failure_of(Prediction(id="p1", status="failed", code=code, error="why"))
    assert failure is not None
    assert failure.code == code
    assert failure.retryable is retryable
    assert failure.prediction.id == "p1"
    assert "p1" in failure.message


@pytest.mark.parametrize("status", ["created", "processing", "completed"])
def test_running_or_completed_predictions_are_not_failures(status: str) -> None:
    assert failure_of(Prediction(id="p1", status=status)) is None
