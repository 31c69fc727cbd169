"""A clock that stands still until a test moves it: pass it where code takes ``clock``."""

from __future__ import annotations


class ManualClock:
    """Seconds (monotonic or Unix, as the code reads them); ``now`` is moved by the test."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
