"""WaveSpeedClient: submit, result, history, uploads and output downloads over one shared `httpx.AsyncClient`.

This is the one place where HTTP statuses, envelopes (`envelope.py`) and network failures become the typed errors
of `errors.py`. The key goes into the Authorization header of API requests only, never into the client's default
headers, so an output download from a CDN (or anywhere else) never carries it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from .. import __version__
from ..atomic import temp_beside
from ..errors import ConnectionFailedError, MissingApiKeyError, UnexpectedResponseError, WaveSpeedError, api_error
from ..models import EditRequest, Prediction
from .endpoints import BINARY_UPLOAD_PATH, HISTORY_PATH, PRESIGNED_UPLOAD_PATH, RESULT_PATH, SUBMIT_PATH
from .envelope import envelope_data, prediction_from, prediction_or_none
from .http_client import REQUEST_TIMEOUT, UPLOAD_TIMEOUT, timeouts


@dataclass(frozen=True)
class PredictionPage:
    """One page of the account's recent predictions (WaveSpeed keeps 7 days), newest first."""

    items: list[Prediction]
    page: int
    total: int


class _HistoryData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[Prediction] = []
    page: int | None = None
    total: int = 0


class _UploadStep(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str
    method: str = "PUT"
    headers: dict[str, str] | None = None


class _UploadData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    download_url: str
    upload: _UploadStep | None = None


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
        request_timeout: float = REQUEST_TIMEOUT,
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
            seconds=self._timeout if timeout is None else timeout,
        )
        if response.status_code == 504 and (passed_through := prediction_or_none(response)) is not None:
            # The gateway gave up on the blocking request but passed WaveSpeed's answer on: the job exists and has
            # an id, so the caller polls it like any other.
            return passed_through
        return prediction_from(response)

    async def get_result(self, prediction_id: str) -> Prediction:
        response = await self._send("GET", RESULT_PATH.format(id=quote(prediction_id, safe="")), seconds=self._timeout)
        return prediction_from(response)

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
        data = envelope_data(await self._send("POST", HISTORY_PATH, json=body, seconds=self._timeout))
        try:
            history = _HistoryData.model_validate(data)
        except (ValidationError, RecursionError):
            raise UnexpectedResponseError("WaveSpeed answered the history request without a usable list.") from None
        return PredictionPage(items=history.items, page=history.page or page, total=history.total)

    async def create_upload(self, *, filename: str, size: int, content_type: str) -> PresignedUpload:
        response = await self._send(
            "POST",
            PRESIGNED_UPLOAD_PATH,
            json={"filename": filename, "size": size, "content_type": content_type},
            seconds=self._timeout,
        )
        try:
            data = _UploadData.model_validate(envelope_data(response))
        except (ValidationError, RecursionError):
            data = None
        if data is None or data.upload is None:
            raise UnexpectedResponseError("WaveSpeed's upload answer had no upload URL or download_url.")
        if data.upload.method.upper() != "PUT":
            raise UnexpectedResponseError("WaveSpeed asked for an upload method this server does not know.")
        return PresignedUpload(data.download_url, data.upload.url, data.upload.headers or {})

    async def put_upload(self, upload: PresignedUpload, data: bytes) -> None:
        """PUT the bytes to storage with exactly the headers WaveSpeed returned, and never the API key."""
        try:
            response = await self._http.put(
                upload.put_url,
                content=data,
                headers=upload.headers,
                timeout=timeouts(UPLOAD_TIMEOUT),
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
                timeout=timeouts(UPLOAD_TIMEOUT),
            )
        except httpx.TransportError as exc:
            raise _connection_error(exc, where=f"WaveSpeed at {self.base_url}") from None
        try:
            return _UploadData.model_validate(envelope_data(response)).download_url
        except (ValidationError, RecursionError):
            raise UnexpectedResponseError("WaveSpeed's upload answer had no download_url.") from None

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
                            partial = await anyio.to_thread.run_sync(temp_beside, destination)
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

    async def _send(self, method: str, path: str, *, seconds: float, json: Any = None) -> httpx.Response:
        if self._api_key is None:
            raise MissingApiKeyError
        try:
            return await self._http.request(
                method,
                self.base_url + path,
                headers=self._headers(),
                json=json,
                timeout=timeouts(seconds),
            )
        except httpx.TransportError as exc:
            # `from None`: httpx exceptions hold the request, headers included; keep them out of any traceback.
            raise _connection_error(exc, where=f"WaveSpeed at {self.base_url}") from None


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
