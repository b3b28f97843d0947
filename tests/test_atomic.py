"""Files written whole or not at all, and flushed to disk first where the record is money."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qwen_image_edit_mcp.atomic import write_atomically


@pytest.mark.parametrize(("durable", "flushes"), [(False, 0), (True, 1)])
def test_a_file_is_replaced_whole_and_flushed_to_disk_only_when_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool, flushes: int
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    target = tmp_path / "folder" / "spend.json"
    write_atomically(target, b"old")
    synced.clear()
    write_atomically(target, b"new", durable=durable)
    assert target.read_bytes() == b"new"
    assert len(synced) == flushes
    assert list(target.parent.iterdir()) == [target]  # no partial file left beside it


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "spend.json"
    write_atomically(target, b"old")

    def broken_replace(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"new", durable=True)
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]
