"""A real redis-server on loopback, started fresh and killed after, for the ledger's and the money tests.
Skipped, saying why, where redis-server or the redis package is missing; with CI=true those are failures instead."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

from http_harness import free_port

PASSWORD = "redis-pw-5e4d3c2b1a"  # distinctive, so a leak is unmistakable


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the Redis ledger tests")
    pytest.skip(reason)


@contextmanager
def running_redis(tmp_path: Path, extra_args: Sequence[str] = ()) -> Generator[str]:
    """A fresh redis-server on a free loopback port, with a password, no persistence, killed after the test.
    `extra_args` come last, so they override those (e.g. "--appendonly", "yes")."""
    server = shutil.which("redis-server")
    if server is None:
        unavailable("redis-server is not installed (Debian: apt-get install redis-server)")
    if importlib.util.find_spec("redis") is None:
        unavailable("the redis package is not installed (pip install -e '.[test]')")
    port = free_port()
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(tmp_path), "--requirepass", PASSWORD, *extra_args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        log: list[str] = []
        # Its log says when it is ready: no polling, no sleeping.
        while not log or "Ready to accept connections" not in log[-1]:
            line = process.stdout.readline()
            assert line, f"redis-server exited before it was ready: {''.join(log)}"
            log.append(line)
        yield f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
