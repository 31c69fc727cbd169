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
- **The channel limit**: each decoded frame is checked against ``max_channels``.

Workers are started on demand, as many as requests run at once (the bot's executor
bounds that), and at most ``max_idle`` per class wait for the next request. A worker
exits by itself when the parent goes away (its socket reaches end of file).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musicrec_core.audio.probe import AudioInfo, info_from_fields, too_many_channels
from musicrec_core.audio.process import ALLOWED_FORMATS, Budget
from musicrec_core.child_process import (
    DECODER_MEMORY_LIMIT_BYTES,
    ChildPriority,
    resident_bytes,
    spawn,
)
from musicrec_core.errors import DecodeTimeoutError, NotAudioError, UnreadableAudioError

__all__ = [
    "DecodeWorkers",
    "Session",
    "Window",
    "WorkersUnavailableError",
    "default_workers",
    "set_default_workers",
]

log = logging.getLogger(__name__)

_SCRIPT = Path(__file__).with_name("_decode_worker.py")
_LENGTH = struct.Struct(">I")
_READY_TIMEOUT_S = 30.0
_RECYCLE_RSS_BYTES = 256 * 2**20
_MAX_REPLY_BYTES = 1 << 27


class _WorkerGone(Exception):
    """The worker died or broke the protocol before answering."""


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


class _Worker:
    """One worker process and the parent's end of its socket."""

    def __init__(self, memory_limit_bytes: int, background: bool) -> None:
        self.background = background
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.proc = spawn(
                [sys.executable, "-I", str(_SCRIPT)],
                memory_limit_bytes=memory_limit_bytes,
                priority=ChildPriority(background=background),
                stdin=theirs,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            self.sock.close()
            raise
        finally:
            theirs.close()

    def ask(self, message: dict[str, Any], budget: Budget, fd: int | None = None) -> tuple:
        """Send ``message`` (and ``fd``); (reply, payload bytes) within the budget.

        Raises:
            DecodeTimeoutError: no answer before the deadline (the worker is killed).
            _WorkerGone: the worker died or answered nonsense (it is killed).
        """
        body = json.dumps(message).encode()
        try:
            data = _LENGTH.pack(len(body)) + body
            if fd is None:
                self.sock.sendall(data)
            else:
                socket.send_fds(self.sock, [data], [fd])
            head = self._read(_LENGTH.size, budget)
            reply = json.loads(self._read(_LENGTH.unpack(head)[0], budget))
            size = int(reply.get("payload", 0))
            if not 0 <= size <= _MAX_REPLY_BYTES:
                raise _WorkerGone(f"a {size}-byte reply")
            return reply, self._read(size, budget)
        except (OSError, ValueError, _WorkerGone) as exc:
            self.kill()
            raise _WorkerGone(str(exc)) from exc
        except BaseException:
            self.kill()
            raise

    def _read(self, size: int, budget: Budget) -> bytes:
        data = bytearray()
        while len(data) < size:
            remaining = budget.remaining()
            if remaining <= 0:
                self.kill()
                raise budget.expired()
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(min(size - len(data), 1 << 20))
            except TimeoutError:
                continue
            if not chunk:
                raise _WorkerGone("end of file")
            data += chunk
        return bytes(data)

    def kill(self) -> None:
        """Stop the process now and reap it; close the socket (idempotent)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.sock.close()


PRESTART_TIMEOUT_S = 30.0
"""How long :meth:`DecodeWorkers.prestart` waits for a worker to say it is ready."""


class DecodeWorkers:
    """The pool. Thread-safe: every request holds one worker for the whole file.

    Args:
        memory_limit_bytes: ``RLIMIT_DATA`` of each worker, from its start.
        recycle_rss_bytes: a worker whose resident memory is over this after a file is
            replaced (fragmentation, or a file that made libav grow it).
        max_idle: workers per priority class kept waiting between requests.
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
    ) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be >= 1 or None, got {max_workers!r}")
        self.memory_limit_bytes = memory_limit_bytes
        self.recycle_rss_bytes = recycle_rss_bytes
        self.max_idle = max_idle
        self.max_workers = max_workers
        self._idle: dict[bool, list[_Worker]] = {False: [], True: []}
        self._alive = {False: 0, True: 0}  # per class: started, not killed yet
        self._lock = threading.Condition()
        self._closed = False

    def idle_pids(self) -> list[int]:
        """Process ids of the workers waiting for a request."""
        with self._lock:
            return [w.proc.pid for workers in self._idle.values() for w in workers]

    def prestart(self, *, idle_class: bool = True) -> None:
        """Start a worker of each priority class now (of the normal class only when not
        ``idle_class``), so the first requests after start-up do not pay for one (about
        0.15 CPU-s each). One that cannot start is only logged: the first request tries
        again, and falls back to the ffmpeg programs."""
        for background in (False, True) if idle_class else (False,):
            try:
                worker = self._take(background, Budget(PRESTART_TIMEOUT_S, "a decode worker"))
            except (WorkersUnavailableError, DecodeTimeoutError) as exc:
                log.warning("decode workers not started ahead: %s", exc)
                return
            self._give_back(worker, True)

    def close(self) -> None:
        """Stop every idle worker; workers busy now stop when their request ends."""
        with self._lock:
            self._closed = True
            workers = [w for idle in self._idle.values() for w in idle]
            self._idle = {False: [], True: []}
        for worker in workers:
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
            session.open(file)
            yield session
        finally:
            session.close()
            self._give_back(worker, not session.spoiled)

    def _take(self, background: bool, budget: Budget) -> _Worker:
        with self._lock:
            while not self._idle[background] and self._alive[background] == self.max_workers:
                if budget.remaining() <= 0:
                    raise budget.expired()
                self._lock.wait(budget.remaining())
            if self._idle[background]:
                return self._idle[background].pop()
            self._alive[background] += 1
        try:
            worker = self._started(background, budget)
        except BaseException:
            with self._lock:
                self._alive[background] -= 1
                self._lock.notify_all()
            raise
        return worker

    def _started(self, background: bool, budget: Budget) -> _Worker:
        try:
            worker = _Worker(self.memory_limit_bytes, background)
        except OSError as exc:
            raise WorkersUnavailableError(f"the decode worker could not start: {exc}") from exc
        try:
            reply, _ = worker.ask({"op": "ready"}, budget)
        except _WorkerGone as exc:
            raise WorkersUnavailableError(f"the decode worker did not start: {exc}") from exc
        if not reply.get("ok"):
            worker.kill()
            raise WorkersUnavailableError(f"the decode worker answered {reply!r}")
        return worker

    def _retire(self, worker: _Worker) -> None:
        """Kill ``worker`` and let a request waiting for a worker of its class start one."""
        worker.kill()
        with self._lock:
            self._alive[worker.background] -= 1
            self._lock.notify_all()

    def _give_back(self, worker: _Worker, healthy: bool) -> None:
        rss = resident_bytes(worker.proc.pid) if healthy else None
        if healthy and rss is not None and rss > self.recycle_rss_bytes:
            log.info("decode worker %d holds %d MiB; replacing it", worker.proc.pid, rss >> 20)
            healthy = False
        with self._lock:
            keep = healthy and not self._closed
            if keep and len(self._idle[worker.background]) < self.max_idle:
                self._idle[worker.background].append(worker)
                self._lock.notify_all()
                return
        self._retire(worker)


class Session:
    """One file open in one worker. ``info``: the probe (an :class:`AudioInfo`)."""

    def __init__(self, worker: _Worker, budget: Budget) -> None:
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
        except _WorkerGone as exc:
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


def set_default_workers(enabled: bool, *, max_workers: int | None = None) -> None:
    """Use the worker pool (when PyAV and soxr are installed; with ``max_workers`` per
    priority class, :class:`DecodeWorkers`) or always the ffmpeg programs."""
    global _disabled, _default, _max_workers
    with _default_lock:
        _disabled, _max_workers = not enabled, max_workers
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
            _default = DecodeWorkers(max_workers=_max_workers)
        return _default
