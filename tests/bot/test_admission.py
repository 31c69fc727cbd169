"""Member admission: one cooldown and one in-flight limit per member, shared by every caller."""

from __future__ import annotations

import pytest

from bot.admission import CooldownError, InFlightError, MemberAdmission


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_request_in_flight_per_member_by_default() -> None:
    admission = MemberAdmission(cooldown_s=0, max_inflight=1)
    with admission.admit(1):
        with pytest.raises(InFlightError) as refused, admission.admit(1):
            pass
        assert str(refused.value) == (
            "You already have a request in progress: wait for the answer, then ask again."
        )
        with admission.admit(2):  # another member is not affected
            pass
    with admission.admit(1):  # the slot came back
        pass


def test_the_limit_is_a_setting_and_a_failed_request_gives_its_slot_back() -> None:
    admission = MemberAdmission(cooldown_s=0, max_inflight=2)
    with pytest.raises(RuntimeError), admission.admit(1):
        raise RuntimeError("the work failed")
    with (
        admission.admit(1),
        admission.admit(1),
        pytest.raises(InFlightError, match="You already have 2 requests in progress"),
        admission.admit(1),
    ):
        pass


def test_the_cooldown_counts_from_the_last_admission() -> None:
    clock = Clock()
    admission = MemberAdmission(cooldown_s=5.0, max_inflight=3, clock=clock)
    with admission.admit(1):
        pass
    clock.now += 1.2
    with pytest.raises(CooldownError) as refused, admission.admit(1):
        pass
    assert refused.value.retry_after_s == 4
    assert str(refused.value) == "Slow down: try again in 4 s."
    with admission.admit(2):
        pass
    clock.now += 3.8
    with admission.admit(1):
        pass


def test_a_refused_request_does_not_restart_the_cooldown() -> None:
    clock = Clock()
    admission = MemberAdmission(cooldown_s=5.0, max_inflight=1, clock=clock)
    with admission.admit(1):
        pass
    clock.now += 2.0
    with pytest.raises(CooldownError), admission.admit(1):
        pass
    clock.now += 3.0  # 5 s after the admitted request, 3 s after the refused one
    with admission.admit(1):
        pass


def test_no_cooldown_when_it_is_zero() -> None:
    admission = MemberAdmission(cooldown_s=0, max_inflight=1)
    for _ in range(3):
        with admission.admit(1):
            pass
