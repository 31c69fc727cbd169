"""The shelf of waiting workers: newest taken first, each retired once it has waited too
long, never one that was taken (here with plain objects for workers)."""

from __future__ import annotations

import threading

import pytest

from musicrec_core.idle_shelf import IdleShelf


class Retired:
    """The ``retire`` callback: records the workers, signals each one."""

    def __init__(self) -> None:
        self.workers: list[str] = []
        self.event = threading.Event()

    def __call__(self, worker: str) -> None:
        self.workers.append(worker)
        self.event.set()


def test_the_newest_is_taken_and_the_one_left_waiting_is_retired() -> None:
    retired = Retired()
    shelf: IdleShelf[bool, str] = IdleShelf(retired, 0.5, "test")
    assert shelf.put(False, "older", limit=4) and shelf.put(False, "newer", limit=4)
    assert shelf.take(False) == "newer"
    assert retired.event.wait(30)
    assert retired.workers == ["older"]  # the taken one was shelved as long, and kept
    assert shelf.workers() == [] and shelf.take(False) is None
    shelf.close()


def test_kinds_are_shelved_apart_and_up_to_their_limit() -> None:
    shelf: IdleShelf[bool, str] = IdleShelf(Retired(), None, "test")
    assert shelf.put(True, "idle class", limit=1)
    assert not shelf.put(True, "second", limit=1)  # full: the caller stops it
    assert shelf.put(False, "normal", limit=1)
    assert shelf.take(True) == "idle class" and shelf.take(True) is None
    assert shelf.workers() == ["normal"]


def test_close_hands_back_the_waiting_and_shelves_nothing_more() -> None:
    retired = Retired()
    shelf: IdleShelf[bool, str] = IdleShelf(retired, 3600.0, "closing")
    shelf.put(False, "waiting", limit=4)
    (thread,) = [t for t in threading.enumerate() if t.name == "closing-retire"]
    assert shelf.close() == ["waiting"]
    assert not shelf.put(False, "late", limit=4) and shelf.workers() == []
    thread.join(30)
    assert not thread.is_alive() and retired.workers == []


@pytest.mark.parametrize("seconds", [0.0, -1.0])
def test_a_wait_that_is_not_positive_is_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match="retire_after_s must be > 0"):
        IdleShelf(Retired(), seconds, "test")
