"""Fair worker pools: members served in turn, withdrawn jobs never run, workers never exceeded."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable

import pytest

from musicrec_core.errors import MusicrecError
from musicrec_core.service.scheduler import FairPool


class Gate:
    """Jobs that record their order and block until the test opens the gate."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.started: list[str] = []
        self._lock = threading.Lock()

    def job(self, name: str) -> Callable[[], str]:
        def work() -> str:
            with self._lock:
                self.started.append(name)
            if not self.opened.wait(30):
                raise TimeoutError("the test never opened the gate")
            return name

        return work


@pytest.fixture
async def one_worker() -> AsyncIterator[FairPool]:
    pool = FairPool("test", 1)
    yield pool
    pool.close()


async def wait_started(gate: Gate, count: int) -> None:
    while len(gate.started) < count:
        await asyncio.sleep(0.005)


async def test_members_are_served_in_turn_not_first_come(one_worker: FairPool) -> None:
    gate = Gate()
    flood = [asyncio.create_task(one_worker.run(1, gate.job(f"flood{n}"))) for n in range(4)]
    await wait_started(gate, 1)  # flood0 holds the only worker; flood1-3 wait
    polite = [asyncio.create_task(one_worker.run(member, gate.job(f"polite{member}")))
              for member in (2, 3)]  # fmt: skip
    await asyncio.sleep(0)
    gate.opened.set()
    results = await asyncio.gather(*flood, *polite)
    assert results == ["flood0", "flood1", "flood2", "flood3", "polite2", "polite3"]
    # After flood0, each member with work waiting gets one job before anyone gets a second.
    assert gate.started == ["flood0", "flood1", "polite2", "polite3", "flood2", "flood3"]


async def test_a_withdrawn_job_never_runs(one_worker: FairPool) -> None:
    gate = Gate()
    first = asyncio.create_task(one_worker.run(1, gate.job("first")))
    await wait_started(gate, 1)
    withdrawn = asyncio.create_task(one_worker.run(2, gate.job("withdrawn")))
    later = asyncio.create_task(one_worker.run(3, gate.job("later")))
    await asyncio.sleep(0)
    withdrawn.cancel()
    gate.opened.set()
    assert await first == "first"
    assert await later == "later"
    assert withdrawn.cancelled()
    assert gate.started == ["first", "later"]


async def test_a_cancelled_running_job_keeps_its_worker_until_it_ends(
    one_worker: FairPool,
) -> None:
    gate = Gate()
    running = asyncio.create_task(one_worker.run(1, gate.job("running")))
    await wait_started(gate, 1)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    queued = asyncio.create_task(one_worker.run(2, gate.job("queued")))
    await asyncio.sleep(0.05)
    assert gate.started == ["running"]  # never two jobs on one worker
    gate.opened.set()
    assert await queued == "queued"


async def test_errors_reach_the_caller_and_close_fails_waiting_jobs() -> None:
    pool = FairPool("test", 1)
    gate = Gate()

    def broken() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        await pool.run(1, broken)
    running = asyncio.create_task(pool.run(1, gate.job("running")))
    await wait_started(gate, 1)
    waiting = asyncio.create_task(pool.run(2, gate.job("waiting")))
    await asyncio.sleep(0)
    pool.close()
    with pytest.raises(MusicrecError, match="shutting down"):
        await waiting
    gate.opened.set()
    assert await running == "running"


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no process priorities here")
async def test_workers_are_named_and_keep_the_process_priority() -> None:
    """Only child processes are lowered (a lowered thread holding the GIL would stall the
    event loop), so a worker thread runs at the process's own priority."""
    pool = FairPool("decode", 2)
    try:

        def where() -> tuple[str, int]:
            thread = threading.current_thread().name
            return thread, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

        name, nice = await pool.run(1, where)
    finally:
        pool.close()
    assert name.startswith("musicrec-decode")
    assert nice == os.getpriority(os.PRIO_PROCESS, 0)


async def test_a_member_runs_one_job_at_a_time_so_a_late_member_finds_a_free_worker() -> None:
    """Two workers, one member with four slow jobs (an API key's uploads): only one of them
    runs, and a member who asks later starts at once on the other worker."""
    pool = FairPool("test", 2)
    gate = Gate()
    try:
        flood = [asyncio.create_task(pool.run(1, gate.job(f"flood{n}"))) for n in range(4)]
        await wait_started(gate, 1)
        await asyncio.sleep(0.05)
        assert gate.started == ["flood0"]  # the second worker stays free
        polite = asyncio.create_task(pool.run(2, gate.job("polite")))
        await wait_started(gate, 2)
        assert gate.started == ["flood0", "polite"]
        gate.opened.set()
        assert await asyncio.gather(*flood, polite) == [
            "flood0", "flood1", "flood2", "flood3", "polite"
        ]  # fmt: skip
    finally:
        pool.close()
