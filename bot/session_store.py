"""Where the bot keeps the listening sessions (/mix, /path) its page buttons point at.

A 50-item session does not fit in a button's custom_id (100 characters), so each reply's
session is kept here under a short random id, which its buttons carry. The store is
bounded: at most ``capacity`` sessions (the least recently used one goes first) and each
for ``ttl_s`` seconds after it was made or last paged; then a button answers that the
session has ended. One process's memory only: a restart also ends every session, and a
button then gets the same answer.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from musicrec_core.errors import MusicrecError
from musicrec_core.sessions import Session
from musicrec_core.titles import VideoAnswer

DEFAULT_CAPACITY = 1000
"""Sessions kept at once."""
DEFAULT_TTL_S = 30 * 60.0
"""Seconds a session is kept after it was made or last used."""
ID_HEX_DIGITS = 8
"""A session id: this many lowercase hex digits (32 random bits)."""


class SessionGoneError(MusicrecError):
    """A button whose session is no longer kept, or another member's, or of another catalog."""


@dataclass(frozen=True)
class StoredSession:
    """One reply's session.

    Attributes:
        member: the Discord user id of the member who asked (only they may page it).
        catalog: the fingerprint of the catalog it was walked on.
        kind: "mix" or "path".
        session: the items in play order.
        notes: lines the reply shows above the items (what was heard, failed seeds,
            shortfall), already made inert for an embed description.
        answers: the title lookup's answers by video id (titles, channels).
    """

    member: int
    catalog: str
    kind: str
    session: Session
    notes: tuple[str, ...] = ()
    answers: dict[str, VideoAnswer] = field(default_factory=dict)


class SessionStore:
    """The sessions of one bot process, by id.

    Args:
        capacity: most sessions kept.
        ttl_s: seconds one is kept after its last use.
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        ttl_s: float = DEFAULT_TTL_S,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1 or ttl_s <= 0:
            raise ValueError("a session store holds at least one session for some time")
        self._capacity = capacity
        self._ttl_s = ttl_s
        self._clock = clock
        self._kept: OrderedDict[str, tuple[float, StoredSession]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def add(self, stored: StoredSession) -> str:
        """Keep ``stored`` and return its new id (``ID_HEX_DIGITS`` hex digits)."""
        self._expire()
        while True:
            session_id = secrets.token_hex(ID_HEX_DIGITS // 2)
            if session_id not in self._kept:
                break
        self._kept[session_id] = (self._clock(), stored)
        while len(self._kept) > self._capacity:
            self._kept.popitem(last=False)
        return session_id

    def get(self, session_id: str, *, member: int, catalog: str) -> StoredSession:
        """The session ``session_id`` for a button pressed by ``member`` while ``catalog``
        is served; its time is renewed.

        Raises:
            SessionGoneError: not kept (expired, pushed out, a restart, a forged id),
                another member's, or walked on a catalog that has since been replaced.
        """
        self._expire()
        kept = self._kept.get(session_id)
        if kept is None:
            raise SessionGoneError(
                "This session has ended (sessions are kept for "
                f"{self._ttl_s / 60:g} minutes after their last use): run /mix or /path again."
            )
        stored = kept[1]
        if stored.member != member:
            raise SessionGoneError(
                "Only the member who asked for this session can use its buttons: run /mix or "
                "/path for a session of your own."
            )
        if stored.catalog != catalog:
            raise SessionGoneError(
                "The catalog has been reloaded since this session was made, so its items may "
                "no longer be the same music: run /mix or /path again."
            )
        self._kept[session_id] = (self._clock(), stored)
        self._kept.move_to_end(session_id)
        return stored

    def _expire(self) -> None:
        """Drop the sessions unused for ``ttl_s`` (the oldest are first in order)."""
        now = self._clock()
        while self._kept:
            session_id, (used_at, _) = next(iter(self._kept.items()))
            if now - used_at < self._ttl_s:
                break
            del self._kept[session_id]
