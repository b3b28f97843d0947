"""The rules an output download follows: http(s) only, never this machine or a private network (unless the API
itself is local), redirects checked like the first URL, and a body capped in size (as a large API answer is)."""

from __future__ import annotations

import httpx

from ..addresses import is_private_host
from ..errors import RefusedAddressError, UnexpectedResponseError


async def bounded_body(response: httpx.Response, max_bytes: int) -> bytes | None:
    """The body of a 200 answer, or None once it passes `max_bytes` (declared or counted)."""
    if response.status_code != 200:
        raise UnexpectedResponseError(f"the output URL answered HTTP {response.status_code}")
    return await capped_bytes(response, max_bytes)


async def capped_bytes(response: httpx.Response, max_bytes: int) -> bytes | None:
    """The body of any answer, or None once it passes `max_bytes` (declared or counted)."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        return None
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body.extend(chunk)
        if len(body) > max_bytes:
            return None
    return bytes(body)


def redirect_target(response: httpx.Response, *, allow_private: bool) -> str:
    """Where a redirect leads, if it may be followed."""
    location = response.headers.get("location", "")
    try:
        target = response.url.join(location)
    except httpx.InvalidURL:
        raise UnexpectedResponseError("the output URL redirected to an invalid address") from None
    return fetchable(target, allow_private=allow_private, what="redirected to")


def fetchable(target: httpx.URL, *, allow_private: bool, what: str) -> str:
    """The URL as a string, if it is http(s) and (unless `allow_private`) not on this machine or a private network."""
    if target.scheme not in ("http", "https") or not target.host:
        raise UnexpectedResponseError(f"the output URL {what} something that is not an http(s) address")
    if not allow_private and is_private_host(target.host):
        raise RefusedAddressError(
            f"the output URL {what} {target.host}, a local or private address, which this server will not fetch"
        )
    return str(target)
