"""Event-loop lag while another process holds the YouTube budget file's lock for 4 s.

Run: ``python benchmarks/bench_loop_lag.py [--rounds 3] [--hold 4]``

A helper process takes the ``flock`` of ``youtube-fetches.bin`` (in a temporary cache
directory) and holds it for ``--hold`` seconds, as a shard process stopped mid-update or
stuck on a slow disk would. Meanwhile a ticker coroutine sleeps 5 ms over and over on the
event loop and records how late it wakes (the bot's own lag monitor does the same,
:mod:`bot.lag`); the figure is the largest lateness over the hold.

- **before** (the baseline, reimplemented here): the request service called
  ``FetchBudget.take()`` on the event loop, and the lock was waited for without a timeout;
  here the same take is made on the loop with a lock timeout longer than the hold.
- **idle**: the ticker alone for as long, no lock and no request: the machine's own noise.
- **now**: members keep asking for links through the real :class:`bot.service.RequestService`
  (clip-cache miss, then a fetch from the budget, off the loop with a timeout), each
  answered "try again in a few seconds" until the lock is released.

Rounds alternate idle / before / now in one process; medians are printed with their ratio.
Goal: now under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn
from unittest.mock import MagicMock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import musicrec_core.service.youtube_links  # noqa: E402
from musicrec_core.embedders.base import EmbedderId  # noqa: E402
from musicrec_core.errors import MusicrecError, VideoUnavailableError  # noqa: E402
from musicrec_core.service.request import AudioRequest  # noqa: E402
from musicrec_core.sources.budget import (  # noqa: E402
    FetchBudget,
    FetchBudgetBusyError,
    default_budget_path,
)
from musicrec_core.sources.youtube import parse_youtube_link  # noqa: E402
from tests.bot.helpers import ServiceMaker, make_interaction  # noqa: E402
from tests.helpers.lock_holder import lock_held  # noqa: E402

TICK_S = 0.005
LINK = parse_youtube_link("https://youtu.be/benchLoopLg")


class Ticker:
    """Sleeps :data:`TICK_S` over and over; ``worst_s`` is the largest lateness seen."""

    def __init__(self) -> None:
        self.worst_s = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> float:
        """Let the ticker wake once more (so a stall just ended is seen), then stop it."""
        assert self._task is not None
        await asyncio.sleep(10 * TICK_S)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.worst_s

    async def _run(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(TICK_S)
            self.worst_s = max(self.worst_s, time.perf_counter() - asked - TICK_S)


def prepare(recommender: MagicMock) -> None:
    """A stand-in index naming an embedder (the link is refused before any embedding)."""
    index = MagicMock()
    index.fingerprint = "0123abcd"
    index.pooling = "mean"
    index.embedder = EmbedderId(name="vggish", version="1", dim=8)
    index.landmarks = None
    recommender.index = index


def no_fetch(*args: object, **kwargs: object) -> NoReturn:
    """Stands in for the YouTube fetch of a request made after the lock was released."""
    raise VideoUnavailableError("the benchmark fetches nothing")


async def before(hold_s: float, scratch: Path) -> tuple[float, int]:
    """The baseline: take() on the loop, waiting for the lock as long as it is held."""
    budget = FetchBudget(200, path=default_budget_path(), lock_timeout_s=hold_s * 10)
    with lock_held(default_budget_path(), scratch, hold_s=hold_s) as holder:
        ticker = Ticker()
        ticker.start()
        await asyncio.sleep(0.05)  # the ticker runs before the request arrives
        budget.take(1, 1)  # as service.py did: on the event loop
        while holder.poll() is None:
            await asyncio.sleep(0.01)
        worst = await ticker.stop()
    return worst, 1


async def now(hold_s: float, scratch: Path) -> tuple[float, int]:
    """The service as it is: each link request is told to try again; the loop ticks on."""
    musicrec_core.service.youtube_links.fetch_youtube_clip = no_fetch  # nothing leaves the machine
    maker = ServiceMaker(scratch, prepare, recommend_cooldown_s=0)
    service = maker(title_lookup=False)
    # Discord's interactions, made up front: building a mock is the bench's work, not the bot's.
    interactions = iter([make_interaction(None, user_id=1000 + n) for n in range(100)])
    refused = 0
    with lock_held(default_budget_path(), scratch, hold_s=hold_s) as holder:
        ticker = Ticker()
        ticker.start()
        await asyncio.sleep(0.05)
        while holder.poll() is None:
            try:
                await service.answer(next(interactions), AudioRequest(link=LINK), count=3)
            except FetchBudgetBusyError:
                refused += 1
            except MusicrecError:
                pass  # the last one, after the release, reached the stand-in fetch
        worst = await ticker.stop()
    await maker.close()
    return worst, refused


async def idle(hold_s: float, scratch: Path) -> tuple[float, int]:
    """The floor: the ticker alone for as long, no lock held (this machine's own noise)."""
    ticker = Ticker()
    ticker.start()
    await asyncio.sleep(hold_s)
    return await ticker.stop(), 0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hold", type=float, default=4.0, help="seconds the lock is held")
    args = parser.parse_args()
    results: dict[str, list[float]] = {"idle": [], "before": [], "now": []}
    for round_ in range(args.rounds):
        for name, run in (("idle", idle), ("before", before), ("now", now)):
            with tempfile.TemporaryDirectory(prefix="musicrec-bench-lag-") as scratch:
                os.environ["MUSICREC_CACHE_DIR"] = str(Path(scratch) / "cache")
                worst, requests = await run(args.hold, Path(scratch))
            results[name].append(worst)
            print(
                f"round {round_ + 1} {name:>6}: worst loop lag {worst * 1000:8.1f} ms "
                f"({requests} link request{'s' if requests != 1 else ''} during the hold)"
            )
    floor, old, new = (statistics.median(results[name]) for name in ("idle", "before", "now"))
    print(f"\nlock held {args.hold:g} s by another process; median of {args.rounds} rounds:")
    print(f"  idle (no lock, no request):  {floor * 1000:8.1f} ms")
    print(f"  before (take() on the loop): {old * 1000:8.1f} ms")
    print(f"  now (off the loop, timeout): {new * 1000:8.1f} ms")
    print(f"  ratio before/now: {old / max(new, 1e-6):.0f}x  (goal: now under 50 ms)")


if __name__ == "__main__":
    asyncio.run(main())
