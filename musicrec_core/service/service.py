"""The request service: the one way every front end turns a request into recommendations.

Mental model: the bot (:mod:`bot.service`) and the HTTP API (:mod:`musicrec_core.api`) each
validate their input into an :class:`~musicrec_core.service.request.AudioRequest` and name
who asks (a :class:`~musicrec_core.service.request.Requester`: a Discord member, or an API
key), then make their calls here, so an API client is one more member to be fair to, never
a way around the limits. Every request goes through the same sequence
(:meth:`RecommendService.admitted`):

1. **admit**: take a ticket from the :class:`~musicrec_core.service.batching.RecommendQueue`
   and, for a Discord member, one of the member's in-flight slots, which also starts the
   member's cooldown (:class:`~musicrec_core.service.admission.MemberAdmission`; an API key
   is paced by its own token bucket and in-flight limit before it gets here), then plan a
   YouTube link (:class:`~musicrec_core.service.youtube_links.YouTubeLinks`: its start
   snapped to a 5-s grid, the clip cache asked, or one fetch taken for the requester from
   the hourly budget and its shares); any refusal comes at once, while nothing has been
   shown yet;
2. **acknowledge**: a front end's sign that work started (the bot's "thinking…"), held
   while the work runs;
3. **work**, within the request deadline: fetch a link in the fetch pool (a fetch that
   never reached YouTube is given back) or decode an upload in the decode pool
   (:class:`~musicrec_core.service.scheduler.FairPool`: workers per kind, requesters in
   turn), embed the clip with those arriving alongside and keep a link's query in the clip
   cache (a cached link re-queries its vector), then look the titles up
   (:class:`~musicrec_core.titles.TitleLookup`: gone videos replaced, within
   ``title_budget_s``). Past the deadline the requester is told (:class:`DeadlineError`).

Across the machine's processes, Discord members go first
(:class:`~musicrec_core.service.members_first.MembersFirst`): a member's request marks
the machine busy from admission to answer, and each heavy step of an API key's request (a
fetch, a decode, an embedding) waits while any member's is in progress, up to
``key_yield_s``.

Each step reports to :attr:`RecommendService.metrics` (requests by entry point and outcome,
refusals by reason, stage times, cache lookups). Files shared with the machine's other
processes (the budget, the caches) are only used off the event loop, with a timeout; title
lookups that overrun leave the answer untitled.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, nullcontext
from pathlib import Path

from musicrec_core.clip import Clip
from musicrec_core.errors import IndexMismatchError, MusicrecError, SteeringError
from musicrec_core.metrics import ServiceMetrics
from musicrec_core.recommender import RecommendationSet, Recommender
from musicrec_core.service.admission import MemberAdmission, MemberRefusedError
from musicrec_core.service.batching import BusyError, QueueStats, RecommendQueue
from musicrec_core.service.members_first import MembersFirst, members_at_work_path
from musicrec_core.service.off_loop import SharedStateBusyError
from musicrec_core.service.request import AudioRequest, Requester, RequestError
from musicrec_core.service.scheduler import FairPool
from musicrec_core.service.settings import ServiceSettings
from musicrec_core.service.vocabulary import CatalogVocabulary
from musicrec_core.service.youtube_links import LinkPlan, YouTubeLinks
from musicrec_core.sources.attachment import clip_from_file, streamed_upload
from musicrec_core.sources.budget import FetchBudgetBusyError, YouTubeBusyError
from musicrec_core.steering import LabelSteering
from musicrec_core.titles import TitleLookup, candidate_count

log = logging.getLogger(__name__)

TITLES_GRACE_S = 1.0
"""How long past the title budget an answer waits for its title lookups' thread, in seconds."""

Acknowledgement = AbstractAsyncContextManager[object]
"""Entered once a request is admitted, exited when its result is ready (before the answer)."""


class DeadlineError(MusicrecError):
    """A request took longer than the deadline (``MUSICREC_REQUEST_DEADLINE_S``)."""

    def __init__(self, deadline_s: float) -> None:
        super().__init__(
            f"That took longer than {deadline_s:g} s, so musicrec stopped working on it. "
            "Please try again later."
        )


def started_queue(recommender: Recommender, settings: ServiceSettings) -> RecommendQueue:
    """A request queue around ``recommender`` sized by ``settings`` (``queue_size``
    tickets, ``batch_window_ms``, ``max_batch``), its worker started. Call it on the
    running event loop."""
    queue = RecommendQueue(
        recommender,
        queue_size=settings.queue_size,
        batch_window_s=settings.batch_window_ms / 1000.0,
        max_batch=settings.max_batch,
    )
    queue.start()
    return queue


def refusal_reason(error: BaseException) -> str:
    """The :data:`~musicrec_core.metrics.REFUSAL_REASONS` label of an admission refusal."""
    if isinstance(error, BusyError):
        return "queue_full"
    if isinstance(error, MemberRefusedError):
        return "member_limit"
    if isinstance(error, YouTubeBusyError):
        return "youtube_budget"
    if isinstance(error, FetchBudgetBusyError | SharedStateBusyError):
        return "shared_state_busy"
    return "bad_input"


class RecommendService:
    """Admission, fetching, recommending and titles for every front end.

    Args:
        queue: the request queue (tickets, micro-batching worker), started.
        settings: the operator's settings; the service reads the attachment size cap
            (``max_attachment_bytes``, bytes), the yt-dlp settings (``youtube``), the
            member limits (``recommend_cooldown_s``, ``max_inflight_per_member``), the
            pool sizes (``fetch_workers``, ``decode_workers``) and
            ``request_deadline_s``, how long keys' steps yield to members
            (``key_yield_s``), the YouTube budget and its shares and the clip cache, and
            the title lookups (``titles``).
        metrics: where requests are counted and timed; None = a new
            :class:`~musicrec_core.metrics.ServiceMetrics`.
    """

    def __init__(
        self,
        queue: RecommendQueue,
        settings: ServiceSettings,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self._queue = queue
        self._members = MemberAdmission(
            cooldown_s=settings.recommend_cooldown_s,
            max_inflight=settings.max_inflight_per_member,
        )
        self._links = YouTubeLinks(settings)
        self._decodes = FairPool("decode", settings.decode_workers)
        self._first = MembersFirst(members_at_work_path(), key_wait_s=settings.key_yield_s)
        self._deadline_s = settings.request_deadline_s
        self._max_bytes = settings.max_attachment_bytes
        self.metrics = metrics if metrics is not None else ServiceMetrics()
        """Where this service's requests are counted and timed."""
        self.vocabulary = CatalogVocabulary(queue.recommender)
        """The served catalog's vocabulary (steering words)."""
        enabled = settings.titles.enabled
        self.titles = TitleLookup.from_settings(settings.titles) if enabled else None
        """The title lookups of YouTube results; None when turned off."""
        if self.titles is not None:
            self.titles.on_cache_read = self._count_title_reads
        self.metrics.watch_key_steps_waiting(lambda: self._first.waiting)

    @classmethod
    def start(
        cls,
        recommender: Recommender,
        settings: ServiceSettings,
        metrics: ServiceMetrics | None = None,
    ) -> RecommendService:
        """A service around a new queue sized by ``settings``, its worker started.

        Call it on the running event loop.
        """
        return cls(started_queue(recommender, settings), settings, metrics)

    async def close(self) -> None:
        """Stop the queue and the pools (requests still waiting fail), then the caches."""
        self._first.close()
        self._links.close()
        self._decodes.close()
        await self._queue.close()
        if self.titles is not None:
            self.titles.close()

    @property
    def recommender(self) -> Recommender:
        """The one shared recommender (its index is swapped on reload)."""
        return self._queue.recommender

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the catalog being served now (eight hex digits)."""
        return self.recommender.index.fingerprint

    def stats(self) -> QueueStats:
        """Queue counters (status pages, health reports)."""
        return self._queue.stats()

    async def youtube_status(self) -> dict[str, str]:
        """Status lines: YouTube fetches and shares, the clip cache, the last block (read
        off the event loop)."""
        return await self._links.status()

    async def observe_budget(self) -> None:
        """Copy the YouTube budget's fetches this hour into :attr:`metrics`; a budget file
        that does not answer leaves the last figure."""
        with contextlib.suppress(SharedStateBusyError, FetchBudgetBusyError):
            used, allowed = await self._links.fetches_used()
            self.metrics.set_youtube_budget(used=used, allowed=allowed)

    def count_bad_input(self, entry: str) -> None:
        """Count a request of ``entry`` refused for its input before admission (bad options
        or words, which cost nothing)."""
        self.metrics.count_refusal("bad_input")
        self.metrics.count_request(entry, "refused")

    async def steering(self, entry: str, more: list[str], less: list[str]) -> LabelSteering:
        """The steering a request's words make, before admission (a refusal is counted as
        bad input of ``entry``).

        Raises:
            SteeringError: words that cannot steer this catalog.
        """
        try:
            return await self.vocabulary.steering(more, less)
        except SteeringError:
            self.count_bad_input(entry)
            raise

    # The sequence -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def admitted(
        self,
        requester: Requester,
        entry: str,
        *,
        request: AudioRequest | None = None,
        acknowledgement: Acknowledgement | None = None,
    ) -> AsyncIterator[LinkPlan | None]:
        """Hold a ticket, the requester's slot and ``acknowledgement`` for the body of the
        ``async with`` block, which must end within the request deadline; the block gets
        the plan of ``request``'s link (None for other requests), whose fetch is charged to
        ``requester`` and given back if the request ends before it reached YouTube.
        ``entry`` (a :data:`~musicrec_core.metrics.ENTRY_POINTS` name) labels the count.

        Raises:
            BusyError / MemberRefusedError / YouTubeBusyError / FetchBudgetBusyError /
                SharedStateBusyError: at once, before ``acknowledgement`` is entered.
            DeadlineError: the body ran past ``request_deadline_s`` (it was cancelled).
        """
        entered = False
        try:
            async with self._held(requester, request, acknowledgement) as plan:
                entered = True
                yield plan
        except DeadlineError:
            self.metrics.count_request(entry, "deadline")
            raise
        except BaseException as exc:
            refused = not entered and isinstance(exc, MusicrecError)
            if refused:
                self.metrics.count_refusal(refusal_reason(exc))
            self.metrics.count_request(entry, "refused" if refused else "failed")
            raise
        self.metrics.count_request(entry, "ok")

    @contextlib.asynccontextmanager
    async def _held(
        self,
        requester: Requester,
        request: AudioRequest | None,
        acknowledgement: Acknowledgement | None,
    ) -> AsyncIterator[LinkPlan | None]:
        """:meth:`admitted` without the counting."""
        sent_at = requester.sent_at
        member_slot = (
            self._members.admit(requester.member, sent_at=sent_at)
            if sent_at is not None
            else nullcontext()
        )
        at_work = nullcontext() if requester.is_api_key else self._first.member_at_work()
        with self._queue.admit(), member_slot, at_work:
            plan = None
            if request is not None:
                plan = await self._links.plan(request, self.recommender.index, requester)
            try:
                async with acknowledgement or nullcontext():
                    deadline = asyncio.timeout(self._deadline_s)
                    try:
                        async with deadline:
                            yield plan
                    except TimeoutError:
                        if deadline.expired():
                            raise DeadlineError(self._deadline_s) from None
                        raise
            except BaseException:
                self._links.settle(plan)
                raise

    async def recommend(
        self,
        requester: Requester,
        request: AudioRequest,
        count: int,
        plan: LinkPlan | None,
        steering: LabelSteering | None = None,
        *,
        exclude: frozenset[str] = frozenset(),
        titled: bool = True,
    ) -> RecommendationSet:
        """``count`` recommendations for ``request`` inside :meth:`admitted` (``plan`` is
        what it gave; none of the catalog groups in ``exclude``, e.g. the videos a session
        played; ``titled``: gone videos replaced): from a link's cached query, else from the
        request's audio, fetched, decoded and embedded with a batch.

        Raises:
            MusicrecError: fetching, decoding or recommending failed.
        """
        k = self._candidates(count) if titled else count
        if plan is not None:
            hit = plan.cached is not None
            self.metrics.count_cache_lookups("clip", hits=int(hit), misses=int(not hit))
        if plan is not None and plan.cached is not None:
            with contextlib.suppress(IndexMismatchError):  # rebuilt with another pooling
                with self.metrics.timed("search"):
                    result = await asyncio.to_thread(
                        self.recommender.recommend_vector,
                        plan.cached.vector,
                        k,
                        pooling=plan.pooling,
                        query=plan.cached.provenance,
                        query_tags=plan.cached.tags,
                        query_peaks=plan.cached.peaks,
                        steering=steering,
                        exclude_groups=exclude,
                    )
                return await self.titled(result, count) if titled else result
        clip = await self._fetch_clip(requester, request, plan)
        if requester.is_api_key:
            await self._first.wait_turn_async()
        with self.metrics.timed("embed"):
            result = await self._queue.recommend(clip, k, steering, exclude)
        if plan is not None:
            await self._links.remember(plan, result, self.recommender.index)
        return await self.titled(result, count) if titled else result

    async def seed(self, requester: Requester, request: AudioRequest) -> RecommendationSet:
        """A session's seed heard inside :meth:`admitted` (a link: cached or one fetch
        charged to ``requester``), untitled, with its one nearest item."""
        plan = await self._links.plan(request, self.recommender.index, requester)
        try:
            return await self.recommend(requester, request, 1, plan, titled=False)
        except BaseException:
            self._links.settle(plan)
            raise

    async def more_like(
        self,
        item_id: int,
        count: int,
        steering: LabelSteering | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> RecommendationSet:
        """``count`` items like catalog item ``item_id`` (its stored vector: nothing is
        downloaded or embedded), none of the groups in ``exclude``, titled, inside
        :meth:`admitted`."""
        k = self._candidates(count)
        with self.metrics.timed("search"):
            result = await self._queue.recommend_from_item(item_id, k, steering, exclude)
        return await self.titled(result, count)

    def _candidates(self, count: int) -> int:
        """Results asked of the recommender: room for gone videos when titles are looked up."""
        return candidate_count(count) if self.titles is not None else count

    async def titled(self, result: RecommendationSet, count: int) -> RecommendationSet:
        """``result`` cut to ``count``, gone videos replaced and titles filled in; a worker
        thread waits at most the title budget (lookups never touch the event loop). When
        the thread overruns it by :data:`TITLES_GRACE_S` (its cache file busy elsewhere),
        the first ``count`` results go out untitled."""
        titles = self.titles
        if titles is None:
            return result
        try:
            with self.metrics.timed("titles"):
                return await asyncio.wait_for(
                    asyncio.to_thread(titles.titled, result, count),
                    titles.budget_s + TITLES_GRACE_S,
                )
        except TimeoutError:
            log.warning("title lookups overran their budget; answering without titles")
            items = result.items[:count]
            ranked = tuple(dataclasses.replace(item, rank=n) for n, item in enumerate(items, 1))
            return dataclasses.replace(result, items=ranked)

    def _count_title_reads(self, hits: int, misses: int) -> None:
        self.metrics.count_cache_lookups("title", hits=hits, misses=misses)

    async def _fetch_clip(
        self, requester: Requester, request: AudioRequest, plan: LinkPlan | None
    ) -> Clip:
        """Download and decode the request's audio in the requester's turn of a pool (a
        link from ``plan``'s start, charged to its fetch; a key's job first waits for the
        machine's members).

        Raises:
            FetchError, InputTooLargeError: the host would not serve the attachment, or
                it is over the size cap (streamed to a private file, never held in memory).
            AudioError / SourceError: from decoding or fetching.
        """
        member = requester.member
        key = requester.is_api_key
        if request.attachment is not None:
            attachment = request.attachment
            with self.metrics.timed("decode"):
                async with streamed_upload(
                    attachment.url,
                    name=attachment.filename,
                    declared_size=attachment.size,
                    max_bytes=self._max_bytes,
                ) as path:  # a private temp file, removed after the decode
                    return await self._decode(member, path, attachment.filename, request, key)
        if request.upload is not None:
            with self.metrics.timed("decode"):
                return await self._decode(
                    member, request.upload.path, request.upload.filename, request, key
                )
        if plan is None:
            raise RequestError("Nothing to listen to: no attachment and no link.")
        with self.metrics.timed("fetch"):
            return await self._links.fetch(member, plan, self._first.wait_turn if key else None)

    async def _decode(
        self, member: int, path: Path, filename: str, request: AudioRequest, key: bool
    ) -> Clip:
        """Decode the upload at ``path`` in ``member``'s turn of the decode pool (a ``key``'s
        job first waits for the machine's members)."""
        return await self._decodes.run(
            member,
            self._first.after_members(clip_from_file) if key else clip_from_file,
            path,
            filename=filename,
            start_s=request.start_s,
            max_bytes=self._max_bytes,
            max_decoders=1,  # one decode worker, about one core
        )
