"""The session settings of the HTTP server: how long an idle session lives and how many may be open, each a flag
with its environment twin, refused at start with a message that names both when the value cannot work."""

from __future__ import annotations

import pytest

from qwen_image_edit_mcp.__main__ import parser, settings_from_args
from qwen_image_edit_mcp.config import DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE_SECONDS, HttpSettings, SettingsError


def test_idle_sessions_expire_within_minutes_by_default_and_the_cap_holds_hundreds() -> None:
    settings = HttpSettings.from_environment({})
    assert settings.session_idle_seconds == DEFAULT_SESSION_IDLE_SECONDS
    assert 60 <= DEFAULT_SESSION_IDLE_SECONDS <= 15 * 60
    assert settings.max_sessions == DEFAULT_MAX_SESSIONS >= 100


def test_the_environment_twins_are_read_and_flags_win_over_them() -> None:
    env = {"QWEN_EDIT_SESSION_IDLE_SECONDS": " 90 ", "QWEN_EDIT_MAX_SESSIONS": "40"}
    assert HttpSettings.from_environment(env).session_idle_seconds == 90
    assert HttpSettings.from_environment(env).max_sessions == 40
    flagged = HttpSettings.from_environment(env, session_idle_seconds=30.0, max_sessions=None)
    assert (flagged.session_idle_seconds, flagged.max_sessions) == (30.0, 40)


def test_the_flags_reach_the_http_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QWEN_EDIT_SESSION_IDLE_SECONDS", raising=False)
    monkeypatch.delenv("QWEN_EDIT_MAX_SESSIONS", raising=False)
    args = ["--transport", "streamable-http", "--session-idle-seconds", "45.5", "--max-sessions", "12"]
    _, http = settings_from_args(parser().parse_args(args))
    assert http is not None
    assert (http.session_idle_seconds, http.max_sessions) == (45.5, 12)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"QWEN_EDIT_SESSION_IDLE_SECONDS": "soon"}, "--session-idle-seconds / QWEN_EDIT_SESSION_IDLE_SECONDS must be"),
        ({"QWEN_EDIT_SESSION_IDLE_SECONDS": "0"}, "must be more than 0 and at most 86400 (a day), got 0"),
        ({"QWEN_EDIT_SESSION_IDLE_SECONDS": "-5"}, "must be more than 0"),
        ({"QWEN_EDIT_SESSION_IDLE_SECONDS": "nan"}, "must be more than 0"),
        ({"QWEN_EDIT_SESSION_IDLE_SECONDS": "inf"}, "must be more than 0"),
        ({"QWEN_EDIT_SESSION_IDLE_SECONDS": "90000"}, "at most 86400"),
        ({"QWEN_EDIT_MAX_SESSIONS": "lots"}, "--max-sessions / QWEN_EDIT_MAX_SESSIONS must be a whole number"),
        ({"QWEN_EDIT_MAX_SESSIONS": "2.5"}, "must be a whole number, got '2.5'"),
        ({"QWEN_EDIT_MAX_SESSIONS": "0"}, "--max-sessions / QWEN_EDIT_MAX_SESSIONS must be between 1 and 100000"),
        ({"QWEN_EDIT_MAX_SESSIONS": "1000001"}, "between 1 and 100000, got 1000001"),
    ],
)
def test_unusable_session_settings_name_the_flag_and_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        HttpSettings.from_environment(env)
    assert says in str(caught.value)


def test_a_bad_flag_is_refused_like_its_twin() -> None:
    with pytest.raises(SettingsError, match="--max-sessions / QWEN_EDIT_MAX_SESSIONS"):
        settings_from_args(parser().parse_args(["--transport", "streamable-http", "--max-sessions", "0"]))
