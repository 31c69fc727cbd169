"""One logging set-up for the whole bot: console + rotating file, secrets redacted.

Call :func:`setup_logging` once at start-up; every module then uses
``get_logger(__name__)``. A :class:`RedactingFilter` sits on every handler, so the token
(and the yt-dlp proxy's credentials, :func:`musicrec_core.private_url.url_credentials`)
cannot reach a log line even when a third-party library (discord.py, aiohttp, yt-dlp) puts
it in a message or an exception. Records are written as readable lines or, for log
collectors, as one JSON object per line (:class:`JsonFormatter`); the filter runs before
either formatter, so both see only redacted text.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_FILE_BYTES = 5 * 2**20
"""Size at which the log file rotates, in bytes."""
LOG_FILE_BACKUPS = 3
"""Rotated files kept (``.1`` .. ``.3``)."""
REDACTED = "[redacted]"
_OURS = "_musicrec_handler"
"""Attribute marking the handlers set up here (a second set-up replaces only those)."""


class RedactingFilter(logging.Filter):
    """Replaces every secret in a record's message and traceback with ``[redacted]``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: ``time`` (ISO 8601, UTC, milliseconds),
    ``level``, ``logger``, ``message`` and, when there is one, ``exception`` (the traceback
    text) and ``stack``. Newlines inside the values are escaped, so a line is a record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(
    *,
    level: str,
    log_file: Path | None,
    secrets: Iterable[str],
    log_format: Literal["text", "json"] = "text",
) -> None:
    """Send the root logger to stderr and, when ``log_file`` is set, to a rotating file.

    Args:
        level: "DEBUG", "INFO", "WARNING" or "ERROR" (discord.py's own chatter stays at
            WARNING unless the level is DEBUG).
        log_file: the file to write (its directory is created); None = console only.
        secrets: strings never to write (:attr:`bot.settings.Settings.log_secrets`).
        log_format: "text" (:data:`LOG_FORMAT` lines) or "json" (:class:`JsonFormatter`),
            for the console and the file alike.
    """
    redactor = RedactingFilter(secrets)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(LOG_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
            )
        )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        setattr(handler, _OURS, True)
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("discord").setLevel(level if level == "DEBUG" else "WARNING")
    logging.getLogger("discord.client").setLevel(level if level == "DEBUG" else "INFO")


def get_logger(name: str) -> logging.Logger:
    """The logger for a module; use ``get_logger(__name__)``."""
    return logging.getLogger(name)
