"""Bounds on what the server fetches from an upstream's outputs, whichever service it is: an adapter's own bounds
(its request, upload and connect timeouts) live with the adapter (`wavespeed/http_client.py`)."""

from __future__ import annotations

from typing import Final

DOWNLOAD_TIMEOUT: Final = 60.0  # an output download, start to finish
MAX_OUTPUT_BYTES: Final = 64 * 1024 * 1024  # a 1536x1536 PNG of pure noise is about 7 MB
