"""``musicrec mix SEED... -n 20 --index DIR``: a session that walks from a few songs.

::

    musicrec mix a.mp3 b.flac -n 20 --index ~/music-index --m3u evening.m3u8
    musicrec mix "https://youtu.be/ID" --index audioset-index --json

Each SEED is a file or link as ``musicrec recommend`` takes them; a seed that cannot be
read or embedded is reported on stderr with its reason and the mix goes on from the
others (none left: an error). The walk and its rules: :mod:`musicrec_core.sessions.mix`,
docs/sessions.md. The table gives each track's cosine to the one before and to the seeds;
``--json`` the same per item (``to_previous``, ``to_seeds``) with the seeds, the failed
seeds and, when the catalog held too few, ``shortfall``. ``--m3u FILE`` writes the
session as a playlist (:mod:`musicrec_core.sessions.m3u`). ``--more WORD``/``--less WORD``
steer as for ``musicrec recommend`` (:mod:`musicrec_core.cli.steering_words`): only tracks
carrying the words are played; the table's first line and ``--json``'s ``steering`` say
how the words resolved.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from musicrec_core.cli.arguments import add_start_option, add_vggish_file_options, positive_int
from musicrec_core.cli.exit_codes import EXIT_OK
from musicrec_core.cli.session_output import show
from musicrec_core.cli.session_seeds import embed_seeds, seed_groups
from musicrec_core.cli.steering_words import add_steering_options, steering_from_args
from musicrec_core.embedders import WeightFiles
from musicrec_core.errors import SessionError
from musicrec_core.recommender import Recommender

DEFAULT_LENGTH = 15


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``mix`` command."""
    parser = subparsers.add_parser(
        "mix",
        help="a session of tracks that flow from a few seed songs",
        description="Walk the index from the seeds: each track near the one before and near "
        "the seeds, no track twice, never a seed.",
    )
    parser.add_argument("sources", nargs="+", metavar="SEED", help="audio files or YouTube links")
    add_session_options(parser, "-n", DEFAULT_LENGTH, "how many tracks")
    parser.add_argument("--m3u", type=Path, metavar="FILE", help="also write an M3U8 playlist")
    parser.set_defaults(func=run)


def add_session_options(
    parser: argparse.ArgumentParser, flag: str, default: int, meaning: str
) -> None:
    """The options ``mix`` and ``path`` share: the length, --index, --json, --no-variety,
    --more/--less, --start and VGGish's weight files."""
    parser.add_argument(
        flag, dest="n", type=positive_int, default=default, help=f"{meaning} (default {default})"
    )
    parser.add_argument(
        "--index", required=True, type=Path, metavar="DIR", help="the index folder to walk"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--no-variety",
        action="store_true",
        help="drop the owner rules (no repeats still holds)",
    )
    add_steering_options(parser, "tracks")
    add_start_option(parser)
    add_vggish_file_options(parser)


def run(args: argparse.Namespace) -> int:
    """Embed the seeds, walk, print, and write the playlist when asked."""
    from musicrec_core.sessions import mix

    weights = WeightFiles(vggish_checkpoint=args.checkpoint, vggish_pca=args.pca)
    with Recommender.open(args.index, weights=weights) as recommender:
        steering = steering_from_args(recommender.index, args)
        seeds, failed = embed_seeds(recommender, args.sources, args.start)
        if not seeds:
            raise SessionError("No seed could be used, so there is nothing to mix from.")
        session = mix(
            recommender,
            [seed.vector for seed in seeds],
            args.n,
            steering=steering,
            variety=not args.no_variety,
            exclude_groups=seed_groups(seeds),
        )
        show(recommender, session, seeds, failed, args, steering)
    return EXIT_OK
