"""Titled, playable results: look every YouTube result up, drop the gone, within a budget.

Mental model: the caller asks the recommender for :func:`candidate_count` ``(k)`` results
(more than it shows) and hands them to :meth:`TitleLookup.titled` with ``k``. That walks
the candidates best first, keeping results until it holds ``k``:

- a YouTube result whose video the cache or the endpoint calls ``gone`` is skipped, and
  the walk goes on to the next distinct candidate (the over-fetch);
- every other result is kept: ``found`` ones get the video's title, channel and thumbnail;
  ``restricted``, unclear and unfinished ones stay as they are today;
- non-YouTube results (library files) are kept as they are.

Cached answers (:class:`~musicrec_core.titles.cache.TitleCache`) are read in one query;
the misses among the kept results are asked concurrently in a thread pool shared by every
reply, and the walk waits for them until ``budget_s`` has passed since the call began,
then answers with what it has. A lookup that outlives its reply's budget finishes in the
background and fills the cache for the next reply. One video is never asked twice at once
(replies share in-flight lookups), and at most ``max_pending`` lookups queue at a time;
past that, results are shown untitled rather than queueing more.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from musicrec_core.recommender import Recommendation, RecommendationSet
from musicrec_core.sources.video_id import VIDEO_ID_RE
from musicrec_core.titles.cache import TitleCache
from musicrec_core.titles.oembed import OEmbedClient, TitleLookupError, VideoAnswer
from musicrec_core.titles.settings import TitleSettings

__all__ = ["DEFAULT_WORKERS", "MAX_PENDING", "TitleLookup", "candidate_count", "is_video"]

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 8
"""Lookups running at once (threads); a reply's k <= 10 results are asked together."""
MAX_PENDING = 256
"""Lookups queued or running at once across all replies; more are not started."""


def candidate_count(k: int) -> int:
    """How many results to ask the recommender for when ``k`` are shown: ``k + max(k, 5)``
    (room for the gone videos of AudioSet's 2017 catalogue)."""
    return k + max(k, 5)


def is_video(item: Recommendation) -> bool:
    """Whether ``item`` is a YouTube video (a watch link and an 11-character id)."""
    return item.url is not None and VIDEO_ID_RE.fullmatch(item.group) is not None


class TitleLookup:
    """Looks results up through a cache and an oEmbed client; share one per process.

    Args:
        client: asks the endpoint.
        cache: stores the clear answers.
        budget_s: default longest wait of :meth:`titled`, in seconds.
        workers: lookups running at once.
        max_pending: lookups queued or running at once.
    """

    def __init__(
        self,
        client: OEmbedClient,
        cache: TitleCache,
        *,
        budget_s: float = 1.5,
        workers: int = DEFAULT_WORKERS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.client = client
        self.cache = cache
        self.budget_s = budget_s
        self._max_pending = max_pending
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="musicrec-titles")
        self._inflight: dict[str, Future[VideoAnswer]] = {}
        self._lock = threading.Lock()
        self.on_cache_read: Callable[[int, int], None] | None = None
        """Called with (hits, misses) after each read of the cache (e.g. to count them for
        metrics); None = nobody listens. It runs on the caller's thread."""

    @classmethod
    def from_settings(cls, settings: TitleSettings, cache: TitleCache | None = None) -> TitleLookup:
        """A lookup with the settings' endpoint, budget and time-to-live (the default cache
        file unless ``cache`` is given)."""
        client = OEmbedClient(settings.endpoint, timeout_s=settings.timeout_s)
        if cache is None:
            cache = TitleCache(ttl_s=settings.cache_ttl_s)
        return cls(client, cache, budget_s=settings.budget_s)

    def close(self) -> None:
        """Stop: queued lookups are dropped; running ones end on their own (within about
        twice the client's timeout) and no longer store their answers."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.cache.close()

    def __enter__(self) -> TitleLookup:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def titled(
        self, result: RecommendationSet, k: int, *, budget_s: float | None = None
    ) -> RecommendationSet:
        """``result`` with at most ``k`` items: gone videos dropped, titles filled in, ranks
        renumbered from 1 (blocking for at most ``budget_s``, default :attr:`budget_s`).

        Args:
            result: the candidates, best first (ask the recommender for
                :func:`candidate_count` ``(k)`` of them).
            k: how many results to keep.
            budget_s: longest wait for lookups, in seconds; 0 uses the cache only (misses
                are still asked, in the background).
        """
        deadline = time.monotonic() + (self.budget_s if budget_s is None else budget_s)
        answers = self._cached({item.group for item in result.items if is_video(item)})
        pending: dict[str, Future[VideoAnswer]] = {}
        unanswered: set[str] = set()
        while True:
            kept = self._walk(result.items, k, answers, pending, unanswered)
            waiting = [pending[item.group] for item in kept if item.group in pending]
            remaining = deadline - time.monotonic()
            if not waiting or remaining <= 0:
                break
            wait(waiting, timeout=remaining, return_when=FIRST_COMPLETED)
            for video_id, future in list(pending.items()):
                if future.done():
                    del pending[video_id]
                    try:
                        answers[video_id] = future.result()
                    except TitleLookupError:
                        unanswered.add(video_id)
        items = tuple(
            _with_answer(item, rank, answers.get(item.group))
            for rank, item in enumerate(kept, start=1)
        )
        return dataclasses.replace(result, items=items)

    def answers(
        self, groups: Iterable[str], *, budget_s: float | None = None
    ) -> dict[str, VideoAnswer]:
        """The clear answers about the YouTube videos among ``groups`` (library track keys
        are skipped), by video id: the cache's, then the endpoint's that arrive within
        ``budget_s`` (default :attr:`budget_s`; blocking). Those without a clear answer in
        time are left out (their lookups go on and fill the cache). For callers that walk
        their own candidates (a listening session), where :meth:`titled` walks a result's.
        """
        deadline = time.monotonic() + (self.budget_s if budget_s is None else budget_s)
        videos = list(dict.fromkeys(g for g in groups if VIDEO_ID_RE.fullmatch(g)))
        answers = self._cached(videos)
        pending = [f for v in videos if v not in answers and (f := self.lookup(v)) is not None]
        wait(pending, timeout=max(0.0, deadline - time.monotonic()))
        for future in pending:
            if future.done() and not future.cancelled() and future.exception() is None:
                answer = future.result()
                answers[answer.video_id] = answer
        return answers

    def lookup(self, video_id: str) -> Future[VideoAnswer] | None:
        """Start asking about ``video_id`` (or join the lookup already running); the future
        gives the answer (stored in the cache) or raises TitleLookupError when there was no
        clear one. None when ``max_pending`` lookups are already under way."""
        with self._lock:
            future = self._inflight.get(video_id)
            if future is None:
                if len(self._inflight) >= self._max_pending:
                    return None
                future = self._executor.submit(self._ask, video_id)
                self._inflight[video_id] = future
            return future

    def _cached(self, videos: Iterable[str]) -> dict[str, VideoAnswer]:
        """The cache's answers about ``videos`` (distinct ids), hits and misses reported."""
        asked = list(videos)
        answers = self.cache.get_many(asked)
        if self.on_cache_read is not None:
            self.on_cache_read(len(answers), len(asked) - len(answers))
        return answers

    def _walk(
        self,
        candidates: tuple[Recommendation, ...],
        k: int,
        answers: dict[str, VideoAnswer],
        pending: dict[str, Future[VideoAnswer]],
        unanswered: set[str],
    ) -> list[Recommendation]:
        """The first ``k`` candidates not known to be gone; starts the lookups they need."""
        kept: list[Recommendation] = []
        for item in candidates:
            if len(kept) == k:
                break
            if is_video(item):
                answer = answers.get(item.group)
                if answer is not None and answer.state == "gone":
                    continue
                if answer is None and item.group not in pending and item.group not in unanswered:
                    future = self.lookup(item.group)
                    if future is None:
                        unanswered.add(item.group)
                    else:
                        pending[item.group] = future
            kept.append(item)
        return kept

    def _ask(self, video_id: str) -> VideoAnswer:
        """Ask the endpoint (in a worker thread); store a clear answer before returning it.

        Raises:
            TitleLookupError: no clear answer (any unexpected error is logged and wrapped).
        """
        try:
            answer = self.client.ask(video_id)
        except TitleLookupError as exc:
            log.debug("no title for %s: %s", video_id, exc)
            raise
        except Exception as exc:
            log.exception("title lookup for %s failed", video_id)
            raise TitleLookupError(f"title lookup for {video_id} failed: {exc}") from exc
        else:
            self.cache.put(answer)
            return answer
        finally:
            with self._lock:
                self._inflight.pop(video_id, None)


def _with_answer(item: Recommendation, rank: int, answer: VideoAnswer | None) -> Recommendation:
    """``item`` at ``rank``, with the video's title, channel and thumbnail when found."""
    if answer is None or answer.state != "found":
        return dataclasses.replace(item, rank=rank)
    return dataclasses.replace(
        item,
        rank=rank,
        title=answer.title,
        channel=answer.channel,
        thumbnail_url=answer.thumbnail_url,
    )
