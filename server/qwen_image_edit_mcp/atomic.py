"""Files that appear whole or not at all: written beside their target, then renamed into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def temp_beside(destination: Path) -> Path:
    """An empty temporary file in the destination's folder (created if needed), named so it is clearly partial."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=destination.parent, prefix=".partial-", suffix=destination.suffix)
    os.close(fd)
    return Path(name)


def write_atomically(destination: Path, data: bytes, *, durable: bool = False) -> Path:
    """Write `data` to `destination` so that a reader never sees half of it. Blocking: call from a worker thread.

    `durable` also flushes the bytes to disk before the rename, so a power cut cannot leave an empty file in place
    (what money records need; images and caches can be fetched again)."""
    temp = temp_beside(destination)
    try:
        with temp.open("wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp, destination)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return destination
