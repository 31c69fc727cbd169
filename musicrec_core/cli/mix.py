"""``musicrec mix SEED... -n 20 --index DIR``: a session that walks from a few songs.

::

    musicrec mix a.mp3 b.flac -n 20 --index ~/music-index --m3u evening.m3u8
    musicrec mix "https://youtu.be/ID" --index audioset-index --json

Each SEED is a file or link as ``musicrec recommend`` takes them; a seed that cannot be
read or embedded is reported on stderr with its reason and the mix goes on from the
others (none left: an error). Never played: the seeds' own tracks or videos and any item
that sounds exactly like a seed (:mod:`musicrec_core.sessions.seed_groups`). YouTube tracks
are looked up as ``musicrec recommend`` looks them up (:mod:`musicrec_core.cli.title_option`,
``--no-titles``): gone ones are replaced by the walk continued past them
(:mod:`musicrec_core.sessions.playable`) and the titles and channels found are shown. The
walk and its rules: :mod:`musicrec_core.sessions.mix`,
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musicrec_core.cli.arguments import add_start_option, add_vggish_file_options, positive_int
from musicrec_core.cli.exit_codes import EXIT_OK
from musicrec_core.cli.query_clips import one_decode_worker
from musicrec_core.cli.session_output import show
from musicrec_core.cli.session_seeds import FailedSeed, Seed, embed_seeds
from musicrec_core.cli.steering_words import add_steering_options, steering_from_args
from musicrec_core.cli.title_option import add_titles_option, title_lookup
from musicrec_core.embedders import WeightFiles
from musicrec_core.errors import SessionError
from musicrec_core.recommender import Recommender
from musicrec_core.sessions.items import MixItem, Session
from musicrec_core.sessions.playable import looked_up_session
from musicrec_core.sessions.seed_groups import never_played

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
    --more/--less, --no-titles, --start and VGGish's weight files."""
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
    add_titles_option(parser, "tracks")
    add_start_option(parser)
    add_vggish_file_options(parser)


def run(args: argparse.Namespace) -> int:
    """Embed the seeds, walk (gone videos replaced), print, and write the playlist when
    asked."""
    from musicrec_core.sessions import mix

    def refusal(seeds: Sequence[Seed], failed: Sequence[FailedSeed]) -> str | None:
        return None if seeds else "No seed could be used, so there is nothing to mix from."

    def walk(source: Recommender, vectors: list[np.ndarray], **rules: Any) -> Session[MixItem]:
        return mix(source, vectors, args.n, **rules)

    return run_session(args, args.sources, walk, refusal)


SessionWalk = Callable[..., Session[Any]]
"""``walk(recommender, seed_vectors, steering=, variety=, exclude_groups=, channels=)``: the core's
:func:`~musicrec_core.sessions.mix` or :func:`~musicrec_core.sessions.path` of the
command's length."""


def run_session(
    args: argparse.Namespace,
    sources: Sequence[str],
    walk: SessionWalk,
    refusal: Callable[[Sequence[Seed], Sequence[FailedSeed]], str | None],
) -> int:
    """What ``mix`` and ``path`` share: hear the ``sources`` (``refusal`` says why the seeds
    heard and failed cannot make a session, or None; seeds are read through one decode
    worker, :func:`one_decode_worker`), walk with the options' steering and
    variety, never a seed (:func:`never_played`), gone videos replaced
    (:func:`looked_up_session`), then print and write the playlist as the options ask."""
    weights = WeightFiles(vggish_checkpoint=args.checkpoint, vggish_pca=args.pca)
    with (
        title_lookup(args) as titles,
        one_decode_worker(),
        Recommender.open(args.index, weights=weights) as opened,
    ):
        steering = steering_from_args(opened.index, args)
        seeds, failed = embed_seeds(opened, sources, args.start)
        refused = refusal(seeds, failed)
        if refused is not None:
            raise SessionError(refused)
        own = never_played(opened.index, seeds)
        vectors = [seed.vector for seed in seeds]
        session, answers = looked_up_session(
            lambda excluded, channels: walk(
                opened,
                vectors,
                steering=steering,
                variety=not args.no_variety,
                exclude_groups=own | excluded,
                channels=channels,
            ),
            titles,
            variety=not args.no_variety,
        )
        show(opened, session, answers, seeds, failed, args, steering)
    return EXIT_OK
