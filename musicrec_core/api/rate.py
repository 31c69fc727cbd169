"""A key's request rate and in-flight limit, enforced in the process that serves it.

:class:`TokenBucket`: a bucket holds up to ``burst`` tokens and gains ``rate`` tokens a
second; a request takes one token, or is refused, told how long until one is there. So a
key may send ``burst`` requests at once after a quiet spell, and ``rate`` a second for as
long as it likes. :class:`InFlight`: how many of a key's requests are running now, refusing
one more past its limit. Both are per process and per key; both are thread-safe.

Times are :func:`time.monotonic` seconds unless a clock is given (tests pass a fake).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["InFlight", "TokenBucket"]


class TokenBucket:
    """``burst`` tokens at most, ``rate`` more each second; full at the start.

    Args:
        rate: tokens gained per second (> 0).
        burst: the bucket's size, in tokens (>= 1).
        clock: monotonic seconds.
    """

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not (rate > 0 and burst >= 1):
            raise ValueError("a token bucket needs a rate above 0 and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Take one token: 0.0 when taken, else the seconds until one will be there
        (nothing taken)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + max(0.0, now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate


class InFlight:
    """Counts a key's requests running at once, up to ``limit`` (>= 1)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("an in-flight limit is at least 1")
        self.limit = limit
        self._running = 0
        self._lock = threading.Lock()

    @property
    def running(self) -> int:
        """Requests entered and not yet left."""
        return self._running

    def enter(self) -> bool:
        """Count one more running request; False (nothing counted) when ``limit`` run."""
        with self._lock:
            if self._running >= self.limit:
                return False
            self._running += 1
            return True

    def leave(self) -> None:
        """One request entered with :meth:`enter` has finished."""
        with self._lock:
            if self._running == 0:
                raise RuntimeError("leave() without a matching enter()")
            self._running -= 1
