"""Build the task host's virtualenv (see drive.py): FastMCP's client at exactly the hashed versions in
requirements.txt, under a file lock so that two builders never race, and again only when the requirements change.

Standard library only, so that `.ci/run` can build it while the project's own virtualenv is still being installed:
    python3 tests/task_client/build.py .venv/task-client
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
import venv
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"


def build(place: Path) -> Path:
    """The virtualenv's python, built first if it is missing or older than the requirements."""
    stamp = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    python, marker = place / "bin" / "python", place / "requirements.sha256"
    place.parent.mkdir(parents=True, exist_ok=True)
    with open(place.parent / f"{place.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and marker.exists() and marker.read_text() == stamp:
            return python
        venv.EnvBuilder(clear=True, with_pip=True).create(place)
        options = ["--quiet", "--disable-pip-version-check", "--no-deps", "--require-hashes", "-r", str(REQUIREMENTS)]
        done = subprocess.run(
            [str(python), "-m", "pip", "install", *options], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"could not install the task host's packages:\n{done.stdout}\n{done.stderr}")
        marker.write_text(stamp)
    return python


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
