"""WaveSpeed's answer envelope, `{code, message, data}`, and the typed error for every way an answer goes wrong.

Each API answer is read exactly once, here: a refused request becomes the matching `ApiError` (by HTTP status, or by
an envelope `code` other than 200 inside an HTTP 200), and anything that is not the envelope at all (a gateway's HTML
page, a body that will not decode) becomes `UnexpectedResponseError`, which callers treat as transient.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import UnexpectedResponseError, api_error
from ..models import Prediction


class Envelope(BaseModel):
    """The wrapper around every API answer; older pages of the API put the reason in `error` or `detail`."""

    model_config = ConfigDict(extra="ignore")

    code: int = 200
    # Typed loosely: only a string counts as a reason, and a field of another type must not sink the whole answer.
    message: object = None
    error: object = None
    detail: object = None
    data: Any = None

    @property
    def reason(self) -> str:
        """WaveSpeed's own words, wherever this generation of its API put them."""
        for text in (self.message, self.error, self.detail):
            if isinstance(text, str) and text.strip():
                return text.strip()[:500]
        return ""


def parse_envelope(response: httpx.Response) -> Envelope | None:
    """The envelope, or None when the body is not one (not JSON, not an object, or fields of the wrong types)."""
    try:
        return Envelope.model_validate(response.json())
    except (json.JSONDecodeError, UnicodeDecodeError, ValidationError, RecursionError, ValueError):
        return None


def envelope_data(response: httpx.Response) -> Any:
    """Unwrap `data`; raise the typed error for a refused request or an answer that is not an envelope."""
    envelope = parse_envelope(response)
    if not response.is_success:
        reason = envelope.reason if envelope is not None else ""
        raise api_error(response.status_code, reason, retry_after=retry_after(response))
    if envelope is None:
        kind = response.headers.get("content-type", "unknown").split(";")[0]
        raise UnexpectedResponseError(
            f"WaveSpeed answered HTTP {response.status_code} with {kind} instead of its JSON API envelope "
            "(a proxy or gateway may be in the way). This is usually temporary."
        )
    if envelope.code != 200:
        raise api_error(envelope.code, envelope.reason, retry_after=retry_after(response))
    if envelope.data is None:
        raise UnexpectedResponseError("WaveSpeed answered with an envelope that has no data.")
    return envelope.data


def prediction_from(response: httpx.Response) -> Prediction:
    data = envelope_data(response)
    try:
        return Prediction.model_validate(data)
    except (ValidationError, RecursionError):
        raise UnexpectedResponseError(
            "WaveSpeed answered without a usable prediction (no id or malformed fields)."
        ) from None


def prediction_or_none(response: httpx.Response) -> Prediction | None:
    """The prediction inside an answer that is otherwise an error (a gateway's 504 that passed it on), if any."""
    envelope = parse_envelope(response)
    if envelope is None:
        return None
    try:
        return Prediction.model_validate(envelope.data)
    except (ValidationError, RecursionError):
        return None


def retry_after(response: httpx.Response) -> float | None:
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
