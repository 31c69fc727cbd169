"""Blocking calls on shared files, awaited off the event loop with a timeout."""

from __future__ import annotations

import asyncio
import threading

import pytest

from musicrec_core.service.off_loop import OffLoop, SharedStateBusyError
from musicrec_core.service.youtube_charge import YouTubeCharge
from musicrec_core.sources.budget import FetchStamp


async def test_a_call_past_its_timeout_is_a_try_again_and_its_late_result_is_handed_on() -> None:
    calls = OffLoop("test", workers=1, timeout_s=0.05)
    release = threading.Event()
    late: list[int] = []
    delivered = threading.Event()

    def stuck() -> int:
        release.wait(30)
        return 7

    def keep(value: int) -> None:
        late.append(value)
        delivered.set()

    try:
        with pytest.raises(SharedStateBusyError, match="try again in a few seconds"):
            await calls.call(stuck, on_late=keep)
        assert late == []  # still running: nothing yet
        release.set()
        assert await asyncio.to_thread(delivered.wait, 30)
        assert late == [7]
    finally:
        release.set()
        calls.close()


async def test_a_call_that_never_started_is_dropped() -> None:
    calls = OffLoop("test", workers=1, timeout_s=0.05)
    release = threading.Event()
    ran: list[str] = []
    try:
        blocker = asyncio.ensure_future(calls.call(release.wait, 30, timeout_s=30))
        await asyncio.sleep(0.01)
        with pytest.raises(SharedStateBusyError):
            await calls.call(ran.append, "queued", on_late=ran.append)  # behind the blocker
        release.set()
        assert await blocker is True
        await calls.call(ran.append, "after")
        assert ran == ["after"]  # the timed-out call never ran, and nothing was delivered
    finally:
        release.set()
        calls.close()


async def test_errors_of_the_call_come_through() -> None:
    calls = OffLoop("test")
    try:
        with pytest.raises(ZeroDivisionError):
            await calls.call(divmod, 1, 0)
    finally:
        calls.close()


def test_a_charge_is_given_back_only_while_youtube_has_seen_nothing() -> None:
    stamp = FetchStamp(1000.0, 7, 100)
    never_started = YouTubeCharge(stamp)
    assert never_started.settle_unspent()
    assert not never_started.settle_unspent()  # once
    assert not never_started.start_fetch()  # given back: the fetch must not start

    started = YouTubeCharge(stamp)
    assert started.start_fetch()
    assert not started.settle_unspent()  # it may have reached YouTube: kept

    unreached = YouTubeCharge(stamp)
    assert unreached.start_fetch()
    unreached.not_reached()  # connection refused, DNS failure
    assert unreached.settle_unspent()
