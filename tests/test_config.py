from __future__ import annotations

import os
from pathlib import Path

import pytest

from qwen_image_edit_mcp.config import DEFAULT_BASE_URL, DEFAULT_WAIT_SECONDS, Settings, SettingsError


def test_defaults_need_no_environment_at_all() -> None:
    settings = Settings.from_environment({})
    assert settings.api_key is None
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.wait_seconds == DEFAULT_WAIT_SECONDS < 60
    assert settings.inline_max_bytes < 1024 * 1024


def test_environment_twins_are_read_and_flags_win_over_them(tmp_path: Path) -> None:
    env = {
        "WAVESPEED_API_KEY": " sk-abc123 ",
        "WAVESPEED_BASE_URL": "http://127.0.0.1:9999",
        "QWEN_EDIT_WAIT_SECONDS": "20",
        "QWEN_EDIT_INLINE_MAX_BYTES": "1000",
        "QWEN_EDIT_OUTPUT_DIR": str(tmp_path),
    }
    settings = Settings.from_environment(env, wait_seconds=5.0, inline_max_bytes=None)
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "sk-abc123"
    assert settings.base_url == "http://127.0.0.1:9999"
    assert settings.wait_seconds == 5.0
    assert settings.inline_max_bytes == 1000
    assert settings.output_dir == tmp_path.resolve()


def test_the_key_never_shows_when_settings_are_printed() -> None:
    settings = Settings.from_environment({"WAVESPEED_API_KEY": "sk-very-secret-value"})
    assert "sk-very-secret-value" not in repr(settings)
    assert "sk-very-secret-value" not in str(settings)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"QWEN_EDIT_WAIT_SECONDS": "soon"}, "--wait-seconds / QWEN_EDIT_WAIT_SECONDS must be a number"),
        ({"QWEN_EDIT_WAIT_SECONDS": "5000"}, "between 0 and 900"),
        ({"QWEN_EDIT_INLINE_MAX_BYTES": "-1"}, "0 or more"),
        ({"WAVESPEED_BASE_URL": "api.wavespeed.ai"}, "WAVESPEED_BASE_URL must be an http(s) URL"),
    ],
)
def test_unusable_settings_name_the_flag_and_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_environment(env)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "htps://deploy:hunter2@api.example.com",
        "https:/deploy:hunter2@api.example.com",
        "deploy:hunter2@api.example.com",
        "ftp://deploy:hunter2@api.example.com/v3",
        "htps://deploy:hunter2@api.example.com@evil",
    ],
)
def test_a_mistyped_api_address_is_named_without_its_password(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_environment({"WAVESPEED_BASE_URL": url})
    assert "WAVESPEED_BASE_URL must be an http(s) URL" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "***@" in str(caught.value)


def test_allowed_dirs_come_from_the_environment_separated_by_pathsep(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    settings = Settings.from_environment({"QWEN_EDIT_ALLOWED_DIRS": f"{a}{os.pathsep}{b}{os.pathsep}"})
    assert settings.allowed_dirs == (a.resolve(), b.resolve())


def test_the_default_allowed_dirs_are_the_usual_picture_folders_and_the_output_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("Pictures", "Downloads"):
        (tmp_path / name).mkdir()
    (tmp_path / ".ssh").mkdir()
    settings = Settings.from_environment({"QWEN_EDIT_OUTPUT_DIR": str(tmp_path / "edits")})
    assert settings.allowed_dirs == (
        (tmp_path / "Pictures").resolve(),
        (tmp_path / "Downloads").resolve(),
        (tmp_path / "edits").resolve(),
    )
    assert tmp_path.resolve() not in settings.allowed_dirs  # never the whole home folder


def test_allow_dir_flags_replace_the_defaults(tmp_path: Path) -> None:
    settings = Settings.from_environment({}, allowed_dirs=(tmp_path,))
    assert settings.allowed_dirs == (tmp_path,)


def test_placeholders_a_host_left_unfilled_count_as_unset() -> None:
    env = {
        "WAVESPEED_API_KEY": "sk-abc123",
        "WAVESPEED_BASE_URL": "${user_config.base_url}",
        "QWEN_EDIT_OUTPUT_DIR": "${user_config.output_directory}",
        "QWEN_EDIT_WAIT_SECONDS": " ${user_config.wait_seconds} ",
        "QWEN_EDIT_ALLOWED_DIRS": "${user_config.allowed_directory}",
    }
    settings = Settings.from_environment(env)
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.output_dir is None
    assert settings.wait_seconds == DEFAULT_WAIT_SECONDS
    assert all("user_config" not in str(path) for path in settings.allowed_dirs)
