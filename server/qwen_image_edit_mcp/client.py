"""WaveSpeedClient: submit, result and download over one shared `httpx.AsyncClient`.

This is the one place where HTTP statuses, envelopes and network failures become the typed errors of `errors.py`.
The key goes into the Authorization header of API requests only, never into the client's default headers, so an
output download from a CDN (or anywhere else) never carries it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from . import __version__
from .errors import (
    ConnectionFailedError,
    MissingApiKeyError,
    UnexpectedResponseError,
    WaveSpeedError,
    api_error,
)
from .models import MODEL_ID, EditRequest, Prediction

SUBMIT_PATH = f"/api/v3/{MODEL_ID}"
RESULT_PATH = "/api/v3/predictions/{id}/result"


class WaveSpeedClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: SecretStr | None,
        base_url: str,
        request_timeout: float = 30.0,
    ) -> None:
        self._http = http
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self._timeout = request_timeout

    @property
    def has_api_key(self) -> bool:
        return self._api_key is not None

    async def submit(self, request: EditRequest, *, timeout: float | None = None) -> Prediction:
        """POST the edit once. `timeout` bounds a sync-mode request, which blocks until the job is done."""
        response = await self._send(
            "POST",
            SUBMIT_PATH,
            json=request.payload(),
            timeout=self._timeout if timeout is None else timeout,
        )
        return _prediction(response)

    async def get_result(self, prediction_id: str) -> Prediction:
        response = await self._send("GET", RESULT_PATH.format(id=quote(prediction_id, safe="")), timeout=self._timeout)
        return _prediction(response)

    async def download(self, url: str, *, max_bytes: int, timeout: float) -> bytes | None:
        """Fetch an output the API returned, streamed; None when it is larger than `max_bytes`. No credentials."""
        try:
            async with self._http.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise UnexpectedResponseError(f"the output URL answered HTTP {response.status_code}")
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    return None
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        return None
                return bytes(body)
        except httpx.TransportError as exc:
            raise _connection_error(exc, where="the output URL") from None

    async def _send(self, method: str, path: str, *, timeout: float, json: Any = None) -> httpx.Response:
        if self._api_key is None:
            raise MissingApiKeyError
        headers = {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "X-Client-Name": "qwen-image-edit-mcp",
            "X-Client-Version": __version__,
        }
        try:
            return await self._http.request(
                method, self.base_url + path, headers=headers, json=json, timeout=httpx.Timeout(timeout, connect=10.0)
            )
        except httpx.TransportError as exc:
            # `from None`: httpx exceptions hold the request, headers included; keep them out of any traceback.
            raise _connection_error(exc, where=f"WaveSpeed at {self.base_url}") from None


def _prediction(response: httpx.Response) -> Prediction:
    data = _envelope_data(response)
    try:
        return Prediction.model_validate(data)
    except ValidationError:
        raise UnexpectedResponseError(
            "WaveSpeed answered without a usable prediction (no id or malformed fields)."
        ) from None


def _envelope_data(response: httpx.Response) -> Any:
    """Unwrap {code, message, data}; raise the typed error for a refused request."""
    body = _json_or_none(response)
    if not response.is_success:
        raise api_error(
            response.status_code,
            _message_from(body) if body is not None else "",
            retry_after=_retry_after(response),
        )
    if not isinstance(body, dict):
        kind = response.headers.get("content-type", "unknown").split(";")[0]
        raise UnexpectedResponseError(
            f"WaveSpeed answered HTTP {response.status_code} with {kind} instead of its JSON API envelope "
            "(a proxy or gateway may be in the way). This is usually temporary."
        )
    envelope: dict[str, Any] = body  # type: ignore[assignment]
    code = envelope.get("code", 200)
    if isinstance(code, int) and code != 200:
        raise api_error(code, _message_from(envelope), retry_after=_retry_after(response))
    if "data" not in envelope:
        raise UnexpectedResponseError("WaveSpeed answered with an envelope that has no data.")
    return envelope["data"]


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _message_from(body: Any) -> str:
    """WaveSpeed's own words, wherever this generation of its API put them (message, error, detail)."""
    if not isinstance(body, dict):
        return ""
    fields: dict[str, Any] = body  # type: ignore[assignment]
    for key in ("message", "error", "detail"):
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:500]
    return ""


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _connection_error(exc: httpx.TransportError, *, where: str) -> WaveSpeedError:
    # Only a failure to connect proves the request never left; after that its outcome is unknown.
    sent = not isinstance(
        exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.UnsupportedProtocol
    )
    if isinstance(exc, httpx.TimeoutException):
        what = "timed out"
    elif isinstance(exc, httpx.ConnectError):
        what = "could not be reached (connection failed)"
    else:
        what = f"dropped the connection ({type(exc).__name__})"
    return ConnectionFailedError(f"{where} {what}.", request_sent=sent)
