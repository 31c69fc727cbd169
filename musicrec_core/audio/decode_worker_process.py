"""One decode worker process, seen from the parent: its start and its socket.

:class:`WorkerProcess` starts ``python -I`` :mod:`musicrec_core.audio._decode_worker` with
:func:`musicrec_core.child_process.spawn` (memory limit, minimal environment, CPU priority,
a process group of its own) and holds the parent's end of a Unix socket pair, the worker's
stdin. The group stays in the parent's session on purpose: a worker may be stopped
(``SIGSTOP``, :mod:`musicrec_core.service.worker_pauses`), and a stopped process never reads
the end of file its parent's death leaves on the socket; when the parent dies, though, the
worker's group becomes orphaned with a stopped member, so the kernel sends it ``SIGHUP`` and
``SIGCONT`` and the worker ends (in a session of its own, its group is orphaned from the
start, and it would stay stopped for ever).
:meth:`WorkerProcess.ask` sends one request (a 4-byte big-endian length and a JSON object,
with a file descriptor when one is handed over) and reads the reply and its payload within
a :class:`~musicrec_core.audio.process.Budget`; the protocol is the worker's docstring. The
pool that shares these processes between requests is :mod:`musicrec_core.audio.decode_workers`.
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

from musicrec_core.audio.process import Budget
from musicrec_core.child_process import ChildPriority, spawn

__all__ = ["WorkerGone", "WorkerProcess"]

_SCRIPT = Path(__file__).with_name("_decode_worker.py")
_LENGTH = struct.Struct(">I")
_MAX_REPLY_BYTES = 1 << 27


class WorkerGone(Exception):
    """The worker died or broke the protocol before answering."""


class WorkerProcess:
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
                process_group=0,
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
            WorkerGone: the worker died or answered nonsense (it is killed).
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
                raise WorkerGone(f"a {size}-byte reply")
            return reply, self._read(size, budget)
        except (OSError, ValueError, WorkerGone) as exc:
            self.kill()
            raise WorkerGone(str(exc)) from exc
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
                raise WorkerGone("end of file")
            data += chunk
        return bytes(data)

    def kill(self) -> None:
        """Stop the process now and reap it; close the socket (idempotent)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.sock.close()
