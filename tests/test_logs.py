from __future__ import annotations

import logging

import pytest

from qwen_image_edit_mcp.logs import RedactSecrets

SECRET = "sk-live-abcdef123456"


def test_secrets_are_masked_in_messages_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactSecrets([SECRET]))
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("header was Bearer %s", SECRET)
        try:
            raise RuntimeError(f"boom {SECRET}")
        except RuntimeError:
            logger.exception("failed")
    text = caplog.text
    assert SECRET not in text
    assert "Bearer ***" in text
    assert "boom ***" in text


def test_records_without_secrets_pass_unchanged() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    assert RedactSecrets([SECRET]).filter(record)
    assert record.getMessage() == "hello world"
