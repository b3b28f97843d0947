"""Files uploaded to the emulator, kept in memory, and how its own absolute URLs map back to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .predictions import parse_output_stem


@dataclass(eq=False)
class Upload:
    token: str
    filename: str
    size: int
    content_type: str
    data: bytes | None = None  # None until the presigned PUT arrives


@dataclass(frozen=True)
class OwnUrl:
    """One of the emulator's own URLs: an upload's /media/<token>/<name> or an output's /outputs/<id>-<i>.<ext>."""

    kind: Literal["media", "outputs", "broken"]
    key: str = ""
    index: int = 0


def parse_own_url(url: str, base_url: str) -> OwnUrl | None:
    """What an own URL points at; None for anyone else's URL (or an own path that is neither media nor output)."""
    prefix = base_url + "/"
    if not url.startswith(prefix):
        return None
    parts = url[len(prefix) :].split("?", 1)[0].split("/")
    if len(parts) == 3 and parts[0] == "media":
        return OwnUrl("media", parts[1])
    if len(parts) == 2 and parts[0] == "outputs":
        stem = parts[1].rsplit(".", 1)[0]
        parsed = parse_output_stem(stem)
        return OwnUrl("outputs", *parsed) if parsed is not None else OwnUrl("broken")
    return None
