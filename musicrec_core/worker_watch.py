"""A hook around the time a worker process runs one job, for whoever wants to watch it.

Mental model: the audio layer runs a request's decoding in long-lived worker processes
(:mod:`musicrec_core.audio.decode_workers`), far below the request service that knows whose
request it is. The service marks a job's thread with a *watcher*
(:func:`watched`); while that thread has a worker busy with the job, the pool brackets the
work with :func:`worker_running`, which hands the watcher the worker's process id and the
job's :class:`JobClock`. Outside a marked thread, :func:`worker_running` does nothing.

The one watcher today pauses an API key's decode while Discord members are at work
(:mod:`musicrec_core.service.worker_pauses`): a stopped worker's wall-clock limit must not run
while it is stopped, hence the clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Protocol

__all__ = ["JobClock", "Watcher", "watched", "worker_running"]


class JobClock(Protocol):
    """The clock of a job's deadline (:class:`musicrec_core.audio.process.Budget`)."""

    def stop_clock(self) -> None:
        """Stop counting: the worker is about to be stopped."""

    def start_clock(self) -> None:
        """Count again: the worker was continued (the deadline moves on by the pause)."""


Watcher = Callable[[int, JobClock], AbstractContextManager[None]]
"""``watcher(pid, clock)``: a context manager held while the worker ``pid`` (the leader of
its own process group) runs the job whose deadline runs on ``clock``."""

_watcher: ContextVar[Watcher | None] = ContextVar("musicrec_worker_watcher", default=None)


@contextlib.contextmanager
def watched(watcher: Watcher) -> Iterator[None]:
    """Jobs run in this thread (or task) during the ``with`` block are watched by
    ``watcher``."""
    token = _watcher.set(watcher)
    try:
        yield
    finally:
        _watcher.reset(token)


@contextlib.contextmanager
def worker_running(pid: int, clock: JobClock) -> Iterator[None]:
    """Bracket the worker ``pid``'s work on the current job for this context's watcher,
    if it has one."""
    watcher = _watcher.get()
    if watcher is None:
        yield
        return
    with watcher(pid, clock):
        yield
