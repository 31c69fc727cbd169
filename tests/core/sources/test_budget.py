"""The hourly YouTube fetch budget: a sliding window, refused politely when spent, and
shared through one file by every process of a machine."""

from __future__ import annotations

import errno
import logging
import os
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from musicrec_core.errors import FetchError
from musicrec_core.sources.budget import (
    FetchBudget,
    FetchBudgetBusyError,
    FetchStamp,
    MemberShareSpentError,
    ServerShareSpentError,
    YouTubeBusyError,
    default_budget_path,
)
from tests.helpers.lock_holder import lock_held

TAKER = """
import pathlib, sys, time
from musicrec_core.sources.budget import FetchBudget, YouTubeBusyError
path, limit, takes, at, go, member, server, member_share, server_share = sys.argv[1:]
clock = None if at == "-" else (lambda: float(at))
budget = FetchBudget(
    int(limit),
    path=pathlib.Path(path),
    clock=clock,
    member_share=float(member_share),
    server_share=float(server_share),
)
if go != "-":
    pathlib.Path(go + "." + str(__import__("os").getpid())).touch()
    while not pathlib.Path(go).exists():
        time.sleep(0.001)
granted = 0
for _ in range(int(takes)):
    try:
        budget.take(int(member), int(server))
        granted += 1
    except YouTubeBusyError:
        pass
print(granted)
"""
"""A process taking ``takes`` fetches from the file for ``member`` of ``server`` (clock fixed
at ``at``, or real time with "-"), after waiting for the file ``go`` (unless "-"); prints how
many were granted."""


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
    path: Path,
    limit: int,
    takes: int,
    at: str = "-",
    go: str = "-",
    *,
    member: int = 0,
    server: int = 0,
    shares: tuple[float, float] = (1.0, 1.0),
) -> subprocess.Popen[str]:
    """A TAKER process; ``shares`` are the member's and the server's fractions of ``limit``."""
    args = [str(path), str(limit), str(takes), at, go, str(member), str(server)]
    return subprocess.Popen(
        [sys.executable, "-c", TAKER, *args, *(str(share) for share in shares)],
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

        monkeypatch.setattr("fcntl.flock", no_locks)
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


# Fair shares: counted machine-wide, in the same file as the total -----------------------

SHARES = (0.1, 0.5)
"""The bot's defaults: a member 10 %, a server 50 % of the hourly limit."""


def test_a_member_over_their_share_is_refused_while_another_server_is_served(
    tmp_path: Path,
) -> None:
    """Finding 2: one member on two shard processes gets 10 % of the hour, not 2 x 10 %,
    and a member of another server is still served."""
    path = tmp_path / "youtube-fetches.bin"
    shard_0 = start_taker(path, 40, 10, at="1000.0", member=7, server=100, shares=SHARES)
    assert granted(shard_0) == 4  # 10 % of 40
    shard_1 = start_taker(path, 40, 10, at="1000.0", member=7, server=100, shares=SHARES)
    assert granted(shard_1) == 0  # the same member on another process: nothing more
    other = start_taker(path, 40, 1, at="1000.0", member=8, server=200, shares=SHARES)
    assert granted(other) == 1
    assert FetchBudget(40, path=path, clock=Clock()).used() == 5


def test_a_server_over_its_share_is_refused_on_every_process(tmp_path: Path) -> None:
    path = tmp_path / "youtube-fetches.bin"
    takers = [
        start_taker(path, 10, 1, at="1000.0", member=member, server=100, shares=SHARES)
        for member in range(1, 9)
    ]  # eight members of one server, on eight processes, at once
    assert sum(granted(taker) for taker in takers) == 5  # 50 % of 10
    assert granted(start_taker(path, 10, 1, at="1000.0", member=9, server=200, shares=SHARES))


def test_a_member_is_told_when_their_own_share_refills(tmp_path: Path) -> None:
    clock = Clock()
    budget = FetchBudget(20, member_share=0.1, server_share=0.5, clock=clock, path=tmp_path / "b")
    budget.take(7, 100)
    clock.now += 600.0
    budget.take(7, 100)  # a member's share of 20 is 2
    clock.now += 600.0
    for member in range(20, 25):
        budget.take(member, 300)  # others keep the total far from spent
    with pytest.raises(MemberShareSpentError) as refused:
        budget.take(7, 200)  # in another server too: the share is the member's
    assert refused.value.retry_after_s == pytest.approx(2400.0)  # the first leaves at 60 min
    assert str(refused.value) == (
        "You have used your share of YouTube links for this hour (2): it refills in 40 min. "
        "An audio file works right away."
    )
    clock.now += 2400.0
    budget.take(7, 200)


def test_the_limit_that_frees_up_last_is_the_one_named() -> None:
    """A fetch waits for every limit it reached, so the refusal names the latest to free."""
    clock = Clock()
    budget = FetchBudget(4, member_share=0.5, server_share=0.5, clock=clock)
    budget.take(3, 200)
    clock.now += 60.0
    budget.take(1, 100)
    clock.now += 60.0
    budget.take(2, 100)  # server 100 is at its share of 2 (its first frees at 61 min)
    budget.take(4, 300)  # and the total is spent (its first frees at 60 min)
    with pytest.raises(ServerShareSpentError, match="This server has used its share") as refused:
        budget.take(2, 100)
    assert refused.value.retry_after_s == pytest.approx(3540.0)
    with pytest.raises(YouTubeBusyError) as refused:
        budget.take(5, 400)  # only the total
    assert type(refused.value) is YouTubeBusyError
    assert refused.value.retry_after_s == pytest.approx(3480.0)

    clock.now += 3600.0 - 120.0  # the first fetch left; three remain, member 4 had one
    budget.take(4, 500)  # member 4 at their share of 2 (the first frees at 62 min)
    with pytest.raises(MemberShareSpentError) as refused:
        budget.take(4, 600)  # the total (61 min) and member 4 (62 min)
    assert refused.value.retry_after_s == pytest.approx(120.0)


def test_a_share_is_at_least_one_fetch() -> None:
    budget = FetchBudget(3, member_share=0.1, server_share=0.1, clock=Clock())
    assert (budget.member_limit, budget.server_limit) == (1, 1)
    assert FetchBudget(100, member_share=0.29).member_limit == 29  # not 28.999...
    with pytest.raises(ValueError):
        FetchBudget(10, member_share=0.0)
    with pytest.raises(ValueError):
        FetchBudget(10, server_share=1.5)


def test_a_file_of_the_first_format_is_read_and_rewritten(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file written before shares (magic MRF1, start times only) keeps counting toward
    the total, belongs to nobody's share, and is rewritten in the new format."""
    path = tmp_path / "youtube-fetches.bin"
    stamps = struct.pack("<3d", 900.0, 950.0, 990.0)
    path.write_bytes(struct.pack("<4sII", b"MRF1", 3, zlib.crc32(stamps)) + stamps)
    budget = FetchBudget(4, member_share=0.5, clock=Clock(), path=path)
    with caplog.at_level(logging.INFO, logger="musicrec_core.sources.budget"):
        assert budget.used() == 3
        budget.take(7, 100)
    assert "format before shares" in caplog.text and "damaged" not in caplog.text
    assert path.read_bytes()[:4] == b"MRF2"
    with pytest.raises(YouTubeBusyError) as refused:
        budget.take(8, 100)
    assert type(refused.value) is YouTubeBusyError
    assert refused.value.retry_after_s == pytest.approx(3500.0)  # the old 900 s stamp


# Giving back a fetch that never reached YouTube ----------------------------------------


def test_a_fetch_given_back_is_forgotten_exactly(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "youtube-fetches.bin"
    budget = FetchBudget(2, member_share=0.5, clock=clock, path=path)
    kept = budget.take(7, 100)
    clock.now += 1.0
    returned = budget.take(8, 100)
    assert returned == FetchStamp(1001.0, 8, 100)
    with pytest.raises(YouTubeBusyError):
        budget.take(9, 100)
    assert FetchBudget(2, clock=clock, path=path).give_back(returned)  # any process may
    assert budget.used() == 1
    clock.now += 1.0
    budget.take(8, 100)  # the member's share is whole again
    assert not budget.give_back(returned)  # only once
    assert budget.give_back(kept) and budget.used() == 1


# The lock: waited for with a deadline, never forever ------------------------------------


def test_a_lock_held_by_another_process_is_waited_for_only_until_the_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "youtube-fetches.bin"
    with lock_held(path, tmp_path) as holder:
        budget = FetchBudget(2, path=path, lock_timeout_s=0.2)
        with caplog.at_level(logging.WARNING, logger="musicrec_core.sources.budget"):
            with pytest.raises(FetchBudgetBusyError, match="try again in a few seconds"):
                budget.take(7, 100)
            with pytest.raises(FetchBudgetBusyError):
                budget.used()
        assert "stayed locked by another process" in caplog.text
        assert holder.poll() is None  # still holding: the call gave up, not the holder
    budget.take(7, 100)  # once released, the file works (and was not counted alone)
    assert FetchBudget(2, path=path).used() == 1


def test_a_share_given_with_the_take_replaces_the_member_share_for_that_member(
    tmp_path: Path,
) -> None:
    """An API key's own share (here a quarter) is kept instead of the members' 10 %."""
    budget = FetchBudget(20, member_share=0.1, clock=Clock(), path=tmp_path / "b")
    for _ in range(5):
        budget.take(2**63 + 1, 2**63 + 1, member_share=0.25)
    with pytest.raises(MemberShareSpentError, match="5"):
        budget.take(2**63 + 1, 2**63 + 1, member_share=0.25)
    budget.take(7, 100)
    budget.take(7, 100)
    with pytest.raises(MemberShareSpentError, match="2"):
        budget.take(7, 100)
    with pytest.raises(ValueError, match="share"):
        budget.take(8, 100, member_share=1.5)
