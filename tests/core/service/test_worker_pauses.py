"""Stopping a key's running decode worker while members are at work: a real busy child
process stands for the worker (its own process group, as decode workers are), and a flag
or a real :class:`MembersFirst` on a lock file for the members."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from musicrec_core.audio.decode_workers import DecodeWorkers, default_workers
from musicrec_core.audio.process import Budget
from musicrec_core.service.members_first import MembersFirst
from musicrec_core.service.worker_pauses import WorkerPauses
from tests.helpers.media import MakeMedia
from tests.helpers.processes import stopped

BUSY = "while True:\n    pass\n"


@pytest.fixture
def busy() -> Iterator[int]:
    """A child spinning on a core, leading its own process group."""
    child = subprocess.Popen([sys.executable, "-c", BUSY], process_group=0)
    yield child.pid
    child.kill()
    child.wait()


def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


class Clock:
    """A job's clock that keeps how long it stood still, in seconds."""

    def __init__(self) -> None:
        self.stopped_at: float | None = None
        self.seconds: list[float] = []

    def stop_clock(self) -> None:
        assert self.stopped_at is None
        self.stopped_at = time.monotonic()

    def start_clock(self) -> None:
        assert self.stopped_at is not None
        self.seconds.append(time.monotonic() - self.stopped_at)
        self.stopped_at = None


def test_a_busy_worker_is_stopped_while_members_are_at_work_and_continued_after(
    busy: int,
) -> None:
    members = threading.Event()
    pauses = WorkerPauses(members.is_set, allowance_s=30)
    clock = Clock()
    with pauses.pausing(busy, clock):
        time.sleep(0.05)
        assert not stopped(busy)  # no member: it runs
        members.set()
        assert until(lambda: stopped(busy)) and pauses.stopped == 1
        time.sleep(0.1)
        members.clear()
        assert until(lambda: not stopped(busy)) and pauses.stopped == 0
        assert len(clock.seconds) == 1 and 0.1 <= clock.seconds[0] < 5
    assert not stopped(busy)


def test_a_job_is_stopped_for_its_allowance_at_most(busy: int) -> None:
    pauses = WorkerPauses(lambda: True, allowance_s=0.2)
    clock = Clock()
    with pauses.pausing(busy, clock):
        assert until(lambda: stopped(busy))
        assert until(lambda: not stopped(busy))  # members never leave: it goes on anyway
        time.sleep(0.05)
        assert not stopped(busy)
    assert 0.2 <= sum(clock.seconds) < 1.0


def test_leaving_the_bracket_continues_a_stopped_worker(busy: int) -> None:
    pauses = WorkerPauses(lambda: True, allowance_s=30)
    clock = Clock()
    with pauses.pausing(busy, clock):
        assert until(lambda: stopped(busy))
    assert not stopped(busy) and pauses.stopped == 0 and len(clock.seconds) == 1


def test_closing_continues_stopped_workers_and_later_jobs_run_on(busy: int) -> None:
    pauses = WorkerPauses(lambda: True, allowance_s=30)
    with pauses.pausing(busy, Clock()):
        assert until(lambda: stopped(busy))
        pauses.close()
        assert not stopped(busy)
    with pauses.pausing(busy, Clock()):
        time.sleep(0.05)
        assert not stopped(busy)


def test_no_allowance_stops_nothing(busy: int) -> None:
    pauses = WorkerPauses(lambda: True, allowance_s=0)
    with pauses.pausing(busy, Clock()):
        time.sleep(0.05)
        assert not stopped(busy)


@pytest.mark.skipif(default_workers() is None, reason="PyAV or soxr not installed")
def test_a_key_job_s_decode_worker_is_stopped_while_a_member_is_at_work(
    tmp_path: Path, make_media: MakeMedia
) -> None:
    """The whole path: a key's job (``after_members``) decodes in a real worker, and a member
    arriving in another process (another MembersFirst on the file) stops that worker."""
    lock = tmp_path / "members-at-work.lock"
    bot, server = MembersFirst(lock, key_wait_s=0), MembersFirst(lock, key_wait_s=30)
    workers = DecodeWorkers()
    tone = make_media("tone.mp3", seconds=2)
    seen: dict[str, bool] = {}

    def key_job() -> int:
        with workers.session(tone, Budget(30, tone.name)) as session:
            with bot.member_at_work():
                seen["stopped for the member"] = until(lambda: stopped(worker))
                seen["counted as waiting"] = server.waiting == 1
            seen["continued after"] = until(lambda: not stopped(worker))
            window = session.decode(0.0, 1.0, sanitize=False, cap_frames=16_000, max_channels=2)
        return window.samples.shape[0]

    workers.prestart()
    (worker,) = workers.idle_pids()  # the one worker the pool's sessions take
    try:
        assert server.after_members(key_job)() == 16_000
        assert seen == dict.fromkeys(seen, True) and len(seen) == 3
        # a member's own job (not wrapped) is never stopped
        with bot.member_at_work(), workers.session(tone, Budget(30, tone.name)):
            time.sleep(0.05)
            assert not stopped(worker)
    finally:
        workers.close()
        bot.close()
        server.close()
