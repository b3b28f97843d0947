"""The one place that builds the HTTP client everything upstream goes through, with its limits and timeouts.

Every request to WaveSpeed, its storage and its output CDN shares one connection pool. The numbers live here, so a
reader finds every bound of the server's outbound traffic in one screen; those an output download is held to, which
do not depend on the service, are `upstream/limits.py`'s.
"""

from __future__ import annotations

from types import TracebackType
from typing import Final, Self

import anyio
import anyio.to_thread
import httpx

from .. import __version__

# Each API request (not the whole wait, which the call's wait_seconds bounds); connecting gets less.
REQUEST_TIMEOUT: Final = 30.0
CONNECT_TIMEOUT: Final = 10.0
UPLOAD_TIMEOUT: Final = 120.0  # WaveSpeed's own SDK allows uploads this long
CATALOG_TIMEOUT: Final = 60.0  # the model catalog, start to finish
MAX_CATALOG_BYTES: Final = 32 * 1024 * 1024  # the live catalog is a few MB; a body that never ends stops here
MAX_REDIRECTS: Final = 5  # an output URL may redirect to its CDN; a loop ends here
# Hundreds of edits may wait at once over HTTP; each keeps at most one poll in flight.
LIMITS: Final = httpx.Limits(max_connections=200, max_keepalive_connections=50)


def timeouts(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT))


def open_http_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The shared client. `transport` is the seam for tests (an in-process emulator). No credentials by default:
    the API key is added per API request, so an output download never carries it."""
    return httpx.AsyncClient(
        transport=transport,
        limits=LIMITS,
        timeout=timeouts(REQUEST_TIMEOUT),
        headers={"User-Agent": f"qwen-image-edit-mcp/{__version__}"},
    )


class HttpClientOnDemand:
    """The shared client, built on first use (in a worker thread) and closed with the server. Building it loads the
    TLS trust store and the transport, about 70 ms: a host that starts the server to list its tools, as every
    desktop host does at launch, need not wait for that."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._building = anyio.Lock()

    @classmethod
    def of(cls, client: httpx.AsyncClient) -> HttpClientOnDemand:
        """One that is already built (tests and tools that bring their own client)."""
        ready = cls()
        ready._client = client
        return ready

    async def client(self) -> httpx.AsyncClient:
        if self._client is None:
            async with self._building:
                if self._client is None:
                    self._client = await anyio.to_thread.run_sync(open_http_client, self._transport)
        return self._client

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
