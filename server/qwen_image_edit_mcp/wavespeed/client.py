"""WaveSpeedClient: submit, result, history, uploads and output downloads over one shared `httpx.AsyncClient`.

This is the one place where HTTP statuses, envelopes (`envelope.py`) and network failures become the typed errors
of `errors.py`. The key goes into the Authorization header of API requests only, never into the client's default
headers, so an output download from a CDN (or anywhere else) never carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from .. import __version__
from ..addresses import redact_url
from ..errors import ConnectionFailedError, MissingApiKeyError, UnexpectedResponseError, WaveSpeedError, api_error
from ..models import EditRequest, Prediction
from .endpoints import (
    BALANCE_PATH,
    BINARY_UPLOAD_PATH,
    HISTORY_PATH,
    PRESIGNED_UPLOAD_PATH,
    PRICE_PATH,
    RESULT_PATH,
    submit_path,
)
from .envelope import envelope_data, prediction_from, prediction_or_none
from .http_client import MAX_REDIRECTS, REQUEST_TIMEOUT, UPLOAD_TIMEOUT, HttpClientOnDemand, timeouts
from .output_fetch import bounded_body, fetchable, redirect_target


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
        http: httpx.AsyncClient | HttpClientOnDemand,
        *,
        api_key: SecretStr | None,
        base_url: str,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self._pool = http if isinstance(http, HttpClientOnDemand) else HttpClientOnDemand.of(http)
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self._timeout = request_timeout

    @property
    def request_timeout(self) -> float:
        return self._timeout

    @property
    def display_url(self) -> str:
        """The API's address as it may appear in a message or a log: any credentials in it are masked."""
        return redact_url(self.base_url)

    @property
    def has_api_key(self) -> bool:
        return self._api_key is not None

    async def submit(self, request: EditRequest, *, timeout: float | None = None) -> Prediction:
        """POST the edit once. `timeout` bounds a sync-mode request, which blocks until the job is done."""
        response = await self._send(
            "POST",
            submit_path(request.variant.model_id),
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

    async def get_balance(self) -> object:
        """GET /api/v3/balance: the envelope's `data` (`{"balance": <USD>}`), for the caller to read; free."""
        return envelope_data(await self._send("GET", BALANCE_PATH, seconds=self._timeout))

    async def get_price(self, model_id: str, inputs: Mapping[str, Any]) -> object:
        """POST /api/v3/model/price: the envelope's `data` (`{"price", "discounted_price"?, ...}`) for one run."""
        body = {"model_id": model_id, "inputs": dict(inputs)}
        return envelope_data(await self._send("POST", PRICE_PATH, json=body, seconds=self._timeout))

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
            response = await (await self._pool.client()).put(
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
            response = await (await self._pool.client()).post(
                self.base_url + BINARY_UPLOAD_PATH,
                headers=self._headers(),
                files={"file": (filename, data, content_type)},
                timeout=timeouts(UPLOAD_TIMEOUT),
            )
        except httpx.TransportError as exc:
            raise _connection_error(exc, where=f"WaveSpeed at {self.display_url}") from None
        try:
            return _UploadData.model_validate(envelope_data(response)).download_url
        except (ValidationError, RecursionError):
            raise UnexpectedResponseError("WaveSpeed's upload answer had no download_url.") from None

    async def download(self, url: str, *, max_bytes: int, seconds: float, allow_private: bool = False) -> bytes | None:
        """Fetch an output the API returned: capped, bounded in time, sent without credentials. None when it is
        larger than `max_bytes`. Redirects are followed by hand, a few at most, and never to this machine or a private
        network (unless `allow_private`, for a local emulator): a CDN may redirect, nothing else has reason to. The
        first URL is held to the same rule: an answer pointing at this machine's services is not WaveSpeed's CDN."""
        try:
            url = fetchable(httpx.URL(url), allow_private=allow_private, what="points at")
        except httpx.InvalidURL:
            raise UnexpectedResponseError("the output URL is not a valid address") from None
        try:
            with anyio.fail_after(seconds):
                for _ in range(MAX_REDIRECTS + 1):
                    async with (await self._pool.client()).stream("GET", url) as response:
                        if not response.is_redirect:
                            return await bounded_body(response, max_bytes)
                        url = redirect_target(response, allow_private=allow_private)
                raise UnexpectedResponseError(f"the output URL redirected more than {MAX_REDIRECTS} times")
        except TimeoutError:
            raise ConnectionFailedError(
                f"the output URL did not finish downloading within {seconds:g} s.", request_sent=True
            ) from None
        except httpx.TransportError as exc:
            raise _connection_error(exc, where="the output URL") from None
        except httpx.RequestError as exc:  # a body that will not decode (a broken Content-Encoding), a bad URL
            raise UnexpectedResponseError(f"the output URL's answer could not be read ({type(exc).__name__})") from None

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
            return await (await self._pool.client()).request(
                method,
                self.base_url + path,
                headers=self._headers(),
                json=json,
                timeout=timeouts(seconds),
            )
        except httpx.TransportError as exc:
            # `from None`: httpx exceptions hold the request, headers included; keep them out of any traceback.
            raise _connection_error(exc, where=f"WaveSpeed at {self.display_url}") from None
        except httpx.RequestError as exc:  # an answer that arrived but cannot be read (e.g. a broken gzip body)
            raise UnexpectedResponseError(
                f"WaveSpeed's answer could not be read ({type(exc).__name__}); this is usually temporary."
            ) from None


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
