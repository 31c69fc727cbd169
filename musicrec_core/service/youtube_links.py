"""YouTube links for the request service: the clip cache, the fetch budget, the fetch.

Mental model: a link request is planned before it is acknowledged (:meth:`YouTubeLinks.plan`):
its start moves down to the 5-s grid (:func:`~musicrec_core.sources.youtube.snapped_start`:
``t=1`` .. ``t=4`` are one clip and one fetch, and the reply shows the snapped window), the
embedded-clip cache (:class:`~musicrec_core.clip_cache.ClipCache`) is asked for that
window, and on a miss one fetch is taken from the hourly budget
(:class:`~musicrec_core.sources.budget.FetchBudget`) for the member and their server: the
machine's total, a member's share and a server's share, all counted in one file shared by
the machine's processes. A refusal therefore comes while nothing has been shown (an
interaction's is ephemeral). The fetch then runs in the member's turn of the fetch pool
(:meth:`YouTubeLinks.fetch`), and a fetch that never reached YouTube is given back
(:meth:`YouTubeLinks.settle`, :mod:`.youtube_charge`). A block (bot check, HTTP 429)
is noted for the operator (:class:`~musicrec_core.sources.blocks.BlockNotice`).

The budget file and the clip cache are shared with the machine's other processes, so every
call on them runs off the event loop with a timeout (:class:`~.off_loop.OffLoop`, one
pool for each): a lock held elsewhere costs that one request a "try again", never the
other members' acknowledgements; a clip-cache read that times out is a miss and a write is
skipped.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.clip import Clip
from musicrec_core.clip_cache import CachedQuery, ClipCache, vector_space, window_key
from musicrec_core.errors import YouTubeBlockedError, YouTubeNotReachedError
from musicrec_core.recommender import RecommendationSet
from musicrec_core.service.off_loop import OffLoop, SharedStateBusyError
from musicrec_core.service.request import AudioRequest, Requester
from musicrec_core.service.scheduler import FairPool
from musicrec_core.service.settings import ServiceSettings
from musicrec_core.service.youtube_charge import YouTubeCharge
from musicrec_core.sources.blocks import BlockNotice, read_last_block
from musicrec_core.sources.budget import FetchBudget, FetchBudgetBusyError, default_budget_path
from musicrec_core.sources.youtube import YouTubeLink, fetch_youtube_clip, snapped_start

log = logging.getLogger(__name__)

BUDGET_LOCK_TIMEOUT_S = 0.8
"""Longest wait for the budget file's lock, in seconds: under the off-loop call's timeout
(:data:`.off_loop.DEFAULT_TIMEOUT_S`), so a lock held elsewhere is told as such."""
BUSY_LINE = "no answer in time (its file is busy elsewhere); try again"
"""A /musicrec status line whose file did not answer in time."""


@dataclass(frozen=True)
class LinkPlan:
    """How a YouTube link request is answered.

    Attributes:
        link: the link.
        start_s: the start fetched (snapped to the grid, seconds), or None for the default
            window.
        window, space: the clip-cache key (with the video id).
        pooling: the index's pooling rule when planned.
        cached: the cached query on a hit (nothing is downloaded, nothing charged).
        charge: on a miss, the fetch taken from the budget.
    """

    link: YouTubeLink
    start_s: float | None
    window: str
    space: str
    pooling: str
    cached: CachedQuery | None = None
    charge: YouTubeCharge | None = None


class YouTubeLinks:
    """The clip cache, the budget and the fetch pool of one process.

    Args:
        settings: reads ``youtube`` (yt-dlp), ``fetch_workers``,
            ``youtube_fetches_per_hour``, ``youtube_member_share``,
            ``youtube_server_share`` and ``clip_cache_mb``.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self._youtube = settings.youtube
        self._fetches = FairPool("fetch", settings.fetch_workers)
        # One window for every process of the machine: YouTube counts per address.
        self._budget = FetchBudget(
            settings.youtube_fetches_per_hour,
            member_share=settings.youtube_member_share,
            server_share=settings.youtube_server_share,
            path=default_budget_path(),
            lock_timeout_s=BUDGET_LOCK_TIMEOUT_S,
        )
        self._budget_calls = OffLoop("budget", workers=1)  # FetchBudget serialises anyway
        self._cache_calls = OffLoop("clip-cache")
        self._blocks = BlockNotice()
        self._clips = (
            ClipCache(max_bytes=int(settings.clip_cache_mb * 2**20))
            if settings.clip_cache_mb > 0
            else None
        )

    def close(self) -> None:
        """Stop the pools (fetches not started fail), then the clip cache."""
        self._fetches.close()
        self._budget_calls.close()
        self._cache_calls.close()
        if self._clips is not None:
            self._clips.close()

    async def plan(
        self, request: AudioRequest, index: CatalogIndex, requester: Requester
    ) -> LinkPlan | None:
        """The plan of ``request``'s link for a query on ``index``: a cached query, or one
        fetch taken for ``requester`` (its member and server, within its YouTube share).
        None without a link.

        Raises:
            YouTubeBusyError: a miss, and the budget or the member's (MemberShareSpentError)
                or server's (ServerShareSpentError) share is spent.
            FetchBudgetBusyError / SharedStateBusyError: the budget file did not answer in
                time.
        """
        link = request.link
        if link is None:
            return None
        start_s = request.start_s if request.start_s is not None else link.start_s
        if start_s is not None:
            start_s = snapped_start(start_s)
        plan = LinkPlan(
            link=link,
            start_s=start_s,
            window=window_key(start_s),
            space=vector_space(index.embedder, index.pooling, index.landmarks is not None),
            pooling=index.pooling,
        )
        cached = await self._cached(plan)
        if cached is not None:
            return dataclasses.replace(plan, cached=cached)
        budget = self._budget
        stamp = await self._budget_calls.call(
            functools.partial(
                budget.take,
                requester.member,
                requester.server,
                member_share=requester.youtube_share,
            ),
            on_late=budget.give_back,
        )
        return dataclasses.replace(plan, charge=YouTubeCharge(stamp))

    def settle(self, plan: LinkPlan | None) -> None:
        """The request of ``plan`` failed: give its fetch back if it never reached YouTube
        (in the background: the answer does not wait for the file)."""
        if plan is not None and plan.charge is not None and plan.charge.settle_unspent():
            log.info("giving back a YouTube fetch that never reached YouTube")
            self._budget_calls.submit(self._budget.give_back, plan.charge.stamp)

    async def fetch(
        self, member: int, plan: LinkPlan, first: Callable[[], object] | None = None
    ) -> Clip:
        """Download and decode ``plan``'s clip in ``member``'s turn of the fetch pool,
        calling ``first`` in the worker before the fetch starts (a key's wait for members).

        Raises:
            SourceError / AudioError: from fetching or decoding.
        """
        return await self._fetches.run(member, self._fetch, plan, first)

    async def remember(
        self, plan: LinkPlan, result: RecommendationSet, index: CatalogIndex
    ) -> None:
        """Store ``plan``'s query in the clip cache, unless ``index`` (now served) is not
        the one ``result`` was computed on."""
        if self._clips is None or result.query is None:
            return
        space = vector_space(index.embedder, index.pooling, index.landmarks is not None)
        if result.catalog != index.fingerprint or space != plan.space:
            return
        query = CachedQuery(
            result.query, result.query_vector, result.query_tags, result.query_peaks
        )
        key = (plan.link.video_id, plan.window, plan.space)
        try:
            await self._cache_calls.call(self._clips.put, *key, query)
        except SharedStateBusyError:
            log.warning("the clip cache did not answer in time; %s is not kept", key[0])

    async def fetches_used(self) -> tuple[int, int]:
        """Fetches taken from the machine's budget in the last hour, and its hourly limit
        (read off the loop).

        Raises:
            SharedStateBusyError / FetchBudgetBusyError: the budget file did not answer.
        """
        return await self._budget_calls.call(self._budget.used), self._budget.limit

    async def status(self) -> dict[str, str]:
        """/musicrec status lines: fetches this hour and the shares, the clip cache, the
        last block. Each is read off the loop; one that does not answer in time says so."""
        budget = self._budget
        try:
            used, limit = await self.fetches_used()
            lines = {"YouTube fetches": f"{used}/{limit} in the last hour"}
        except (SharedStateBusyError, FetchBudgetBusyError):
            lines = {"YouTube fetches": BUSY_LINE}
        lines["YouTube shares"] = (
            f"a member {budget.member_limit}, a server {budget.server_limit} an hour"
        )
        if self._clips is not None:
            try:
                links, size = await self._cache_calls.call(_cache_size, self._clips)
                lines["Clip cache"] = f"{links} links, {size / 2**20:.1f} MiB"
            except SharedStateBusyError:
                lines["Clip cache"] = BUSY_LINE
        try:
            block = await self._cache_calls.call(read_last_block, self._blocks.path)
        except SharedStateBusyError:
            lines["YouTube blocks"] = BUSY_LINE
            return lines
        lines["YouTube blocks"] = (
            "none seen" if block is None else f"last {block.describe(time.time())}"
        )
        if block is not None:
            lines["YouTube blocks"] += " Fix: cookies, a proxy or a PO-token provider (README)."
        return lines

    async def _cached(self, plan: LinkPlan) -> CachedQuery | None:
        """The clip cache's query for ``plan``; a cache too slow to answer is a miss."""
        if self._clips is None:
            return None
        video_id = plan.link.video_id
        try:
            return await self._cache_calls.call(self._clips.get, video_id, plan.window, plan.space)
        except SharedStateBusyError:
            log.warning("the clip cache did not answer in time; %s is fetched", video_id)
            return None

    def _fetch(self, plan: LinkPlan, first: Callable[[], object] | None) -> Clip:
        """Fetch ``plan``'s clip (in a fetch worker) after ``first()``; a block is noted for
        the operator, and the plan's charge learns whether the fetch may have reached
        YouTube.

        Raises:
            YouTubeNotReachedError: the request already gave its charge back (nothing is
                fetched), or the fetch never reached YouTube.
        """
        if first is not None:
            first()
        charge = plan.charge
        if charge is not None and not charge.start_fetch():
            raise YouTubeNotReachedError("That request ended before its fetch started.")
        try:
            return fetch_youtube_clip(plan.link, start_s=plan.start_s, settings=self._youtube)
        except YouTubeNotReachedError:
            if charge is not None:
                charge.not_reached()
            raise
        except YouTubeBlockedError as exc:
            self._blocks.record(str(exc))
            raise


def _cache_size(clips: ClipCache) -> tuple[int, int]:
    """Links in the clip cache and their stored bytes (blocking: SQLite)."""
    return len(clips), clips.total_bytes()
