"""The build's prefetch: calls run ahead on one thread, come back in order, a bounded number
waiting, and the ones not started are cancelled when the build stops."""

from __future__ import annotations

import threading
import time

from musicrec_core.catalog.library.prepare import Prefetch


def test_calls_come_back_in_submission_order_with_at_most_depth_waiting() -> None:
    ran: list[int] = []
    due: list[int] = []
    with Prefetch[int](depth=2) as prefetch:
        for number in range(5):
            returned = prefetch.submit(number, lambda n=number: ran.append(n) or n)
            assert len(returned) == (0 if number < 2 else 1)  # the earliest, once 2 wait
            due += [context for context, future in returned if future.result() == context]
        due += [context for context, future in prefetch.drain() if future.result() == context]
        assert prefetch.drain() == []
    assert due == ran == [0, 1, 2, 3, 4]


def test_leaving_cancels_the_calls_not_started_and_waits_for_the_running_one() -> None:
    release = threading.Event()
    ran: list[int] = []

    def call(number: int) -> int:
        if number == 0:
            release.wait(30)
        ran.append(number)
        return number

    prefetch = Prefetch[int](depth=10)
    for number in range(3):
        prefetch.submit(number, lambda n=number: call(n))
    waiting = prefetch.drain()
    leaving = threading.Thread(target=prefetch.__exit__, args=(None, None, None))
    leaving.start()
    deadline = time.monotonic() + 30
    while not waiting[2][1].cancelled() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert leaving.is_alive()  # still waiting for the running call
    release.set()
    leaving.join(30)
    assert waiting[0][1].result() == 0
    assert [future.cancelled() for _, future in waiting[1:]] == [True, True]
    assert ran == [0]
