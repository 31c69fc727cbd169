"""Another process holding a file's ``flock``, as a stopped or slow shard process would."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HOLDER = """
import fcntl, os, pathlib, sys, time
path, held, release, hold_s = sys.argv[1:]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
pathlib.Path(held).touch()
give_up = time.monotonic() + float(hold_s)
while not pathlib.Path(release).exists() and time.monotonic() < give_up:
    time.sleep(0.01)
"""
"""Locks ``path`` (creating it), says so through the file ``held``, and holds the lock
until the file ``release`` exists or ``hold_s`` seconds have passed."""


@contextlib.contextmanager
def lock_held(
    path: Path, scratch: Path, *, hold_s: float = 20.0
) -> Iterator[subprocess.Popen[bytes]]:
    """A process holding ``path``'s exclusive ``flock`` (its folder is created) from the
    start of the block until its end, or ``hold_s`` seconds (so a test that fails still
    ends); yields the process (``poll()`` is None while it holds the lock).

    ``scratch``: a folder for the signal files.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.monotonic_ns()
    held, release = scratch / f"held-{stamp}", scratch / f"release-{stamp}"
    args = [str(path), str(held), str(release), str(hold_s)]
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, *args])
    try:
        while not held.exists():
            if holder.poll() is not None:
                raise RuntimeError("the lock holder exited before taking the lock")
            time.sleep(0.005)
        yield holder
    finally:
        release.touch()
        holder.wait(timeout=30)
