"""``musicrec recommend FILE|URL... --index DIR``: what in the index sounds like this clip?

::

    musicrec recommend song.mp3 --index ~/music-index            # a readable table
    musicrec recommend "https://youtu.be/ID?t=60" --index audioset-index -k 10 --json
    musicrec recommend a.mp3 b.ogg c.flac --index ~/music-index  # one model load for all
    musicrec recommend song.mp3 --index audioset-index --more jazz --less "no vocals"

Several queries in one call load the index and the model once, read the files through
one decode worker (started while the model loads; one ffmpeg process each, side by
side, where PyAV is missing), fetch links side by side, and embed them in one batched
call; the answer is one table per query, in the order given, separated by a blank
line. ``--json`` prints one document for one query (``index``,
``embedder``, ``query``, ``query_tags``, ``items``) and, for several, a JSON list of such
documents in the order given. Each row's ``match`` (each JSON item's ``score``, in [0, 1]) is
the score the rows are ordered by (docs/scores.md); the track the clip's fingerprint
identified reads ``identified`` (JSON: ``"identified": true``, ``"score": null``); JSON's
``window_cosine`` is the raw cosine of the query and the shown window. ``--start`` applies
to every query. Any query that cannot be
read fails the whole call (its message names it), before anything is printed.

The index names the embedder it was built with; :meth:`Recommender.open` loads that embedder
(VGGish from the cache or ``--checkpoint``/``--pca``; musicnn with the variant the index's
manifest names).
The query's own YouTube video is never recommended, and neither is a query file's own
track when the index holds it (same bytes), unless ``--include-self`` is given.

``--more WORD`` and ``--less WORD`` steer (:mod:`musicrec_core.cli.steering_words`).
Results then carry every ``--more``
word's labels or tags and none of the ``--less`` ones: every qualifying item ranked where
the index names them (``--more`` words), else among the STEER_WIDTH_FACTOR x k nearest
(``--less`` only). The table's second line says the steering and how many qualified,
``--json`` adds ``steering`` (each word's resolution, ``qualified``, ``searched``,
``width``, ``exact``, ``unit``; docs/steering.md). A VGGish library cannot be steered (no
labels, no tags) and says so.

YouTube results are looked up (:mod:`musicrec_core.cli.title_option`): they show their
title and channel, and a video YouTube reports as gone is replaced by the next distinct
result. ``--no-titles`` makes no request.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from musicrec_core.cli.arguments import add_start_option, add_vggish_file_options, positive_int
from musicrec_core.cli.exit_codes import EXIT_OK
from musicrec_core.cli.query_clips import load_each, one_decode_worker
from musicrec_core.cli.steering_words import add_steering_options, steering_from_args
from musicrec_core.cli.title_option import add_titles_option, title_lookup
from musicrec_core.clip import Clip
from musicrec_core.embedders import WeightFiles
from musicrec_core.errors import MusicrecError
from musicrec_core.recommender import RecommendationSet, Recommender
from musicrec_core.steering.filter import SteeredOutcome
from musicrec_core.timecode import format_clock
from musicrec_core.titles import candidate_count

TITLE_WIDTH = 40
CHANNEL_WIDTH = 24
LABELS_WIDTH = 36
QUERY_TAGS_SHOWN = 5


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``recommend`` command."""
    parser = subparsers.add_parser(
        "recommend",
        help="recommend videos or tracks that sound like a file or YouTube link",
        description=(
            "Take a 10-second clip of each FILE or URL, embed it with the embedder the index "
            "was built with, and list the most similar distinct videos or tracks in the "
            "index. Several queries share one model load and one batched embedding; --json "
            "then prints a list with one document per query."
        ),
    )
    parser.add_argument(
        "sources",
        nargs="+",
        metavar="FILE|URL",
        help="audio/video files or YouTube links (several: one model load, one table each)",
    )
    parser.add_argument(
        "--index", required=True, type=Path, metavar="DIR", help="the index folder to search"
    )
    parser.add_argument(
        "-k", type=positive_int, default=5, help="how many recommendations (default 5)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_start_option(parser)
    add_vggish_file_options(parser)
    parser.add_argument(
        "--include-self",
        action="store_true",
        help="keep a query file's own track in the results when the index holds it",
    )
    add_steering_options(parser, "results")
    add_titles_option(parser, "results")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the index and its embedder, recommend for every query, print tables or JSON."""
    weights = WeightFiles(vggish_checkpoint=args.checkpoint, vggish_pca=args.pca)
    with (
        title_lookup(args) as lookup,
        one_decode_worker(),
        Recommender.open(args.index, weights=weights) as recommender,
    ):
        steering = steering_from_args(recommender.index, args)
        clips = _load_clips(args.sources, args.start)
        if lookup is None:
            results = recommender.recommend_many(
                clips, args.k, include_self=args.include_self, steering=steering
            )
        else:
            candidates = recommender.recommend_many(
                clips, candidate_count(args.k), include_self=args.include_self, steering=steering
            )
            results = [lookup.titled(found, args.k) for found in candidates]
        if args.json:
            index = recommender.index
            documents = [
                {
                    "index": str(index.directory),
                    "embedder": index.embedder.to_json(),
                    **result.to_json(),
                }
                for result in results
            ]
            document = documents[0] if len(documents) == 1 else documents
            print(json.dumps(document, indent=2, ensure_ascii=False))
        else:
            print("\n\n".join(format_table(result, args.k) for result in results))
    return EXIT_OK


def _none_steered(outcome: SteeredOutcome) -> str:
    """Why a steered query found nothing."""
    if not outcome.exact:
        return "no result searched carries those words."
    if outcome.qualified:
        return "only the query's own video or track carries those words."
    return "nothing in the catalog carries those words."


def _load_clips(sources: Sequence[str], start_s: float | None) -> list[Clip]:
    """The query clips, in order (:func:`load_each`); the first source that cannot be read
    fails the call."""
    clips = []
    for loaded in load_each(sources, start_s):
        if isinstance(loaded, MusicrecError):
            raise loaded
        clips.append(loaded)
    return clips


def format_table(result: RecommendationSet, k: int) -> str:
    """The human-readable answer: the query line, its tags, the steering and how many
    qualified (of ``k`` asked), then one row per result."""
    lines = []
    if result.query is not None:
        query = result.query
        name = query.title or query.ref
        end = query.start_s + query.duration_s
        lines.append(f"Query: {name} ({format_clock(query.start_s)}-{format_clock(end)})")
    if result.query_tags:
        shown = result.query_tags[:QUERY_TAGS_SHOWN]
        lines.append("Tags: " + ", ".join(f"{t.name} {t.probability:.2f}" for t in shown))
    if result.steering is not None:
        lines.append(result.steering.summary(k, len(result.items)))
    if not result.items:
        if result.steering is None:
            lines.append("No recommendations: the index holds nothing but the query itself.")
        else:
            lines.append(f"No recommendations: {_none_steered(result.steering)}")
        return "\n".join(lines)
    with_channel = any(item.channel for item in result.items)
    rows = [
        ("#", "match", "title", *(("channel",) if with_channel else ()), "start", "labels", "link")
    ]
    for item in result.items:
        channel = (_truncate(item.channel or "-", CHANNEL_WIDTH),) if with_channel else ()
        rows.append(
            (
                str(item.rank),
                "identified" if item.score is None else f"{item.score * 100:.1f}%",
                _truncate(item.title or item.group, TITLE_WIDTH),
                *channel,
                format_clock(item.start_s),
                _truncate(", ".join(item.labels) or "-", LABELS_WIDTH),
                item.url or item.source or "-",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    right_aligned = {0, 1, rows[0].index("start")}
    for row in rows:
        cells = [
            cell.rjust(width) if column in right_aligned else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
