"""Members first across processes: two :class:`MembersFirst` on one lock file stand for the
bot and ``musicrec serve`` (each opens its own descriptors, as two processes do), and a
real child process stands for one that dies holding the lock."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from musicrec_core.service.members_first import MembersFirst

HOLD_SHARED = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_SH)
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def lock_file(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "members-at-work.lock"


@pytest.fixture
def bot(lock_file: Path) -> Iterator[MembersFirst]:
    first = MembersFirst(lock_file, key_wait_s=0)
    yield first
    first.close()


@pytest.fixture
def server(lock_file: Path) -> Iterator[MembersFirst]:
    first = MembersFirst(lock_file, key_wait_s=30)
    yield first
    first.close()


def started_wait(first: MembersFirst) -> threading.Thread:
    """``first.wait_turn()`` on a thread, returned once it is waiting."""
    thread = threading.Thread(target=first.wait_turn, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while first.waiting != 1 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.002)
    return thread


def test_a_key_step_waits_while_another_process_has_a_member_at_work(
    bot: MembersFirst, server: MembersFirst
) -> None:
    with bot.member_at_work():
        waiter = started_wait(server)
        waiter.join(timeout=0.05)
        assert waiter.is_alive() and server.waiting == 1
    waiter.join(timeout=10)
    assert not waiter.is_alive() and server.waiting == 0


def test_a_process_stays_marked_until_its_last_member_is_done(
    bot: MembersFirst, server: MembersFirst
) -> None:
    assert not server.members_at_work()
    with bot.member_at_work():
        with bot.member_at_work():
            assert server.members_at_work()
        assert server.members_at_work()
        assert bot.members_at_work()  # a key served by the bot itself sees them too
    assert not server.members_at_work() and not bot.members_at_work()


def test_a_process_that_dies_holding_the_lock_leaves_no_member_at_work(
    server: MembersFirst, lock_file: Path
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_SHARED, str(lock_file)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        assert server.members_at_work()
    finally:
        child.kill()
        child.wait()
        assert child.stdout is not None
        child.stdout.close()
    assert not server.members_at_work()


def test_a_wait_ends_at_its_cap(bot: MembersFirst, lock_file: Path) -> None:
    capped = MembersFirst(lock_file, key_wait_s=0.05)
    try:
        with bot.member_at_work():
            waiter = started_wait(capped)
            waiter.join(timeout=10)
            assert not waiter.is_alive() and capped.waiting == 0
    finally:
        capped.close()


def test_closing_ends_a_wait(bot: MembersFirst, server: MembersFirst) -> None:
    with bot.member_at_work():
        waiter = started_wait(server)
        assert waiter.is_alive()
        server.close()
        waiter.join(timeout=10)
        assert not waiter.is_alive()


async def test_a_key_step_on_the_event_loop_waits_too(
    bot: MembersFirst, server: MembersFirst
) -> None:
    with bot.member_at_work():
        step = asyncio.create_task(server.wait_turn_async())
        while server.waiting != 1 and not step.done():
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.05)
        assert not step.done() and server.waiting == 1
    await asyncio.wait_for(step, timeout=10)
    assert server.waiting == 0


def test_without_a_usable_lock_file_nothing_waits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with caplog.at_level(logging.WARNING):
        first = MembersFirst(not_a_folder / "members-at-work.lock", key_wait_s=30)
    assert "will not wait for Discord members" in caplog.text
    with first.member_at_work():
        assert not first.members_at_work()
        first.wait_turn()  # at once
    first.close()


def test_a_negative_wait_is_refused(lock_file: Path) -> None:
    with pytest.raises(ValueError, match="key_wait_s"):
        MembersFirst(lock_file, key_wait_s=-1)
