"""YouTube blocking musicrec's address: tell the operator what to do, once, and remember it.

Mental model: when yt-dlp reports "Sign in to confirm you're not a bot" or HTTP 429, the
fetch raises :class:`~musicrec_core.errors.YouTubeBlockedError` (the message map of
:mod:`musicrec_core.sources.ytdlp_fetch`). The member who pasted the link gets that
error's short sentence; the operator needs the fix, which no member can apply. A
:class:`BlockNotice` (one per process) is told about every block: it logs ONE warning
naming the fix (cookies, a proxy, a PO-token provider) per ``warn_every_s`` (an hour), and
writes a small marker file, ``<cache root>/youtube-block.json`` =
``{"at": <Unix time>, "reason": <the error's sentence>}``, atomically. ``musicrec doctor``
and ``/musicrec status`` read the marker (:func:`read_last_block`), so they can say when
YouTube last blocked musicrec even from another process or after a restart.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from musicrec_core.atomic_file import atomic_write
from musicrec_core.paths import cache_root

__all__ = [
    "BLOCK_FILE",
    "BLOCK_FIX",
    "BlockNotice",
    "BlockRecord",
    "block_file",
    "read_last_block",
]

log = logging.getLogger(__name__)

BLOCK_FILE = "youtube-block.json"
BLOCK_FIX = (
    "export a logged-in browser session's cookies in Netscape format and set "
    "MUSICREC_YTDLP_COOKIES, or route yt-dlp through a residential proxy "
    "(MUSICREC_YTDLP_PROXY), or install a PO-token provider plugin (README, YouTube); "
    "lowering MUSICREC_YOUTUBE_FETCHES_PER_HOUR makes it rarer"
)
"""What the operator can do about a block (the log, the doctor and the status say it)."""
WARN_EVERY_S = 3600.0


def block_file() -> Path:
    """``<cache root>/youtube-block.json``."""
    return cache_root() / BLOCK_FILE


@dataclass(frozen=True)
class BlockRecord:
    """The last block seen: when (Unix time, seconds) and the sentence members were shown."""

    at: float
    reason: str

    def describe(self, now: float) -> str:
        """``"12 min ago: YouTube asked musicrec to prove ..."``."""
        return f"{_ago(max(0.0, now - self.at))}: {self.reason}"


def _ago(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86_400:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86_400:.0f} days ago"


def read_last_block(path: Path | None = None) -> BlockRecord | None:
    """The marker's record, or None when there is none or it cannot be read as one."""
    path = path if path is not None else block_file()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return BlockRecord(at=float(document["at"]), reason=str(document["reason"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class BlockNotice:
    """Remembers blocks and warns the operator at most once per ``warn_every_s``; thread-safe.

    Args:
        path: the marker file (default :func:`block_file`).
        warn_every_s: seconds between two warnings in the log.
        clock: Unix time in seconds (tests move it).
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        warn_every_s: float = WARN_EVERY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path if path is not None else block_file()
        self.warn_every_s = warn_every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._warned_at: float | None = None
        self.last: BlockRecord | None = None

    def record(self, reason: str) -> None:
        """Note a block now: the marker file, and a warning unless one was logged lately."""
        now = float(self._clock())
        record = BlockRecord(at=now, reason=reason)
        with self._lock:
            self.last = record
            warn = self._warned_at is None or now - self._warned_at >= self.warn_every_s
            if warn:
                self._warned_at = now
        if warn:
            log.warning("YouTube is blocking musicrec (%s). To fix it: %s.", reason, BLOCK_FIX)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(self.path) as file:
                file.write(json.dumps({"at": now, "reason": reason}).encode())
        except OSError as exc:
            log.debug("cannot write %s: %s", self.path, exc)
