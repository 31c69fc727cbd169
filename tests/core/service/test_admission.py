"""Member admission: one cooldown and one in-flight limit per member, shared by every caller."""

from __future__ import annotations

import pytest

from musicrec_core.service.admission import CooldownError, InFlightError, MemberAdmission

SENT = 1000.0
"""When the first request of a test was sent, in seconds on Discord's clock."""


def test_one_request_in_flight_per_member_by_default() -> None:
    admission = MemberAdmission(cooldown_s=0, max_inflight=1)
    with admission.admit(1, sent_at=SENT):
        with pytest.raises(InFlightError) as refused, admission.admit(1, sent_at=SENT):
            pass
        assert str(refused.value) == (
            "You already have a request in progress: wait for the answer, then ask again."
        )
        with admission.admit(2, sent_at=SENT):  # another member is not affected
            pass
    with admission.admit(1, sent_at=SENT):  # the slot came back
        pass


def test_the_limit_is_a_setting_and_a_failed_request_gives_its_slot_back() -> None:
    admission = MemberAdmission(cooldown_s=0, max_inflight=2)
    with pytest.raises(RuntimeError), admission.admit(1, sent_at=SENT):
        raise RuntimeError("the work failed")
    with (
        admission.admit(1, sent_at=SENT),
        admission.admit(1, sent_at=SENT),
        pytest.raises(InFlightError, match="You already have 2 requests in progress"),
        admission.admit(1, sent_at=SENT),
    ):
        pass


def test_the_cooldown_counts_from_the_last_admission() -> None:
    admission = MemberAdmission(cooldown_s=5.0, max_inflight=3)
    with admission.admit(1, sent_at=SENT):
        pass
    with pytest.raises(CooldownError) as refused, admission.admit(1, sent_at=SENT + 1.2):
        pass
    assert refused.value.retry_after_s == 4
    assert str(refused.value) == "Slow down: try again in 4 s."
    with admission.admit(2, sent_at=SENT + 1.2):
        pass
    with admission.admit(1, sent_at=SENT + 5.0):
        pass


def test_a_refused_request_does_not_restart_the_cooldown() -> None:
    admission = MemberAdmission(cooldown_s=5.0, max_inflight=1)
    with admission.admit(1, sent_at=SENT):
        pass
    with pytest.raises(CooldownError), admission.admit(1, sent_at=SENT + 2.0):
        pass
    # 5 s after the admitted request, 3 s after the refused one
    with admission.admit(1, sent_at=SENT + 5.0):
        pass


def test_the_cooldown_goes_by_when_requests_were_sent_not_when_they_arrive() -> None:
    """Requests sent 6 s apart pass a 5-s cooldown however the bot receives them: the
    first one handled late, the second one at once, both are let in."""
    admission = MemberAdmission(cooldown_s=5.0, max_inflight=1)
    for sent_at in (SENT, SENT + 6.0, SENT + 12.0):
        with admission.admit(1, sent_at=sent_at):
            pass
    with pytest.raises(CooldownError) as refused, admission.admit(1, sent_at=SENT + 15.5):
        pass
    assert refused.value.retry_after_s == 2


def test_no_cooldown_when_it_is_zero() -> None:
    admission = MemberAdmission(cooldown_s=0, max_inflight=1)
    for _ in range(3):
        with admission.admit(1, sent_at=SENT):
            pass
