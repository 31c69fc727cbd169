"""The fetch one link request took from the YouTube budget, and whether it may go back.

Mental model: a link that misses the clip cache takes one fetch from the hourly budget
before anything is downloaded (:meth:`~musicrec_core.sources.budget.FetchBudget.take`
returns its stamp). YouTube is what the budget protects, so the fetch is given back exactly
when YouTube saw nothing of it: the request ended before its fetch started (refused,
timed out while waiting for a fetch worker, its acknowledgement failed), or the fetch
ended with :class:`~musicrec_core.errors.YouTubeNotReachedError` (no connection opened,
yt-dlp not started). A fetch that started and might have reached YouTube is kept, whatever
became of the request.

The fetch runs in a worker thread and the request ends on the event loop, possibly at the
same moment (the request deadline), so a :class:`YouTubeCharge` settles that race under a
lock: once given back, the fetch does not start; once started, it is not given back
(unless it ends unreached).
"""

from __future__ import annotations

import enum
import threading

from musicrec_core.sources.budget import FetchStamp


class _State(enum.Enum):
    TAKEN = "taken"
    """Taken; YouTube has seen nothing (yet)."""
    FETCHING = "fetching"
    """The fetch started: it may have reached YouTube."""
    RETURNED = "returned"
    """Given back: the fetch must not start."""


class YouTubeCharge:
    """One fetch taken for a request: its ``stamp`` and whether YouTube may have seen it."""

    def __init__(self, stamp: FetchStamp) -> None:
        self.stamp = stamp
        self._state = _State.TAKEN
        self._lock = threading.Lock()

    def start_fetch(self) -> bool:
        """Mark the fetch started (call it in the fetch worker, just before the fetch);
        False when the charge was already given back (then do not fetch)."""
        with self._lock:
            if self._state is _State.RETURNED:
                return False
            self._state = _State.FETCHING
            return True

    def not_reached(self) -> None:
        """The fetch ended without reaching YouTube: the charge may be given back."""
        with self._lock:
            if self._state is _State.FETCHING:
                self._state = _State.TAKEN

    def settle_unspent(self) -> bool:
        """Whether the fetch is to be given back now (it never reached YouTube); True at
        most once, after which :meth:`start_fetch` refuses."""
        with self._lock:
            if self._state is not _State.TAKEN:
                return False
            self._state = _State.RETURNED
            return True
