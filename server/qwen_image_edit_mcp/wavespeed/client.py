"""WaveSpeedClient: the `Upstream` (upstream/protocol.py) that speaks to WaveSpeed, over one shared pool.

This is the one place where HTTP statuses, envelopes (`envelope.py`) and network failures become the typed errors
of `errors.py`: API requests go through `api.py` (the key in their Authorization header only), uploads through
`storage.py`, output downloads through `output_fetch.py`'s rules, sent without credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import quote

import anyio
import anyio.to_thread
import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from ..errors import ConnectionFailedError, UnexpectedResponseError
from ..models import Prediction
from ..upstream.types import PredictionPage, RunRequest
from . import storage
from .api import WaveSpeedApi, connection_error
from .endpoints import BALANCE_PATH, HISTORY_PATH, MODELS_PATH, PRICE_PATH, RESULT_PATH, submit_path
from .envelope import envelope_data, prediction_from, prediction_or_none
from .http_client import CATALOG_TIMEOUT, MAX_CATALOG_BYTES, MAX_REDIRECTS, REQUEST_TIMEOUT, HttpClientOnDemand
from .output_fetch import bounded_body, fetchable, redirect_target


class _HistoryData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[Prediction] = []
    page: int | None = None
    total: int = 0


class WaveSpeedClient:
    def __init__(
        self,
        http: httpx.AsyncClient | HttpClientOnDemand,
        *,
        api_key: SecretStr | None,
        base_url: str,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        pool = http if isinstance(http, HttpClientOnDemand) else HttpClientOnDemand.of(http)
        self._api = WaveSpeedApi(pool, api_key=api_key, base_url=base_url)
        self._timeout = request_timeout

    @property
    def base_url(self) -> str:
        return self._api.base_url

    @property
    def request_timeout(self) -> float:
        return self._timeout

    @property
    def display_url(self) -> str:
        """The API's address as it may appear in a message or a log: any credentials in it are masked."""
        return self._api.display_url

    @property
    def has_api_key(self) -> bool:
        return self._api.has_api_key

    async def submit(self, request: RunRequest, *, timeout: float | None = None) -> Prediction:
        """POST the run once. `timeout` bounds a sync-mode request, which blocks until the job is done."""
        response = await self._api.send(
            "POST",
            submit_path(request.model_id),
            json=dict(request.inputs),
            seconds=self._timeout if timeout is None else timeout,
        )
        if response.status_code == 504 and (passed_through := prediction_or_none(response)) is not None:
            # The gateway gave up on the blocking request but passed WaveSpeed's answer on: the job exists and has
            # an id, so the caller polls it like any other.
            return passed_through
        return prediction_from(response)

    async def get_result(self, prediction_id: str) -> Prediction:
        path = RESULT_PATH.format(id=quote(prediction_id, safe=""))
        return prediction_from(await self._api.send("GET", path, seconds=self._timeout))

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
        data = envelope_data(await self._api.send("POST", HISTORY_PATH, json=body, seconds=self._timeout))
        try:
            history = _HistoryData.model_validate(data)
        except (ValidationError, RecursionError):
            raise UnexpectedResponseError("WaveSpeed answered the history request without a usable list.") from None
        return PredictionPage(items=history.items, page=history.page or page, total=history.total)

    async def get_balance(self) -> object:
        """GET /api/v3/balance: the envelope's `data` (`{"balance": <USD>}`), for the caller to read; free."""
        return envelope_data(await self._api.send("GET", BALANCE_PATH, seconds=self._timeout))

    async def get_price(self, model_id: str, inputs: Mapping[str, Any]) -> object:
        """POST /api/v3/model/price: the envelope's `data` (`{"price", "discounted_price"?, ...}`) for one run."""
        body = {"model_id": model_id, "inputs": dict(inputs)}
        return envelope_data(await self._api.send("POST", PRICE_PATH, json=body, seconds=self._timeout))

    async def list_models(self) -> list[object]:
        """GET /api/v3/models: the envelope's `data`, a list with one entry per model (its id, request schema...).
        The live catalog is several MB: its body is capped, and parsed in a worker thread, off the event loop."""
        response = await self._api.send_capped("GET", MODELS_PATH, max_bytes=MAX_CATALOG_BYTES, seconds=CATALOG_TIMEOUT)
        data = await anyio.to_thread.run_sync(envelope_data, response)
        if not isinstance(data, list):
            raise UnexpectedResponseError("WaveSpeed answered the model catalog request without a list of models.")
        return cast("list[object]", data)

    async def upload(self, data: bytes, *, filename: str, content_type: str) -> str:
        """Into WaveSpeed's media storage (storage.py): the download_url WaveSpeed fetches the bytes from."""
        return await storage.upload(
            self._api, data, filename=filename, content_type=content_type, seconds=self._timeout
        )

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
                    async with (await self._api.pool.client()).stream("GET", url) as response:
                        if not response.is_redirect:
                            return await bounded_body(response, max_bytes)
                        url = redirect_target(response, allow_private=allow_private)
                raise UnexpectedResponseError(f"the output URL redirected more than {MAX_REDIRECTS} times")
        except TimeoutError:
            raise ConnectionFailedError(
                f"the output URL did not finish downloading within {seconds:g} s.", request_sent=True
            ) from None
        except httpx.TransportError as exc:
            raise connection_error(exc, where="the output URL") from None
        except httpx.RequestError as exc:  # a body that will not decode (a broken Content-Encoding), a bad URL
            raise UnexpectedResponseError(f"the output URL's answer could not be read ({type(exc).__name__})") from None
