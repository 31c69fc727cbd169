"""Event-loop lag monitor: how late the loop wakes a task that asked to sleep.

A task sleeps ``interval_s`` over and over and measures how much later than asked it woke
up. Anything blocking the loop (a decode or a model call run on the loop by mistake) shows
up as lag. The peak since the last :meth:`LagMonitor.take_peak_ms` call is shown by
``/musicrec status`` and logged once a minute when it passes ``warn_ms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from bot.logging_setup import get_logger

log = get_logger(__name__)


class LagMonitor:
    """Measures event-loop lag in milliseconds.

    Args:
        interval_s: how long each probe sleeps, in seconds.
        warn_ms: a peak above this is logged as a warning at the next minute boundary.
        report_every_s: how often the peak is logged, in seconds.
    """

    def __init__(
        self, *, interval_s: float = 0.05, warn_ms: float = 100.0, report_every_s: float = 60.0
    ) -> None:
        self._interval_s = interval_s
        self._warn_ms = warn_ms
        self._report_every_s = report_every_s
        self._peak_ms = 0.0
        self._window_peak_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start probing on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="musicrec-lag")

    async def stop(self) -> None:
        """Stop probing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def take_peak_ms(self) -> float:
        """The largest lag seen since the previous call (in ms), and start a new period."""
        peak, self._peak_ms = self._peak_ms, 0.0
        return peak

    async def _run(self) -> None:
        last_report = time.perf_counter()
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(self._interval_s)
            now = time.perf_counter()
            lag_ms = max(0.0, (now - asked - self._interval_s) * 1000.0)
            self._peak_ms = max(self._peak_ms, lag_ms)
            self._window_peak_ms = max(self._window_peak_ms, lag_ms)
            if now - last_report >= self._report_every_s:
                level = "warning" if self._window_peak_ms > self._warn_ms else "debug"
                getattr(log, level)("event-loop lag peak %.1f ms", self._window_peak_ms)
                self._window_peak_ms = 0.0
                last_report = now
