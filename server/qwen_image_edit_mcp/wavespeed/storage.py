"""Putting bytes into WaveSpeed's media storage: the URL WaveSpeed fetches them from comes back.

The presigned flow comes first (POST /api/v3/media/uploads, then a PUT to storage with exactly the returned headers
and no API key); the documented multipart POST /api/v3/media/upload/binary is the fallback when that endpoint is
missing or refuses. Every call uploads: remembering what was uploaded, by content, is `media/uploads.py`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import (
    AuthenticationError,
    ConnectionFailedError,
    MissingApiKeyError,
    RateLimitError,
    UnexpectedResponseError,
    WaveSpeedError,
    api_error,
)
from .api import WaveSpeedApi, connection_error
from .endpoints import BINARY_UPLOAD_PATH, PRESIGNED_UPLOAD_PATH
from .envelope import envelope_data
from .http_client import UPLOAD_TIMEOUT, timeouts

log = logging.getLogger(__name__)

# Failures that would fail the multipart upload just the same: no point trying it.
_NO_FALLBACK = (AuthenticationError, RateLimitError, MissingApiKeyError, ConnectionFailedError)


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


async def upload(api: WaveSpeedApi, data: bytes, *, filename: str, content_type: str, seconds: float) -> str:
    """The download_url of the stored bytes: presigned, else multipart. `seconds` bounds the presigned request."""
    try:
        presigned = await create_upload(
            api, filename=filename, size=len(data), content_type=content_type, seconds=seconds
        )
        await put_upload(api, presigned, data)
    except _NO_FALLBACK:
        raise
    except WaveSpeedError as exc:
        log.info("direct upload unavailable (%s); using the multipart upload", exc.message)
    else:
        log.info("uploaded %s (%d bytes) to WaveSpeed storage", filename, len(data))
        return presigned.download_url
    url = await upload_binary(api, filename=filename, content_type=content_type, data=data)
    log.info("uploaded %s (%d bytes) with the multipart upload", filename, len(data))
    return url


async def create_upload(
    api: WaveSpeedApi, *, filename: str, size: int, content_type: str, seconds: float
) -> PresignedUpload:
    body = {"filename": filename, "size": size, "content_type": content_type}
    response = await api.send("POST", PRESIGNED_UPLOAD_PATH, json=body, seconds=seconds)
    try:
        answer = _UploadData.model_validate(envelope_data(response))
    except (ValidationError, RecursionError):
        answer = None
    if answer is None or answer.upload is None:
        raise UnexpectedResponseError("WaveSpeed's upload answer had no upload URL or download_url.")
    if answer.upload.method.upper() != "PUT":
        raise UnexpectedResponseError("WaveSpeed asked for an upload method this server does not know.")
    return PresignedUpload(answer.download_url, answer.upload.url, answer.upload.headers or {})


async def put_upload(api: WaveSpeedApi, upload: PresignedUpload, data: bytes) -> None:
    """PUT the bytes to storage with exactly the headers WaveSpeed returned, and never the API key."""
    try:
        response = await (await api.pool.client()).put(
            upload.put_url, content=data, headers=upload.headers, timeout=timeouts(UPLOAD_TIMEOUT)
        )
    except httpx.TransportError as exc:
        raise connection_error(exc, where="WaveSpeed's storage") from None
    if not response.is_success:
        raise api_error(response.status_code, "the storage refused the upload")


async def upload_binary(api: WaveSpeedApi, *, filename: str, content_type: str, data: bytes) -> str:
    """The documented multipart upload; returns the download_url."""
    files = {"file": (filename, data, content_type)}
    response = await api.send("POST", BINARY_UPLOAD_PATH, files=files, seconds=UPLOAD_TIMEOUT)
    try:
        return _UploadData.model_validate(envelope_data(response)).download_url
    except (ValidationError, RecursionError):
        raise UnexpectedResponseError("WaveSpeed's upload answer had no download_url.") from None
