"""``musicrec path A B -n 10 --index DIR``: tracks that move from A's sound to B's.

A and B are files or links as ``musicrec recommend`` takes them; neither is played. The
path's points and rules: :mod:`musicrec_core.sessions.path`, docs/sessions.md. The table
and ``--json`` give each step's cosine to A and to B (``to_a``, ``to_b``), and say how many
steps were merged when the catalog held no good neighbour for them. ``--more``/``--less``
steer as for ``musicrec mix``: every step carries the words. Neither end nor what sounds
exactly like one is played, and YouTube steps are looked up (gone ones replaced, titles
shown) as in ``musicrec mix``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musicrec_core.cli.mix import add_session_options, run_session
from musicrec_core.cli.session_seeds import FailedSeed, Seed
from musicrec_core.recommender import Recommender
from musicrec_core.sessions.items import PathItem, Session

DEFAULT_STEPS = 10


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``path`` command."""
    parser = subparsers.add_parser(
        "path",
        help="tracks that move from one song's sound to another's",
        description="Play the nearest unused track at points spread evenly between A and B.",
    )
    parser.add_argument("a", metavar="A", help="the file or YouTube link the path starts from")
    parser.add_argument("b", metavar="B", help="the file or YouTube link it ends at")
    add_session_options(parser, "-n", DEFAULT_STEPS, "how many steps")
    parser.add_argument("--m3u", type=Path, metavar="FILE", help="also write an M3U8 playlist")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Embed A and B, find the path (gone videos replaced), print, and write the playlist
    when asked."""
    from musicrec_core.sessions import path

    def refusal(ends: Sequence[Seed], failed: Sequence[FailedSeed]) -> str | None:
        return f"A path needs both ends: {failed[0].source} cannot be used." if failed else None

    def walk(source: Recommender, ends: list[np.ndarray], **rules: Any) -> Session[PathItem]:
        return path(source, ends[0], ends[1], args.n, **rules)

    return run_session(args, [args.a, args.b], walk, refusal)
