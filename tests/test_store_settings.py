"""The store's one setting: QWEN_EDIT_STORE_URL (SQLite in the cache folder when unset, a sqlite:/// file, or Redis),
its deprecated alias QWEN_EDIT_LEDGER_URL, refusals that never echo a password, and the password masked in logs."""

from __future__ import annotations

import logging

import pytest

from qwen_image_edit_mcp.__main__ import _configure_logging, parser, settings_from_args  # pyright: ignore[reportPrivateUsage]
from qwen_image_edit_mcp.addresses import url_secrets
from qwen_image_edit_mcp.config import Settings, SettingsError
from qwen_image_edit_mcp.state.redis_ledger import redact


def test_unset_the_store_is_embedded() -> None:
    settings = Settings.from_environment({})
    assert (settings.store_url, settings.store_url_alias) == (None, False)


@pytest.mark.parametrize(
    "url", ["redis://:pw-77@127.0.0.1:6379/0", "rediss://cache.example:6380/1", "sqlite:///var/lib/qwen/store.db"]
)
def test_a_redis_or_sqlite_url_is_taken_and_kept_secret(url: str) -> None:
    settings = Settings.from_environment({"QWEN_EDIT_STORE_URL": url})
    assert settings.store_url is not None
    assert settings.store_url.get_secret_value() == url
    assert "pw-77" not in repr(settings)


def test_the_old_ledger_url_still_works_and_says_it_is_deprecated() -> None:
    settings = Settings.from_environment({"QWEN_EDIT_LEDGER_URL": "redis://127.0.0.1:6379/0"})
    assert settings.store_url is not None
    assert (settings.store_url.get_secret_value(), settings.store_url_alias) == ("redis://127.0.0.1:6379/0", True)
    same = {"QWEN_EDIT_LEDGER_URL": "redis://h/0", "QWEN_EDIT_STORE_URL": "redis://h/0"}
    assert Settings.from_environment(same).store_url_alias is False


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"QWEN_EDIT_STORE_URL": "http://:pw-9@cache:6379"}, "must be a redis://"),
        ({"QWEN_EDIT_LEDGER_URL": "memcached://:pw-9@cache"}, "must be a redis://"),
        ({"QWEN_EDIT_STORE_URL": "sqlite://relative/store.db"}, "absolute path"),
        ({"QWEN_EDIT_STORE_URL": "redis://:pw-9@a/0", "QWEN_EDIT_LEDGER_URL": "redis://:pw-9@b/0"}, "both set"),
        ({"QWEN_EDIT_STORE_URL": "redis://:pw-9/x@127.0.0.1:6379/0"}, "percent-encode"),  # a / ends the host
        ({"QWEN_EDIT_STORE_URL": "redis://cache:pw-9/0"}, "cannot be read as a Redis URL"),
    ],
)
def test_an_unusable_store_url_is_refused_without_echoing_it(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says) as refused:
        Settings.from_environment(env)
    assert "pw-9" not in str(refused.value)


def test_a_redis_url_without_the_redis_package_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        return None

    monkeypatch.setattr("importlib.util.find_spec", missing)
    with pytest.raises(SettingsError, match=r"\[redis\]") as refused:
        Settings.from_environment({"QWEN_EDIT_STORE_URL": "redis://:pw-31@127.0.0.1:6379/0"})
    assert "pw-31" not in str(refused.value)


@pytest.mark.parametrize(
    "url", ["redis://:store-pw-4242@127.0.0.1:6379/0", "unix:///run/redis.sock?db=0&password=store-pw-4242"]
)
def test_the_store_password_is_masked_in_logs(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QWEN_EDIT_STORE_URL", url)
    args = parser().parse_args([])
    settings, http = settings_from_args(args)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        _configure_logging(args, settings, http)
        logging.getLogger("qwen_image_edit_mcp").warning("connecting to %s", url)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert "store-pw-4242" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("redis://:pw-9/x@127.0.0.1:6379/0", "pw-9/x"),
        ("rediss://user:a?b@cache/1", "a?b"),
        ("redis://:p%2Fw@cache:6379/0", "p/w"),
        ("unix:///run/redis.sock?db=0&password=pw-9", "pw-9"),
    ],
)
def test_a_password_is_found_and_masked_whatever_it_holds(url: str, secret: str) -> None:
    assert secret in url_secrets(url)
    assert secret not in redact(url)
    assert "***" in redact(url)
