"""The bearer check and the exposure rules, on the ASGI layer itself (no server process needed)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from qwen_image_edit_mcp.config import HttpSettings, SettingsError
from qwen_image_edit_mcp.surface.http import BearerAuth, check_exposure
from qwen_image_edit_mcp.surface.tokens import token_weakness

pytestmark = pytest.mark.anyio
TOKEN = "f3b9c1e07a5d42d8b6e1"


async def inner(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("in")(scope, receive, send)


async def status_with(authorization: str | None) -> int:
    app = BearerAuth(inner, SecretStr(TOKEN))
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        return (await client.get("/mcp", headers=headers)).status_code


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
async def test_the_bearer_scheme_is_case_insensitive(scheme: str) -> None:
    assert await status_with(f"{scheme} {TOKEN}") == 200


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", f"Basic {TOKEN}", f"Bearer {TOKEN.upper()}", f"Bearer {TOKEN}x", TOKEN]
)
async def test_anything_else_is_refused(header: str | None) -> None:
    assert await status_with(header) == 401


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("a" * 16, "distinct"),
        ("abababababababab", "distinct"),
        ("abcdefghijklmnopqrst", "runs"),
        ("0123456789abcdef", "runs"),
        ("zyxwvutsrqponmlk", "runs"),  # backwards too
        ("qwertyuiopasdfgh", "neighbouring keys"),
        ("abcdefghabcdefgh", "repeated block"),
        ("Passw0rd!Passw0rd!", "repeated block"),
        ("password12345678", "common password word"),
        ("mysecretpassword", "common password word"),
        ("P@ssw0rd2024!abc", "common password word"),
    ],
)
def test_an_obvious_token_is_refused_on_a_public_address_without_being_quoted(token: str, why: str) -> None:
    assert why in (token_weakness(token) or "")
    with pytest.raises(SettingsError, match="weak token") as caught:
        check_exposure(HttpSettings(host="203.0.113.5", auth_token=SecretStr(token)))
    assert token not in str(caught.value)


@pytest.mark.parametrize("make", [lambda: secrets.token_hex(16), lambda: secrets.token_urlsafe(24)])
def test_random_tokens_pass_every_check(make: Callable[[], str]) -> None:
    refused = [token for token in (make() for _ in range(2000)) if token_weakness(token) is not None]
    assert refused == []


def test_a_random_token_is_accepted_on_a_public_address_and_any_token_on_loopback() -> None:
    check_exposure(HttpSettings(host="203.0.113.5", auth_token=SecretStr(TOKEN)))
    check_exposure(HttpSettings(host="127.0.0.1", auth_token=SecretStr("a" * 16)))
