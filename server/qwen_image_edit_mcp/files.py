"""Reading a local image the caller named, and nothing else: the allowed-directories policy.

A path is turned into a resolved absolute path (`~` expanded, `..` and symlinks resolved) and must then lie inside
one of the allowed directories *before* anything about the file itself is looked at, so that nothing outside them
is read, or even confirmed to exist. Only then is its size checked and its content read and verified to be an
image; the file opened is checked to be the file that was vetted.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from .image_bytes import verified_image_type

MAX_LOCAL_IMAGE_BYTES = 20 * 1024 * 1024  # WaveSpeed's documented cap for uploaded images


class LocalFileError(ValueError):
    """The path cannot be used; the message says why and what would work."""


@dataclass(frozen=True)
class LocalImage:
    path: Path
    data: bytes


def looks_like_path(value: str) -> bool:
    """True for absolute paths, `~` paths, `file:` URIs and Windows drive paths; relative ones are refused later."""
    lowered = value.lower()
    return (
        lowered.startswith("file:")
        or value.startswith(("/", "~", "./", "../", "\\\\"))
        or (len(value) > 2 and value[0].isalpha() and value[1] == ":" and value[2] in "\\/")
    )


def to_path(value: str) -> Path:
    """A `file://` URI, `~` path or absolute path as a Path; relative paths are refused (a host's cwd means nothing)."""
    if value.lower().startswith("file:"):
        parts = urlsplit(value)
        if parts.netloc not in ("", "localhost"):
            raise LocalFileError(
                f"image: {_short(value)} names a file on another machine ({parts.netloc}); only local files work."
            )
        path = Path(url2pathname(unquote(parts.path)))
    else:
        path = Path(value).expanduser()
    if not path.is_absolute():
        raise LocalFileError(
            f"image: {_short(value)} is a relative path. The server does not know which folder it is relative to; "
            "give the absolute path (or one starting with ~)."
        )
    return path


def resolve_allowed(value: str, allowed_dirs: Sequence[Path]) -> Path:
    """The resolved path, if it lies inside an allowed directory; nothing about the file is read yet."""
    if not allowed_dirs:
        raise LocalFileError(
            "image: local files are turned off on this server (no allowed directories). Start it with --allow-dir "
            "or QWEN_EDIT_ALLOWED_DIRS, or pass a public http(s) URL."
        )
    resolved = to_path(value).resolve(strict=False)
    if not any(resolved.is_relative_to(folder) for folder in allowed_dirs):
        folders = ", ".join(str(folder) for folder in allowed_dirs)
        raise LocalFileError(
            f"image: {_short(value)} is outside the folders this server may read ({folders}). Move or copy the file "
            "into one of them, or ask the user to add its folder with --allow-dir / QWEN_EDIT_ALLOWED_DIRS."
        )
    return resolved


def read_local_image(value: str, allowed_dirs: Sequence[Path], *, max_bytes: int = MAX_LOCAL_IMAGE_BYTES) -> LocalImage:
    """Vet the path, then read the file. Blocking: call from a worker thread."""
    path = resolve_allowed(value, allowed_dirs)
    try:
        before = path.stat()
    except FileNotFoundError:
        raise LocalFileError(f"image: there is no file at {path}. Check the path and its spelling.") from None
    except OSError as exc:
        raise LocalFileError(f"image: {path} cannot be read ({exc.strerror}).") from None
    if not stat.S_ISREG(before.st_mode):
        raise LocalFileError(f"image: {path} is not a regular file.")
    if before.st_size > max_bytes:
        raise LocalFileError(
            f"image: {path} is {before.st_size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB. "
            "Resize or recompress it first."
        )
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise LocalFileError(f"image: {path} cannot be read ({exc.strerror}).") from None
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())
        # Swapped for another file (or a symlink) between the check and the open: refuse rather than guess.
        if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            raise LocalFileError(f"image: {path} changed while it was being opened; try again.")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise LocalFileError(f"image: {path} is larger than {max_bytes / 2**20:.0f} MiB.")
    if verified_image_type(data) is None:
        raise LocalFileError(
            f"image: {path} is not a readable image (its content, whatever its name, is not PNG, JPEG, WebP, GIF, "
            "BMP or TIFF)."
        )
    return LocalImage(path=path, data=data)


def _short(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
