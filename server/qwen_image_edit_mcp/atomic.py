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


def write_atomically(destination: Path, data: bytes) -> Path:
    """Write `data` to `destination` so that a reader never sees half of it. Blocking: call from a worker thread."""
    temp = temp_beside(destination)
    try:
        temp.write_bytes(data)
        os.replace(temp, destination)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return destination
