"""WaveSpeedClient: submit, result and download over one shared `httpx.AsyncClient`.

This is the one place where HTTP statuses, envelopes and network failures become the typed errors of `errors.py`.
The key goes into the Authorization header of API requests only, never into the client's default headers, so an
output download from a CDN (or anywhere else) never carries it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
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
HISTORY_PATH = "/api/v3/predictions"
PRESIGNED_UPLOAD_PATH = "/api/v3/media/uploads"
BINARY_UPLOAD_PATH = "/api/v3/media/upload/binary"
UPLOAD_TIMEOUT = 120.0  # WaveSpeed's own SDK allows uploads this long


@dataclass(frozen=True)
class PredictionPage:
    """One page of the account's recent predictions (WaveSpeed keeps 7 days), newest first."""

    items: list[Prediction]
    page: int
    total: int


@dataclass(frozen=True)
class PresignedUpload:
    """Step one of WaveSpeed's direct upload: where to PUT the bytes, with which headers, and the resulting URL."""

    download_url: str
    put_url: str
    headers: dict[str, str]


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
        if response.status_code == 504 and (passed_through := _prediction_or_none(response)) is not None:
            # The gateway gave up on the blocking request but passed WaveSpeed's answer on: the job exists and has
            # an id, so the caller polls it like any other.
            return passed_through
        return _prediction(response)

    async def get_result(self, prediction_id: str) -> Prediction:
        response = await self._send("GET", RESULT_PATH.format(id=quote(prediction_id, safe="")), timeout=self._timeout)
        return _prediction(response)

    async def list_predictions(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        model: str | None = None,
        status: str | None = None,
        created_after: str | None = None,
    ) -> PredictionPage:
        """POST /api/v3/predictions: the history, filtered; a read, so safe to retry."""
        body: dict[str, Any] = {"page": page, "page_size": page_size}
        body.update({k: v for k, v in (("model", model), ("status", status), ("created_after", created_after)) if v})
        data = _envelope_data(await self._send("POST", HISTORY_PATH, json=body, timeout=self._timeout))
        try:
            fields: dict[str, Any] = data if isinstance(data, dict) else {}  # type: ignore[assignment]
            raw_items: list[Any] = fields.get("items") or []
            items = [Prediction.model_validate(item) for item in raw_items]
            return PredictionPage(items=items, page=int(fields.get("page", page)), total=int(fields.get("total", 0)))
        except (ValidationError, TypeError, ValueError):
            raise UnexpectedResponseError("WaveSpeed answered the history request without a usable list.") from None

    async def create_upload(self, *, filename: str, size: int, content_type: str) -> PresignedUpload:
        response = await self._send(
            "POST",
            PRESIGNED_UPLOAD_PATH,
            json={"filename": filename, "size": size, "content_type": content_type},
            timeout=self._timeout,
        )
        data = _envelope_data(response)
        try:
            upload = data["upload"]
            if str(upload.get("method", "PUT")).upper() != "PUT":
                raise UnexpectedResponseError("WaveSpeed asked for an upload method this server does not know.")
            return PresignedUpload(
                download_url=str(data["download_url"]),
                put_url=str(upload["url"]),
                headers={str(k): str(v) for k, v in dict(upload.get("headers") or {}).items()},
            )
        except (KeyError, TypeError, AttributeError):
            raise UnexpectedResponseError("WaveSpeed's upload answer had no upload URL or download_url.") from None

    async def put_upload(self, upload: PresignedUpload, data: bytes) -> None:
        """PUT the bytes to storage with exactly the headers WaveSpeed returned, and never the API key."""
        try:
            response = await self._http.put(
                upload.put_url,
                content=data,
                headers=upload.headers,
                timeout=httpx.Timeout(UPLOAD_TIMEOUT, connect=10.0),
            )
        except httpx.TransportError as exc:
            raise _connection_error(exc, where="WaveSpeed's storage") from None
        if not response.is_success:
            raise api_error(response.status_code, "the storage refused the upload")

    async def upload_binary(self, *, filename: str, content_type: str, data: bytes) -> str:
        """The documented multipart upload; returns the download_url."""
        if self._api_key is None:
            raise MissingApiKeyError
        try:
            response = await self._http.post(
                self.base_url + BINARY_UPLOAD_PATH,
                headers=self._headers(),
                files={"file": (filename, data, content_type)},
                timeout=httpx.Timeout(UPLOAD_TIMEOUT, connect=10.0),
            )
        except httpx.TransportError as exc:
            raise _connection_error(exc, where=f"WaveSpeed at {self.base_url}") from None
        body = _envelope_data(response)
        fields: dict[str, Any] = body if isinstance(body, dict) else {}  # type: ignore[assignment]
        url = fields.get("download_url")
        if not isinstance(url, str) or not url:
            raise UnexpectedResponseError("WaveSpeed's upload answer had no download_url.")
        return url

    async def download(
        self, url: str, *, max_bytes: int, timeout: float, destination: Path | None = None
    ) -> bytes | None:
        """Fetch an output the API returned: streamed, capped, bounded in time, sent without credentials.

        With a `destination`, the bytes are also streamed to a temporary file beside it that is renamed into place
        only once complete, so a reader never sees half an image. None when the output is larger than `max_bytes`.
        """
        partial: Path | None = None
        try:
            with anyio.fail_after(timeout):
                async with self._http.stream("GET", url, follow_redirects=True) as response:
                    if response.status_code != 200:
                        raise UnexpectedResponseError(f"the output URL answered HTTP {response.status_code}")
                    declared = response.headers.get("content-length")
                    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                        return None
                    body = bytearray()
                    sink = None
                    if destination is not None:
                        # Shielded: once the temporary file exists, this function must know its name to remove it.
                        with anyio.CancelScope(shield=True):
                            partial = await anyio.to_thread.run_sync(_temp_beside, destination)
                        sink = await anyio.open_file(_created(partial), "wb")
                    try:
                        async for chunk in response.aiter_bytes():
                            body.extend(chunk)
                            if len(body) > max_bytes:
                                return None
                            if sink is not None:
                                await sink.write(chunk)
                    finally:
                        if sink is not None:
                            with anyio.CancelScope(shield=True):  # a cancelled download still closes its file
                                await sink.aclose()
            if destination is not None and partial is not None:
                await anyio.to_thread.run_sync(os.replace, partial, destination)
                partial = None
            return bytes(body)
        except TimeoutError:
            raise ConnectionFailedError(
                f"the output URL did not finish downloading within {timeout:g} s.", request_sent=True
            ) from None
        except httpx.TransportError as exc:
            raise _connection_error(exc, where="the output URL") from None
        finally:
            if partial is not None:
                # Shielded: this runs on cancellation too, and a half-written image must not be left behind.
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(lambda: partial.unlink(missing_ok=True))

    def _headers(self) -> dict[str, str]:
        assert self._api_key is not None
        return {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "X-Client-Name": "qwen-image-edit-mcp",
            "X-Client-Version": __version__,
        }

    async def _send(self, method: str, path: str, *, timeout: float, json: Any = None) -> httpx.Response:
        if self._api_key is None:
            raise MissingApiKeyError
        try:
            return await self._http.request(
                method,
                self.base_url + path,
                headers=self._headers(),
                json=json,
                timeout=httpx.Timeout(timeout, connect=10.0),
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


def _prediction_or_none(response: httpx.Response) -> Prediction | None:
    body = _json_or_none(response)
    data: Any = body.get("data") if isinstance(body, dict) else None  # type: ignore[union-attr]
    if not isinstance(data, dict) or not data.get("id"):  # type: ignore[union-attr]
        return None
    try:
        return Prediction.model_validate(data)
    except ValidationError:
        return None


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


def _created(path: Path | None) -> Path:
    # A shielded scope is never cancelled itself, so the path was assigned; this says so to the type checker.
    assert path is not None
    return path


def _temp_beside(destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=destination.parent, prefix=".partial-", suffix=destination.suffix)
    os.close(fd)
    return Path(name)
