"""What lets a Redis spend ledger notice that it lost its data: the epoch this process has seen, and the words that
refuse a lost ledger (redis_ledger.py and redis_scripts.py use them).

The epoch is a random id the ledger's first reservation writes into its marker key. Each process keeps the one it has
seen in memory and in a small JSON file in the cache folder (keyed by the password-masked URL and the key prefix), so
that a restart still knows it: a ledger that knows an epoch and finds the marker gone, or holding another one that
nobody acknowledged, lost its history. A file that cannot be written costs only that memory across a restart: it is
a logged warning, never a refusal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any, Final, cast

import anyio.to_thread

from .ledger import format_usd, utc

log = logging.getLogger(__name__)

EPOCH_FILE: Final = "redis-ledger-epochs.json"
ACKNOWLEDGE_COMMAND: Final = "qwen-image-edit-mcp --acknowledge-ledger-reset"

_CAUSES: Final = {
    "gone": "the marker written with its first reservation is gone (a FLUSHALL, a restart of a Redis that keeps "
    "nothing on disk, or an eviction)",
    "other": "its marker holds epoch {0}, which nobody acknowledged: a process that remembered nothing started it "
    "afresh after its history was lost",
    "index": "it holds {0} entries but {1} in the index of when they stop counting: keys were lost (an eviction?)",
    "total": "its running total is gone while {0} entries remain",
    "entries": "its entries are gone while its running total still holds {0}",
    "until": "its entries are gone although the last of them counted until {0}",
}


def describe_loss(url: str, answer: list[str]) -> str:
    """The refusal for a script's {'lost'|'broken', cause, details...}: what happened, and what the operator does."""
    cause, details = answer[1], answer[2:]
    if cause == "entries":
        details = [format_usd(int(details[0]))]
    elif cause == "until":
        details = [utc(float(details[0])).strftime("%Y-%m-%dT%H:%M:%SZ")]
    elif cause == "other":
        details = [details[0][:12]]
    reason = _CAUSES.get(cause, cause).format(*details)
    return (
        f"The spend ledger in Redis at {url} lost its data: {reason}. What was spent in the last 24 h is unknown, so "
        "the spend limit cannot be checked and nothing was sent. Once you know what was spent (WaveSpeed's usage "
        f"page), run `{ACKNOWLEDGE_COMMAND}` with the same QWEN_EDIT_STORE_URL: every replica then resumes spending "
        "from what the ledger holds now."
    )


class Epochs:
    """The ledger epoch this process has seen for one Redis URL and key prefix; `path` None keeps it in memory only."""

    def __init__(self, path: Path | None, key: str) -> None:
        self._path = path
        self._key = key
        self._epoch: str | None = None
        self._loaded = path is None

    async def known(self) -> str | None:
        if not self._loaded:
            found = await anyio.to_thread.run_sync(self._read)
            if not self._loaded:  # a remember() while the file was read holds the newer one
                self._epoch, self._loaded = found, True
        return self._epoch

    async def remember(self, epoch: str) -> None:
        if self._loaded and epoch == self._epoch:
            return
        self._epoch, self._loaded = epoch, True
        if self._path is not None:
            await anyio.to_thread.run_sync(self._write, epoch)

    def _all(self) -> dict[str, Any]:
        assert self._path is not None
        try:
            found: Any = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("the spend ledger's epoch file %s is unreadable (%s): it is started afresh", self._path, exc)
            return {}
        return cast("dict[str, Any]", found) if isinstance(found, dict) else {}

    def _read(self) -> str | None:
        epoch = self._all().get(self._key)
        return epoch if isinstance(epoch, str) else None

    def _write(self, epoch: str) -> None:
        assert self._path is not None
        temporary = self._path.with_name(f".{self._path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps({**self._all(), self._key: epoch}, indent=2), encoding="utf-8")
            os.replace(temporary, self._path)  # whole or not at all: another process may read it meanwhile
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            log.warning(
                "could not remember the spend ledger's epoch in %s (%s): after a restart this process will not notice "
                "a Redis that lost the ledger's data before then",
                self._path,
                exc,
            )
