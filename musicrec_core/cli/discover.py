"""``musicrec discover WORD... --index DIR [-k N] [--seed N] [--json]``: no clip, just words.

::

    musicrec discover "calm" piano --index audioset-index
    musicrec discover techno --index ~/music-index -k 10 --seed 2 --json

Lists items carrying all the words (:func:`musicrec_core.steering.discovery.discover`): one
segment per video, one window per track, in an order shuffled by ``--seed`` (another seed,
another page). It prints how each word resolved and how many items qualified; ``--json``
gives the same as one document. Unknown, contradictory or too many words, and words no
item carries, are refused in one line (exit 1). No model is loaded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from musicrec_core.cli.arguments import add_vocabulary_file_options, positive_int
from musicrec_core.cli.exit_codes import EXIT_OK
from musicrec_core.timecode import format_clock

if TYPE_CHECKING:
    from musicrec_core.catalog.index import ItemMeta
    from musicrec_core.steering.discovery import Discovery


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``discover`` command."""
    parser = subparsers.add_parser(
        "discover",
        help="list items of a catalog that carry all the given words (no clip needed)",
        description=(
            "Find AudioSet segments (one per video) or library tracks that carry all the "
            "WORDs, e.g. 'calm piano'; a word like 'no vocals' excludes. --seed shuffles: "
            "another seed gives another page."
        ),
    )
    parser.add_argument("words", nargs="+", metavar="WORD", help='words or phrases ("no vocals")')
    parser.add_argument(
        "--index", required=True, type=Path, metavar="DIR", help="the index folder to search"
    )
    parser.add_argument("-k", type=positive_int, default=5, help="how many items (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="the shuffle's seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_vocabulary_file_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Open the index and its vocabulary, discover, print a table or JSON."""
    from musicrec_core.catalog.index import CatalogIndex
    from musicrec_core.steering import catalog_vocabulary
    from musicrec_core.steering.discovery import discover

    with CatalogIndex.load(args.index) as index:
        vocabulary = catalog_vocabulary(index, labels_path=args.labels, ontology_path=args.ontology)
        found = discover(index, vocabulary, args.words, args.k, args.seed)
        if args.json:
            document = {"index": str(index.directory), "catalog": vocabulary.catalog}
            print(json.dumps({**document, **found.to_json()}, indent=2, ensure_ascii=False))
        else:
            print(format_discovery(found))
    return EXIT_OK


def format_discovery(found: Discovery) -> str:
    """The words' resolutions, the count that qualified, then one row per item."""
    lines = []
    for resolution in found.resolutions:
        negation = "not " if resolution.negated else ""
        lines.append(
            f"{resolution.word} -> {negation}{', '.join(resolution.names)} ({resolution.how})"
        )
    one = found.qualified == 1
    lines.append(
        f"{found.qualified} {found.unit}{'' if one else 's'} {'carries' if one else 'carry'} "
        "all the words; "
        f"showing {len(found.items)} (seed {found.seed})."
    )
    rows = [("#", "item", "start", "labels", "link")]
    for rank, item in enumerate(found.items, 1):
        meta = item.meta
        rows.append(
            (
                str(rank),
                _item_name(meta),
                format_clock(meta.start_s),
                ", ".join(meta.labels) or "-",
                item.url or meta.source or "-",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return "\n".join(lines)


def _item_name(meta: ItemMeta) -> str:
    """A library item's title or file name; an AudioSet segment's video id."""
    if meta.title:
        return meta.title
    return Path(meta.source).name if meta.source else meta.group
