"""Images passed inline, as a `data:` URI or bare base64: recognised in linear time, bounded, then decoded.

Every check here looks at each character a bounded number of times, so that no argument, however long or odd, can
hold a worker (or, worse, the event loop) for long.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from typing import Final

from ..errors import InputError

MAX_INLINE_DATA_BYTES: Final = 20 * 1024 * 1024  # the most this server accepts as data: URI or base64 at all
_BASE64_ALPHABET: Final = frozenset(string.ascii_letters + string.digits + "+/=")
# Anchored, and no two parts can match the same characters: a failed match costs one pass, never a backtrack.
_DATA_URI: Final = re.compile(
    r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,", re.I
)
MIN_BASE64_CHARS: Final = 64


def looks_like_base64(text: str) -> bool:
    """True when `text` could be base64 image bytes: long enough, and only the base64 alphabet and white space."""
    compact = "".join(text.split())
    if len(compact) < MIN_BASE64_CHARS:
        return False
    body = compact.rstrip("=")
    return len(compact) - len(body) <= 2 and _BASE64_ALPHABET.issuperset(body) and "=" not in body


def decode_inline(text: str, *, field: str) -> bytes:
    """The bytes of a `data:` URI (base64 only) or of bare base64; InputError when too large or malformed."""
    payload, what = text, "base64 string"
    if text[:5].lower() == "data:":
        header = _DATA_URI.match(text, 0, 300)
        if header is None or not header.group("b64"):
            raise InputError(f"{field}: a data: URI must be base64-encoded, like data:image/png;base64,iVBORw0KGgo...")
        payload, what = text[header.end() :], "data: URI"
    if len(payload) * 3 // 4 > MAX_INLINE_DATA_BYTES:
        raise InputError(
            f"{field}: the {what} holds more than {MAX_INLINE_DATA_BYTES // (1024 * 1024)} MB; "
            "pass a URL or a local file path instead."
        )
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{field}: the {what} is not valid base64.") from None
