"""Stopping an API key's running decode while Discord members are at work on the machine.

Mental model: :class:`~musicrec_core.service.members_first.MembersFirst` holds a key's heavy
step back before it starts, but a step already running when a member arrives used to run
on. On the 2-core reference machine that was most of what a flooding key still took from
the members (``benchmarks/bench_api_fairness.py``: the key's decodes, in decode workers,
were two thirds of the server's CPU, and the members' embedding slowed from about 125 to
about 180 ms). This module pauses such a step where it runs, in its worker process:

- while a key's job has a decode worker busy (the job's thread is marked with
  :meth:`WorkerPauses.pausing` through :func:`musicrec_core.worker_watch.watched`), one
  watcher thread looks every :data:`POLL_S` whether members are at work;
- when they are, it stops the worker's process group (``SIGSTOP``) and the clock of the
  job's deadline; when they are not any more, it continues both (``SIGCONT``), so the
  worker's wall-clock limit counts its running time only;
- one job is stopped for at most ``allowance_s`` in all (the members-first wait,
  ``MUSICREC_KEY_YIELD_S``), then runs to its end: a bot that is never idle slows keys
  down, never stops them.

Leaving the bracket (the job's file done, failed or cancelled) continues a stopped worker
first, and so does :meth:`WorkerPauses.close`. A worker whose parent dies while it is
stopped ends by the hang-up of its orphaned process group
(:mod:`musicrec_core.audio.decode_worker_process`).

Thread-safe: jobs come and go in pool threads; the watcher thread runs only while a job is
bracketed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from musicrec_core.worker_watch import JobClock

__all__ = ["POLL_S", "WorkerPauses"]

POLL_S = 0.005
"""Seconds between two looks at the members while a key's worker is busy (each look is one
``flock`` try, a few microseconds)."""


@dataclass(eq=False)
class _Job:
    """One key job's worker, as the watcher sees it."""

    pid: int
    """The worker's process id, the leader of its process group."""
    clock: JobClock
    stopped_at: float | None = None
    """``time.monotonic()`` when it was stopped; None while it runs."""
    stopped_s: float = 0.0
    """Seconds it was stopped before, in all."""


class WorkerPauses:
    """Stops the workers of bracketed jobs while members are at work.

    Args:
        members_at_work: whether a member's request is in progress on the machine now.
        allowance_s: the longest one job is stopped in all, in seconds; 0 = never stopped.
        poll_s: seconds between looks.
    """

    def __init__(
        self, members_at_work: Callable[[], bool], *, allowance_s: float, poll_s: float = POLL_S
    ) -> None:
        if not allowance_s >= 0:
            raise ValueError("allowance_s must be >= 0")
        self.allowance_s = allowance_s
        self._members_at_work = members_at_work
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._jobs: list[_Job] = []
        self._watcher: threading.Thread | None = None
        self._closed = threading.Event()

    @property
    def stopped(self) -> int:
        """Workers stopped now."""
        with self._lock:
            return sum(job.stopped_at is not None for job in self._jobs)

    @contextlib.contextmanager
    def pausing(self, pid: int, clock: JobClock) -> Iterator[None]:
        """While the ``with`` block runs, worker ``pid`` (its process group's leader) may be
        stopped for members, and ``clock`` with it. A
        :data:`musicrec_core.worker_watch.Watcher`."""
        if self.allowance_s == 0 or self._closed.is_set():
            yield
            return
        job = _Job(pid, clock)
        with self._lock:
            self._jobs.append(job)
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, name="musicrec-worker-pauses", daemon=True
                )
                self._watcher.start()
        try:
            yield
        finally:
            with self._lock:
                self._jobs.remove(job)
                self._continue(job, time.monotonic())

    def close(self) -> None:
        """Continue every stopped worker and stop stopping them (later jobs run on)."""
        self._closed.set()
        with self._lock:
            now = time.monotonic()
            for job in self._jobs:
                self._continue(job, now)

    def _watch(self) -> None:
        """The watcher thread: one look per ``poll_s`` until no job is bracketed."""
        while True:
            at_work = self._members_at_work()
            now = time.monotonic()
            with self._lock:
                if not self._jobs or self._closed.is_set():
                    self._watcher = None  # the next job starts another
                    return
                for job in self._jobs:
                    if job.stopped_at is None:
                        if at_work and job.stopped_s < self.allowance_s:
                            self._stop(job)
                    elif not at_work or job.stopped_s + now - job.stopped_at >= self.allowance_s:
                        self._continue(job, now)
            self._closed.wait(self._poll_s)

    @staticmethod
    def _stop(job: _Job) -> None:
        """Stop the job's clock and worker (under the lock); a worker already gone stays as
        it is. The stop is timed after the clock stopped, and :meth:`_continue` is given a
        time read before the clock starts again, so what a job is counted as stopped never
        exceeds what its clock stood still: the allowance is never cut short."""
        job.clock.stop_clock()
        try:
            os.killpg(job.pid, signal.SIGSTOP)
        except (ProcessLookupError, PermissionError):
            job.clock.start_clock()
            return
        job.stopped_at = time.monotonic()

    @staticmethod
    def _continue(job: _Job, now: float) -> None:
        """Continue the job's worker and clock if stopped (under the lock); ``now`` was read
        before this call."""
        if job.stopped_at is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(job.pid, signal.SIGCONT)
        job.clock.start_clock()
        job.stopped_s += now - job.stopped_at
        job.stopped_at = None
