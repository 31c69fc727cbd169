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

Thread-safe; the clock is injectable (tests move it instead of sleeping).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from musicrec_core.errors import FetchError

__all__ = ["DEFAULT_FETCHES_PER_HOUR", "WINDOW_S", "FetchBudget", "YouTubeBusyError"]

DEFAULT_FETCHES_PER_HOUR = 200
"""Below the ~300 videos an hour YouTube tolerates from one address without an account."""
WINDOW_S = 3600.0
"""The budget's sliding window, in seconds."""


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
    """At most ``limit`` fetches in any ``window_s`` seconds.

    Args:
        limit: fetches allowed per window (>= 1).
        window_s: the window, in seconds (default an hour).
        clock: monotonic seconds (default :func:`time.monotonic`).
    """

    def __init__(
        self,
        limit: int = DEFAULT_FETCHES_PER_HOUR,
        *,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or not window_s > 0:
            raise ValueError("a fetch budget needs limit >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._started: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self) -> None:
        """Record one fetch starting now.

        Raises:
            YouTubeBusyError: ``limit`` fetches already started within the window.
        """
        with self._lock:
            now = self._expire()
            if len(self._started) >= self.limit:
                raise YouTubeBusyError(self._started[0] + self.window_s - now)
            self._started.append(now)

    def used(self) -> int:
        """Fetches started within the window."""
        with self._lock:
            self._expire()
            return len(self._started)

    def _expire(self) -> float:
        """Forget fetches that left the window; returns the clock's time now (lock held)."""
        now = float(self._clock())
        while self._started and self._started[0] + self.window_s <= now:
            self._started.popleft()
        return now
