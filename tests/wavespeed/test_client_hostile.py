"""Hostile or broken answers from upstream: each becomes a typed error the use cases know how to survive."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from fakes import API_KEY
from qwen_image_edit_mcp.errors import ConnectionFailedError, UnexpectedResponseError
from qwen_image_edit_mcp.upstream.types import RunRequest
from qwen_image_edit_mcp.wavespeed.client import WaveSpeedClient

pytestmark = pytest.mark.anyio
Handler = Callable[[httpx.Request], httpx.Response]
DEEP_JSON = b'{"code": 200, "data": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"


def client_for(handler: Handler, base_url: str = "https://api.test") -> WaveSpeedClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WaveSpeedClient(http, api_key=SecretStr(API_KEY), base_url=base_url)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return buffer.getvalue()


def raw(body: bytes, headers: dict[str, str]) -> Handler:
    """An answer whose body is decoded only when read, as it is off the network."""
    return lambda request: httpx.Response(200, stream=httpx.ByteStream(body), headers=headers)


GZIP = {"Content-Encoding": "gzip"}


@pytest.mark.parametrize(
    "handler",
    [
        raw(b"\x1f\x8b not gzip at all", GZIP),
        raw(DEEP_JSON, {"Content-Type": "application/json"}),
        raw(gzip.compress(b'{"code": 200, "data": {"id": "abc123"}}')[:-12], GZIP),
    ],
    ids=["broken-gzip", "json-200000-deep", "truncated-gzip"],
)
async def test_an_unreadable_answer_is_a_transient_unexpected_response(handler: Handler) -> None:
    client = client_for(handler)
    with pytest.raises(UnexpectedResponseError) as caught:
        await client.get_result("abc123")
    assert caught.value.retryable
    with pytest.raises(UnexpectedResponseError, match=r"(could not be read|envelope)"):
        await client.submit(
            RunRequest("wavespeed-ai/qwen-image/edit", {"prompt": "p", "images": ["https://e.test/a.png"]})
        )
    with pytest.raises(UnexpectedResponseError, match=r"(could not be read|envelope)"):
        await client.list_models()


async def test_credentials_in_the_api_address_never_reach_an_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = client_for(refuse, base_url="https://deploy:hunter2@api.test")
    with pytest.raises(ConnectionFailedError) as caught:
        await client.get_result("abc123")
    assert "hunter2" not in caught.value.message
    assert "***@api.test" in caught.value.message


def redirecting(location: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/final.png":
            return httpx.Response(200, content=png())
        return httpx.Response(302, headers={"Location": location})

    return handler


async def test_a_download_follows_a_few_redirects_to_a_public_host() -> None:
    client = client_for(redirecting("https://cdn2.example.com/final.png"))
    assert await client.download("https://cdn.example.com/o.png", max_bytes=10**6, seconds=5) == png()


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("https://cdn.example.com/again", "redirected more than 5 times"),
        ("http://127.0.0.1:8080/final.png", "local or private address"),
        ("http://2130706433/final.png", "local or private address"),
        ("http://169.254.169.254/latest/meta-data", "local or private address"),
        ("file:///etc/passwd", "not an http"),
    ],
)
async def test_a_download_refuses_redirect_loops_and_private_targets(location: str, said: str) -> None:
    client = client_for(redirecting(location))
    with pytest.raises(UnexpectedResponseError, match=said):
        await client.download("https://cdn.example.com/o.png", max_bytes=10**6, seconds=5)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/final.png", "http://169.254.169.254/latest/meta-data", "http://[::1]/final.png"]
)
async def test_a_download_refuses_a_private_first_url_without_a_request(url: str) -> None:
    asked: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, content=png())

    with pytest.raises(UnexpectedResponseError, match="local or private address, which this server will not fetch"):
        await client_for(handler).download(url, max_bytes=10**6, seconds=5)
    assert asked == []


async def test_a_local_emulator_may_redirect_to_loopback() -> None:
    client = client_for(redirecting("http://127.0.0.1:8080/final.png"))
    data = await client.download("http://127.0.0.1:8080/o.png", max_bytes=10**6, seconds=5, allow_private=True)
    assert data == png()


async def test_a_body_with_a_broken_content_encoding_is_an_unexpected_response() -> None:
    client = client_for(raw(b"nope", GZIP))
    with pytest.raises(UnexpectedResponseError, match="could not be read"):
        await client.download("https://cdn.example.com/o.png", max_bytes=10**6, seconds=5)
