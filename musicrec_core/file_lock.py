"""Lock files the processes of one machine share: opened alike, and locked without ever
blocking past a deadline.

Files that the processes of one machine share (the YouTube fetch budget, the SQLite
caches, the members-at-work file) are locked with ``flock``. A process stopped while
holding a lock, or a slow disk, must cost a waiting caller a bounded wait, never a hang:
:func:`try_flock` never waits, and :func:`flock_before` tries again, pausing a few
milliseconds between tries (:func:`poll_pauses`: doubling up to 20 ms), until its
deadline. :func:`open_shared_file` opens such a file, creating it and its folder.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["flock_before", "open_shared_file", "poll_pauses", "try_flock"]

_POLL_S = (0.001, 0.02)
"""First and longest pause between two tries of the lock, in seconds (doubling)."""
_HELD_ELSEWHERE = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)


def open_shared_file(path: Path) -> int:
    """A read-write descriptor (close-on-exec) of its own on ``path``, which is created
    (mode 0600, with its folder) if missing.

    Raises:
        OSError: it cannot be opened or created.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o600)


def try_flock(fd: int, mode: int) -> bool:
    """Take ``mode`` (``fcntl.LOCK_EX`` or ``LOCK_SH``) on ``fd`` if no other holder's
    lock conflicts, without waiting; whether it was had.

    Raises:
        OSError: the file system cannot lock (anything but "held by someone else").
    """
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in _HELD_ELSEWHERE:
            raise
        return False
    return True


def poll_pauses() -> Iterator[float]:
    """The pauses between two tries of a lock, in seconds: 1 ms, doubling up to 20 ms,
    then 20 ms for ever (the caller stops at its own deadline)."""
    pause = _POLL_S[0]
    while True:
        yield pause
        pause = min(pause * 2, _POLL_S[1])


def flock_before(fd: int, mode: int, deadline: float) -> bool:
    """Take ``mode`` (``fcntl.LOCK_EX`` or ``LOCK_SH``) on ``fd``, trying again until
    ``deadline`` (:func:`time.monotonic` seconds); whether it was had.

    Raises:
        OSError: the file system cannot lock (anything but "held by someone else").
    """
    pauses = poll_pauses()
    while not try_flock(fd, mode):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(next(pauses), remaining))
    return True
