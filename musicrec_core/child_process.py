"""Start a child process (ffmpeg, ffprobe, the yt-dlp worker) with the least it needs.

Every program musicrec starts on untrusted input goes through :func:`spawn`, which adds
three things to :class:`subprocess.Popen`:

- **A minimal environment** (:func:`child_environment`): only the variables in
  :data:`PASSED_VARIABLES` (where to find programs, the home and temp folders, the locale,
  the CA certificates, the caches the JavaScript runtime of yt-dlp uses) are copied from
  this process. ``DISCORD_TOKEN``, proxy variables with their passwords, cloud keys and
  anything else an operator keeps in the environment never reach ffmpeg, yt-dlp or the
  JavaScript runtime yt-dlp starts (its children inherit the worker's environment). A proxy
  that yt-dlp must use is passed to it explicitly, as an option, by the caller.
- **A memory limit** (``memory_limit_bytes``): ``RLIMIT_DATA``, the kernel's cap on a
  process's private writable memory (heap, anonymous mappings, thread stacks), in force
  before the program runs its first instruction, and inherited by whatever it starts. A
  process that needs more fails to allocate (ffmpeg reports "Cannot allocate memory" and
  exits) instead of pushing the machine into swap; callers turn that into a friendly error
  (:func:`ran_out_of_memory`). ``RLIMIT_DATA`` rather than ``RLIMIT_AS``: address space
  that is only reserved (shared libraries, V8's pointer cage, malloc arenas never
  touched) does not count, so the figure is close to what a process can really use.
- **A lower CPU priority**, once a long-running host asks for it
  (:func:`set_child_niceness`; the bot does, the command line does not): each child's
  nice value is raised right after it starts, and what it starts inherits it. Only the
  children are lowered, never the host's own threads: a lowered Python thread that holds
  the GIL while the CPU is busy keeps the event loop waiting for it (a priority
  inversion), whereas ffmpeg and yt-dlp hold no lock of ours. A :class:`ChildPriority`
  lowers one child further: some nice levels for work that can wait behind other work,
  or the idle scheduling class for costly work that must never slow cheap work.

Limits, measured on ffmpeg 5.1 (Debian 12), with room to spare:

- :data:`DECODER_MEMORY_LIMIT_BYTES` (512 MiB) per ffmpeg/ffprobe process: a 10-s window
  of an 8-channel 96 kHz FLAC needs under 64 MiB of data memory; each decoder thread adds
  its 8 MiB stack, so a 32-core machine stays well below the cap.
- :data:`YTDLP_MEMORY_LIMIT_BYTES` (1 GiB) for the yt-dlp worker and each program it starts
  (its ffmpeg and the JavaScript runtime, Node or Deno, that solves YouTube's challenges;
  the worker itself uses about 30 MiB after importing yt-dlp).

How the limit is set first: the child is started through ``/bin/sh -c 'ulimit -d KiB &&
exec "$@"' sh program ...``, a shell that sets the limit on itself and then replaces
itself with the program (same process id, streams and environment), so the limit is in
force from the program's first instruction. The program is looked up on ``PATH`` before
the shell starts, so a missing program still raises FileNotFoundError here. A limit above
this process's own hard limit is lowered to it (raising it would fail). Where there is no
``/bin/sh``, the limit is set by ``preexec_fn`` (a slower ``fork``, see below) and this is
logged once; where the platform has no ``resource`` module (Windows), no limit is set.

Why not ``preexec_fn`` always: with one, Python must ``fork`` instead of ``vfork``; a
large parent (the bot with TensorFlow, about 1.3 GB) forks in 3 ms, copying its page
tables, against 0.2 ms, and its other threads then take copy-on-write faults (an
embedding beside a loop of 8-channel decodes took 209 ms with ``fork``, 134 ms with
``vfork``, 108 ms alone). Why not ``prlimit(2)`` from the parent once ``Popen`` returns,
as before: the program is already running then, and a parent held up (a busy machine,
another thread holding the GIL) left it unlimited for as long as it liked. Why ``sh``
rather than util-linux ``prlimit``: both work, but dash starts faster, and ``/bin/sh`` is
on every POSIX system. ``benchmarks/bench_child_spawn.py`` (1 GiB parent, 200 rounds
interleaved): a child that does nothing takes 1.40 ms through ``sh`` and 1.59 ms through
``prlimit``, against 1.04 ms with the late ``prlimit(2)``; ``ffprobe -version`` 93 ms
against 95 ms (noise); a ``preexec_fn`` fork 41 ms.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

__all__ = [
    "DECODER_MEMORY_LIMIT_BYTES",
    "NORMAL_PRIORITY",
    "ChildPriority",
    "PASSED_VARIABLES",
    "YTDLP_MEMORY_LIMIT_BYTES",
    "child_environment",
    "ran_out_of_memory",
    "resident_bytes",
    "set_child_niceness",
    "spawn",
]

DECODER_MEMORY_LIMIT_BYTES = 512 * 2**20
"""Cap on the private writable memory of one ffmpeg or ffprobe process, in bytes."""

YTDLP_MEMORY_LIMIT_BYTES = 2**30
"""Cap on the private writable memory of the yt-dlp worker and of each program it starts."""

PASSED_VARIABLES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME",
        "LANG", "LANGUAGE", "TZ",
        "TMPDIR", "TEMP", "TMP",
        "SSL_CERT_FILE", "SSL_CERT_DIR",
        "XDG_CACHE_HOME", "DENO_DIR",
    }
)  # fmt: skip
"""Environment variables a child receives (plus every ``LC_*`` locale variable)."""

_child_niceness = 0
"""Added to each child's nice value (see :func:`set_child_niceness`)."""

_OUT_OF_MEMORY_TEXT = ("cannot allocate memory", "out of memory", "failed to map segment")
"""Lower-cased phrases with which ffmpeg, Python and the dynamic loader report ENOMEM."""


@dataclass(frozen=True)
class ChildPriority:
    """How far below the host's other children one child runs on the CPU.

    Attributes:
        later_by: nice levels added on top of :func:`set_child_niceness`, for work that can
            wait behind other work (a long file's extra candidate windows).
        background: the idle scheduling class (Linux ``SCHED_IDLE``; nice 19 where there is
            none): the child runs on CPU time no ordinary process wants, and a waking
            ordinary process takes its core at once. For costly work on a shared machine (a
            large upload), so that it never slows the short requests beside it; it still
            advances, slowly, on a saturated machine. ``later_by`` then no longer matters.
    """

    later_by: int = 0
    background: bool = False


NORMAL_PRIORITY = ChildPriority()
"""A child at the process-wide :func:`set_child_niceness`, no lower."""


def child_environment(source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a child gets: :data:`PASSED_VARIABLES` and ``LC_*`` from ``source``.

    ``source`` defaults to this process's environment.
    """
    source = os.environ if source is None else source
    return {
        name: value
        for name, value in source.items()
        if name in PASSED_VARIABLES or name.startswith("LC_")
    }


def set_child_niceness(increment: int) -> None:
    """Start every later child ``increment`` (0-19; 0 = unchanged) above this process's
    nice value, so that decoding and fetching yield the cores to this process's own work.

    Raises:
        ValueError: ``increment`` outside 0-19.
    """
    global _child_niceness
    if not 0 <= increment <= 19:
        raise ValueError(f"a nice increment is 0-19, got {increment}")
    _child_niceness = increment


def spawn(
    args: Sequence[str],
    *,
    memory_limit_bytes: int,
    priority: ChildPriority = NORMAL_PRIORITY,
    **popen_options: Any,
) -> subprocess.Popen[Any]:
    """:class:`subprocess.Popen` with the minimal environment and a memory limit.

    Args:
        args: the program and its arguments (never a shell string).
        memory_limit_bytes: ``RLIMIT_DATA`` of the child (from its first instruction) and
            of everything it starts.
        priority: how much lower than the process-wide :func:`set_child_niceness` this
            child runs (by default not lower).
        popen_options: passed on to Popen (streams, ``cwd``, ``start_new_session``, ...);
            ``env`` and ``preexec_fn`` are this function's to set.

    Raises:
        OSError: as Popen (FileNotFoundError for a missing program, PermissionError for
            one that is not executable).
    """
    environment = child_environment()
    program = _find_program(os.fspath(args[0]), environment, popen_options.get("cwd"))
    command = [program, *args[1:]]
    command, limit_in_child = _with_memory_limit(command, memory_limit_bytes)
    child = subprocess.Popen(command, env=environment, preexec_fn=limit_in_child, **popen_options)
    if priority.background:
        _to_background(child.pid)
    elif _child_niceness + priority.later_by:
        _lower_priority(child.pid, _child_niceness + priority.later_by)
    return child


def spawn_ytdlp_script(script: Path, *, cwd: Path) -> subprocess.Popen[str]:
    """Start ``script`` (a musicrec module that drives yt-dlp) in an isolated Python child.

    The child runs ``python -I script`` in its own session (so it and what it starts can be
    signalled as a group), in ``cwd``, with text-mode pipes on all three streams, the
    minimal environment and :data:`YTDLP_MEMORY_LIMIT_BYTES`.
    """
    return spawn(
        [sys.executable, "-I", str(script)],
        memory_limit_bytes=YTDLP_MEMORY_LIMIT_BYTES,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        start_new_session=True,
    )


def resident_bytes(pid: int) -> int | None:
    """Resident memory of process ``pid`` (``VmRSS``) in bytes, or None where /proc cannot
    say (no such process, not Linux). Long-lived workers are replaced past a cap of it."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def ran_out_of_memory(log_text: str) -> bool:
    """True when a child's stderr says it failed for lack of memory."""
    lowered = log_text.lower()
    return any(phrase in lowered for phrase in _OUT_OF_MEMORY_TEXT)


def _lower_priority(pid: int, increment: int) -> None:
    """Raise ``pid``'s nice value by ``increment`` (up to 19); never fails the spawn."""
    if not hasattr(os, "setpriority"):  # Windows
        return
    try:
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, pid, min(mine + increment, 19))
    except OSError as exc:  # the child already exited, or the system refuses
        log.debug("could not lower the priority of process %d: %s", pid, exc)


def _to_background(pid: int) -> None:
    """Move ``pid`` to the idle scheduling class (nice 19 without one); never fails the spawn."""
    if not (hasattr(os, "SCHED_IDLE") and hasattr(os, "sched_setscheduler")):  # not Linux
        _lower_priority(pid, 19)
        return
    try:
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
    except OSError as exc:  # the child already exited, or the system refuses
        log.debug("could not move process %d to the idle class: %s", pid, exc)


_SHELL = "/bin/sh"
_SET_LIMIT_THEN_EXEC = 'ulimit -d {kib} && exec "$@"'
"""The wrapper's script: ``ulimit -d`` counts in KiB and sets the soft and hard limits."""


def _with_memory_limit(
    command: list[str], limit_bytes: int
) -> tuple[list[str], Callable[[], None] | None]:
    """(what Popen runs, its ``preexec_fn``) for ``command`` with ``RLIMIT_DATA`` =
    ``limit_bytes`` (soft and hard, at most this process's hard limit) from its start."""
    if resource is None:
        return command, None
    hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
    if hard != resource.RLIM_INFINITY:
        limit_bytes = min(limit_bytes, hard)
    if _has_shell():
        script = _SET_LIMIT_THEN_EXEC.format(kib=limit_bytes // 1024)
        return [_SHELL, "-c", script, "sh", *command], None
    return command, functools.partial(
        resource.setrlimit, resource.RLIMIT_DATA, (limit_bytes, limit_bytes)
    )


@functools.cache
def _has_shell() -> bool:
    """Whether ``/bin/sh`` can start children (else they fork with a ``preexec_fn``)."""
    if os.access(_SHELL, os.X_OK):
        return True
    log.info("no %s here: children get their memory limit in a slower fork", _SHELL)
    return False


def _find_program(
    program: str, environment: Mapping[str, str], cwd: str | os.PathLike[str] | None
) -> str:
    """``program`` as the wrapper should run it: looked up on the child's ``PATH`` when it
    names no folder, else as given (relative to ``cwd``).

    Raises:
        FileNotFoundError: no such program; PermissionError: it is not executable.
    """
    if os.sep not in program:
        found = shutil.which(program, path=environment.get("PATH", os.defpath))
        if found is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
        return found
    where = program if cwd is None else os.path.join(cwd, program)
    if not os.path.exists(where):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
    if not os.access(where, os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), program)
    return program
