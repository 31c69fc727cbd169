"""Workers waiting for their next job, and their retirement after a quiet period.

A pool of long-lived worker processes keeps some started between jobs, so the next job
does not pay for a start-up; but each one waiting holds memory (a decode worker about
30 MiB PSS), and a pool that kept every worker a burst made (two uploads at once, a
large upload's idle-class worker) would hold them for good. :class:`IdleShelf` holds the
waiting workers, newest on top, and retires each one that has waited longer than
``retire_after_s``: a bot that has gone quiet holds no worker process, and the spare
workers of a burst go once it is over. Taking the newest first leaves the spare ones at
the bottom, where they age out while the busiest one keeps serving.

Only a worker on the shelf is ever retired, and a worker is on it from :meth:`put` to
:meth:`take`: one holding a job never is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["RETIRE_AFTER_S", "IdleShelf"]

RETIRE_AFTER_S = 30.0
"""Default seconds a worker waits before it is retired. A decode worker holds about
30 MiB PSS waiting and a yt-dlp worker about 40; starting one again costs 0.15-0.2 CPU-s,
and only after the pool has been quiet for this long, when the CPU is free."""

K = TypeVar("K", bound=Hashable)
W = TypeVar("W")


class IdleShelf(Generic[K, W]):
    """Waiting workers by kind (``K``, e.g. a priority class). Thread-safe.

    Args:
        retire: stops a worker that waited too long; called on the shelf's own thread,
            never while the shelf's lock is held, for a worker already off the shelf.
        retire_after_s: seconds a worker may wait (> 0); None: workers wait for ever.
        name: names the retiring thread (``<name>-retire``).
    """

    def __init__(
        self, retire: Callable[[W], None], retire_after_s: float | None, name: str
    ) -> None:
        if retire_after_s is not None and not retire_after_s > 0:
            raise ValueError(f"retire_after_s must be > 0 or None, got {retire_after_s!r}")
        self.retire_after_s = retire_after_s
        self._retire = retire
        self._name = name
        self._waiting: dict[K, list[tuple[float, W]]] = {}  # oldest first: (since, worker)
        self._changed = threading.Condition()
        self._closed = False
        self._retirer: threading.Thread | None = None

    def put(self, kind: K, worker: W, limit: int) -> bool:
        """Shelve ``worker``; False (not shelved: the caller stops it) when ``limit`` of its
        kind already wait or the shelf is closed."""
        with self._changed:
            waiting = self._waiting.setdefault(kind, [])
            if self._closed or len(waiting) >= limit:
                return False
            waiting.append((time.monotonic(), worker))
            if self.retire_after_s is not None and self._retirer is None:
                self._retirer = threading.Thread(
                    target=self._retire_the_idle,
                    args=(self.retire_after_s,),
                    name=f"{self._name}-retire",
                    daemon=True,
                )
                self._retirer.start()
            self._changed.notify_all()
            return True

    def take(self, kind: K) -> W | None:
        """The worker of ``kind`` shelved last (off the shelf now), or None."""
        with self._changed:
            waiting = self._waiting.get(kind)
            return waiting.pop()[1] if waiting else None

    def workers(self) -> list[W]:
        """Every worker waiting now."""
        with self._changed:
            return [worker for waiting in self._waiting.values() for _, worker in waiting]

    def close(self) -> list[W]:
        """Shelve nothing more and stop retiring; the workers that were waiting (off the
        shelf now: the caller stops them)."""
        with self._changed:
            self._closed = True
            waiting = [worker for shelf in self._waiting.values() for _, worker in shelf]
            self._waiting = {}
            self._changed.notify_all()
        return waiting

    def _retire_the_idle(self, after: float) -> None:
        """The retiring thread: stops each worker once it has waited ``after`` seconds."""
        while True:
            with self._changed:
                if self._closed:
                    return
                due = self._take_shelved_before(time.monotonic() - after)
                if not due:
                    self._changed.wait(self._until_next_due(after))
                    continue
            for worker in due:
                self._retire(worker)

    def _until_next_due(self, after: float) -> float | None:
        """Seconds (lock held) until the oldest waiting worker is due; None: none waits."""
        oldest = min((shelf[0][0] for shelf in self._waiting.values() if shelf), default=None)
        return None if oldest is None else oldest + after - time.monotonic()

    def _take_shelved_before(self, moment: float) -> list[W]:
        """Off the shelf (lock held): the workers shelved before ``moment`` (monotonic s)."""
        due = []
        for kind, shelf in self._waiting.items():
            due += [worker for since, worker in shelf if since < moment]
            self._waiting[kind] = [(since, worker) for since, worker in shelf if since >= moment]
        return due
