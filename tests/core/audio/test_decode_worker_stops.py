"""A decode worker stopped by its watcher (:mod:`musicrec_core.worker_watch`): its stopped
time does not count against the request's deadline, and it does not outlive its parent."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from musicrec_core.audio.decode_workers import DecodeWorkers, default_workers
from musicrec_core.audio.process import Budget
from musicrec_core.worker_watch import JobClock, watched
from tests.helpers.media import MakeMedia
from tests.helpers.processes import alive, stopped

pytestmark = pytest.mark.skipif(default_workers() is None, reason="PyAV or soxr not installed")

STOPPED_S = 1.2


@contextlib.contextmanager
def stopped_for_a_while(pid: int, clock: JobClock) -> Iterator[None]:
    """A watcher that stops the worker and its clock at once and continues them STOPPED_S
    later, as the members-first watcher does while members are at work."""
    clock.stop_clock()
    os.killpg(pid, signal.SIGSTOP)

    def go_on() -> None:
        time.sleep(STOPPED_S)
        os.killpg(pid, signal.SIGCONT)
        clock.start_clock()

    later = threading.Thread(target=go_on)
    later.start()
    try:
        yield
    finally:
        later.join()


def test_a_worker_s_stopped_time_does_not_count_against_its_deadline(
    make_media: MakeMedia,
) -> None:
    tone = make_media("tone.mp3", seconds=2)
    workers = DecodeWorkers()
    try:
        with (
            watched(stopped_for_a_while),
            workers.session(tone, Budget(STOPPED_S / 2, tone.name)) as session,
        ):
            window = session.decode(0.0, 1.0, sanitize=False, cap_frames=16_000, max_channels=2)
        assert window.samples.shape[0] == 16_000
    finally:
        workers.close()


PARENT = """
import os, signal, sys, time
from pathlib import Path
from musicrec_core.audio.decode_workers import DecodeWorkers
from musicrec_core.audio.process import Budget
workers = DecodeWorkers()
with workers.session(Path(sys.argv[1]), Budget(60, "tone")):
    (pid,) = [int(p) for p in os.listdir("/proc") if p.isdigit() and
              open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1] == str(os.getpid())]
    os.killpg(pid, signal.SIGSTOP)
    print(pid, flush=True)
    time.sleep(60)
"""


def test_a_stopped_worker_ends_when_its_parent_is_killed(make_media: MakeMedia) -> None:
    """A stopped worker cannot read the end of file its parent's death leaves; the hang-up
    of its orphaned process group ends it instead."""
    tone = make_media("tone.mp3", seconds=2)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tone)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    )
    try:
        worker = int(parent.stdout.readline())
        assert stopped(worker)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.01)
    if alive(worker):
        os.killpg(worker, signal.SIGKILL)
        pytest.fail("the stopped worker outlived its parent")
