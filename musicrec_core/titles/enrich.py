"""Pre-fill the title cache for a whole catalog (``musicrec index enrich INDEX_DIR``).

Mental model: read the index's items in batches of :data:`SCAN_BATCH`, keep the distinct
YouTube video ids of each batch, skip those the cache already answers (so a second run
resumes where the first stopped), and ask the rest through a
:class:`~musicrec_core.titles.lookup.TitleLookup`, starting at most ``rate_per_s``
requests per second with a few in flight at once. Clear answers land in the cache as they
arrive; unclear ones are counted and asked again on the next run.

YouTube's answer to too many requests (HTTP 429) pauses new requests for ``backoff_s``;
``max_failures`` unclear answers in a row stop the run with an error that says to run it
again later (what was learnt is already cached).
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass

from tqdm import tqdm

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.errors import MusicrecError
from musicrec_core.sources.video_id import VIDEO_ID_RE
from musicrec_core.titles.lookup import TitleLookup
from musicrec_core.titles.oembed import TitleLookupError, VideoAnswer

__all__ = [
    "DEFAULT_RATE_PER_S",
    "SCAN_BATCH",
    "EnrichReport",
    "RateLimiter",
    "enrich_catalog",
]

DEFAULT_RATE_PER_S = 5.0
SCAN_BATCH = 2000
"""Items read from the index per metadata query."""
_IN_FLIGHT = 8


class RateLimiter:
    """Spaces calls of :meth:`acquire` at least ``1 / per_s`` seconds apart (one thread).

    Args:
        per_s: calls per second.
        clock / sleep: monotonic seconds and a sleep (tests pass fakes).
    """

    def __init__(
        self,
        per_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not per_s > 0:
            raise ValueError(f"the rate must be above 0 per second, got {per_s}")
        self._interval = 1.0 / per_s
        self._clock = clock
        self._sleep = sleep
        self._next = clock()

    def acquire(self) -> None:
        """Block until the next call is allowed."""
        now = self._clock()
        if self._next > now:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval

    def pause(self, seconds: float) -> None:
        """Allow no call for ``seconds`` from now."""
        self._next = max(self._next, self._clock() + seconds)


@dataclass
class EnrichReport:
    """What one enrich run did (counts of video ids, except ``items``).

    Attributes:
        items: index items read.
        cached: ids the cache already answered (skipped).
        found / gone / restricted: clear answers received and stored.
        failed: unclear answers (asked again on the next run).
        last_error: the last unclear answer, in words.
    """

    items: int = 0
    cached: int = 0
    found: int = 0
    gone: int = 0
    restricted: int = 0
    failed: int = 0
    last_error: str | None = None

    @property
    def asked(self) -> int:
        return self.found + self.gone + self.restricted + self.failed

    def summary(self) -> str:
        """One paragraph for the command line."""
        return (
            f"Read {self.items:,} items: {self.cached:,} videos already cached, "
            f"{self.asked:,} asked: {self.found:,} found, {self.gone:,} gone, "
            f"{self.restricted:,} not embeddable, {self.failed:,} without a clear answer"
            + (" (run again to retry them)." if self.failed else ".")
        )


def enrich_catalog(
    index: CatalogIndex,
    lookup: TitleLookup,
    *,
    rate_per_s: float = DEFAULT_RATE_PER_S,
    progress: bool = True,
    backoff_s: float = 60.0,
    max_failures: int = 50,
    limiter: RateLimiter | None = None,
) -> EnrichReport:
    """Ask about every video of ``index`` the cache does not answer yet (blocking).

    Args:
        index: the catalog whose YouTube items are looked up.
        lookup: asks and caches (its cache decides what is skipped).
        rate_per_s: most requests started per second.
        progress: show a progress bar over the items on stderr.
        backoff_s: pause after an HTTP 429 answer, in seconds.
        max_failures: unclear answers in a row that stop the run.
        limiter: spaces the requests (default: a RateLimiter at ``rate_per_s``).

    Raises:
        MusicrecError: ``max_failures`` unclear answers in a row (the message says why).
    """
    run = _Run(lookup, limiter or RateLimiter(rate_per_s), backoff_s, max_failures)
    bar = tqdm(total=len(index), unit="item", desc="titles", file=sys.stderr, disable=not progress)
    with bar:
        for scanned, video_ids in _video_batches(index):
            cached = lookup.cache.get_many(video_ids)
            for video_id in video_ids:
                if video_id in cached:
                    run.report.cached += 1
                elif video_id not in run.retry_later:
                    run.ask(video_id)
            run.report.items += scanned
            bar.update(scanned)
            bar.set_postfix(found=run.report.found, gone=run.report.gone, refresh=False)
        run.finish()
    return run.report


def _video_batches(index: CatalogIndex) -> Iterator[tuple[int, list[str]]]:
    """(items read, their distinct YouTube video ids in order) per SCAN_BATCH items."""
    total = len(index)
    for start in range(0, total, SCAN_BATCH):
        metas = index.metas(range(start, min(total, start + SCAN_BATCH)))
        ids = [m.group for m in metas if m.kind == "youtube" and VIDEO_ID_RE.fullmatch(m.group)]
        yield len(metas), list(dict.fromkeys(ids))


class _Run:
    """One enrich run: rate-limited lookups, at most _IN_FLIGHT at once, and their counts."""

    def __init__(
        self, lookup: TitleLookup, limiter: RateLimiter, backoff_s: float, max_failures: int
    ) -> None:
        self.report = EnrichReport()
        self.retry_later: set[str] = set()
        self._lookup = lookup
        self._limiter = limiter
        self._backoff_s = backoff_s
        self._max_failures = max_failures
        self._failures_in_a_row = 0
        self._window: deque[tuple[str, Future[VideoAnswer]]] = deque()

    def ask(self, video_id: str) -> None:
        """Start a lookup of ``video_id`` (after the rate limit), collecting older ones to
        keep at most _IN_FLIGHT under way."""
        while len(self._window) >= _IN_FLIGHT:
            self._collect()
        self._limiter.acquire()
        while (future := self._lookup.lookup(video_id)) is None:
            if not self._window:
                raise MusicrecError("Title lookups are saturated; try again later.")
            self._collect()
        self._window.append((video_id, future))

    def finish(self) -> None:
        """Wait for every lookup still under way."""
        while self._window:
            self._collect()

    def _collect(self) -> None:
        """Wait for the oldest lookup and count its answer."""
        video_id, future = self._window.popleft()
        try:
            answer = future.result()
        except TitleLookupError as exc:
            self._failed(video_id, exc)
            return
        self._failures_in_a_row = 0
        if answer.state == "found":
            self.report.found += 1
        elif answer.state == "gone":
            self.report.gone += 1
        else:
            self.report.restricted += 1

    def _failed(self, video_id: str, exc: TitleLookupError) -> None:
        self.report.failed += 1
        self.report.last_error = str(exc)
        self.retry_later.add(video_id)
        if exc.status == 429:
            self._limiter.pause(self._backoff_s)
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= self._max_failures:
            raise MusicrecError(
                f"The oEmbed endpoint gave no clear answer {self._failures_in_a_row} times in "
                f"a row (last: {exc}). What was found is cached: run `musicrec index enrich` "
                "again later to go on."
            )
