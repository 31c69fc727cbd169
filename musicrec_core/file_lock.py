"""Taking a file's ``flock`` within a deadline, never blocking past it.

Files that the processes of one machine share (the YouTube fetch budget, the SQLite
caches) are locked with ``flock``. A process stopped while holding a lock, or a slow disk,
must cost a waiting caller a bounded wait, never a hang: :func:`flock_before` tries without
blocking, pausing a few milliseconds between tries (doubling up to 20 ms), until its
deadline.
"""

from __future__ import annotations

import errno
import fcntl
import time

__all__ = ["flock_before"]

_POLL_S = (0.001, 0.02)
"""First and longest pause between two tries of the lock, in seconds (doubling)."""
_HELD_ELSEWHERE = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)


def flock_before(fd: int, mode: int, deadline: float) -> bool:
    """Take ``mode`` (``fcntl.LOCK_EX`` or ``LOCK_SH``) on ``fd``, trying again until
    ``deadline`` (:func:`time.monotonic` seconds); whether it was had.

    Raises:
        OSError: the file system cannot lock (anything but "held by someone else").
    """
    pause = _POLL_S[0]
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in _HELD_ELSEWHERE:
                raise
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, _POLL_S[1])
