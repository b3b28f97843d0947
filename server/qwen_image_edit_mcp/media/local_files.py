"""Reading a local image the caller named, and nothing else: the allowed-directories policy.

A path is turned into a resolved absolute path (`~` expanded, `..` and symlinks resolved) and must then lie inside
one of the allowed directories *before* anything about the file itself is looked at, so that nothing outside them
is read, or even confirmed to exist. Then the file is opened without blocking and without following a final
symlink, and what was *opened* is checked, not what was looked at before: a regular file, still inside the allowed
directories by its descriptor's real path, within the size limit. Only then is it read and verified to be an image.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from ..errors import InputError, quoted
from .image_bytes import verified_image_type

MAX_LOCAL_IMAGE_BYTES = 20 * 1024 * 1024  # WaveSpeed's documented cap for uploaded images
MAX_PATH_CHARS = 4096  # Linux's PATH_MAX; a longer one names no file, and resolving it costs a syscall per part


@dataclass(frozen=True)
class LocalImage:
    path: Path
    data: bytes
    mime: str


def _shown(value: str) -> str:
    return quoted(value, 240)  # paths run long; the part that differs is usually at the end


def looks_like_path(value: str) -> bool:
    """True for absolute paths, `~` paths, `file:` URIs and Windows drive paths; relative ones are refused later."""
    lowered = value.lower()
    return (
        lowered.startswith("file:")
        or value.startswith(("/", "~", "./", "../", "\\\\"))
        or (len(value) > 2 and value[0].isalpha() and value[1] == ":" and value[2] in "\\/")
    )


def to_path(value: str, *, field: str = "image") -> Path:
    """A `file://` URI, `~` path or absolute path as a Path; relative paths are refused (a host's cwd means nothing)."""
    if value.lower().startswith("file:"):
        parts = urlsplit(value)
        if parts.netloc not in ("", "localhost"):
            raise InputError(
                f"{field}: {_shown(value)} names a file on another machine ({parts.netloc}); only local files work."
            )
        path = Path(url2pathname(unquote(parts.path)))
    else:
        try:
            path = Path(value).expanduser()
        except RuntimeError:  # `~name` for a user this machine does not know, or `~` with no home set
            raise InputError(
                f"{field}: {_shown(value)} starts with ~, but this server cannot tell which home folder that is (no "
                "such user here, or no home set); give the absolute path."
            ) from None
    if not path.is_absolute():
        raise InputError(
            f"{field}: {_shown(value)} is a relative path. The server does not know which folder it is relative to; "
            "give the absolute path (or one starting with ~)."
        )
    return path


def resolve_allowed(value: str, allowed_dirs: Sequence[Path], *, field: str = "image") -> Path:
    """The resolved path, if it lies inside an allowed directory; nothing about the file is read yet."""
    if not allowed_dirs:
        raise InputError(
            f"{field}: local files are turned off on this server (no allowed directories). Start it with --allow-dir "
            "or QWEN_EDIT_ALLOWED_DIRS, or pass a public http(s) URL."
        )
    if len(value) > MAX_PATH_CHARS:
        raise InputError(f"{field}: the path is {len(value)} characters long; no system accepts more than 4096.")
    if "\x00" in value:
        raise InputError(f"{field}: the path contains a NUL character; no file can have that name.")
    try:
        resolved = to_path(value, field=field).resolve(strict=False)
    except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: a symlink loop, before Python 3.13
        raise InputError(f"{field}: {_shown(value)} is not a usable path ({exc}).") from None
    if not _inside(resolved, allowed_dirs):
        folders = ", ".join(str(folder) for folder in allowed_dirs)
        raise InputError(
            f"{field}: {_shown(value)} is outside the folders this server may read ({folders}). Move or copy the file "
            "into one of them, or ask the user to add its folder with --allow-dir / QWEN_EDIT_ALLOWED_DIRS."
        )
    return resolved


def _inside(path: Path, allowed_dirs: Sequence[Path]) -> bool:
    return any(path.is_relative_to(folder) for folder in allowed_dirs)


def read_local_image(
    value: str, allowed_dirs: Sequence[Path], *, field: str = "image", max_bytes: int = MAX_LOCAL_IMAGE_BYTES
) -> LocalImage:
    """Vet the path, open it, vet what was opened, then read and verify it. Blocking: call from a worker thread."""
    path = resolve_allowed(value, allowed_dirs, field=field)
    # O_NONBLOCK: a FIFO swapped in for the file must not hang this thread in open() or read().
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(f"{field}: there is no file at {path}. Check the path and its spelling.") from None
    except OSError as exc:
        raise InputError(f"{field}: {path} cannot be read ({exc.strerror}).") from None
    try:
        data = _read_opened(fd, path, allowed_dirs, field=field, max_bytes=max_bytes)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise InputError(f"{field}: {path} is larger than {max_bytes / 2**20:.0f} MiB.")
    mime = verified_image_type(data)
    if mime is None:
        raise InputError(
            f"{field}: {path} is not a readable image (its content, whatever its name, is not PNG, JPEG, WebP, GIF, "
            "BMP or TIFF)."
        )
    return LocalImage(path=path, data=data, mime=mime)


def _read_opened(fd: int, path: Path, allowed_dirs: Sequence[Path], *, field: str, max_bytes: int) -> bytes:
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode):
        raise InputError(f"{field}: {path} is not a regular file.")
    real = _descriptor_path(fd)
    # A folder on the way was swapped for a symlink after the check: what was opened is what counts.
    if real is not None and not _inside(real, allowed_dirs):
        raise InputError(f"{field}: {path} changed while it was being opened; try again.")
    if opened.st_size > max_bytes:
        raise InputError(
            f"{field}: {path} is {opened.st_size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB. "
            "Resize or recompress it first."
        )
    with os.fdopen(fd, "rb", closefd=False) as handle:
        return handle.read(max_bytes + 1)


def _descriptor_path(fd: int) -> Path | None:
    """The real path of an open file, where the system can tell (Linux, macOS); None elsewhere."""
    if sys.platform == "darwin":
        import fcntl

        try:
            raw = fcntl.fcntl(fd, 50, b"\0" * 1024)  # F_GETPATH
        except OSError:
            return None
        return Path(raw.split(b"\0", 1)[0].decode(errors="surrogateescape"))
    proc = Path(f"/proc/self/fd/{fd}")
    try:
        return Path(os.readlink(proc))
    except OSError:
        return None
