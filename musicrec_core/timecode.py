"""Offsets into a track, read the way people write them and written the way they read them.

YouTube links carry ``t=``/``start=`` values such as ``90``, ``90s``, ``1m30s`` or
``1h2m3s``; people typing ``--start`` on the command line or in Discord also write ``1:30``
or ``1:02:03``. :func:`parse_timecode` reads all of these into seconds;
:func:`format_clock` writes seconds back as ``m:ss`` / ``h:mm:ss`` for messages.
"""

from __future__ import annotations

import math
import re

MAX_TIMECODE_SECONDS = 7 * 24 * 3600.0
"""Largest offset accepted, in seconds (a week; anything longer is a typo or an attack)."""

_UNITS_RE = re.compile(
    r"(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s?)?",
    re.IGNORECASE,
)
_COLON_RE = re.compile(r"(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)")


def parse_timecode(text: str, *, allow_colons: bool = True) -> float:
    """Seconds from ``"90"``, ``"90.5"``, ``"90s"``, ``"1m30s"``, ``"1h2m3s"``, ``"1:30"``.

    Args:
        text: the offset as written; surrounding spaces are ignored.
        allow_colons: also accept ``M:SS`` and ``H:MM:SS`` (the command line does; YouTube
            links never use them).

    Returns:
        The offset in seconds, finite and in ``[0, MAX_TIMECODE_SECONDS]``.

    Raises:
        ValueError: with a readable message when ``text`` is not an offset.
    """
    value = text.strip()
    seconds: float | None = None
    if value:
        units = _UNITS_RE.fullmatch(value)
        colon = _COLON_RE.fullmatch(value) if allow_colons else None
        if units is not None:
            parts = [float(units[name] or 0.0) for name in ("h", "m", "s")]
            seconds = parts[0] * 3600 + parts[1] * 60 + parts[2]
        elif colon is not None:
            hours = float(colon["h"] or 0.0)
            minutes, secs = float(colon["m"]), float(colon["s"])
            if (colon["h"] is not None and minutes >= 60) or secs >= 60:
                seconds = None
            else:
                seconds = hours * 3600 + minutes * 60 + secs
    if seconds is None or not math.isfinite(seconds) or seconds > MAX_TIMECODE_SECONDS:
        forms = "90, 90s, 1m30s or 1:30" if allow_colons else "90, 90s or 1m30s"
        raise ValueError(f"{text!r} is not a start time (write it like {forms}).")
    return seconds


def format_clock(seconds: float, *, tenths: bool = False) -> str:
    """``83.4`` -> ``"1:23"``, ``3723`` -> ``"1:02:03"``; ``tenths=True`` gives ``"1:23.4"``.

    Whole seconds are rounded down; negative input reads as 0.
    """
    value = max(0.0, seconds)
    whole = int(value)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    tail = f"{secs:02d}"
    fraction = value - whole
    if tenths and fraction >= 0.05:
        tail += f".{int(fraction * 10)}"
    return f"{hours}:{minutes:02d}:{tail}" if hours else f"{minutes}:{tail}"
