"""The session store: ids, expiry after the last use, the bound, and the clear refusals."""

from __future__ import annotations

import re

import pytest

from bot.session_store import ID_HEX_DIGITS, SessionGoneError, SessionStore, StoredSession
from musicrec_core.sessions import Session

CATALOG = "0123abcd"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stored(member: int = 7, catalog: str = CATALOG) -> StoredSession:
    return StoredSession(member=member, catalog=catalog, kind="mix", session=Session((), 5))


def test_a_session_is_found_by_its_short_id() -> None:
    store = SessionStore()
    session = stored()
    session_id = store.add(session)
    assert re.fullmatch(f"[0-9a-f]{{{ID_HEX_DIGITS}}}", session_id)
    assert store.get(session_id, member=7, catalog=CATALOG) is session


def test_a_session_expires_after_its_last_use_not_after_it_was_made() -> None:
    clock = Clock()
    store = SessionStore(ttl_s=60, clock=clock)
    session_id = store.add(stored())
    clock.now += 50
    store.get(session_id, member=7, catalog=CATALOG)  # renews it
    clock.now += 50
    store.get(session_id, member=7, catalog=CATALOG)
    clock.now += 60
    with pytest.raises(SessionGoneError, match="This session has ended.*run /mix or /path"):
        store.get(session_id, member=7, catalog=CATALOG)
    assert len(store) == 0


def test_the_least_recently_used_session_goes_first_past_the_capacity() -> None:
    store = SessionStore(capacity=2)
    first, second = store.add(stored()), store.add(stored())
    store.get(first, member=7, catalog=CATALOG)
    third = store.add(stored())
    assert len(store) == 2
    with pytest.raises(SessionGoneError, match="has ended"):
        store.get(second, member=7, catalog=CATALOG)
    store.get(first, member=7, catalog=CATALOG)
    store.get(third, member=7, catalog=CATALOG)


def test_another_members_button_is_refused_and_the_session_kept() -> None:
    store = SessionStore()
    session_id = store.add(stored(member=7))
    with pytest.raises(SessionGoneError, match="Only the member who asked"):
        store.get(session_id, member=8, catalog=CATALOG)
    store.get(session_id, member=7, catalog=CATALOG)


def test_a_button_after_a_reload_is_refused() -> None:
    store = SessionStore()
    session_id = store.add(stored(catalog=CATALOG))
    with pytest.raises(SessionGoneError, match="catalog has been reloaded"):
        store.get(session_id, member=7, catalog="ffff0000")


def test_a_forged_id_is_an_ended_session() -> None:
    with pytest.raises(SessionGoneError, match="has ended"):
        SessionStore().get("zz", member=7, catalog=CATALOG)
