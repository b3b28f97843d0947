"""The money settings: the limit, the shared ledger's URL and the confirm mode, from the environment and the flags,
refused with the flag and variable named when unusable, and a Redis password masked in the logs."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from qwen_image_edit_mcp.__main__ import _configure_logging, parser, settings_from_args  # pyright: ignore[reportPrivateUsage]
from qwen_image_edit_mcp.config import Settings, SettingsError
from qwen_image_edit_mcp.spend_config import ConfirmSpend


def test_no_limit_no_ledger_and_never_asking_by_default() -> None:
    settings = Settings.from_environment({})
    assert (settings.max_spend_usd, settings.ledger_url, settings.confirm_spend) == (None, None, ConfirmSpend())


def test_the_environment_and_the_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "QWEN_EDIT_MAX_SPEND_USD": "$2.50",
        "QWEN_EDIT_LEDGER_URL": "redis://:pw-77@127.0.0.1:6379/0",
        "QWEN_EDIT_CONFIRM_SPEND": "above:0.02",
    }
    settings = Settings.from_environment(env)
    assert settings.max_spend_usd == Decimal("2.50")
    assert settings.confirm_spend == ConfirmSpend("above", Decimal("0.02"))
    assert settings.ledger_url is not None
    assert "pw-77" not in repr(settings)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    flagged, _ = settings_from_args(parser().parse_args(["--max-spend-usd", "7", "--confirm-spend", "always"]))
    assert (flagged.max_spend_usd, str(flagged.confirm_spend)) == (Decimal(7), "always")


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"QWEN_EDIT_MAX_SPEND_USD": "0"}, "--max-spend-usd / QWEN_EDIT_MAX_SPEND_USD"),
        ({"QWEN_EDIT_MAX_SPEND_USD": "lots"}, "--max-spend-usd / QWEN_EDIT_MAX_SPEND_USD"),
        ({"QWEN_EDIT_MAX_SPEND_USD": "inf"}, "--max-spend-usd / QWEN_EDIT_MAX_SPEND_USD"),
        ({"QWEN_EDIT_CONFIRM_SPEND": "maybe"}, "--confirm-spend / QWEN_EDIT_CONFIRM_SPEND"),
        ({"QWEN_EDIT_LEDGER_URL": "http://:pw@cache:6379"}, "QWEN_EDIT_LEDGER_URL must be a redis://"),
    ],
)
def test_unusable_money_settings_name_the_flag_and_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        Settings.from_environment(env)


def test_a_ledger_url_without_the_redis_package_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        return None

    monkeypatch.setattr("importlib.util.find_spec", missing)
    with pytest.raises(SettingsError, match=r"\[redis\]") as refused:
        Settings.from_environment({"QWEN_EDIT_LEDGER_URL": "redis://:pw-31@127.0.0.1:6379/0"})
    assert "pw-31" not in str(refused.value)


def test_a_bundle_left_the_optional_fields_unfilled() -> None:
    settings = Settings.from_environment(
        {"QWEN_EDIT_MAX_SPEND_USD": "${user_config.max_spend_usd}", "QWEN_EDIT_CONFIRM_SPEND": ""}
    )
    assert (settings.max_spend_usd, settings.confirm_spend.mode) == (None, "never")


def test_the_ledger_password_is_masked_in_logs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QWEN_EDIT_LEDGER_URL", "redis://:ledger-pw-4242@127.0.0.1:6379/0")
    args = parser().parse_args([])
    settings, http = settings_from_args(args)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        _configure_logging(args, settings, http)
        logging.getLogger("qwen_image_edit_mcp").warning("connecting to redis://:ledger-pw-4242@127.0.0.1:6379/0")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert "ledger-pw-4242" not in capsys.readouterr().err
