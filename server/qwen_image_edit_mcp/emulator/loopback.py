"""Serving an ASGI app with uvicorn inside the current event loop, on a loopback socket bound first.

Binding the socket before uvicorn starts means port 0 picks a free port whose number is known at once. Used for the
emulator, and by tests and benchmarks that run this server over HTTP for real.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import AsyncGenerator, Generator
from typing import Any, Literal

import anyio
import uvicorn
from starlette.types import ASGIApp

STARTUP_TIMEOUT = 10.0


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The host program owns signal handling; uvicorn's default would swallow its Ctrl-C.
        yield


def resolve_loopback(host: str, port: int = 0) -> tuple[socket.AddressFamily, Any]:
    """(family, address) for `host`; ValueError unless it is a loopback address."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except OSError as error:
        raise ValueError(f"cannot resolve host {host!r}: {error}") from error
    if not ipaddress.ip_address(str(address[0])).is_loopback:
        raise ValueError(f"only loopback addresses are served here, not {host!r}")
    return family, address


def loopback_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket bound to `host:port`; ValueError unless `host` is a loopback address."""
    family, address = resolve_loopback(host, port)
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it every
    # kept-alive request waits ~40 ms on Nagle's algorithm meeting a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def base_url(sock: socket.socket) -> str:
    host = str(sock.getsockname()[0])
    return f"http://{f'[{host}]' if ':' in host else host}:{sock.getsockname()[1]}"


@contextlib.asynccontextmanager
async def serving(
    app: ASGIApp, sock: socket.socket, *, lifespan: Literal["on", "off"] = "off", **options: Any
) -> AsyncGenerator[None]:
    """Serve `app` on `sock` until the block exits; the socket is closed afterwards."""
    server = _EmbeddedServer(
        uvicorn.Config(
            app,
            log_level="warning",
            log_config=None,  # leave the host program's logging configuration alone
            access_log=False,
            lifespan=lifespan,
            ws="none",
            timeout_graceful_shutdown=1,
            **options,
        )
    )
    stopped = anyio.Event()

    async def serve() -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            stopped.set()

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(serve)
            try:
                with anyio.fail_after(STARTUP_TIMEOUT):
                    while not server.started:
                        if stopped.is_set():
                            raise RuntimeError("the HTTP server stopped during startup")
                        await anyio.sleep(0.01)
                yield
            finally:
                server.should_exit = True
    finally:
        sock.close()
