"""argparse pieces shared by the sub-commands: converters (bad values are usage errors)
and the options several commands take in the same form."""

from __future__ import annotations

import argparse
from pathlib import Path

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


def add_start_option(parser: argparse.ArgumentParser) -> None:
    """``--start T``: where the 10-second clip starts (``args.start``, seconds or None)."""
    parser.add_argument(
        "--start",
        type=timecode_argument,
        metavar="T",
        help="where the clip starts (90, 1:30, 1m30s); default: a link's t=, else automatic",
    )


def add_vggish_file_options(parser: argparse.ArgumentParser) -> None:
    """``--checkpoint F --pca F``: VGGish files kept outside the model cache."""
    parser.add_argument("--checkpoint", type=Path, metavar="F", help="VGGish checkpoint file")
    parser.add_argument("--pca", type=Path, metavar="F", help="VGGish PCA parameters (.npz)")


def add_vocabulary_file_options(parser: argparse.ArgumentParser) -> None:
    """``--labels`` and ``--ontology``: AudioSet's files for an AudioSet catalog's words,
    instead of the copies ``musicrec models download audioset-labels`` caches."""
    parser.add_argument("--labels", type=Path, metavar="CSV", help="AudioSet labels CSV")
    parser.add_argument("--ontology", type=Path, metavar="JSON", help="AudioSet ontology")
