"""The hourly YouTube fetch budget: a sliding window, refused politely when spent."""

from __future__ import annotations

import pytest

from musicrec_core.errors import FetchError
from musicrec_core.sources.budget import FetchBudget, YouTubeBusyError


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
