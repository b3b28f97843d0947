"""Hostile answers on demand: what a broken proxy, a confused CDN or an upstream bug can send, so that the server's
promise (every paid job's id reaches the caller, nothing is paid twice) is tested against each of them."""

from __future__ import annotations

import base64
import struct
import uuid
import zlib
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .faults import Faults
from .state import EmulatorState

NOT_GZIP = b"\x1f\x8b\x08 this is not a gzip stream"
ACCESS_DENIED = "<html><body><h1>403 Forbidden</h1><p>Access denied by the CDN.</p></body></html>"


def poll_answer(state: EmulatorState) -> Response | None:
    """A hostile answer to a result GET, if a fault asks for one."""
    if state.take("poll_deep_json"):
        depth = 200_000
        return Response(b'{"code": 200, "data": ' + b"[" * depth + b"]" * depth + b"}", media_type="application/json")
    if state.take("poll_bad_encoding"):
        return Response(NOT_GZIP, media_type="application/json", headers={"Content-Encoding": "gzip"})
    return None


def poll_view(state: EmulatorState, view: dict[str, Any]) -> dict[str, Any]:
    """The result's `data`, as a fault may corrupt it: another job's id, or base64 outputs that are no image."""
    if state.take("poll_wrong_id"):
        view = {**view, "id": uuid.uuid4().hex}
    garbage = state.faults.base64_garbage
    if garbage is not None and view.get("status") == "completed" and view.get("outputs"):
        text = "" if garbage == "empty" else base64.b64encode(ACCESS_DENIED.encode()).decode()
        if not str(view["outputs"][0]).startswith("http"):
            view = {**view, "outputs": [text for _ in view["outputs"]]}
    return view


def output_answer(request: Request, faults: Faults, body: bytes, media_type: str) -> Response:
    """An output file as the faults have it served."""
    if faults.output_redirect_loop:
        return RedirectResponse(str(request.url), status_code=302)
    if faults.output_corrupt == "not_image":
        return HTMLResponse(ACCESS_DENIED)
    if faults.output_corrupt == "truncated":
        body = body[: len(body) // 2]
    elif faults.output_corrupt == "bomb":
        body, media_type = decompression_bomb(), "image/png"
    elif faults.output_corrupt == "empty":
        body = b""
    if faults.output_bad_encoding:
        return Response(NOT_GZIP, media_type=media_type, headers={"Content-Encoding": "gzip"})
    return Response(body, media_type=media_type)


def decompression_bomb(side: int = 100_000) -> bytes:
    """A valid PNG of a few hundred bytes whose header claims side x side pixels (10 gigapixels by default)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * 8)) + chunk(b"IEND", b"")
