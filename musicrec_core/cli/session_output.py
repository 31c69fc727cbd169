"""How ``musicrec mix`` and ``musicrec path`` print a session: a table (each row's cosines
to what came before and to the seeds, or to A and B) or one JSON document, and the M3U
playlist ``--m3u`` writes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from musicrec_core.atomic_file import atomic_write
from musicrec_core.cli.session_seeds import FailedSeed, Seed
from musicrec_core.errors import MusicrecError
from musicrec_core.recommender import Recommender, youtube_url
from musicrec_core.sessions import MixItem, PathItem, Session
from musicrec_core.sessions.m3u import m3u_text, plain_line
from musicrec_core.steering.filter import Steering

TITLE_WIDTH = 40


def print_session(
    recommender: Recommender,
    session: Session[MixItem] | Session[PathItem],
    seeds: Sequence[Seed],
    failed: Sequence[FailedSeed],
    *,
    as_json: bool,
    steering: Steering | None = None,
) -> None:
    """The session on stdout (its shortfall, when any, also on stderr for a table), led by
    the ``steering`` it was played under, when any."""
    if as_json:
        index = recommender.index
        document = {
            "index": str(index.directory),
            "embedder": index.embedder.to_json(),
            "seeds": [seed.provenance.to_json() for seed in seeds],
            "failed_seeds": [seed.to_json() for seed in failed],
            "steering": None if steering is None else steering.to_json(),
            **session.to_json(),
        }
        for item, shown in zip(session.items, document["items"], strict=True):
            shown["url"] = _link(item)
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return
    if steering is not None:
        print(f"Steering: {steering.describe()}.")
    is_mix = bool(session.items) and isinstance(session.items[0], MixItem)
    header = ("#", "to prev", "to seeds") if is_mix else ("#", "to A", "to B")
    rows = [(*header, "title", "link")]
    for rank, item in enumerate(session.items, start=1):
        pair = (item.to_previous, item.to_seeds) if is_mix else (item.to_a, item.to_b)
        title = plain_line(item.meta.title or item.meta.group)
        if len(title) > TITLE_WIDTH:
            title = title[: TITLE_WIDTH - 1] + "…"
        rows.append((str(rank), *(f"{value:.3f}" for value in pair), title, _link(item)))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(width) if column < 3 else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    if session.shortfall:
        print(session.shortfall, file=sys.stderr)


def show(
    recommender: Recommender,
    session: Session[MixItem] | Session[PathItem],
    seeds: Sequence[Seed],
    failed: Sequence[FailedSeed],
    args: argparse.Namespace,
    steering: Steering | None = None,
) -> None:
    """Print the session as ``args.json`` asks and write ``args.m3u`` when given."""
    print_session(recommender, session, seeds, failed, as_json=args.json, steering=steering)
    if args.m3u is not None:
        write_m3u(session, args.m3u)


def write_m3u(session: Session[MixItem] | Session[PathItem], target: Path) -> None:
    """Write the session's playlist to ``target`` (replaced whole, never half-written)."""
    text, left_out = m3u_text(item.meta for item in session.items)
    try:
        with atomic_write(target) as handle:
            handle.write(text.encode("utf-8"))
    except OSError as exc:
        raise MusicrecError(f"Cannot write the playlist {target}: {exc.strerror or exc}.") from exc
    if left_out:
        print(
            f"{left_out} items have no path a player can open: left out of {target}.",
            file=sys.stderr,
        )


def _link(item: MixItem | PathItem) -> str:
    meta = item.meta
    if meta.kind == "youtube":
        return youtube_url(meta.group, meta.start_s)
    return meta.source or "-"
