"""YouTube channels as owners of a session: how often a mix holds the channel rules when
its channels are known only after the walk, how many walks that takes, and its CPU.

Run: ``nice python benchmarks/bench_session_channels.py [--items 20000] [--sessions 100]
[-n 15]``

The catalog is bench_sessions.py's (one item per video, each of one of 2,000 sub-styles);
each sub-style is one channel (a channel uploads one kind of music, so a seed's nearest
videos crowd into a few channels: the case the rules are for). The title lookup is a
stand-in that answers at once with every video "found" and its channel (no network): the
figures are the walk's, not oEmbed's.

In the same run, for each of ``--sessions`` random seeds (own video excluded), a mix of N:

- one walk, channels unknown (what a session did before: each video its own owner);
- ``playable_session`` (the shipped loop: walk, learn the chosen videos' channels, walk
  again with them as owners, at most MAX_WALKS walks, clashes left after that dropped);
- the same with the rules off (``variety=False``: one walk).

For each: the share of sessions that hold the channel rules (never two videos of one
channel in a row, at most a third of N from one channel), the mean largest share of one
channel, the walks made, the videos dropped, and CPU (``time.process_time``) per session.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_sessions import build  # noqa: E402

from musicrec_core.catalog.index import CatalogIndex  # noqa: E402
from musicrec_core.sessions import Session, mix, owner_cap  # noqa: E402
from musicrec_core.sessions.playable import MAX_WALKS, playable_session  # noqa: E402
from musicrec_core.sessions.variety import ChannelOf  # noqa: E402
from musicrec_core.titles.oembed import VideoAnswer  # noqa: E402


def holds(channels: list[str], n: int) -> bool:
    """Whether a session whose videos are of ``channels`` (play order) holds the rules."""
    in_a_row = any(a == b for a, b in pairwise(channels))
    return not in_a_row and max(Counter(channels).values(), default=0) <= owner_cap(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("-n", type=int, default=15)
    parser.add_argument(
        "--split", type=int, default=1, help="channels per sub-style (video i: i mod split)"
    )
    parser.add_argument("--walks", type=int, default=MAX_WALKS, help="the walk bound")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-channels-"))
    started = time.perf_counter()
    sub_style = build(folder, args.items)
    print(f"built {args.items} items in {time.perf_counter() - started:.0f} s")
    rng = np.random.default_rng(2)
    with CatalogIndex.load(folder) as index:
        channel_of = {
            index.meta(i).group: f"channel {sub_style[i]}-{i % args.split}"
            for i in range(len(index))
        }

        def ask(groups: Sequence[str]) -> dict[str, VideoAnswer]:
            return {g: VideoAnswer(g, "found", "a song", channel_of[g]) for g in groups}

        rows: dict[str, dict[str, list[float]]] = {}
        for seed_id in rng.integers(0, len(index), args.sessions).tolist():
            seed, own = [index.vector(seed_id)], {index.meta(seed_id).group}
            walks = [0]

            def walk(
                excluded: frozenset[str],
                channels: ChannelOf,
                variety: bool = True,
                seed: list[np.ndarray] = seed,
                own: set[str] = own,
                walks: list[int] = walks,
            ) -> Session:
                walks[0] += 1
                return mix(
                    index,
                    seed,
                    args.n,
                    exclude_groups=own | excluded,
                    variety=variety,
                    channels=channels,
                )

            ways: dict[str, Callable[[], Session]] = {
                "one walk, channels unknown": lambda: walk(frozenset(), lambda _: None),
                "walks learning channels (shipped)": lambda: playable_session(
                    walk, ask, walks=args.walks
                ),
                "rules off": lambda: playable_session(
                    lambda ex, ch: walk(ex, ch, variety=False), ask, variety=False
                ),
            }
            for name, way in ways.items():
                walks[0] = 0
                cpu = time.process_time()
                session = way()
                cpu = time.process_time() - cpu
                played = [channel_of[item.meta.group] for item in session.items]
                row = rows.setdefault(name, {})
                for key, value in (
                    ("holds", float(holds(played, args.n))),
                    ("largest", max(Counter(played).values()) / args.n),
                    ("walks", float(walks[0])),
                    ("dropped", float(args.n - len(session.items))),
                    ("cpu_ms", cpu * 1000),
                ):
                    row.setdefault(key, []).append(value)
    base = statistics.median(rows["one walk, channels unknown"]["cpu_ms"])
    print(
        f"{args.sessions} mixes of {args.n} on {args.items} items; cap {owner_cap(args.n)} "
        f"per channel; {args.split} channel(s) per sub-style; at most {args.walks} walks"
    )
    print(
        "| way | sessions holding the channel rules | largest channel share (mean) | "
        "walks (mean / max) | videos dropped (mean / max) | CPU p50 / p95 | vs one walk |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, row in rows.items():
        cpu = sorted(row["cpu_ms"])
        p50, p95 = statistics.median(cpu), cpu[int(0.95 * (len(cpu) - 1))]
        print(
            f"| {name} | {100 * statistics.mean(row['holds']):.0f} % | "
            f"{statistics.mean(row['largest']):.3f} | {statistics.mean(row['walks']):.2f} / "
            f"{max(row['walks']):.0f} | {statistics.mean(row['dropped']):.2f} / "
            f"{max(row['dropped']):.0f} | {p50:.1f} / {p95:.1f} ms | {p50 / base:.2f} x |"
        )


if __name__ == "__main__":
    main()
