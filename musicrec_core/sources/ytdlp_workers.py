"""yt-dlp worker processes: a Python with yt-dlp imported, kept for the next link.

A YouTube fetch used to start a Python child that imported yt-dlp (about 0.2 CPU-s), ran
``file`` and ``ldconfig`` for its platform checks and ``ffmpeg -bsfs`` for ffmpeg's
version before it sent a request, then exited. A worker
(:mod:`musicrec_core.sources._ytdlp_worker`) pays that once and serves fetch after fetch,
each from a new ``YoutubeDL`` built from that fetch's options alone (what it keeps and
what it forgets: the worker's docstring). The per-fetch child stays as the fallback: the
same program, started for one fetch and killed after it (:func:`set_fetch_workers`).

A worker keeps the guarantees of the per-fetch child:

- **Minimal environment and memory limit**: started by
  :func:`musicrec_core.child_process.spawn` with
  :data:`~musicrec_core.child_process.YTDLP_MEMORY_LIMIT_BYTES` (``RLIMIT_DATA`` from its
  first instruction, inherited by yt-dlp's ffmpeg and JavaScript runtime); a fetch that
  runs out of it fails with a clear error and the worker is replaced.
- **Its own process group**: the fetch's kill (its wall-clock limits, its byte cap,
  :mod:`musicrec_core.sources.ytdlp_fetch`) is ``SIGKILL`` to the group, the worker and
  whatever it started; a killed worker is never reused.
- **Only the fetch's own directory**: each fetch names its private directory, which is
  the worker's working directory for that fetch only.

A worker is handed back to the pool only after a fetch that ended as the protocol says,
once it has said it cleaned up after it; one that died, was killed, holds more than
``recycle_rss_bytes`` resident, has more open descriptors than when it started, or still
has a child process is stopped instead, so a worker that crashes, hangs or grows costs
only the fetch it held. Workers are started on demand, one per fetch running at once, and
at most ``max_idle`` wait between fetches (about 40 MiB PSS each), each for at most
``retire_idle_after_s`` (:mod:`musicrec_core.idle_shelf`: a quiet host holds none); an
idle worker exits by itself when this process goes away (its socket reaches end of file).

A worker keeps the yt-dlp it imported: after upgrading yt-dlp, restart the host process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from musicrec_core.child_process import YTDLP_MEMORY_LIMIT_BYTES, resident_bytes, spawn
from musicrec_core.idle_shelf import RETIRE_AFTER_S, IdleShelf

__all__ = [
    "PRESTART_TIMEOUT_S",
    "WorkerGoneError",
    "WorkerLateError",
    "YtDlpWorker",
    "YtDlpWorkers",
    "default_fetch_workers",
    "set_fetch_workers",
]

log = logging.getLogger(__name__)

_SCRIPT = Path(__file__).with_name("_ytdlp_worker.py")
_RECYCLE_RSS_BYTES = 256 * 2**20
_MAX_LINE_BYTES = 1 << 20
_TICK_S = 0.05
_SETTLE_TIMEOUT_S = 10.0
"""How long a worker may take to clean up after a fetch before it is replaced instead."""
PRESTART_TIMEOUT_S = 30.0
"""How long :meth:`YtDlpWorkers.prestart` waits for a worker to import yt-dlp."""


class WorkerGoneError(Exception):
    """The worker died or broke the protocol; it has been killed."""


class WorkerLateError(Exception):
    """The worker did not answer before the deadline; it has been killed."""


class YtDlpWorker:
    """One worker process, the parent's end of its socket and the tail of its stderr.

    Raises:
        OSError: the process could not be started.
    """

    def __init__(self, memory_limit_bytes: int) -> None:
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.process = spawn(
                [sys.executable, "-I", str(_SCRIPT)],
                memory_limit_bytes=memory_limit_bytes,
                stdin=theirs,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                cwd="/",
                start_new_session=True,
            )
        except OSError:
            self._sock.close()
            raise
        finally:
            theirs.close()
        self._buffer = bytearray()
        self.stderr_tail: deque[str] = deque(maxlen=20)
        """The last lines the worker (or a program it started) wrote to stderr."""
        assert self.process.stderr is not None
        self._stderr_reader = threading.Thread(
            target=_keep_tail, args=(self.process.stderr, self.stderr_tail), daemon=True
        )
        self._stderr_reader.start()
        self.open_files_at_start: int | None = None

    @property
    def pid(self) -> int:
        """The worker's process id (and its process group's)."""
        return self.process.pid

    def wait_ready(self, deadline: float) -> None:
        """Wait for the worker's "ready" (yt-dlp imported); note its open descriptors.

        Raises:
            WorkerGoneError, WorkerLateError: it did not get ready (it is killed).
        """
        if self.receive(deadline).get("event") != "ready":
            self.kill()
            raise WorkerGoneError("the worker did not say it was ready")
        self.open_files_at_start = self.open_files()

    def send(self, message: dict[str, Any]) -> None:
        """Send one message. Raises WorkerGoneError (the worker is killed)."""
        try:
            self._sock.sendall(json.dumps(message).encode() + b"\n")
        except OSError as exc:
            self.kill()
            raise WorkerGoneError(f"cannot write to the worker: {exc}") from exc

    def receive(self, deadline: float, tick: Callable[[], None] | None = None) -> dict[str, Any]:
        """The worker's next message, by ``deadline`` (``time.monotonic()``); ``tick`` runs
        every 50 ms while waiting (and may raise, which kills the worker).

        Raises:
            WorkerLateError: nothing came by the deadline; WorkerGoneError: the worker
                died or sent nonsense. Either way the worker is killed.
        """
        try:
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WorkerLateError("no answer before the deadline")
                if tick is not None:
                    tick()
                    remaining = min(remaining, _TICK_S)
                self._sock.settimeout(remaining)
                try:
                    chunk = self._sock.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    raise WorkerGoneError("end of file")
                self._buffer += chunk
                if len(self._buffer) > _MAX_LINE_BYTES:
                    raise WorkerGoneError("an over-long message")
            line, _, rest = bytes(self._buffer).partition(b"\n")
            self._buffer = bytearray(rest)
            message = json.loads(line)
            if not isinstance(message, dict):
                raise WorkerGoneError(f"a message that is not an object: {line[:80]!r}")
            return message
        except (OSError, ValueError) as exc:
            self.kill()
            raise WorkerGoneError(str(exc)) from exc
        except BaseException:
            self.kill()
            raise

    def open_files(self) -> int | None:
        """How many descriptors the worker holds open, or None where /proc cannot say."""
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return None

    def has_children(self) -> bool:
        """Whether a process the worker started (yt-dlp's ffmpeg, Deno) is still there."""
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{task}/children", encoding="ascii") as found:
                    if found.read().strip():
                        return True
        return False

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker's process group (the worker and what it started), reap the
        worker, close the socket (idempotent)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        self.process.wait()
        self._sock.close()
        self._stderr_reader.join(timeout=5)
        if self.process.stderr is not None:
            with contextlib.suppress(OSError):
                self.process.stderr.close()


def _keep_tail(stream: IO[bytes], tail: deque[str]) -> None:
    with contextlib.suppress(OSError, ValueError):
        for line in stream:
            tail.append(line.decode("utf-8", "replace").rstrip()[:500])


class YtDlpWorkers:
    """The pool. Thread-safe: each fetch holds one worker from :meth:`take` to
    :meth:`give_back`.

    Args:
        keep: keep workers for later fetches; False is the per-fetch fallback (each fetch
            starts a worker, which is killed when the fetch ends).
        memory_limit_bytes: ``RLIMIT_DATA`` of each worker and of what it starts.
        recycle_rss_bytes: a worker holding more than this resident after a fetch is
            replaced (a page or format list that made it grow).
        max_idle: workers kept waiting between fetches.
        retire_idle_after_s: a worker that has waited this long for a fetch is stopped
            (None: never); the next fetch starts one.
    """

    def __init__(
        self,
        *,
        keep: bool = True,
        memory_limit_bytes: int = YTDLP_MEMORY_LIMIT_BYTES,
        recycle_rss_bytes: int = _RECYCLE_RSS_BYTES,
        max_idle: int = 2,
        retire_idle_after_s: float | None = RETIRE_AFTER_S,
    ) -> None:
        self.keep = keep
        self.memory_limit_bytes = memory_limit_bytes
        self.recycle_rss_bytes = recycle_rss_bytes
        self.max_idle = max_idle if keep else 0
        self._idle: IdleShelf[None, YtDlpWorker] = IdleShelf(
            YtDlpWorker.kill, retire_idle_after_s, "musicrec-ytdlp-workers"
        )

    def idle_pids(self) -> list[int]:
        """Process ids of the workers waiting for a fetch."""
        return [worker.pid for worker in self._idle.workers()]

    def take(self, deadline: float) -> YtDlpWorker:
        """An idle worker, or a new one ready by ``deadline`` (``time.monotonic()``).

        Raises:
            OSError: the worker could not be started. WorkerGoneError, WorkerLateError: it
                did not get ready (it is killed).
        """
        while (waiting := self._idle.take(None)) is not None:
            if waiting.alive():
                return waiting
            waiting.kill()
        worker = YtDlpWorker(self.memory_limit_bytes)
        worker.wait_ready(deadline)
        return worker

    def give_back(self, worker: YtDlpWorker, clean: bool) -> None:
        """Keep ``worker`` for the next fetch if ``clean`` (its fetch ended as the protocol
        says) and it is still sound; otherwise kill it (and what it started)."""
        if clean and self.keep:
            self._keep_if_sound(worker, self._unsettled(worker))
        else:
            worker.kill()

    def _keep_if_sound(self, worker: YtDlpWorker, why_not: str = "") -> None:
        """Put ``worker`` with the idle ones unless ``why_not`` or it is unsound (then it
        is killed, and the reason logged), or the pool is closed or full."""
        why_not = why_not or self._unsound(worker)
        if why_not:
            log.info("yt-dlp worker %d %s; replacing it", worker.pid, why_not)
        if not why_not and self._idle.put(None, worker, self.max_idle):
            return
        worker.kill()

    def _unsettled(self, worker: YtDlpWorker) -> str:
        """Wait for the worker's "idle" (it has freed what the fetch held): "" once it came,
        else why not (the worker is then killed)."""
        try:
            event = worker.receive(time.monotonic() + _SETTLE_TIMEOUT_S)
        except (WorkerGoneError, WorkerLateError) as exc:
            return f"did not settle after its fetch ({exc})"
        if event.get("event") != "idle":
            return f"sent {event.get('event')!r} after its fetch"
        return ""

    def _unsound(self, worker: YtDlpWorker) -> str:
        """Why ``worker`` may not serve another fetch, or "" when it may."""
        if not worker.alive():
            return "has exited"
        rss = resident_bytes(worker.pid)
        if rss is not None and rss > self.recycle_rss_bytes:
            return f"holds {rss >> 20} MiB"
        files, at_start = worker.open_files(), worker.open_files_at_start
        if files is not None and at_start is not None and files > at_start:
            return f"holds {files - at_start} more open files than at its start"
        if worker.has_children():
            return "still has a child process"
        return ""

    def prestart(self) -> None:
        """Start a worker now, so the first link after start-up does not pay for one. One
        that cannot start is only logged (the first fetch tries again)."""
        if not self.keep:
            return
        try:
            worker = self.take(time.monotonic() + PRESTART_TIMEOUT_S)
        except (OSError, WorkerGoneError, WorkerLateError) as exc:
            log.warning("yt-dlp worker not started ahead: %s", exc)
            return
        self._keep_if_sound(worker)

    def close(self) -> None:
        """Stop every idle worker; busy ones stop when their fetch ends."""
        for worker in self._idle.close():
            worker.kill()


_default: YtDlpWorkers | None = None
_default_lock = threading.Lock()
_keep_default = True
_retire_after_s: float | None = RETIRE_AFTER_S


def set_fetch_workers(enabled: bool, *, retire_idle_after_s: float | None = RETIRE_AFTER_S) -> None:
    """Fetch in long-lived workers (True, the default; each stopped once it has waited
    ``retire_idle_after_s`` for a fetch) or in a new process per fetch."""
    global _keep_default, _default, _retire_after_s
    with _default_lock:
        _keep_default, _retire_after_s = enabled, retire_idle_after_s
        old, _default = _default, None
    if old is not None:
        old.close()


def default_fetch_workers() -> YtDlpWorkers:
    """The process-wide pool: long-lived workers, or the per-fetch fallback."""
    global _default
    with _default_lock:
        if _default is None:
            _default = YtDlpWorkers(keep=_keep_default, retire_idle_after_s=_retire_after_s)
        return _default
