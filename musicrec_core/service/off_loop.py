"""Calls that may wait on a lock, a file or SQLite, kept off the event loop with a timeout.

Mental model: the YouTube fetch budget (a file locked with ``flock``), the clip cache and
the title cache (SQLite files) are shared with the other bot processes of the machine, so
any call on them may wait for another process: one stopped while holding a lock, or a
slow disk. The event loop must never wait with them, or every member's interaction waits
(Discord wants each one acknowledged within 3 s). An :class:`OffLoop` runs such calls on a
few threads of its own (one pool per resource, so a stuck cache cannot hold up the budget)
and awaits each for at most ``timeout_s``; past it the caller gets
:class:`SharedStateBusyError`, a "try again in a few seconds" for that one request. A
thread cannot be stopped: a late call still finishes in its thread, and ``on_late`` gets
its result (e.g. a fetch taken from the budget after its request gave up is given back).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from musicrec_core.errors import MusicrecError

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 1.0
"""Longest wait for one call, in seconds. A link request makes two before it is
acknowledged (the clip cache, then the budget), so both fit in Discord's 3 s with room for
the acknowledgement itself."""


class SharedStateBusyError(MusicrecError):
    """A call on a file shared with the machine's other processes ran past its timeout."""

    def __init__(self) -> None:
        super().__init__(
            "musicrec is waiting on its shared files right now: please try again in a few seconds."
        )


class OffLoop:
    """Runs blocking calls on ``workers`` threads named ``musicrec-<name>``.

    Args:
        name: names the threads and the log lines.
        workers: calls running at once.
        timeout_s: default longest wait of :meth:`call`, in seconds.
    """

    def __init__(self, name: str, *, workers: int = 2, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.name = name
        self.timeout_s = timeout_s
        self._executor = concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix=f"musicrec-{name}"
        )

    async def call(
        self,
        func: Callable[..., T],
        /,
        *args: Any,
        timeout_s: float | None = None,
        on_late: Callable[[T], object] | None = None,
    ) -> T:
        """``func(*args)`` in a thread, awaited for at most ``timeout_s`` (default
        :attr:`timeout_s`).

        Args:
            on_late: called (in the thread) with the result of a call that was still running
                when the caller stopped waiting (timed out or cancelled); a call that had not
                started is dropped instead.

        Raises:
            SharedStateBusyError: past the timeout.
            Exception: whatever ``func`` raised.
        """
        future = self._executor.submit(func, *args)
        try:
            return await asyncio.wait_for(
                asyncio.wrap_future(future), self.timeout_s if timeout_s is None else timeout_s
            )
        except TimeoutError:
            self._late(func, future, on_late)
            raise SharedStateBusyError() from None
        except asyncio.CancelledError:
            self._late(func, future, on_late)
            raise

    def submit(self, func: Callable[..., object], /, *args: Any) -> None:
        """Run ``func(*args)`` in a thread without waiting; a failure is logged."""
        future = self._executor.submit(func, *args)
        future.add_done_callback(functools.partial(self._log_failure, func))

    def close(self) -> None:
        """Drop calls not started; running ones finish in their threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _late(
        self,
        func: Callable[..., T],
        future: concurrent.futures.Future[T],
        on_late: Callable[[T], object] | None,
    ) -> None:
        """The caller stopped waiting: drop the call if it has not started, else log it
        and hand its result to ``on_late`` when it ends."""
        if future.cancel():
            return
        log.warning("%s call %s is still running past its timeout", self.name, _name(func))
        if on_late is not None:
            future.add_done_callback(functools.partial(self._deliver, on_late))

    def _deliver(
        self, on_late: Callable[[T], object], future: concurrent.futures.Future[T]
    ) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        try:
            on_late(future.result())
        except Exception:
            log.exception("%s: handling a late result failed", self.name)

    def _log_failure(self, func: Callable[..., object], future: concurrent.futures.Future[Any]):
        if not future.cancelled() and future.exception() is not None:
            log.warning("%s call %s failed: %s", self.name, _name(func), future.exception())


def _name(func: Callable[..., object]) -> str:
    return getattr(func, "__qualname__", repr(func))
