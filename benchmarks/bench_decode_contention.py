"""How much a member's short clip is slowed by another member's large upload decoded beside it.

Two members' uploads reach two decode workers at the same moment: a 10-s MP3 (the usual
/recommend attachment) and the most expensive file the bot accepts (10 minutes, 8 channels
of Opus, about 20 MiB). The bot runs its children ``MUSICREC_WORKER_NICE`` (default 10)
nice levels below itself, and decodes each upload one window at a time
(``max_decoders=1``), as here.

Three conditions, interleaved round by round so that machine load slows them alike:

* ``alone``: the short clip's ``clip_from_file`` with nothing beside it (the baseline);
* ``same class``: the large file decoded beside it at the same priority as the clip (how
  the bot read every upload before large ones went to the background);
* ``background``: the large file decoded beside it in the idle CPU class
  (``load_clip(background=True)``, what ``clip_from_file`` does for uploads over
  ``LARGE_UPLOAD_BYTES``).

Prints the median and worst time of the short clip in each condition and the ratios to the
baseline. Usage: ``.venv/bin/python benchmarks/bench_decode_contention.py [--rounds 10]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from musicrec_core.audio import load_clip  # noqa: E402
from musicrec_core.child_process import set_child_niceness  # noqa: E402
from musicrec_core.sources.attachment import clip_from_file  # noqa: E402
from tests.helpers.long_media import long_many_channel_opus  # noqa: E402
from tests.helpers.media import generate_media  # noqa: E402

BOT_CHILD_NICENESS = 10
HEAD_START_S = 0.01
"""The large upload's decode starts this much before the clip's (it was admitted first)."""


def clip_seconds(clip: Path) -> float:
    """Wall-clock seconds of the bot's decode of ``clip``."""
    began = time.perf_counter()
    clip_from_file(clip, filename=clip.name, max_decoders=1)
    return time.perf_counter() - began


def beside(large: Path, *, background: bool) -> Callable[[Path], float]:
    """A measurement of the clip's decode while ``large`` is decoded in another thread."""

    def measure(clip: Path) -> float:
        other = threading.Thread(
            target=load_clip,
            args=(large,),
            kwargs={"max_decoders": 1, "background": background},
        )
        other.start()
        time.sleep(HEAD_START_S)
        try:
            return clip_seconds(clip)
        finally:
            other.join()

    return measure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="measurements per condition")
    args = parser.parse_args()
    set_child_niceness(BOT_CHILD_NICENESS)
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-contention-") as scratch:
        work = Path(scratch)
        print("making the media (ffmpeg)...")
        clip = generate_media(work / "clip.mp3", seconds=10, tone_hz=330.0)
        large = long_many_channel_opus(work / "long.opus")
        print(f"short clip {clip.stat().st_size / 2**10:.0f} KiB; "
              f"large upload {large.stat().st_size / 2**20:.1f} MiB")  # fmt: skip
        conditions: dict[str, Callable[[Path], float]] = {
            "alone": clip_seconds,
            "same class": beside(large, background=False),
            "background": beside(large, background=True),
        }
        clip_seconds(clip)  # warm-up: the resampler check, the page cache
        times: dict[str, list[float]] = {name: [] for name in conditions}
        for _ in range(args.rounds):
            for name, measure in conditions.items():
                times[name].append(measure(clip))
    base = statistics.median(times["alone"])
    print(f"10-s MP3 decode (clip_from_file, max_decoders=1), {args.rounds} rounds:")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<11} median {median * 1000:4.0f} ms  worst {max(values) * 1000:4.0f} ms"
              f"  {median / base:.2f}x alone")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
