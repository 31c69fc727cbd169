"""The hourly YouTube fetch budget: a sliding window, refused politely when spent, and
shared through one file by every process of a machine."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from musicrec_core.errors import FetchError
from musicrec_core.sources.budget import FetchBudget, YouTubeBusyError, default_budget_path

TAKER = """
import pathlib, sys, time
from musicrec_core.sources.budget import FetchBudget, YouTubeBusyError
path, limit, takes, at, go = sys.argv[1:]
clock = None if at == "-" else (lambda: float(at))
budget = FetchBudget(int(limit), path=pathlib.Path(path), clock=clock)
if go != "-":
    pathlib.Path(go + "." + str(__import__("os").getpid())).touch()
    while not pathlib.Path(go).exists():
        time.sleep(0.001)
granted = 0
for _ in range(int(takes)):
    try:
        budget.take()
        granted += 1
    except YouTubeBusyError:
        pass
print(granted)
"""
"""A process taking ``takes`` fetches from the file (clock fixed at ``at``, or real time
with "-"), after waiting for the file ``go`` (unless "-"); prints how many were granted."""


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_refuses_when_spent_and_says_when_to_retry() -> None:
    clock = Clock()
    budget = FetchBudget(3, clock=clock)
    for _ in range(3):
        budget.take()
        clock.now += 60.0  # fetches at 0, 1 and 2 min
    assert budget.used() == 3
    with pytest.raises(YouTubeBusyError) as refused:
        budget.take()  # at 3 min: the first fetch leaves the window at 60 min
    assert isinstance(refused.value, FetchError)
    assert refused.value.retry_after_s == pytest.approx(57 * 60.0)
    assert str(refused.value).startswith("YouTube is busy for musicrec: try again in 57 min")
    assert budget.used() == 3  # a refusal takes nothing


def test_the_budget_recovers_as_fetches_leave_the_hour() -> None:
    clock = Clock()
    budget = FetchBudget(2, clock=clock)
    budget.take()
    clock.now += 1800.0
    budget.take()
    with pytest.raises(YouTubeBusyError):
        budget.take()
    clock.now += 1800.0  # the first fetch is an hour old: one place frees up
    budget.take()
    with pytest.raises(YouTubeBusyError, match="try again in 30 min"):
        budget.take()
    clock.now += 3600.0
    assert budget.used() == 0
    budget.take()
    budget.take()


def test_a_last_few_seconds_still_read_as_one_minute() -> None:
    clock = Clock()
    budget = FetchBudget(1, clock=clock)
    budget.take()
    clock.now += 3599.0
    with pytest.raises(YouTubeBusyError, match="try again in 1 min"):
        budget.take()


@pytest.mark.parametrize(("limit", "window_s"), [(0, 3600.0), (5, 0.0)])
def test_a_budget_needs_a_limit_and_a_window(limit: int, window_s: float) -> None:
    with pytest.raises(ValueError):
        FetchBudget(limit, window_s=window_s)


def start_taker(
    path: Path, limit: int, takes: int, at: str = "-", go: str = "-"
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", TAKER, str(path), str(limit), str(takes), at, go],
        stdout=subprocess.PIPE,
        text=True,
    )


def granted(taker: subprocess.Popen[str]) -> int:
    out, _ = taker.communicate(timeout=120)
    assert taker.returncode == 0
    return int(out)


def test_two_budgets_on_one_file_share_the_limit(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "cache" / "youtube-fetches.bin"  # its folder is made when needed
    first = FetchBudget(3, clock=clock, path=path)
    second = FetchBudget(3, clock=clock, path=path)
    first.take()
    second.take()
    first.take()
    assert second.used() == 3
    with pytest.raises(YouTubeBusyError):
        second.take()
    with pytest.raises(YouTubeBusyError):
        first.take()
    assert FetchBudget(3, path=path, clock=clock).used() == 3  # a restarted process too


def test_the_window_slides_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "youtube-fetches.bin"
    assert granted(start_taker(path, 3, 2, at="1000.0")) == 2  # another process, at 1000 s
    clock = Clock()
    clock.now = 2800.0
    budget = FetchBudget(3, clock=clock, path=path)
    budget.take()
    with pytest.raises(YouTubeBusyError) as refused:
        budget.take()
    assert refused.value.retry_after_s == pytest.approx(1800.0)
    clock.now = 4600.0  # the other process's two fetches left the hour
    assert budget.used() == 1
    budget.take()
    budget.take()
    assert granted(start_taker(path, 3, 1, at="4600.0")) == 0  # and it sees ours


def test_concurrent_processes_never_exceed_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "youtube-fetches.bin"
    go = tmp_path / "go"
    takers = [start_taker(path, 150, 100, go=str(go)) for _ in range(4)]
    deadline = time.monotonic() + 60.0
    while len(list(tmp_path.glob("go.*"))) < len(takers) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # every process is ready: they take at the same time
    assert sum(granted(taker) for taker in takers) == 150
    assert FetchBudget(150, path=path).used() == 150


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-5],  # a write cut short
        lambda data: data[:7],  # inside the header
        lambda data: data[:12] + b"\xff" * (len(data) - 12),  # stamps overwritten
        lambda data: b"not a budget file at all, but long enough",
    ],
)
def test_a_damaged_file_reads_as_empty_and_is_rewritten(
    tmp_path: Path, damage: Callable[[bytes], bytes], caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    path = tmp_path / "youtube-fetches.bin"
    budget = FetchBudget(2, clock=clock, path=path)
    budget.take()
    budget.take()
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="musicrec_core.sources.budget"):
        assert budget.used() == 0
        budget.take()
    assert "is damaged" in caplog.text
    assert FetchBudget(2, clock=clock, path=path).used() == 1  # rewritten whole


def test_a_fetch_stamped_in_the_future_counts_as_now_not_forever(tmp_path: Path) -> None:
    path = tmp_path / "youtube-fetches.bin"
    ahead = Clock()
    ahead.now = 1e9  # a clock that was later set back
    FetchBudget(1, clock=ahead, path=path).take()
    clock = Clock()
    budget = FetchBudget(1, clock=clock, path=path)
    with pytest.raises(YouTubeBusyError) as refused:
        budget.take()
    assert refused.value.retry_after_s == pytest.approx(3600.0)
    clock.now += 3600.0
    budget.take()


@pytest.mark.parametrize("action", ["open", "lock"])
def test_an_unusable_file_is_logged_once_and_the_process_counts_alone(
    tmp_path: Path, action: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "youtube-fetches.bin"
    if action == "open":
        (tmp_path / "a-file").write_text("")
        path = tmp_path / "a-file" / "youtube-fetches.bin"  # its folder is a file
    else:

        def no_locks(fd: int, operation: int) -> None:
            raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))  # a network file system

        monkeypatch.setattr("musicrec_core.sources.budget.fcntl.flock", no_locks)
    budget = FetchBudget(2, clock=Clock(), path=path)
    with caplog.at_level(logging.WARNING, logger="musicrec_core.sources.budget"):
        budget.take()
        budget.take()
        with pytest.raises(YouTubeBusyError):
            budget.take()
    assert budget.used() == 2
    assert caplog.text.count(f"cannot {action} the YouTube fetch budget file") == 1


def test_the_shared_file_lives_in_the_cache_directory(tmp_path: Path) -> None:
    # tests/conftest.py points MUSICREC_CACHE_DIR at a temporary folder
    assert default_budget_path().name == "youtube-fetches.bin"
    FetchBudget(1, path=default_budget_path()).take()
    assert FetchBudget(1, path=default_budget_path()).used() == 1
