from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from pydantic import SecretStr

from fakes import API_KEY
from qwen_image_edit_mcp.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConnectionFailedError,
    MissingApiKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    WaveSpeedError,
)
from qwen_image_edit_mcp.upstream.protocol import Upstream
from qwen_image_edit_mcp.upstream.types import RunRequest
from qwen_image_edit_mcp.wavespeed import client as client_module
from qwen_image_edit_mcp.wavespeed.client import WaveSpeedClient

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx.Request], httpx.Response]
INPUTS = {"prompt": "make the sky purple", "images": ["https://example.com/a.png"], "seed": -1, "output_format": "jpeg"}
REQUEST = RunRequest("wavespeed-ai/qwen-image/edit", INPUTS)


def envelope(data: object, code: int = 200, message: str = "success") -> dict[str, object]:
    return {"code": code, "message": message, "data": data}


def client_for(handler: Handler, key: str | None = API_KEY) -> WaveSpeedClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WaveSpeedClient(http, api_key=SecretStr(key) if key else None, base_url="https://api.test/")


async def test_submit_posts_the_documented_body_with_bearer_auth_and_parses_the_prediction() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope({"id": "e683", "status": "created", "outputs": []}))

    prediction = await client_for(handler).submit(REQUEST)
    assert prediction.id == "e683"
    assert prediction.status == "created"
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://api.test/api/v3/wavespeed-ai/qwen-image/edit"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.read() == httpx.Request("POST", "/", json=INPUTS).read()


async def test_result_reads_the_prediction_by_id() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v3/predictions/abc123/result"
        return httpx.Response(
            200, json=envelope({"id": "abc123", "status": "completed", "outputs": ["https://cdn.test/o.jpeg"]})
        )

    prediction = await client_for(handler).get_result("abc123")
    assert prediction.succeeded
    assert prediction.outputs == ["https://cdn.test/o.jpeg"]


@pytest.mark.parametrize(
    ("status", "error_type", "advice"),
    [
        (400, BadRequestError, "invalid"),
        (401, AuthenticationError, "topped up"),
        (403, PermissionDeniedError, "suspended"),
        (404, NotFoundError, "7 days"),
        (429, RateLimitError, "rate-limiting"),
        (500, ServerError, "temporary"),
        (502, ServerError, "temporary"),
        (503, ServerError, "temporary"),
        (418, ApiError, "418"),
    ],
)
async def test_each_refusal_becomes_its_typed_error_with_advice(
    status: int, error_type: type[ApiError], advice: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"code": status, "message": "upstream words"})

    with pytest.raises(error_type) as caught:
        await client_for(handler).submit(REQUEST)
    assert caught.value.status_code == status
    assert advice in caught.value.message
    assert "upstream words" in caught.value.message
    assert API_KEY not in str(caught.value)


async def test_an_envelope_code_other_than_200_is_an_error_even_under_http_200() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": 401, "message": "invalid authentication", "data": None})

    with pytest.raises(AuthenticationError, match="invalid authentication"):
        await client_for(handler).get_result("abc")


async def test_a_gateway_html_page_is_a_retryable_server_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, html="<html><body>502 Bad Gateway</body></html>")

    with pytest.raises(ServerError) as caught:
        await client_for(handler).get_result("abc")
    assert caught.value.retryable


async def test_html_under_http_200_is_an_unexpected_response_not_a_crash() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, html="<html>captive portal</html>")

    with pytest.raises(UnexpectedResponseError, match="text/html"):
        await client_for(handler).get_result("abc")


async def test_a_prediction_without_an_id_is_an_unexpected_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=envelope({"status": "created"}))

    with pytest.raises(UnexpectedResponseError):
        await client_for(handler).submit(REQUEST)


@pytest.mark.parametrize(("header", "expected"), [("3", 3.0), ("0.5", 0.5), ("soon", None)])
async def test_rate_limit_carries_retry_after(header: str, expected: float | None) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": header}, json={"code": 429, "message": "slow down"})

    with pytest.raises(RateLimitError) as caught:
        await client_for(handler).submit(REQUEST)
    assert caught.value.retry_after == expected


async def test_no_key_raises_before_any_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be sent without a key")

    with pytest.raises(MissingApiKeyError, match="WAVESPEED_API_KEY"):
        await client_for(handler, key=None).submit(REQUEST)


@pytest.mark.parametrize(
    ("exception", "sent"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow"), False),
        (httpx.ReadTimeout("slow"), True),
        (httpx.RemoteProtocolError("reset"), True),
        (httpx.ReadError("reset"), True),
    ],
)
async def test_network_failures_say_whether_the_request_may_have_arrived(
    exception: httpx.TransportError, sent: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    with pytest.raises(ConnectionFailedError) as caught:
        await client_for(handler).submit(REQUEST)
    assert caught.value.request_sent is sent
    assert caught.value.retryable
    # Raised `from None`: the httpx exception (which holds the request and its headers) is not chained.
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


async def test_downloads_never_carry_the_api_key_and_stop_at_the_size_cap() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers
        return httpx.Response(200, content=b"x" * 1000)

    client = client_for(handler)
    assert await client.download("https://cdn.test/o.jpeg", max_bytes=1000, seconds=5) == b"x" * 1000
    assert await client.download("https://cdn.test/o.jpeg", max_bytes=999, seconds=5) is None


async def test_a_failed_download_is_a_waveSpeed_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404)

    with pytest.raises(WaveSpeedError, match="404"):
        await client_for(handler).download("https://cdn.test/gone.jpeg", max_bytes=10, seconds=5)


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("reset")],
)
async def test_no_raised_error_carries_the_request_or_its_authorization_header(failure: httpx.TransportError) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        failure.request = request  # as httpx does: the exception holds the request, headers and all
        raise failure

    client = client_for(handler)
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: client.submit(REQUEST),
        lambda: client.get_result("abc"),
        lambda: client.list_predictions(),
    ]
    for call in calls:
        with pytest.raises(WaveSpeedError) as caught:
            await call()
        rendered = "".join(traceback.format_exception(caught.value))
        assert API_KEY not in rendered
        assert "Authorization" not in rendered
        assert "request" not in vars(caught.value)


def test_the_client_is_an_upstream() -> None:
    upstream: Upstream = client_for(lambda request: httpx.Response(500))  # pyright checks the protocol here
    assert upstream.base_url == "https://api.test"
    assert upstream.has_api_key


async def test_list_models_reads_the_catalog_with_bearer_auth() -> None:
    seen: list[httpx.Request] = []
    catalog: list[object] = [
        {"model_id": "wavespeed-ai/qwen-image/edit", "api_schema": {}},
        {"model_id": "other/model"},
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope(catalog))

    assert await client_for(handler).list_models() == catalog
    (request,) = seen
    assert (request.method, str(request.url)) == ("GET", "https://api.test/api/v3/models")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize("data", [{"items": []}, "models", 3])
async def test_a_catalog_that_is_not_a_list_is_an_unexpected_response(data: object) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=envelope(data))

    with pytest.raises(UnexpectedResponseError, match="list of models"):
        await client_for(handler).list_models()


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "counted"])
async def test_a_catalog_over_the_size_cap_is_refused_unread(monkeypatch: pytest.MonkeyPatch, declared: bool) -> None:
    monkeypatch.setattr(client_module, "MAX_CATALOG_BYTES", 1000)
    body = b'{"code": 200, "data": [' + b'"x", ' * 400 + b'"x"]}'
    chunks = [body[i : i + 100] for i in range(0, len(body), 100)]

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if declared:
            return httpx.Response(200, content=body, headers=headers)
        return httpx.Response(200, stream=Chunked(chunks), headers=headers)  # no Content-Length: counted as read

    with pytest.raises(UnexpectedResponseError, match="larger than"):
        await client_for(handler).list_models()


async def test_a_refused_key_on_the_catalog_is_the_authentication_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"code": 401, "message": "invalid key"})

    with pytest.raises(AuthenticationError, match="invalid key") as caught:
        await client_for(handler).list_models()
    assert caught.value.status_code == 401


async def test_the_catalog_is_not_asked_for_without_a_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be sent without a key")

    with pytest.raises(MissingApiKeyError):
        await client_for(handler, key=None).list_models()


class Chunked(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
