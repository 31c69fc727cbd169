"""Discord members first, machine-wide: an API key's heavy steps wait while members' requests
are in progress in any process of the machine (the bot, ``musicrec serve``).

Mental model: the bot and ``musicrec serve`` are separate processes on the same cores. Each
one's fair pools (:mod:`.scheduler`) see only their own requesters, so a key flooding the
server took CPU from the bot's members however fair each process was inside. One lock file
in the cache root (:data:`MEMBERS_AT_WORK_FILE`, beside the YouTube budget) joins them:

- while a Discord member's request is admitted in a process (from admission to answer),
  that process holds a shared ``flock`` on the file (:meth:`MembersFirst.member_at_work`:
  one lock per process, counted by its members at work);
- before each heavy step of an API key's request (a YouTube fetch, an upload's decode, the
  embedding), the step tries the exclusive lock without waiting, which it gets only when no
  process holds the shared one, and lets it go at once: while members are at work it looks
  again every few milliseconds (1 ms, doubling up to 20 ms), for at most ``key_wait_s``
  seconds, then goes anyway (:meth:`MembersFirst.wait_turn`), so a bot that is never idle
  slows keys down, never stops them;
- a key's decode that is already running when members arrive is stopped in its worker
  for at most as long again (:mod:`.worker_pauses`).

A member never waits for a key: the shared lock is asked for without blocking. In the
microseconds a key holds the exclusive lock to look, a member's process cannot take the
shared one; it takes it at its next member's request instead (the key that looked goes
ahead, as it would have a moment earlier). A fetch or an embedding already running when a
member arrives runs on: only their starts wait.

A process that dies lets its lock go with it (the kernel drops a ``flock`` with the last
descriptor of the open file), so a crash never leaves keys waiting. The file holds no data.
When the file cannot be opened or locked (a read-only cache, a file system without
``flock``), that is logged once and nothing waits: keys go first come, first served.

Thread-safe: members are marked on the event loop, keys' steps wait on the loop
(:meth:`MembersFirst.wait_turn_async`) or in a pool's worker thread (:meth:`wait_turn`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

from musicrec_core.file_lock import open_shared_file, poll_pauses, try_flock
from musicrec_core.paths import cache_root
from musicrec_core.service.worker_pauses import WorkerPauses
from musicrec_core.worker_watch import watched

__all__ = ["MEMBERS_AT_WORK_FILE", "MembersFirst", "members_at_work_path"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

MEMBERS_AT_WORK_FILE = "members-at-work.lock"


def members_at_work_path() -> Path:
    """``<cache root>/members-at-work.lock``: shared by the processes of one machine."""
    return cache_root() / MEMBERS_AT_WORK_FILE


class MembersFirst:
    """Marks this process's members at work; holds keys' steps back while any are.

    Args:
        path: the lock file shared by the machine's processes (created with its folder).
        key_wait_s: longest one key step waits for members, in seconds; 0 = keys never wait.
    """

    def __init__(self, path: Path, *, key_wait_s: float) -> None:
        if not key_wait_s >= 0:
            raise ValueError("key_wait_s must be >= 0")
        self.key_wait_s = key_wait_s
        self._lock = threading.Lock()
        self._members = 0
        """Members at work in this process."""
        self._marked = False
        """Whether this process holds the shared lock."""
        self._waiting = 0
        self._closed = threading.Event()
        self._member_fd = self._open(path)
        self._probe_fd = self._open(path) if self._member_fd is not None else None
        self._stops = WorkerPauses(self.members_at_work, allowance_s=key_wait_s)

    @property
    def waiting(self) -> int:
        """Key steps of this process waiting for members now: before they start, or
        stopped in their decode worker."""
        return self._waiting + self._stops.stopped

    def close(self) -> None:
        """End the waits (their steps go), continue stopped workers and let the lock file
        go."""
        self._closed.set()
        self._stops.close()
        with self._lock:
            for fd in (self._member_fd, self._probe_fd):
                if fd is not None:
                    os.close(fd)
            self._member_fd = self._probe_fd = None
            self._marked = False

    @contextlib.contextmanager
    def member_at_work(self) -> Iterator[None]:
        """Mark one Discord member's request in progress for the ``with`` block (never
        waits)."""
        with self._lock:
            self._members += 1
            self._mark()
        try:
            yield
        finally:
            with self._lock:
                self._members -= 1
                if not self._members and self._marked and self._member_fd is not None:
                    fcntl.flock(self._member_fd, fcntl.LOCK_UN)
                    self._marked = False

    def wait_turn(self) -> None:
        """Block until no member's request is in progress on the machine, at most
        :attr:`key_wait_s` seconds (a key step, in a worker thread)."""
        with self._counted():
            for pause in self._pauses():
                if self._closed.wait(pause):
                    return

    async def wait_turn_async(self) -> None:
        """:meth:`wait_turn` on the event loop (pausing without blocking it)."""
        with self._counted():
            for pause in self._pauses():
                await asyncio.sleep(pause)

    def after_members(self, func: Callable[P, T]) -> Callable[P, T]:
        """``func``, run after :meth:`wait_turn`, its decode workers stopped for at most
        :attr:`key_wait_s` more while members are at work (:mod:`.worker_pauses`): a key's
        job for a worker pool."""

        @functools.wraps(func)
        def in_turn(*args: P.args, **kwargs: P.kwargs) -> T:
            self.wait_turn()
            with watched(self._stops.pausing):
                return func(*args, **kwargs)

        return in_turn

    def members_at_work(self) -> bool:
        """Whether a member's request is in progress in a process of the machine (this one
        included) now: the exclusive lock was not to be had (when it is, it is let go at
        once). False without a usable file."""
        with self._lock:
            fd = self._probe_fd
            if fd is None:
                return False
            try:
                if not try_flock(fd, fcntl.LOCK_EX):
                    return True
            except OSError as exc:
                self._give_up("lock", exc)
                return False
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False

    def _mark(self) -> None:
        """Take the shared lock for this process if it does not hold it (under
        ``self._lock``); a key looking at this very moment leaves it to the next member."""
        if self._marked or self._member_fd is None:
            return
        try:
            self._marked = try_flock(self._member_fd, fcntl.LOCK_SH)
        except OSError as exc:
            self._give_up("lock", exc)

    def _pauses(self) -> Iterator[float]:
        """The pauses (seconds) before each new look, while members are at work, the wait
        is under :attr:`key_wait_s` and nothing closed it."""
        if self.key_wait_s == 0:
            return
        deadline = time.monotonic() + self.key_wait_s
        pauses = poll_pauses()
        while not self._closed.is_set() and self.members_at_work():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            yield min(next(pauses), remaining)

    @contextlib.contextmanager
    def _counted(self) -> Iterator[None]:
        with self._lock:
            self._waiting += 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting -= 1

    def _open(self, path: Path) -> int | None:
        """A descriptor of its own on ``path`` (created with its folder); None when it
        cannot be opened (logged)."""
        try:
            return open_shared_file(path)
        except OSError as exc:
            log.warning(
                "cannot open %s (%s): API keys will not wait for Discord members", path, exc
            )
            return None

    def _give_up(self, action: str, exc: OSError) -> None:
        """The file cannot be locked: log it and stop using it (under ``self._lock``)."""
        log.warning("cannot %s the members-at-work file (%s): keys no longer wait", action, exc)
        for fd in (self._member_fd, self._probe_fd):
            if fd is not None:
                os.close(fd)
        self._member_fd = self._probe_fd = None
        self._marked = False
