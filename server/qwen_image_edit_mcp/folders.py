"""Where this server keeps its files for each user: the outputs it saves and its caches (uploads, the spend ledger).

Ground floor: settings, the media wing and the WaveSpeed wing all ask here, so no wing reaches up into another for a
folder. Absolute paths always, since GUI hosts start servers with `/` as the working directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "qwen-image-edit-mcp"


def default_output_dir() -> Path:
    """~/Pictures/qwen-image-edit-mcp where a Pictures folder exists (macOS, Windows, desktop Linux), else the
    platform's per-user data folder."""
    home = Path.home()
    if (home / "Pictures").is_dir():
        return home / "Pictures" / APP_NAME
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / APP_NAME / "outputs"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / APP_NAME / "outputs"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / APP_NAME / "outputs"


def default_cache_dir() -> Path:
    """The platform's per-user cache folder for this server (QWEN_EDIT_CACHE_DIR overrides it)."""
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / APP_NAME / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / APP_NAME
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / APP_NAME
