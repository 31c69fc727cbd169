"""An hourly budget of YouTube fetches, divided fairly, so one member never spends it all.

Mental model: without an account YouTube tolerates roughly 300 videos an hour from one
address, then answers "Sign in to confirm you're not a bot" to everything. A
:class:`FetchBudget` remembers each fetch of the last ``window_s`` seconds (an hour) as a
:class:`FetchStamp`: when it started, and which member and server took it. It is a sliding
window, not a counter reset on the hour, so a burst at 10:59 and another at 11:01 are both
counted. :meth:`FetchBudget.take` records one more fetch, or refuses it when

- ``limit`` fetches are already in the window (:class:`YouTubeBusyError`),
- the member's server already has ``server_share`` of ``limit`` in it
  (:class:`ServerShareSpentError`), or
- the member already has ``member_share`` of ``limit`` in it (:class:`MemberShareSpentError`).

Each refusal is a friendly sentence saying in how many minutes the fetch that blocks it
leaves the window (when several limits are reached, the one that frees up last). A share
is at least one fetch. Member and server 0 stand for "nobody" (the CLI, a direct message):
such fetches count toward the total and toward no share. A link answered from the
embedded-clip cache (:mod:`musicrec_core.clip_cache`) downloads nothing and takes nothing.

A fetch that never reached YouTube is returned with :meth:`FetchBudget.give_back`, which
removes exactly the stamp :meth:`~FetchBudget.take` returned (nothing when it already left
the window).

Where the window lives: in the object (one process, e.g. the CLI), or in a small file that
every process of a machine shares, since YouTube counts per public address, not per process
(the bot uses ``<cache root>/youtube-fetches.bin``, :func:`default_budget_path`). Because
the shares are counted in the same file as the total, N shard processes never multiply a
member's or a server's share. Each call opens the file, holds an exclusive ``flock`` only
for one read-modify-write of a few KB, and closes it. Its layout, and why member and server
ids are stored as they are, not hashed: :mod:`musicrec_core.sources.budget_file`. A file of
the first format (before shares) is read with no owner on each fetch, so those count
toward the total only, and is rewritten in the new format. A write cut short by a crash
fails its CRC and reads as an empty window (logged), so the file can never refuse forever.
A stamp later than now (the clock was set back) counts as now. A file that cannot be
opened or written is logged once; the budget then counts in this process alone rather than
failing a fetch.

Waiting: the lock is asked for without blocking, again every few milliseconds, until
``lock_timeout_s``; then the call raises :class:`FetchBudgetBusyError` ("try again in a few
seconds"), so a process stopped while holding the lock, or a slow disk, costs the waiting
request an answer, never a thread forever. Every call blocks (up to that timeout): an
event loop runs them in a worker thread.

Thread-safe; the clock is injectable (tests move it instead of sleeping).
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import fcntl
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from musicrec_core.errors import FetchError
from musicrec_core.file_lock import flock_before, open_shared_file
from musicrec_core.paths import cache_root
from musicrec_core.sources.budget_file import MAX_ID, FetchStamp, decode, encode

__all__ = [
    "BUDGET_FILE",
    "DEFAULT_FETCHES_PER_HOUR",
    "DEFAULT_LOCK_TIMEOUT_S",
    "DEFAULT_MEMBER_SHARE",
    "DEFAULT_SERVER_SHARE",
    "WINDOW_S",
    "FetchBudget",
    "FetchBudgetBusyError",
    "FetchStamp",
    "MemberShareSpentError",
    "ServerShareSpentError",
    "YouTubeBusyError",
    "default_budget_path",
]

log = logging.getLogger(__name__)

DEFAULT_FETCHES_PER_HOUR = 200
"""Below the ~300 videos an hour YouTube tolerates from one address without an account."""
DEFAULT_MEMBER_SHARE = 0.10
"""Fraction of the hourly limit one member may spend (the bot's default; 20 of 200)."""
DEFAULT_SERVER_SHARE = 0.50
"""Fraction of the hourly limit one server may spend (the bot's default; 100 of 200)."""
WINDOW_S = 3600.0
"""The budget's sliding window, in seconds."""
DEFAULT_LOCK_TIMEOUT_S = 5.0
"""Longest wait for the shared file's lock, in seconds (the bot asks for less)."""
BUDGET_FILE = "youtube-fetches.bin"

_SHARE_EPSILON = 1e-9
"""Absorbs float error in ``limit * share`` (0.29 * 100 is 28.999...)."""


def default_budget_path() -> Path:
    """``<cache root>/youtube-fetches.bin``: shared by the bot processes of one machine."""
    return cache_root() / BUDGET_FILE


def share_limit(limit: int, share: float) -> int:
    """Fetches a share of ``limit`` allows: ``floor(limit * share)``, at least 1."""
    return max(1, math.floor(limit * share + _SHARE_EPSILON))


def _minutes(retry_after_s: float) -> int:
    return max(1, math.ceil(retry_after_s / 60.0))


class YouTubeBusyError(FetchError):
    """The hourly fetch budget is spent; ``retry_after_s`` says when one fetch frees up."""

    def __init__(self, retry_after_s: float, message: str | None = None) -> None:
        super().__init__(
            message
            or f"YouTube is busy for musicrec: try again in {_minutes(retry_after_s)} min "
            "(an audio file works right away)."
        )
        self.retry_after_s = retry_after_s


class ServerShareSpentError(YouTubeBusyError):
    """This server spent its share of the hourly budget (``allowed`` fetches)."""

    def __init__(self, retry_after_s: float, allowed: int) -> None:
        super().__init__(
            retry_after_s,
            f"This server has used its share of YouTube links for this hour ({allowed}): "
            f"try again in {_minutes(retry_after_s)} min (an audio file works right away).",
        )
        self.allowed = allowed


class MemberShareSpentError(YouTubeBusyError):
    """This member spent their share of the hourly budget (``allowed`` fetches)."""

    def __init__(self, retry_after_s: float, allowed: int) -> None:
        super().__init__(
            retry_after_s,
            f"You have used your share of YouTube links for this hour ({allowed}): it "
            f"refills in {_minutes(retry_after_s)} min. An audio file works right away.",
        )
        self.allowed = allowed


class FetchBudgetBusyError(FetchError):
    """The shared budget file stayed locked by another process past the lock timeout."""

    def __init__(self) -> None:
        super().__init__(
            "musicrec could not count this YouTube link just now (its budget file is busy): "
            "please try again in a few seconds."
        )


def _at(stamp: FetchStamp) -> float:
    return stamp.at


class FetchBudget:
    """At most ``limit`` fetches in any ``window_s`` seconds, shared fairly, in one process
    or through a file.

    Args:
        limit: fetches allowed per window (>= 1).
        member_share: fraction of ``limit`` one member may have in the window (0 < x <= 1;
            default 1, no division: the bot passes its setting).
        server_share: fraction of ``limit`` one server may have in the window (0 < x <= 1).
        window_s: the window, in seconds (default an hour).
        clock: seconds; default :func:`time.time` with a ``path`` (comparable between
            processes and across restarts), else :func:`time.monotonic`.
        path: the file shared with other processes; None keeps the window in this object.
        lock_timeout_s: longest wait for the file's lock (and this object's) per call.
    """

    def __init__(
        self,
        limit: int = DEFAULT_FETCHES_PER_HOUR,
        *,
        member_share: float = 1.0,
        server_share: float = 1.0,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] | None = None,
        path: Path | None = None,
        lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    ) -> None:
        if limit < 1 or not window_s > 0:
            raise ValueError("a fetch budget needs limit >= 1 and window_s > 0")
        if not (0 < member_share <= 1 and 0 < server_share <= 1):
            raise ValueError("a share is a fraction of the limit, above 0 and at most 1")
        if not lock_timeout_s >= 0:
            raise ValueError("lock_timeout_s must be >= 0")
        self.limit = limit
        self.member_limit = share_limit(limit, member_share)
        """Fetches one member may have in the window."""
        self.server_limit = share_limit(limit, server_share)
        """Fetches one server may have in the window."""
        self.window_s = window_s
        self.path = path
        self.lock_timeout_s = lock_timeout_s
        if clock is None:
            clock = time.monotonic if path is None else time.time
        self._clock = clock
        self._stamps: list[FetchStamp] = []
        """The window, sorted by start: the whole truth without a file, else the last seen."""
        self._lock = threading.Lock()
        self._file_failed = False
        self._old_format_seen = False

    def take(
        self, member: int = 0, server: int = 0, *, member_share: float | None = None
    ) -> FetchStamp:
        """Record one fetch starting now for ``member`` of ``server`` (0 = none).

        ``member_share`` replaces the budget's member share for this member (an API key's
        own share of the limit, 0 < x <= 1); None = :attr:`member_limit`.

        Returns:
            The stamp recorded: hand it to :meth:`give_back` if the fetch never reached
            YouTube.

        Raises:
            YouTubeBusyError: the total is spent, or :class:`ServerShareSpentError` /
                :class:`MemberShareSpentError`: that share is; nothing is recorded.
            FetchBudgetBusyError: the lock was not had within ``lock_timeout_s``.
            ValueError: an id outside 0 .. 2**64 - 1, or a share outside (0, 1].
        """
        if not (0 <= member <= MAX_ID and 0 <= server <= MAX_ID):
            raise ValueError("member and server ids are unsigned 64-bit numbers")
        if member_share is not None and not 0 < member_share <= 1:
            raise ValueError("a share is a fraction of the limit, above 0 and at most 1")
        member_limit = (
            self.member_limit if member_share is None else share_limit(self.limit, member_share)
        )
        with self._window() as stamps:
            now = float(self._clock())
            self._expire(stamps, now)
            refusal = self._refusal(stamps, now, member, server, member_limit)
            if refusal is None:
                stamp = FetchStamp(now, member, server)
                bisect.insort(stamps, stamp, key=_at)
        if refusal is not None:  # the expired and clamped window was still written back
            raise refusal
        return stamp

    def give_back(self, stamp: FetchStamp) -> bool:
        """Forget ``stamp`` (a fetch that never reached YouTube); whether it was found (it
        is not once it left the window, or was clamped after the clock went back).

        Raises:
            FetchBudgetBusyError: the lock was not had within ``lock_timeout_s``.
        """
        with self._window() as stamps:
            self._expire(stamps, float(self._clock()))
            try:
                stamps.remove(stamp)
            except ValueError:
                return False
            return True

    def used(self) -> int:
        """Fetches started within the window.

        Raises:
            FetchBudgetBusyError: the lock was not had within ``lock_timeout_s``.
        """
        with self._window() as stamps:
            self._expire(stamps, float(self._clock()))
            return len(stamps)

    def _refusal(
        self, stamps: list[FetchStamp], now: float, member: int, server: int, member_limit: int
    ) -> YouTubeBusyError | None:
        """Why one more fetch for ``member`` (allowed ``member_limit``) of ``server`` is
        refused, or None.

        Of the limits reached, the one that frees up last is named (on a tie: the total,
        then the server's, then the member's), since the fetch waits for all of them.
        """
        refusals: list[tuple[float, int, YouTubeBusyError]] = []
        wait = self._wait_s(stamps, self.limit, now)
        if wait is not None:
            refusals.append((wait, 2, YouTubeBusyError(wait)))
        if server:
            wait = self._wait_s([s for s in stamps if s.server == server], self.server_limit, now)
            if wait is not None:
                refusals.append((wait, 1, ServerShareSpentError(wait, self.server_limit)))
        if member:
            wait = self._wait_s([s for s in stamps if s.member == member], member_limit, now)
            if wait is not None:
                refusals.append((wait, 0, MemberShareSpentError(wait, member_limit)))
        if not refusals:
            return None
        return max(refusals, key=lambda refusal: refusal[:2])[2]

    def _wait_s(self, stamps: list[FetchStamp], allowed: int, now: float) -> float | None:
        """Seconds until ``stamps`` (sorted, within the window) hold fewer than ``allowed``;
        None when they already do."""
        if len(stamps) < allowed:
            return None
        return stamps[len(stamps) - allowed].at + self.window_s - now

    def _expire(self, stamps: list[FetchStamp], now: float) -> None:
        """Forget fetches that left the window; a stamp after ``now`` counts as now."""
        if stamps and stamps[-1].at > now:
            stamps[:] = [dataclasses.replace(s, at=min(s.at, now)) for s in stamps]
        del stamps[: bisect.bisect_right(stamps, now - self.window_s, key=_at)]

    @contextlib.contextmanager
    def _window(self) -> Iterator[list[FetchStamp]]:
        """The stamps (sorted by start), locked; kept (and written to the file) when the
        body returns.

        Raises:
            FetchBudgetBusyError: the locks were not had within ``lock_timeout_s``.
        """
        deadline = time.monotonic() + self.lock_timeout_s
        if not self._lock.acquire(timeout=self.lock_timeout_s):
            raise FetchBudgetBusyError()
        try:
            fd = self._open_locked(deadline)
            if fd is None:
                stamps = list(self._stamps)
                yield stamps
                self._stamps = stamps
                return
            try:
                stamps = self._read(fd)
                yield stamps
                self._stamps = stamps
                self._write(fd, stamps)
            finally:
                os.close(fd)  # releases the flock
        finally:
            self._lock.release()

    def _open_locked(self, deadline: float) -> int | None:
        """The shared file, opened (created with its folder if missing) and locked; None
        without a file or when it cannot be used.

        Raises:
            FetchBudgetBusyError: another process held the lock past ``deadline``.
        """
        if self.path is None:
            return None
        try:
            fd = open_shared_file(self.path)
        except OSError as exc:
            self._file_failure("open", exc)
            return None
        try:
            locked = flock_before(fd, fcntl.LOCK_EX, deadline)
        except OSError as exc:  # e.g. a network file system without locks
            os.close(fd)
            self._file_failure("lock", exc)
            return None
        if not locked:
            os.close(fd)
            log.warning(
                "the YouTube fetch budget file %s stayed locked by another process for "
                "%.1f s; one request was told to try again",
                self.path,
                self.lock_timeout_s,
            )
            raise FetchBudgetBusyError()
        return fd

    def _read(self, fd: int) -> list[FetchStamp]:
        """The stamps in the file; an empty list for a new, cut-short or corrupt file."""
        try:
            data = os.pread(fd, os.fstat(fd).st_size, 0)
        except OSError as exc:
            self._file_failure("read", exc)
            return list(self._stamps)
        if not data:
            return []
        decoded = decode(data)
        if decoded is not None:
            stamps, first_format = decoded
            if first_format:
                self._note_old_format(len(stamps))
            return sorted(stamps, key=_at)
        log.warning("the YouTube fetch budget file %s is damaged; counting from empty", self.path)
        return []

    def _note_old_format(self, count: int) -> None:
        """Log (once) that the file was written before shares existed."""
        if not self._old_format_seen:
            self._old_format_seen = True
            log.info(
                "the YouTube fetch budget file %s is in the format before shares; its %d "
                "fetches count toward the total only, and it is rewritten in the new format",
                self.path,
                count,
            )

    def _write(self, fd: int, stamps: list[FetchStamp]) -> None:
        """Rewrite the file in place (header first, then truncate to the new length)."""
        payload = encode(stamps)
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
