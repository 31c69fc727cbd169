"""argparse ``type=`` converters shared by the sub-commands (bad values are usage errors)."""

from __future__ import annotations

import argparse

from musicrec_core.timecode import parse_timecode


def timecode_argument(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``1m30s`` or ``1:30`` (see :func:`parse_timecode`)."""
    try:
        return parse_timecode(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
