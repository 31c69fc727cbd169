"""An hourly budget of YouTube fetches, so one busy server never gets its address banned.

Mental model: without an account YouTube tolerates roughly 300 videos an hour from one
address, then answers "Sign in to confirm you're not a bot" to everything. A
:class:`FetchBudget` remembers when each of the fetches of the last ``window_s`` seconds
(an hour) started: a sliding window, not a counter reset on the hour, so a burst at 10:59
and another at 11:01 are both counted. :meth:`FetchBudget.take` records one more fetch, or
raises :class:`YouTubeBusyError` (a friendly sentence saying in how many minutes the oldest
fetch leaves the window) when ``limit`` fetches are already in it. A link answered from
the embedded-clip cache (:mod:`musicrec_core.clip_cache`) downloads nothing and takes
nothing from the budget.

Where the window lives: in the object (one process, e.g. the CLI), or in a small file
that every process of a machine shares, since YouTube counts per public address, not per
process (the bot uses ``<cache root>/youtube-fetches.bin``, :func:`default_budget_path`).
Each :meth:`~FetchBudget.take` and :meth:`~FetchBudget.used` opens the file, holds an
exclusive ``flock`` only for one read-modify-write of a few KB, and closes it. The file
is a header (magic, count, CRC-32 of the stamps) and ``count`` little-endian float64 start
times (Unix seconds), rewritten in place: a write cut short by a crash fails its CRC and
reads as an empty window (logged), so the file can never refuse forever. A stamp later
than now (the clock was set back) counts as now. A file that cannot be opened or written
is logged once; the budget then counts in this process alone rather than failing a fetch.

Thread-safe; the clock is injectable (tests move it instead of sleeping).
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import logging
import math
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from musicrec_core.errors import FetchError
from musicrec_core.paths import cache_root

__all__ = [
    "BUDGET_FILE",
    "DEFAULT_FETCHES_PER_HOUR",
    "WINDOW_S",
    "FetchBudget",
    "YouTubeBusyError",
    "default_budget_path",
]

log = logging.getLogger(__name__)

DEFAULT_FETCHES_PER_HOUR = 200
"""Below the ~300 videos an hour YouTube tolerates from one address without an account."""
WINDOW_S = 3600.0
"""The budget's sliding window, in seconds."""
BUDGET_FILE = "youtube-fetches.bin"

_HEADER = struct.Struct("<4sII")
"""Magic, number of stamps, CRC-32 of the stamps' bytes."""
_MAGIC = b"MRF1"


def default_budget_path() -> Path:
    """``<cache root>/youtube-fetches.bin``: shared by the bot processes of one machine."""
    return cache_root() / BUDGET_FILE


class YouTubeBusyError(FetchError):
    """The hourly fetch budget is spent; ``retry_after_s`` says when one fetch frees up."""

    def __init__(self, retry_after_s: float) -> None:
        minutes = max(1, math.ceil(retry_after_s / 60.0))
        super().__init__(
            f"YouTube is busy for musicrec: try again in {minutes} min "
            "(an audio file works right away)."
        )
        self.retry_after_s = retry_after_s


class FetchBudget:
    """At most ``limit`` fetches in any ``window_s`` seconds, in one process or shared.

    Args:
        limit: fetches allowed per window (>= 1).
        window_s: the window, in seconds (default an hour).
        clock: seconds; default :func:`time.time` with a ``path`` (comparable between
            processes and across restarts), else :func:`time.monotonic`.
        path: the file shared with other processes; None keeps the window in this object.
    """

    def __init__(
        self,
        limit: int = DEFAULT_FETCHES_PER_HOUR,
        *,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] | None = None,
        path: Path | None = None,
    ) -> None:
        if limit < 1 or not window_s > 0:
            raise ValueError("a fetch budget needs limit >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self.path = path
        if clock is None:
            clock = time.monotonic if path is None else time.time
        self._clock = clock
        self._started: list[float] = []
        """Start times in the window: the whole truth without a file, else the last seen."""
        self._lock = threading.Lock()
        self._file_failed = False

    def take(self) -> None:
        """Record one fetch starting now.

        Raises:
            YouTubeBusyError: ``limit`` fetches already started within the window.
        """
        with self._window() as started:
            now = float(self._clock())
            self._expire(started, now)
            spent = len(started) >= self.limit
            if not spent:
                started.append(now)
        if spent:  # the expired and clamped window was still written back
            raise YouTubeBusyError(started[0] + self.window_s - now)

    def used(self) -> int:
        """Fetches started within the window."""
        with self._window() as started:
            self._expire(started, float(self._clock()))
            return len(started)

    def _expire(self, started: list[float], now: float) -> None:
        """Forget fetches that left the window; a stamp after ``now`` counts as now."""
        if started and started[-1] > now:
            started[:] = [min(at, now) for at in started]
        del started[: bisect.bisect_right(started, now - self.window_s)]

    @contextlib.contextmanager
    def _window(self) -> Iterator[list[float]]:
        """The start times (sorted), locked; kept (and written to the file) when the body
        returns."""
        with self._lock:
            fd = self._open_locked()
            if fd is None:
                started = list(self._started)
                yield started
                self._started = started
                return
            try:
                started = self._read(fd)
                yield started
                self._started = started
                self._write(fd, started)
            finally:
                os.close(fd)  # releases the flock

    def _open_locked(self) -> int | None:
        """The shared file, opened (created with its folder if missing) and locked; None
        without a file or when it cannot be used."""
        if self.path is None:
            return None
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
        try:
            try:
                fd = os.open(self.path, flags, 0o600)
            except FileNotFoundError:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            self._file_failure("open", exc)
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:  # e.g. a network file system without locks
            os.close(fd)
            self._file_failure("lock", exc)
            return None
        return fd

    def _read(self, fd: int) -> list[float]:
        """The stamps in the file; an empty list for a new, cut-short or corrupt file."""
        try:
            data = os.pread(fd, os.fstat(fd).st_size, 0)
        except OSError as exc:
            self._file_failure("read", exc)
            return list(self._started)
        if not data:
            return []
        if len(data) >= _HEADER.size:
            magic, count, crc = _HEADER.unpack_from(data)
            stamps = data[_HEADER.size : _HEADER.size + 8 * count]
            if magic == _MAGIC and len(stamps) == 8 * count and zlib.crc32(stamps) == crc:
                return sorted(struct.unpack(f"<{count}d", stamps))
        log.warning("the YouTube fetch budget file %s is damaged; counting from empty", self.path)
        return []

    def _write(self, fd: int, started: list[float]) -> None:
        """Rewrite the file in place (header first, then truncate to the new length)."""
        stamps = struct.pack(f"<{len(started)}d", *started)
        payload = _HEADER.pack(_MAGIC, len(started), zlib.crc32(stamps)) + stamps
        try:
            os.pwrite(fd, payload, 0)
            os.ftruncate(fd, len(payload))
        except OSError as exc:
            self._file_failure("write", exc)

    def _file_failure(self, action: str, exc: OSError) -> None:
        """Log the first failure to use the file; the budget then counts in this process."""
        if not self._file_failed:
            self._file_failed = True
            log.warning(
                "cannot %s the YouTube fetch budget file %s (%s); counting this process's "
                "fetches only",
                action,
                self.path,
                exc.strerror or exc,
            )
