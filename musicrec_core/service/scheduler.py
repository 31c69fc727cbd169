"""Worker pools that serve members in turn (round-robin), not first come, first served.

Mental model: a :class:`FairPool` runs one kind of blocking work (YouTube fetches, or
attachment decodes) on ``workers`` threads. Every member (a Discord user id, or an API key:
any requester id) has their own
queue of jobs, and the members with jobs waiting form a ring: whenever a worker is free,
the member at the front of the ring gets their oldest job started and goes to the back.
A member with ten jobs waiting therefore delays another member's single job by at most one
job per worker, never by ten. A member also has at most one job *running* in a pool: their
next one waits until it ends, even with a worker free, so a member with many jobs (an API
key with several requests in flight, a /mix with several seeds) always leaves the other
workers to the other members, and a member who arrives later finds one free (with two
workers, a flood of slow jobs from one member can hold only one). The service keeps one
pool per kind of work, so slow fetches cannot starve decodes (nor the reverse).

A job whose caller stops waiting (cancelled, e.g. at the request deadline) leaves the queue
if it has not started. A started job cannot be interrupted (the functions run here have
their own time limits and stop their child processes), so it keeps its worker until it
returns; the pool never runs more than ``workers`` jobs at once.

The threads keep the process's CPU priority: what they start (ffmpeg, yt-dlp) is lowered
instead (:func:`musicrec_core.child_process.set_child_niceness`), because a lowered Python
thread holding the GIL on a busy machine would keep the event loop waiting.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from musicrec_core.errors import MusicrecError

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class _Job:
    call: Callable[[], Any]
    future: asyncio.Future[Any]


class FairPool:
    """``workers`` threads shared round-robin between members.

    Args:
        name: names the threads (``musicrec-<name>_<n>``).
        workers: jobs run at once (at least 1).
    """

    def __init__(self, name: str, workers: int) -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self._workers = workers
        self._busy = 0
        self._ring: OrderedDict[int, deque[_Job]] = OrderedDict()
        self._running: set[int] = set()
        """Members with a job running (one each at most)."""
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=f"musicrec-{name}")

    async def run(
        self, member: int, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``func(*args, **kwargs)`` on a worker thread once it is ``member``'s turn.

        Cancelling the caller withdraws a job that has not started; a started one runs to
        its end and its result is dropped.
        """
        loop = asyncio.get_running_loop()
        job = _Job(functools.partial(func, *args, **kwargs), loop.create_future())
        self._ring.setdefault(member, deque()).append(job)
        self._start_jobs()
        result: T = await job.future
        return result

    def close(self) -> None:
        """Fail every job not started yet; running ones finish in the background."""
        ring, self._ring = self._ring, OrderedDict()
        for jobs in ring.values():
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(MusicrecError("musicrec is shutting down."))
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _start_jobs(self) -> None:
        """Start the next members' jobs, in ring order, while workers are free; a member
        with a job running waits for it to end."""
        while self._busy < self._workers:
            member = next((m for m in self._ring if m not in self._running), None)
            if member is None:
                return
            jobs = self._ring[member]
            job = jobs.popleft()
            if jobs:
                self._ring.move_to_end(member)
            else:
                del self._ring[member]
            if job.future.done():  # its caller stopped waiting before it started
                continue
            self._busy += 1
            self._running.add(member)
            work = job.future.get_loop().run_in_executor(self._executor, job.call)
            work.add_done_callback(functools.partial(self._finished, member, job))

    def _finished(self, member: int, job: _Job, work: asyncio.Future[Any]) -> None:
        self._busy -= 1
        self._running.discard(member)
        error = None if work.cancelled() else work.exception()
        if not job.future.done():
            if work.cancelled():
                job.future.cancel()
            elif error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(work.result())
        self._start_jobs()
