"""`Upstream`: everything the server asks of the service that runs its edits, in neutral types.

`wavespeed/client.py` (`WaveSpeedClient`) is one adapter of it; a self-hosted backend is another. Nothing outside
the adapter and the composition root (`surface/server.py`) knows which one it has. An adapter raises the errors drawn
in `errors.py`: `ApiError` and its kinds when the service refused, `ConnectionFailedError` when it could not be
reached or stopped answering (saying whether the request left), `UnexpectedResponseError` when what came back was not
an answer, and `MissingApiKeyError` when it has no key to send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..models import Prediction
from .types import PredictionPage, RunRequest


class Upstream(Protocol):
    @property
    def base_url(self) -> str:
        """The service's address as configured, which may hold credentials: never shown (`display_url` is), but
        uploads are remembered under it, so an upload is reused only with the service that stored it."""
        ...

    @property
    def display_url(self) -> str:
        """The service's address as it may appear in a message or a log: any credentials in it masked."""
        ...

    @property
    def has_api_key(self) -> bool:
        """False when no call can be made: the caller is told what to configure before anything is checked."""
        ...

    @property
    def request_timeout(self) -> float:
        """How long one request may take (not a whole wait, which the call's wait_seconds bounds)."""
        ...

    async def submit(self, request: RunRequest, *, timeout: float | None = None) -> Prediction:
        """Start the run, once: never retried here. `timeout` bounds a sync run, which holds the request open."""
        ...

    async def get_result(self, prediction_id: str) -> Prediction:
        """The job as it is now; a read, so safe to retry."""
        ...

    async def list_predictions(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        model: str | None = None,
        status: str | None = None,
        created_after: str | None = None,
    ) -> PredictionPage:
        """The account's recent jobs, newest first, filtered by any of model id, status and an ISO-8601 start."""
        ...

    async def get_balance(self) -> object:
        """The balance answer's data (`{"balance": <USD>}`), for the caller to read; free."""
        ...

    async def get_price(self, model_id: str, inputs: Mapping[str, Any]) -> object:
        """The price answer's data (`{"price", "discounted_price"?, ...}`) for one run of these inputs; free."""
        ...

    async def upload(self, data: bytes, *, filename: str, content_type: str) -> str:
        """Store the bytes where the service can fetch them; the URL it fetches them from. Every call uploads:
        remembering what was uploaded is `media/uploads.py`'s."""
        ...

    async def download(self, url: str, *, max_bytes: int, seconds: float, allow_private: bool = False) -> bytes | None:
        """The bytes at a URL the service returned (an output), without credentials, within `seconds`; None when
        they pass `max_bytes`. Never from this machine or a private network unless `allow_private`."""
        ...

    async def list_models(self) -> list[object]:
        """The service's model catalog, each entry as the service describes it (its id, its request schema...)."""
        ...
