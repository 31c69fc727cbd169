"""How ``musicrec mix`` and ``musicrec path`` print a session: a table (each row's cosines
to what came before and to the seeds, or to A and B, its title and, when any was found, its
channel) or one JSON document, and the M3U playlist ``--m3u`` writes. Titles and channels
are the title lookup's answers for YouTube videos (:class:`VideoAnswer`, by video id), else
the index's."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from musicrec_core.atomic_file import atomic_write
from musicrec_core.catalog.index import ItemMeta
from musicrec_core.cli.session_seeds import FailedSeed, Seed
from musicrec_core.errors import MusicrecError
from musicrec_core.recommender import Recommender, youtube_url
from musicrec_core.sessions import MixItem, PathItem, Session
from musicrec_core.sessions.m3u import m3u_text, plain_line
from musicrec_core.steering.filter import Steering
from musicrec_core.titles import VideoAnswer

TITLE_WIDTH = 40
CHANNEL_WIDTH = 24


def print_session(
    recommender: Recommender,
    session: Session[MixItem] | Session[PathItem],
    answers: Mapping[str, VideoAnswer],
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
            shown["title"] = _titled(item.meta, answers).title
            shown["channel"] = _channel(item.meta, answers)
            shown["url"] = _link(item)
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return
    if steering is not None:
        print(f"Steering: {steering.describe()}.")
    is_mix = bool(session.items) and isinstance(session.items[0], MixItem)
    header = ("#", "to prev", "to seeds") if is_mix else ("#", "to A", "to B")
    channels = [_channel(item.meta, answers) for item in session.items]
    with_channel = any(channels)
    rows = [(*header, "title", *(("channel",) if with_channel else ()), "link")]
    for rank, (item, channel) in enumerate(zip(session.items, channels, strict=True), start=1):
        pair = (item.to_previous, item.to_seeds) if is_mix else (item.to_a, item.to_b)
        title = _titled(item.meta, answers).title or item.meta.group
        shown = (
            _cell(title, TITLE_WIDTH),
            *((_cell(channel or "-", CHANNEL_WIDTH),) * with_channel),
        )
        rows.append((str(rank), *(f"{value:.3f}" for value in pair), *shown, _link(item)))
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
    answers: Mapping[str, VideoAnswer],
    seeds: Sequence[Seed],
    failed: Sequence[FailedSeed],
    args: argparse.Namespace,
    steering: Steering | None = None,
) -> None:
    """Print the session as ``args.json`` asks and write ``args.m3u`` when given
    (``answers``: the title lookup's, by video id)."""
    print_session(
        recommender, session, answers, seeds, failed, as_json=args.json, steering=steering
    )
    if args.m3u is not None:
        write_m3u(session, answers, args.m3u)


def write_m3u(
    session: Session[MixItem] | Session[PathItem],
    answers: Mapping[str, VideoAnswer],
    target: Path,
) -> None:
    """Write the session's playlist to ``target`` (replaced whole, never half-written)."""
    text, left_out = m3u_text(_titled(item.meta, answers) for item in session.items)
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


def _titled(meta: ItemMeta, answers: Mapping[str, VideoAnswer]) -> ItemMeta:
    """``meta`` with the title the lookup found for its video, if it found one."""
    answer = answers.get(meta.group)
    if answer is None or answer.state != "found" or not answer.title:
        return meta
    return dataclasses.replace(meta, title=answer.title)


def _channel(meta: ItemMeta, answers: Mapping[str, VideoAnswer]) -> str | None:
    answer = answers.get(meta.group)
    return answer.channel if answer is not None and answer.state == "found" else None


def _cell(text: str, width: int) -> str:
    """``text`` on one line, at most ``width`` characters."""
    text = plain_line(text)
    return text if len(text) <= width else text[: width - 1] + "…"
