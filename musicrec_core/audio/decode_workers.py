"""A pool of long-lived decode workers: libav in a few processes instead of one per look.

Every :func:`~musicrec_core.audio.load_clip` used to start ffprobe and up to five ffmpeg
processes, each paying about 60 ms of dynamic loading before reading a byte. A worker
(:mod:`musicrec_core.audio._decode_worker`, PyAV and libsoxr in a Python child) stays up
and serves one file after another; one open of a file serves its probe and its first
window, and a long track's candidate windows are read from the same demuxer by seeking.

A worker keeps every guarantee of the ffmpeg children (:mod:`musicrec_core.audio.process`):

- **Memory limit from its first instruction**: started by
  :func:`musicrec_core.child_process.spawn`, so ``RLIMIT_DATA`` of
  :data:`~musicrec_core.child_process.DECODER_MEMORY_LIMIT_BYTES` is in force before the
  interpreter starts, let alone reads input. A request that runs out of it is
  :class:`~musicrec_core.errors.UnreadableAudioError` saying so, and the worker is
  replaced; so is one whose resident memory is over ``recycle_rss_bytes`` after a file.
- **Minimal environment** and **CPU priority** of ``spawn``: workers run at the host's
  child niceness (:func:`~musicrec_core.child_process.set_child_niceness`); a
  ``background`` request (a large upload) is served only by workers started in the idle
  class. One worker per class, not one lowered per job: an unprivileged process cannot
  leave the idle class or lower its nice value again, so a lowered worker stays lowered.
- **Nothing but the file handed to it**: the parent opens the file and sends the open
  read-only descriptor; the worker reads it through libav's ``fd`` protocol under
  ``protocol_whitelist=fd`` and ``format_whitelist`` of
  :data:`~musicrec_core.audio.process.ALLOWED_FORMATS`: no path is ever named to it, and
  no demuxer can open another file or URL.
- **The per-call deadline** (:class:`~musicrec_core.audio.process.Budget`): a worker that
  has not answered when it passes is killed (``SIGKILL``) and
  :class:`~musicrec_core.errors.DecodeTimeoutError` is raised. A worker that dies mid-file
  (a crashing decoder, a kill) costs only the request it held
  :class:`~musicrec_core.errors.UnreadableAudioError`; the next request starts a new one.
  While a file is open in a worker, the thread's watcher (:mod:`musicrec_core.worker_watch`)
  may stop the worker for a while; the budget's clock stands still meanwhile, so the limit
  counts the worker's running time only.
- **The channel limit**: each decoded frame is checked against ``max_channels``.

Workers are started on demand, as many as requests run at once (the bot's executor
bounds that), and at most ``max_idle`` per class wait for the next request, each for at
most ``retire_idle_after_s`` (:mod:`musicrec_core.idle_shelf`): a quiet host holds
no worker, and the idle-class worker exists only around large uploads. A worker exits by
itself when the parent goes away (its socket reaches end of file; a stopped one by the
hang-up its orphaned process group gets, :mod:`.decode_worker_process`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musicrec_core.audio.decode_worker_process import WorkerGone, WorkerProcess
from musicrec_core.audio.probe import AudioInfo, info_from_fields, too_many_channels
from musicrec_core.audio.process import ALLOWED_FORMATS, Budget
from musicrec_core.child_process import (
    DECODER_MEMORY_LIMIT_BYTES,
    resident_bytes,
)
from musicrec_core.errors import DecodeTimeoutError, NotAudioError, UnreadableAudioError
from musicrec_core.idle_shelf import RETIRE_AFTER_S, IdleShelf
from musicrec_core.worker_watch import worker_running

__all__ = [
    "DecodeWorkers",
    "Session",
    "Window",
    "WorkersUnavailableError",
    "default_workers",
    "set_default_workers",
]

log = logging.getLogger(__name__)

_RECYCLE_RSS_BYTES = 256 * 2**20


class WorkersUnavailableError(OSError):
    """No worker could be started (PyAV broken, no interpreter): callers use ffmpeg."""


@dataclass(frozen=True)
class Window:
    """One decoded window: float32 [frames, channels] at 16 kHz, before downmixing.

    ``failed``: the decoder reported errors and gave (almost) nothing; ``log_tail`` its words.
    """

    samples: np.ndarray
    failed: bool
    log_tail: str


PRESTART_TIMEOUT_S = 30.0
"""How long :meth:`DecodeWorkers.prestart` waits for a worker to say it is ready."""


class DecodeWorkers:
    """The pool. Thread-safe: every request holds one worker for the whole file.

    Args:
        memory_limit_bytes: ``RLIMIT_DATA`` of each worker, from its start.
        recycle_rss_bytes: a worker whose resident memory is over this after a file is
            replaced (fragmentation, or a file that made libav grow it).
        max_idle: workers per priority class kept waiting between requests.
        retire_idle_after_s: a worker that has waited this long for a request is stopped
            (None: never); the next request starts one.
        max_workers: workers per priority class alive at once, busy or idle; a request
            that finds that many busy waits (within its budget) for one to come back
            instead of starting another. None: no bound (the bot's executors bound the
            requests). A command decoding its few queries sets 1: a worker's start-up
            (about 0.15 CPU-s) costs more than a 3-minute file's windows (about 0.10).
    """

    def __init__(
        self,
        *,
        memory_limit_bytes: int = DECODER_MEMORY_LIMIT_BYTES,
        recycle_rss_bytes: int = _RECYCLE_RSS_BYTES,
        max_idle: int = 4,
        max_workers: int | None = None,
        retire_idle_after_s: float | None = RETIRE_AFTER_S,
    ) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be >= 1 or None, got {max_workers!r}")
        self.memory_limit_bytes = memory_limit_bytes
        self.recycle_rss_bytes = recycle_rss_bytes
        self.max_idle = max_idle
        self.max_workers = max_workers
        self._idle: IdleShelf[bool, WorkerProcess] = IdleShelf(
            self._retire, retire_idle_after_s, "musicrec-decode-workers"
        )  # by class: background or not
        self._alive = {False: 0, True: 0}  # per class: started, not killed yet
        self._lock = threading.Condition()

    def idle_pids(self) -> list[int]:
        """Process ids of the workers waiting for a request."""
        return [worker.proc.pid for worker in self._idle.workers()]

    def prestart(self) -> None:
        """Start a worker of the normal class now, so the first request after start-up does
        not pay for one (about 0.15 CPU-s). The idle class starts with the first large
        upload: it would mostly wait, and retire. One that cannot start is only logged: the
        first request tries again, and falls back to the ffmpeg programs."""
        try:
            worker = self._take(False, Budget(PRESTART_TIMEOUT_S, "a decode worker"))
        except (WorkersUnavailableError, DecodeTimeoutError) as exc:
            log.warning("decode workers not started ahead: %s", exc)
            return
        self._give_back(worker, True)

    def close(self) -> None:
        """Stop every idle worker; workers busy now stop when their request ends."""
        for worker in self._idle.close():
            self._retire(worker)

    @contextlib.contextmanager
    def session(self, file: Path, budget: Budget, *, background: bool = False) -> Iterator:
        """Open ``file`` in a worker: yields a :class:`Session` whose ``info`` is the probe.

        Raises:
            NotAudioError: empty, not a media file, a format off the whitelist, no audio.
            UnreadableAudioError: out of memory, or the worker died (it is replaced).
            DecodeTimeoutError: the budget ran out (the worker is killed).
            WorkersUnavailableError: no worker could be started (callers use ffmpeg).
        """
        found = os.stat(file)
        if stat.S_ISREG(found.st_mode) and found.st_size == 0:
            raise NotAudioError(f"{budget.display} is empty.")
        worker = self._take(background, budget)
        session = Session(worker, budget)
        try:
            with worker_running(worker.proc.pid, budget):
                session.open(file)
                yield session
        finally:
            session.close()
            self._give_back(worker, not session.spoiled)

    def _take(self, background: bool, budget: Budget) -> WorkerProcess:
        with self._lock:
            while (worker := self._idle.take(background)) is None:
                if self._alive[background] != self.max_workers:
                    break
                if budget.remaining() <= 0:
                    raise budget.expired()
                self._lock.wait(budget.remaining())
            if worker is not None:
                return worker
            self._alive[background] += 1
        try:
            worker = self._started(background, budget)
        except BaseException:
            with self._lock:
                self._alive[background] -= 1
                self._lock.notify_all()
            raise
        return worker

    def _started(self, background: bool, budget: Budget) -> WorkerProcess:
        try:
            worker = WorkerProcess(self.memory_limit_bytes, background)
        except OSError as exc:
            raise WorkersUnavailableError(f"the decode worker could not start: {exc}") from exc
        try:
            reply, _ = worker.ask({"op": "ready"}, budget)
        except WorkerGone as exc:
            raise WorkersUnavailableError(f"the decode worker did not start: {exc}") from exc
        if not reply.get("ok"):
            worker.kill()
            raise WorkersUnavailableError(f"the decode worker answered {reply!r}")
        return worker

    def _retire(self, worker: WorkerProcess) -> None:
        """Kill ``worker`` and let a request waiting for a worker of its class start one."""
        worker.kill()
        with self._lock:
            self._alive[worker.background] -= 1
            self._lock.notify_all()

    def _give_back(self, worker: WorkerProcess, healthy: bool) -> None:
        rss = resident_bytes(worker.proc.pid) if healthy else None
        if healthy and rss is not None and rss > self.recycle_rss_bytes:
            log.info("decode worker %d holds %d MiB; replacing it", worker.proc.pid, rss >> 20)
            healthy = False
        with self._lock:
            if healthy and self._idle.put(worker.background, worker, self.max_idle):
                self._lock.notify_all()
                return
        self._retire(worker)


class Session:
    """One file open in one worker. ``info``: the probe (an :class:`AudioInfo`)."""

    def __init__(self, worker: WorkerProcess, budget: Budget) -> None:
        self._worker = worker
        self._budget = budget
        self._open = False
        self.spoiled = False
        """The worker may not serve another file (it died, was killed or ran out of memory)."""

    def open(self, file: Path) -> None:
        """Hand ``file`` (as a descriptor) to the worker; set ``info`` from its probe.

        Raises:
            NotAudioError, UnreadableAudioError, DecodeTimeoutError: as
            :meth:`DecodeWorkers.session`.
        """
        try:
            fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise UnreadableAudioError(f"{self._budget.display} cannot be read.") from exc
        try:
            reply, _ = self._ask({"op": "open", "formats": ",".join(ALLOWED_FORMATS)}, fd)
        finally:
            os.close(fd)
        if not reply.get("ok"):
            self._refuse(reply, "probe")
        self._open = True
        self.info: AudioInfo = info_from_fields(file, reply["info"])

    def decode(
        self, seek_s: float, read_s: float, *, sanitize: bool, cap_frames: int, max_channels: int
    ) -> Window:
        """``read_s`` seconds from ``seek_s``: at most ``cap_frames`` frames at 16 kHz, of at
        most ``max_channels`` channels.

        Raises:
            UnreadableAudioError: too many channels, or out of memory.
            DecodeTimeoutError: the budget ran out.
        """
        request = {
            "op": "decode", "seek_s": seek_s, "read_s": read_s, "sanitize": sanitize,
            "max_channels": max_channels, "cap": cap_frames,
        }  # fmt: skip
        reply, payload = self._ask(request)
        if not reply.get("ok"):
            if reply.get("error") == "unreadable":
                return Window(np.zeros((0, 1), np.float32), True, str(reply.get("log", "")))
            self._refuse(reply, "decode")
        channels = max(int(reply["channels"]), 1)
        samples = np.frombuffer(payload, dtype="<f4").reshape(-1, channels)
        return Window(samples, bool(reply["failed"]), str(reply.get("log", "")))

    def close(self) -> None:
        """End the file in the worker (it closes its descriptor); never raises: a worker
        that does not answer is spoiled (and so replaced)."""
        if self._open and not self.spoiled:
            self._open = False
            with contextlib.suppress(UnreadableAudioError, DecodeTimeoutError):
                self._ask({"op": "close"})

    def _ask(self, message: dict[str, Any], fd: int | None = None) -> dict[str, Any]:
        if self.spoiled:  # a later window of a file whose worker is gone
            raise self._stopped()
        try:
            return self._worker.ask(message, self._budget, fd)
        except WorkerGone as exc:
            self.spoiled = True
            log.warning("decode worker died on %s: %s", self._budget.display, exc)
            raise self._stopped() from exc
        except BaseException:
            self.spoiled = True
            raise

    def _stopped(self) -> UnreadableAudioError:
        return UnreadableAudioError(
            f"The decoder stopped while reading {self._budget.display}; the file may be corrupt."
        )

    def _refuse(self, reply: dict[str, Any], stage: str) -> None:
        display = self._budget.display
        error = reply.get("error")
        log.info("decode worker refused %s at %s: %s", display, stage, reply.get("log"))
        if error == "memory":
            self.spoiled = True  # its heap may be fragmented: replace it
            raise UnreadableAudioError(
                f"Reading {display} needs more memory than musicrec allows; "
                "try a shorter or simpler file."
            )
        if error == "channels":
            raise too_many_channels(display, int(reply.get("log") or 0))
        if error == "no_audio":
            raise NotAudioError(f"{display} has no audio track.")
        raise NotAudioError(f"{display} is not an audio or video file that ffmpeg can read.")


_default: DecodeWorkers | None = None
_default_lock = threading.Lock()
_disabled = False
_max_workers: int | None = None
_retire_after_s: float | None = RETIRE_AFTER_S


def set_default_workers(
    enabled: bool,
    *,
    max_workers: int | None = None,
    retire_idle_after_s: float | None = RETIRE_AFTER_S,
) -> None:
    """Use the worker pool (when PyAV and soxr are installed; ``max_workers`` and
    ``retire_idle_after_s`` as in :class:`DecodeWorkers`) or always the ffmpeg programs."""
    global _disabled, _default, _max_workers, _retire_after_s
    with _default_lock:
        _disabled, _max_workers = not enabled, max_workers
        _retire_after_s = retire_idle_after_s
        old, _default = _default, None
    if old is not None:
        old.close()


def default_workers() -> DecodeWorkers | None:
    """The process-wide pool, or None: disabled, or PyAV or soxr not installed."""
    global _default
    with _default_lock:
        if _disabled:
            return None
        if _default is None:
            if not all(importlib.util.find_spec(name) for name in ("av", "soxr")):
                return None
            _default = DecodeWorkers(max_workers=_max_workers, retire_idle_after_s=_retire_after_s)
        return _default
