"""What one API key may do: its request rate, burst, in-flight limit and YouTube share.

Units: ``rate`` is requests per second (a float: 0.2 is one request every 5 s, a Discord
member's cooldown); ``burst`` is how many requests may come at once after a quiet spell
(the token bucket's size, :class:`~musicrec_core.api.rate.TokenBucket`); ``inflight`` is how
many of the key's requests may be running at the same moment; ``youtube_share`` is the
fraction of the machine's hourly YouTube fetch budget the key's requests may spend, as a
member's share is (:mod:`musicrec_core.sources.budget`).

Also here: the rules for a key's name (:func:`check_key_name`), shared by the store and
the command line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from musicrec_core.errors import ApiKeyError

__all__ = ["MAX_NAME_CHARS", "KeyLimits", "check_key_name", "parse_limits"]

MAX_NAME_CHARS = 64
"""Longest key name, in characters."""
MAX_RATE = 1000.0
"""Highest request rate a key may have, per second."""
MAX_BURST = 10_000
MAX_INFLIGHT = 1000


@dataclass(frozen=True)
class KeyLimits:
    """One key's limits; :meth:`__post_init__` refuses values out of range
    (:class:`~musicrec_core.errors.ApiKeyError`).

    The defaults suit an autoplay client serving a few servers: a request every 0.5 s on
    average, 10 at once, 4 running together, a quarter of the YouTube budget.
    """

    rate: float = 2.0
    burst: int = 10
    inflight: int = 4
    youtube_share: float = 0.25

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and 0 < self.rate <= MAX_RATE):
            raise ApiKeyError(f"The rate must be above 0 and at most {MAX_RATE:g} per second.")
        if not (isinstance(self.burst, int) and 1 <= self.burst <= MAX_BURST):
            raise ApiKeyError(f"The burst must be a whole number from 1 to {MAX_BURST}.")
        if not (isinstance(self.inflight, int) and 1 <= self.inflight <= MAX_INFLIGHT):
            raise ApiKeyError(
                f"The in-flight limit must be a whole number from 1 to {MAX_INFLIGHT}."
            )
        if not (math.isfinite(self.youtube_share) and 0 < self.youtube_share <= 1):
            raise ApiKeyError("The YouTube share is a fraction above 0 and at most 1.")


def parse_limits(
    rate: str | None, burst: str | None, inflight: str | None, youtube_share: str | None
) -> KeyLimits:
    """Limits from their command-line text; None keeps a default.

    Raises:
        ApiKeyError: a value that is not a number of the right kind, or out of range.
    """
    defaults = KeyLimits()
    return KeyLimits(
        rate=defaults.rate if rate is None else _number(rate, "rate", float),
        burst=defaults.burst if burst is None else _number(burst, "burst", int),
        inflight=defaults.inflight if inflight is None else _number(inflight, "in-flight", int),
        youtube_share=(
            defaults.youtube_share
            if youtube_share is None
            else _number(youtube_share, "YouTube share", float)
        ),
    )


def _number(text: str, what: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text)
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise ApiKeyError(f"The {what} must be {noun}, not {text[:20]!r}.") from None


def check_key_name(name: str) -> str:
    """``name`` if it may name a key: 1 to :data:`MAX_NAME_CHARS` printable characters, no
    space at either end.

    Raises:
        ApiKeyError: otherwise (the message never echoes control characters).
    """
    if not name or name != name.strip():
        raise ApiKeyError("A key name must not be empty or start or end with a space.")
    if len(name) > MAX_NAME_CHARS:
        raise ApiKeyError(f"A key name is at most {MAX_NAME_CHARS} characters.")
    if not name.isprintable():
        raise ApiKeyError("A key name must not hold control characters.")
    return name
