"""Decode workers that wait too long are retired, and the idle class starts only for a large
upload: a quiet host holds no worker process, and no request notices either."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator

import pytest

from musicrec_core.audio.decode_workers import DecodeWorkers, Session, default_workers
from musicrec_core.audio.process import Budget
from tests.helpers.media import MakeMedia
from tests.helpers.processes import alive, children

pytestmark = pytest.mark.skipif(default_workers() is None, reason="PyAV or soxr not installed")


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds (at most 30 s: a loaded machine)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"still not {what} after 30 s"
        time.sleep(0.02)


def _first_second(session: Session) -> int:
    """Frames of the first second of the session's file, decoded by its worker."""
    window = session.decode(0.0, 1.0, sanitize=False, cap_frames=16_000, max_channels=8)
    return window.samples.shape[0]


@contextlib.contextmanager
def _pool(retire_idle_after_s: float | None) -> Iterator[tuple[DecodeWorkers, set[int]]]:
    """A pool, and the children of this process before it; after the test, the pool closed
    and every process it started gone (stopped and reaped)."""
    before = children()
    workers = DecodeWorkers(retire_idle_after_s=retire_idle_after_s)
    try:
        yield workers, before
    finally:
        workers.close()
    _wait_for(lambda: children() == before, "back to the processes before the test")


def test_a_worker_retired_after_waiting_is_replaced_by_the_next_request(
    make_media: MakeMedia,
) -> None:
    tone = make_media("tone.mp3", seconds=2)
    with _pool(0.2) as (workers, before):
        with workers.session(tone, Budget(30, "tone")) as session:
            (first,) = children() - before
            assert _first_second(session) == 16_000
        _wait_for(lambda: first not in children(), "retired and reaped")
        assert workers.idle_pids() == [] and not alive(first)
        with workers.session(tone, Budget(30, "tone")) as session:
            (second,) = children() - before  # a new worker, started for this request
            assert second != first and _first_second(session) == 16_000


def test_the_idle_class_worker_starts_with_a_large_upload_and_runs_in_sched_idle(
    make_media: MakeMedia,
) -> None:
    tone = make_media("tone.mp3", seconds=2)
    with _pool(None) as (workers, before):
        workers.prestart()
        (normal,) = children() - before  # only the normal class is started ahead
        assert os.sched_getscheduler(normal) == os.SCHED_OTHER
        with workers.session(tone, Budget(30, "large"), background=True) as session:
            (lazy,) = children() - before - {normal}
            assert os.sched_getscheduler(lazy) == os.SCHED_IDLE
            assert _first_second(session) == 16_000
        assert sorted(workers.idle_pids()) == sorted([normal, lazy])


def test_retirement_never_stops_a_worker_holding_a_file(make_media: MakeMedia) -> None:
    """A worker holds a file for longer than workers may wait: the spare one beside it is
    retired, the held one keeps serving its file, and is retired once it has waited."""
    tone = make_media("tone.mp3", seconds=2)
    with _pool(0.1) as (workers, before):
        with workers.session(tone, Budget(60, "held")) as held:
            (holder,) = children() - before
            with workers.session(tone, Budget(30, "beside")) as beside:
                (spare,) = children() - before - {holder}  # a second worker, then waiting
                assert _first_second(beside) == 16_000
            _wait_for(lambda: not alive(spare), "retired")
            assert alive(holder) and _first_second(held) == 16_000
        _wait_for(lambda: not alive(holder), "retired after its file")
