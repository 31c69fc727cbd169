"""Per-member admission: one cooldown and one in-flight limit across every entry point.

Mental model: a member (a Discord user id) holds at most ``max_inflight`` requests at once
and starts at most one request per ``cooldown_s`` seconds, whatever asks: /recommend, the
"Find similar music" context menu, a "More like" button or a link pasted in chat all
share the same two counters. :meth:`MemberAdmission.admit` checks both at once, before
anything is shown or read, so a refusal can still be an ephemeral message; a request that
is let in starts the member's cooldown and holds one in-flight slot until its ``with``
block ends (answered, failed, cancelled or past its deadline).

The cooldown is measured between the times the member *sent* their requests (Discord's
timestamps of the interactions and messages, compared only with each other, so the bot's
own clock and any delay in delivering or handling them do not matter): a member who asks
every 6 s with a 5-s cooldown is never refused, however late the bot sees a request.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

from musicrec_core.errors import MusicrecError

_PRUNE_AT = 4096
"""Cooldown entries kept before the expired ones are dropped (bounds memory)."""


class MemberRefusedError(MusicrecError):
    """A member asked again too soon or with too many requests still being worked on."""


class CooldownError(MemberRefusedError):
    """The member's cooldown has not passed; ``retry_after_s`` says when it will."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"Slow down: try again in {retry_after_s} s.")
        self.retry_after_s = retry_after_s


class InFlightError(MemberRefusedError):
    """The member already has ``limit`` requests being worked on."""

    def __init__(self, limit: int) -> None:
        held = "a request" if limit == 1 else f"{limit} requests"
        super().__init__(
            f"You already have {held} in progress: wait for the answer, then ask again."
        )
        self.limit = limit


class MemberAdmission:
    """The shared cooldown and in-flight limit of every member.

    Args:
        cooldown_s: seconds between two admitted requests of one member; 0 = none.
        max_inflight: requests one member may have admitted at once (at least 1).
    """

    def __init__(
        self,
        *,
        cooldown_s: float,
        max_inflight: int,
    ) -> None:
        if max_inflight < 1:
            raise ValueError("max_inflight must be at least 1")
        self._cooldown_s = cooldown_s
        self._max_inflight = max_inflight
        self._inflight: dict[int, int] = {}
        self._ready_at: dict[int, float] = {}

    @contextlib.contextmanager
    def admit(self, member: int, *, sent_at: float) -> Iterator[None]:
        """Hold one of ``member``'s in-flight slots for the ``with`` block.

        ``sent_at`` is when the member sent the request, in seconds on Discord's clock (the
        request's snowflake time; any clock works as long as every call uses the same one).

        Raises:
            InFlightError: at once, when the member already holds ``max_inflight`` slots.
            CooldownError: at once, when the member's previous admission is too recent.
        """
        held = self._inflight.get(member, 0)
        if held >= self._max_inflight:
            raise InFlightError(self._max_inflight)
        now = sent_at
        ready_at = self._ready_at.get(member, now)
        if ready_at > now:
            raise CooldownError(max(1, math.ceil(ready_at - now)))
        if self._cooldown_s > 0:
            self._prune(now)
            self._ready_at[member] = now + self._cooldown_s
        self._inflight[member] = held + 1
        try:
            yield
        finally:
            left = self._inflight[member] - 1
            if left:
                self._inflight[member] = left
            else:
                del self._inflight[member]

    def _prune(self, now: float) -> None:
        """Forget cooldowns that have passed once many members are remembered."""
        if len(self._ready_at) >= _PRUNE_AT:
            self._ready_at = {m: t for m, t in self._ready_at.items() if t > now}
