"""The token bucket's refill arithmetic on a fake clock, and the in-flight counter."""

from __future__ import annotations

import pytest

from musicrec_core.api.rate import InFlight, TokenBucket
from tests.helpers.manual_clock import ManualClock


def test_a_full_bucket_admits_a_burst_then_says_how_long_to_wait() -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)  # one token every 1/rate seconds
    clock.now += 0.25
    assert bucket.take() == pytest.approx(0.25)  # half a token has come back
    clock.now += 0.25
    assert bucket.take() == 0.0
    assert bucket.take() == pytest.approx(0.5)


def test_the_bucket_refills_at_the_rate_and_never_past_the_burst() -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate=0.2, burst=2, clock=clock)
    assert bucket.take() == 0.0 and bucket.take() == 0.0
    clock.now += 5.0  # one token at 0.2/s
    assert bucket.take() == 0.0
    assert bucket.take() == pytest.approx(5.0)
    clock.now += 3600.0  # an hour idle fills the bucket only to its size
    takes = [bucket.take() for _ in range(3)]
    assert takes[:2] == [0.0, 0.0] and takes[2] == pytest.approx(5.0)


def test_a_clock_that_steps_back_takes_nothing_away() -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock)
    assert bucket.take() == 0.0
    clock.now -= 10.0
    assert bucket.take() == pytest.approx(1.0)


def test_in_flight_refuses_past_the_limit_until_one_leaves() -> None:
    flight = InFlight(2)
    assert flight.enter() and flight.enter()
    assert not flight.enter() and flight.running == 2
    flight.leave()
    assert flight.enter() and flight.running == 2
    flight.leave()
    flight.leave()
    with pytest.raises(RuntimeError):
        flight.leave()


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_a_bucket_needs_a_positive_rate_and_burst(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)
