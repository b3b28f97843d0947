"""Requests to WaveSpeed's API over the shared pool: the key goes into the Authorization header of these requests
only (never into the client's default headers, so a download from a CDN or a storage PUT never carries it), and
every network failure becomes the typed error of `errors.py`. What an answer means is `envelope.py`'s to say.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import httpx
from pydantic import SecretStr

from .. import __version__
from ..addresses import redact_url
from ..errors import ConnectionFailedError, MissingApiKeyError, UnexpectedResponseError, WaveSpeedError
from .http_client import HttpClientOnDemand, timeouts
from .output_fetch import capped_bytes

# What of a streamed answer's headers its rebuilt copy keeps: what reading the envelope looks at. Not the encoding
# or the length, which described the body as sent, not as read.
_KEPT_HEADERS = ("content-type", "retry-after")


class WaveSpeedApi:
    def __init__(self, pool: HttpClientOnDemand, *, api_key: SecretStr | None, base_url: str) -> None:
        self.pool = pool
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")

    @property
    def display_url(self) -> str:
        """The API's address as it may appear in a message or a log: any credentials in it are masked."""
        return redact_url(self.base_url)

    @property
    def has_api_key(self) -> bool:
        return self._api_key is not None

    def headers(self) -> dict[str, str]:
        if self._api_key is None:
            raise MissingApiKeyError
        return {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "X-Client-Name": "qwen-image-edit-mcp",
            "X-Client-Version": __version__,
        }

    async def send(
        self,
        method: str,
        path: str,
        *,
        seconds: float,
        json: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        headers = self.headers()
        try:
            return await (await self.pool.client()).request(
                method, self.base_url + path, headers=headers, json=json, files=files, timeout=timeouts(seconds)
            )
        except httpx.TransportError as exc:
            # `from None`: httpx exceptions hold the request, headers included; keep them out of any traceback.
            raise connection_error(exc, where=f"WaveSpeed at {self.display_url}") from None
        except httpx.RequestError as exc:  # an answer that arrived but cannot be read (e.g. a broken gzip body)
            raise _unreadable(exc) from None

    async def send_capped(self, method: str, path: str, *, max_bytes: int, seconds: float) -> httpx.Response:
        """`send` for an answer that may be large: streamed, refused (UnexpectedResponseError) once it passes
        `max_bytes`, and all of it within `seconds`. The answer comes back read, to be unwrapped as any other."""
        headers = self.headers()
        try:
            with anyio.fail_after(seconds):
                client = await self.pool.client()
                async with client.stream(
                    method, self.base_url + path, headers=headers, timeout=timeouts(seconds)
                ) as response:
                    body = await capped_bytes(response, max_bytes)
        except TimeoutError:
            raise ConnectionFailedError(
                f"WaveSpeed at {self.display_url} did not finish answering within {seconds:g} s.", request_sent=True
            ) from None
        except httpx.TransportError as exc:
            raise connection_error(exc, where=f"WaveSpeed at {self.display_url}") from None
        except httpx.RequestError as exc:
            raise _unreadable(exc) from None
        if body is None:
            raise UnexpectedResponseError(
                f"WaveSpeed's answer to {path} is larger than {max_bytes // 2**20} MiB, more than this server reads."
            )
        kept = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
        return httpx.Response(response.status_code, headers=kept, content=body, request=response.request)


def _unreadable(exc: httpx.RequestError) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        f"WaveSpeed's answer could not be read ({type(exc).__name__}); this is usually temporary."
    )


def connection_error(exc: httpx.TransportError, *, where: str) -> WaveSpeedError:
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
