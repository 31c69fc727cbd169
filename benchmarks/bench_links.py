"""Link recognition on hostile chat messages: event-loop time per message.

Run: ``python benchmarks/bench_links.py [--repeats 30]``

``find_youtube_link`` runs on the event loop for every message in a channel the bot reads,
so its cost on a hostile message is loop lag for everyone. Each shape below is a
4,000-character message (Discord's longest); the baseline in the same run is an ordinary
4,000-character message of words. Reported: the median and the worst of ``--repeats``
calls, in milliseconds. Goal: every shape under 5 ms (issue 10 measured about 275 ms for
the underscores before the fix).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musicrec_core.sources.youtube import find_youtube_link  # noqa: E402

MESSAGE_CHARS = 4000
ID = "dQw4w9WgXcQ"


def shapes() -> dict[str, str]:
    """Name -> message, each cut to MESSAGE_CHARS characters."""
    made = {
        "baseline: words": "listen to this one " * 250,
        "underscores after youtube.com/": "youtube.com/" + "_" * MESSAGE_CHARS,
        "underscores after https://youtu.be/": "https://youtu.be/" + "_" * MESSAGE_CHARS,
        "youtube.com/ + underscores, 2,000 chars": "youtube.com/" + "_" * 1988,
        "runs of *_~": "*_~" * MESSAGE_CHARS,
        "nested brackets": "[" * 2000 + "]" * 2000,
        "many youtu.be-looking words": "youtu.be/x___ " * 300,
        "words, then a real link": "listen to this one " * 208 + f"https://youtu.be/{ID}",
    }
    return {name: text[:MESSAGE_CHARS] for name, text in made.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(f"{'message (4,000 chars)':42} {'median ms':>10} {'worst ms':>10}")
    for name, text in shapes().items():
        find_youtube_link(text)  # warm-up
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            find_youtube_link(text)
            times.append((time.perf_counter() - started) * 1000)
        print(f"{name:42} {statistics.median(times):10.3f} {max(times):10.3f}")


if __name__ == "__main__":
    main()
