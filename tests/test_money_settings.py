"""The money settings: the limit and the confirm mode, from the environment and the flags, refused with the flag and
variable named when unusable. (Where the ledger lives is the store's setting: test_store_settings.py.)"""

from __future__ import annotations

from decimal import Decimal

import pytest

from qwen_image_edit_mcp.__main__ import parser, settings_from_args
from qwen_image_edit_mcp.config import Settings, SettingsError
from qwen_image_edit_mcp.spend_config import ConfirmSpend


def test_no_limit_and_never_asking_by_default() -> None:
    settings = Settings.from_environment({})
    assert (settings.max_spend_usd, settings.confirm_spend) == (None, ConfirmSpend())


def test_the_environment_and_the_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "QWEN_EDIT_MAX_SPEND_USD": "$2.50",
        "QWEN_EDIT_CONFIRM_SPEND": "above:0.02",
    }
    settings = Settings.from_environment(env)
    assert settings.max_spend_usd == Decimal("2.50")
    assert settings.confirm_spend == ConfirmSpend("above", Decimal("0.02"))
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
    ],
)
def test_unusable_money_settings_name_the_flag_and_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        Settings.from_environment(env)


def test_a_bundle_left_the_optional_fields_unfilled() -> None:
    settings = Settings.from_environment(
        {"QWEN_EDIT_MAX_SPEND_USD": "${user_config.max_spend_usd}", "QWEN_EDIT_CONFIRM_SPEND": ""}
    )
    assert (settings.max_spend_usd, settings.confirm_spend.mode) == (None, "never")
