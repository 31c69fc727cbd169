"""One process's catalog reloads, whoever asks for them: one at a time, logged one way.

Mental model: a process serves one :class:`~musicrec_core.recommender.Recommender`, and a
reload (:meth:`Recommender.reload <musicrec_core.recommender.Recommender.reload>`: prove the
index folder beside the served index, install it, retire the old one) may be asked for by
an admin's ``/musicrec reload``, by SIGHUP to the bot or by SIGHUP to ``musicrec serve``.
Every front end asks through the process's one :class:`CatalogReloads`:

- reloads run one at a time, under one lock, and the lock is held until the reload's
  thread has ended: a thread cannot be stopped, so a caller that is cancelled (an
  interaction abandoned, a shutdown) leaves the reload to finish before another starts;
- each outcome is logged the same way: ``reloaded the catalog: N items from DIR (catalog
  FINGERPRINT; asked by WHO)``; a refusal the catalog checks name (a
  :class:`~musicrec_core.errors.MusicrecError`: missing, corrupt, another embedder) as one
  line, ``catalog reload refused, still serving the old one: REASON``; anything else with
  its traceback, ``catalog reload failed unexpectedly, still serving the old one``. The old
  catalog keeps serving after either;
- the outcome of the latest one is kept (:attr:`CatalogReloads.last`, a
  :class:`ReloadOutcome`), so ``/musicrec status`` can tell an admin whether the SIGHUP
  they sent was refused without reading the log;
- :meth:`CatalogReloads.close` waits for a reload in flight, so the host never closes the
  recommender under a reload's thread (which would then install an index nobody closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.errors import MusicrecError
from musicrec_core.recommender import Recommender

__all__ = ["SIGHUP", "CatalogReloads", "ReloadOutcome", "ReloadResult"]

log = logging.getLogger(__name__)

SIGHUP = "SIGHUP"
"""Who asked, for a reload a SIGHUP started."""


class ReloadResult(enum.StrEnum):
    """How a reload ended."""

    RELOADED = "reloaded"
    REFUSED = "refused"
    """The catalog checks refused the new index (the log line says why)."""
    FAILED = "failed"
    """An unexpected error (logged with its traceback)."""
    ABANDONED = "abandoned"
    """The process stopped while it ran."""


@dataclass(frozen=True)
class ReloadOutcome:
    """The end of one reload.

    Attributes:
        result: how it ended.
        asked_by: who asked (``SIGHUP``, ``/musicrec reload by <user id>``, ...).
        ended_at: when it ended, ``time.time()`` (seconds since the epoch).
        items: the new catalog's item count when it was installed, else None.
    """

    result: ReloadResult
    asked_by: str
    ended_at: float
    items: int | None = None


class CatalogReloads:
    """The reloads of ``recommender``'s catalog from ``index_dir``, on one event loop.

    Args:
        recommender: the process's one recommender.
        index_dir: the index folder reloads read (its newest published version is proven).
    """

    def __init__(self, recommender: Recommender, index_dir: Path) -> None:
        self.recommender = recommender
        self.index_dir = index_dir
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[CatalogIndex | None]] = set()
        self._sighup_loop: asyncio.AbstractEventLoop | None = None
        self.last: ReloadOutcome | None = None
        """How the latest reload of this process ended; None before the first."""

    async def reload(self, asked_by: str) -> CatalogIndex:
        """Prove the index folder and serve it, after any reload already running; returns
        the new index. The outcome is logged (see the module), naming ``asked_by``.

        Raises:
            CatalogError: the new index is missing, corrupt (sizes, sha256, probe query) or
                built for another embedder (the old one keeps serving).
        """
        async with self._lock:
            # The thread goes on if this call is cancelled: the lock is held until it ends.
            work = asyncio.ensure_future(asyncio.to_thread(self.recommender.reload, self.index_dir))
            try:
                index = await asyncio.shield(work)
            except asyncio.CancelledError:
                await asyncio.wait([work])
                self.last = _log_outcome(work, f"{asked_by}, cancelled")
                raise
            except BaseException:
                self.last = _log_outcome(work, asked_by)
                raise
            self.last = _log_outcome(work, asked_by)
            return index

    def reload_in_background(self, asked_by: str) -> asyncio.Task[CatalogIndex | None]:
        """Start :meth:`reload` as a task whose failure is only logged (a signal's reload:
        nobody waits for it); :meth:`close` waits for it."""
        task = asyncio.get_running_loop().create_task(self._reload_logged(asked_by))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _reload_logged(self, asked_by: str) -> CatalogIndex | None:
        with contextlib.suppress(Exception):  # logged by reload
            return await self.reload(asked_by)
        return None

    def handle_sighup(self) -> None:
        """Reload on SIGHUP from now until :meth:`close`, where the running loop can handle
        signals (the main thread of a POSIX process); elsewhere nothing happens."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
            self._sighup_loop = loop

    def _on_sighup(self) -> None:
        log.info("SIGHUP: reloading the catalog")
        self.reload_in_background(SIGHUP)

    async def close(self) -> None:
        """Stop handling SIGHUP, drop the reloads still waiting for their turn and wait for
        the one running (its thread cannot be stopped) to end."""
        if self._sighup_loop is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self._sighup_loop.remove_signal_handler(signal.SIGHUP)
            self._sighup_loop = None
        waiting = list(self._background)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        async with self._lock:  # a reload another caller asked for ends first
            pass


def _log_outcome(work: asyncio.Future[CatalogIndex], asked_by: str) -> ReloadOutcome:
    """Log how the ended reload ``work`` went (the module says the lines), and return it."""
    if work.cancelled():  # by the loop's own shutdown: the thread's outcome is unknown
        log.warning("catalog reload abandoned as the process stops (asked by %s)", asked_by)
        return ReloadOutcome(ReloadResult.ABANDONED, asked_by, time.time())
    error = work.exception()
    if error is None:
        index = work.result()
        log.info(
            "reloaded the catalog: %d items from %s (catalog %s; asked by %s)",
            len(index),
            index.directory,
            index.fingerprint,
            asked_by,
        )
        return ReloadOutcome(ReloadResult.RELOADED, asked_by, time.time(), len(index))
    if isinstance(error, MusicrecError):
        log.error(
            "catalog reload refused, still serving the old one: %s (asked by %s)", error, asked_by
        )
        return ReloadOutcome(ReloadResult.REFUSED, asked_by, time.time())
    log.error(
        "catalog reload failed unexpectedly, still serving the old one (asked by %s)",
        asked_by,
        exc_info=error,
    )
    return ReloadOutcome(ReloadResult.FAILED, asked_by, time.time())
