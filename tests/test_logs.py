from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

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


def test_a_line_break_in_logged_data_cannot_forge_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.forge")
    caplog.handler.addFilter(RedactSecrets([]))
    forged = "cat.png\n2026-11-25 09:00:00 INFO qwen_image_edit_mcp: all good\x1b[2J"
    with caplog.at_level(logging.INFO, logger="test.forge"):
        logger.info("uploaded %s", forged)
    (line,) = caplog.text.splitlines()
    assert "cat.png\\n2026-11-25 09:00:00 INFO" in line
    assert "\\x1b[2J" in line
    assert "\x1b" not in caplog.text


def test_the_startup_log_never_shows_credentials_in_the_api_address(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qwen_image_edit_mcp", "--log-level", "INFO"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path / "home"),
            "QWEN_EDIT_CACHE_DIR": str(tmp_path / "cache"),
            "WAVESPEED_BASE_URL": "https://deploy:hunter2-secret@api.example.com",
        },
        cwd="/",
        check=False,
    )
    assert "api.example.com" in done.stderr
    assert "hunter2-secret" not in done.stderr
    assert "deploy:" not in done.stderr
