"""``musicrec path A B -n 10 --index DIR``: tracks that move from A's sound to B's.

A and B are files or links as ``musicrec recommend`` takes them; neither is played. The
path's points and rules: :mod:`musicrec_core.sessions.path`, docs/sessions.md. The table
and ``--json`` give each step's cosine to A and to B (``to_a``, ``to_b``), and say how many
steps were merged when the catalog held no good neighbour for them. ``--more``/``--less``
steer as for ``musicrec mix``: every step carries the words.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from musicrec_core.cli.exit_codes import EXIT_OK
from musicrec_core.cli.mix import add_session_options
from musicrec_core.cli.session_output import show
from musicrec_core.cli.session_seeds import embed_seeds, seed_groups
from musicrec_core.cli.steering_words import steering_from_args
from musicrec_core.embedders import WeightFiles
from musicrec_core.errors import SessionError
from musicrec_core.recommender import Recommender

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
    """Embed A and B, find the path, print, and write the playlist when asked."""
    from musicrec_core.sessions import path

    weights = WeightFiles(vggish_checkpoint=args.checkpoint, vggish_pca=args.pca)
    with Recommender.open(args.index, weights=weights) as recommender:
        steering = steering_from_args(recommender.index, args)
        ends, failed = embed_seeds(recommender, [args.a, args.b], args.start)
        if failed:
            raise SessionError(f"A path needs both ends: {failed[0].source} cannot be used.")
        session = path(
            recommender,
            ends[0].vector,
            ends[1].vector,
            args.n,
            steering=steering,
            variety=not args.no_variety,
            exclude_groups=seed_groups(ends),
        )
        show(recommender, session, ends, failed, args, steering)
    return EXIT_OK
