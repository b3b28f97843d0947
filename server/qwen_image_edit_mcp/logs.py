"""Logging to stderr only (stdout is the protocol on stdio): secrets masked as a last line of defence, and control
characters escaped, so that a file name with a line break in it cannot forge a log line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

# C0 controls (but tab), DEL and the C1 controls, each shown as its escape (\n, \x1b, ...).
_CONTROLS = {code: ascii(chr(code))[1:-1] for code in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if code != 0x09}


def escape_controls(text: str) -> str:
    return text.translate(_CONTROLS)


class RedactSecrets(logging.Filter):
    """Replaces each secret with '***' and escapes control characters in every record that passes, whichever
    library logged it. A traceback keeps its line breaks: it is rendered here, masked, after the message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = escape_controls(message)
        for secret in self._secrets:
            masked = masked.replace(secret, "***")
        if masked != message or record.exc_info:
            record.msg, record.args = masked, None
            if record.exc_info:
                # A traceback is rendered later from exc_info; render it now so it can be masked too.
                text = logging.Formatter().formatException(record.exc_info)
                for secret in self._secrets:
                    text = text.replace(secret, "***")
                record.msg = f"{masked}\n{text}"
                record.exc_info, record.exc_text = None, None
        return True


def configure_logging(level: str = "INFO", *, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request line at INFO; keep the log about jobs, not transport chatter.
    for noisy in ("httpx", "httpcore", "mcp", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
