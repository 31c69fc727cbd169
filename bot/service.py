"""The bot's request service: the one way every entry point turns a request into a reply.

Mental model: /recommend, the "Find similar music" context menu, "More like #n" buttons
and links pasted in chat each validate their input (:mod:`bot.request`) and then make ONE
call to :class:`RequestService`. Steering words (``more:``/``less:``, a steered button's
code) are resolved first (:mod:`bot.catalog_words`), so refusing them costs nothing. Every
call then goes through the same sequence (:meth:`RequestService._admitted`):

1. **admit**: take a ticket from the :class:`~bot.batching.RecommendQueue` and one of the
   member's in-flight slots, which also starts the member's cooldown
   (:class:`~bot.admission.MemberAdmission`: one cooldown and one in-flight limit per
   member across every entry point), then plan a YouTube link
   (:class:`~bot.youtube_links.YouTubeLinks`: its start snapped to a 5-s grid, the
   embedded-clip cache asked, or one fetch taken for the member and their server from the
   hourly budget and its shares); any refusal comes at once, while nothing has been shown
   yet (so an interaction's refusal is still ephemeral);
2. **acknowledge**: show that work started (an interaction's "thinking…", or a typing
   indicator in the channel of a pasted link), held while the work runs;
3. **work**, within the request deadline: fetch a link in the fetch pool (a fetch that
   never reached YouTube is given back) or decode an attachment in the decode pool
   (:class:`~bot.scheduler.FairPool`: workers per kind, members in turn), embed the clip
   with those arriving alongside and keep a link's query in the clip cache (a cached link
   re-queries its vector; "More like" a catalog item), then look the titles up
   (:class:`~musicrec_core.titles.TitleLookup`: gone videos replaced, within
   ``title_budget_s``). Past the deadline the member is told (:class:`DeadlineError`);
4. **reply**: the embed and buttons of :mod:`bot.views`, stamped with the fingerprint of
   the catalog the result was computed on (:meth:`RequestService._reply`, the only place
   that pairs a result with a fingerprint).

Files shared with the machine's other processes (the budget, the caches) are only used
off the event loop, with a timeout; title lookups that overrun leave the reply untitled.

The service owns the queue, the pools, the admission counters and the settings the work
needs (the attachment size cap, how yt-dlp fetches links), so entry points hand nothing
along. Errors from an interaction answer propagate (the command tree or the button reports
them); a link in chat is answered with the failure (:func:`bot.errors.user_message`), except
a member's own cooldown, in-flight or fetch-share refusal and a busy budget file, which are
only logged (a reply per flooded message would turn one member's flood into the bot's); a
spent total or server share is told once per channel per hour and otherwise only logged.
When YouTube blocks the address (a bot check, HTTP 429) the member gets the error's
sentence and the operator one hourly log warning naming the fix
(:class:`~musicrec_core.sources.blocks.BlockNotice`, shown by doctor and /musicrec status).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import discord

from bot.acknowledge import thinking, typing_indicator
from bot.admission import MemberAdmission, MemberRefusedError
from bot.batching import QueueStats, RecommendQueue
from bot.catalog_words import CatalogWords
from bot.errors import user_message
from bot.limits import fit_content
from bot.logging_setup import get_logger
from bot.off_loop import SharedStateBusyError
from bot.request import DEFAULT_COUNT, AudioRequest, RequestError
from bot.scheduler import FairPool
from bot.settings import Settings
from bot.steering_options import NO_WORDS, SteeringWords
from bot.views import build_reply
from bot.youtube_links import LinkPlan, YouTubeLinks
from musicrec_core.clip import Clip
from musicrec_core.errors import IndexMismatchError, MusicrecError
from musicrec_core.recommender import RecommendationSet, Recommender
from musicrec_core.sources.attachment import clip_from_file, streamed_upload
from musicrec_core.sources.budget import (
    FetchBudgetBusyError,
    MemberShareSpentError,
    YouTubeBusyError,
)
from musicrec_core.steering import LabelSteering
from musicrec_core.titles import TitleLookup, candidate_count

log = get_logger(__name__)

SOUNDS_LIKE_HEADING = "Sounds like this"
MORE_LIKE_HEADING = "More like this"

BUSY_NOTICE_S = 3600.0
"""A channel is told that the fetch budget is spent at most once in this many seconds."""
TITLES_GRACE_S = 1.0
"""How long past the title budget a reply waits for its title lookups' thread, in seconds."""

Acknowledgement = AbstractAsyncContextManager[object]
"""Entered once a request is admitted, exited when its result is ready (before the reply)."""


_LOGGED_ONLY = (
    MemberRefusedError,
    MemberShareSpentError,
    FetchBudgetBusyError,
    SharedStateBusyError,
)
"""Refusals of a pasted link that are only logged: the member's own limits, and a shared
file that did not answer in time (a reply to each would turn one flood into the bot's)."""


class DeadlineError(MusicrecError):
    """A request took longer than the deadline (``MUSICREC_REQUEST_DEADLINE_S``)."""

    def __init__(self, deadline_s: float) -> None:
        super().__init__(
            f"That took longer than {deadline_s:g} s, so musicrec stopped working on it. "
            "Please try again later."
        )


class RequestService:
    """Admission, fetching, recommending and replying for every entry point of the bot.

    Args:
        queue: the request queue (tickets, micro-batching worker), started.
        settings: the operator's settings; the service reads the attachment size cap
            (``max_attachment_bytes``, bytes), the yt-dlp settings (``youtube``), the
            member limits (``recommend_cooldown_s``, ``max_inflight_per_member``), the
            pool sizes (``fetch_workers``, ``decode_workers``) and
            ``request_deadline_s``, the YouTube budget and its shares and the clip cache
            (``youtube_fetches_per_hour``, ``youtube_member_share``,
            ``youtube_server_share``, ``clip_cache_mb``) and the title lookups
            (``titles``).
    """

    def __init__(self, queue: RecommendQueue, settings: Settings) -> None:
        self._queue = queue
        self._members = MemberAdmission(
            cooldown_s=settings.recommend_cooldown_s,
            max_inflight=settings.max_inflight_per_member,
        )
        self._links = YouTubeLinks(settings)
        self._decodes = FairPool("decode", settings.decode_workers)
        self._deadline_s = settings.request_deadline_s
        self._max_bytes = settings.max_attachment_bytes
        self.words = CatalogWords(queue.recommender)
        """The served catalog's vocabulary (steering words and their autocomplete)."""
        self._busy_told: dict[int, float] = {}
        enabled = settings.titles.enabled
        self.titles = TitleLookup.from_settings(settings.titles) if enabled else None

    @classmethod
    def start(cls, recommender: Recommender, settings: Settings) -> RequestService:
        """A service around a new queue sized by ``settings``, its worker started.

        Call it on the running event loop.
        """
        queue = RecommendQueue(
            recommender,
            queue_size=settings.queue_size,
            batch_window_s=settings.batch_window_ms / 1000.0,
            max_batch=settings.max_batch,
        )
        queue.start()
        return cls(queue, settings)

    async def close(self) -> None:
        """Stop the queue and the pools (requests still waiting fail), then the caches."""
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
        """Queue counters for /musicrec status."""
        return self._queue.stats()

    async def youtube_status(self) -> dict[str, str]:
        """/musicrec status lines: YouTube fetches and shares, the clip cache, the last
        block (read off the event loop)."""
        return await self._links.status()

    # Entry points -----------------------------------------------------------------------

    async def answer(
        self,
        interaction: discord.Interaction[Any],
        request: AudioRequest,
        *,
        count: int,
        words: SteeringWords = NO_WORDS,
    ) -> None:
        """Answer /recommend or the context menu with ``count`` recommendations, steered by
        ``words`` (/recommend's ``more:`` and ``less:``) when there are any.

        Raises:
            SteeringError: words that cannot steer this catalog, before admission (free).
            BusyError / MemberRefusedError: before acknowledging (the tree's refusal is
                then ephemeral).
            MusicrecError: fetching, decoding or recommending failed, or the deadline
                passed (after acknowledging).
        """
        steering = await self.words.steering(words) if words else None
        member = interaction.user.id
        server = interaction.guild_id or 0
        sent_at = interaction.created_at.timestamp()
        acknowledgement = thinking(interaction)
        async with self._admitted(member, sent_at, acknowledgement, request, server) as plan:
            result = await self._recommend(member, request, count, plan, steering)
        await self._follow_up(interaction, result, heading=SOUNDS_LIKE_HEADING, count=count)

    async def answer_more_like(
        self,
        interaction: discord.Interaction[Any],
        catalog: str,
        item_id: int,
        count: int,
        words: str = "",
    ) -> None:
        """Answer a "More like" click: ``count`` items like catalog item ``item_id``, steered
        by the reply's ``words`` (a :mod:`bot.button_words` code; "" = unsteered).

        ``catalog`` is the fingerprint the button was made with; item ids of another
        catalog may mean other music, so such a click is refused.

        Raises:
            CatalogError: the catalog was rebuilt since the button was made.
            SteeringError: ``words`` cannot be read back (stale or forged), before admission.
            BusyError / MemberRefusedError: before acknowledging.
        """
        steering = await self.words.from_button(catalog, words)
        async with self.admitted(interaction):
            k = self._candidates(count)
            result = await self._queue.recommend_from_item(item_id, k, steering)
            result = await self._titled(result, count)
        await self._follow_up(interaction, result, heading=MORE_LIKE_HEADING, count=count)

    async def answer_in_chat(self, message: discord.Message, request: AudioRequest) -> None:
        """Reply to ``message`` (a pasted link) with DEFAULT_COUNT recommendations.

        A refusal or failure becomes the reply's text instead (as Discord may show it),
        except the member's own refusals (cooldown, in-flight limit, share of YouTube
        fetches) and a busy budget file, which are only logged, and a spent fetch budget
        or server share, told once per channel per :data:`BUSY_NOTICE_S`.
        """
        member = message.author.id
        server = message.guild.id if message.guild is not None else 0
        try:
            sent_at = message.created_at.timestamp()
            typing = typing_indicator(message.channel)
            async with self._admitted(member, sent_at, typing, request, server) as plan:
                result = await self._recommend(member, request, DEFAULT_COUNT, plan)
        except _LOGGED_ONLY as exc:
            log.info("link in message %s ignored: %s", message.id, exc)
            return
        except MusicrecError as exc:
            log.info("link in message %s refused: %s", message.id, exc)
            if isinstance(exc, YouTubeBusyError) and not self._first_busy_notice(message):
                return
            await message.reply(fit_content(user_message(exc)[0]), mention_author=False)
            return
        embed, view = self._reply(result, heading=SOUNDS_LIKE_HEADING, count=DEFAULT_COUNT)
        await message.reply(embed=embed, view=view, mention_author=False)

    def admitted(self, interaction: discord.Interaction[Any]) -> Acknowledgement:
        """For other interaction commands (/discover): a ticket and one of the member's
        slots (their cooldown started), "thinking…" shown and the deadline kept for the
        body of the ``async with`` block, as for a "More like" click."""
        sent_at = interaction.created_at.timestamp()
        return self._admitted(interaction.user.id, sent_at, thinking(interaction))

    # The sequence -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _admitted(
        self,
        member: int,
        sent_at: float,
        acknowledgement: Acknowledgement,
        request: AudioRequest | None = None,
        server: int = 0,
    ) -> AsyncIterator[LinkPlan | None]:
        """Hold a ticket, one of ``member``'s slots and ``acknowledgement`` for the body of
        the ``async with`` block, which must end within the request deadline; the block
        gets the plan of ``request``'s link (None for other requests), whose fetch is
        charged to ``member`` of ``server`` (0 = none) and given back if the request ends
        before it reached YouTube. ``sent_at`` is when the member sent it (Discord's
        timestamp, seconds), which the cooldown is measured by.

        Raises:
            BusyError / MemberRefusedError / YouTubeBusyError / FetchBudgetBusyError /
                SharedStateBusyError: at once, before ``acknowledgement`` is entered.
            DeadlineError: the body ran past ``request_deadline_s`` (it was cancelled).
        """
        with self._queue.admit(), self._members.admit(member, sent_at=sent_at):
            plan = None
            if request is not None:
                plan = await self._links.plan(request, self.recommender.index, member, server)
            try:
                async with acknowledgement:
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

    async def seed(self, member: int, server: int, request: AudioRequest) -> RecommendationSet:
        """A /mix or /path seed embedded in :meth:`admitted` (a link: cached or one fetch)."""
        plan = await self._links.plan(request, self.recommender.index, member, server)
        try:
            return await self._recommend(member, request, 1, plan, titled=False)
        except BaseException:
            self._links.settle(plan)
            raise

    async def _recommend(
        self,
        member: int,
        request: AudioRequest,
        count: int,
        plan: LinkPlan | None,
        steering: LabelSteering | None = None,
        *,
        titled: bool = True,
    ) -> RecommendationSet:
        """``count`` recommendations (``titled``: gone videos replaced): from a link's cached
        query, else from the request's audio, fetched, decoded and embedded with a batch."""
        k = self._candidates(count) if titled else count
        if plan is not None and plan.cached is not None:
            cached = plan.cached
            with contextlib.suppress(IndexMismatchError):  # rebuilt with another pooling
                result = await asyncio.to_thread(
                    self.recommender.recommend_vector,
                    cached.vector,
                    k,
                    pooling=plan.pooling,
                    query=cached.provenance,
                    query_tags=cached.tags,
                    query_peaks=cached.peaks,
                    steering=steering,
                )
                return await self._titled(result, count) if titled else result
        clip = await self._fetch_clip(member, request, plan)
        result = await self._queue.recommend(clip, k, steering)
        if plan is not None:
            await self._links.remember(plan, result, self.recommender.index)
        return await self._titled(result, count) if titled else result

    def _candidates(self, count: int) -> int:
        """Results asked of the recommender: room for gone videos when titles are looked up."""
        return candidate_count(count) if self.titles is not None else count

    async def _titled(self, result: RecommendationSet, count: int) -> RecommendationSet:
        """``result`` cut to ``count``, gone videos replaced and titles filled in; a worker
        thread waits at most the title budget (lookups never touch the event loop). When
        the thread overruns it by :data:`TITLES_GRACE_S` (its cache file busy elsewhere),
        the first ``count`` results go out untitled."""
        titles = self.titles
        if titles is None:
            return result
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(titles.titled, result, count), titles.budget_s + TITLES_GRACE_S
            )
        except TimeoutError:
            log.warning("title lookups overran their budget; replying without titles")
            items = result.items[:count]
            ranked = tuple(dataclasses.replace(item, rank=n) for n, item in enumerate(items, 1))
            return dataclasses.replace(result, items=ranked)

    def _first_busy_notice(self, message: discord.Message) -> bool:
        """Whether ``message``'s channel should be told the budget is spent (once an hour)."""
        now = time.monotonic()
        channel = message.channel.id
        told = self._busy_told.get(channel)
        if told is not None and now - told < BUSY_NOTICE_S:
            return False
        self._busy_told = {
            key: at for key, at in self._busy_told.items() if now - at < BUSY_NOTICE_S
        }
        self._busy_told[channel] = now
        return True

    async def _fetch_clip(self, member: int, request: AudioRequest, plan: LinkPlan | None) -> Clip:
        """Download and decode the request's audio in ``member``'s turn of a pool (a link
        from ``plan``'s start, charged to its fetch).

        Raises:
            FetchError, InputTooLargeError: the CDN would not serve the attachment, or
                it is over the size cap (streamed to a private file, never held in memory).
            AudioError / SourceError: from decoding or fetching.
        """
        if request.attachment is not None:
            attachment = request.attachment
            async with streamed_upload(
                attachment.url,
                name=attachment.filename,
                declared_size=attachment.size,
                max_bytes=self._max_bytes,
            ) as path:  # a private temp file, removed after the decode
                return await self._decodes.run(
                    member,
                    clip_from_file,
                    path,
                    filename=attachment.filename,
                    start_s=request.start_s,
                    max_bytes=self._max_bytes,
                    max_decoders=1,  # one decode worker, about one core
                )
        if plan is None:
            raise RequestError("Nothing to listen to: no attachment and no link.")
        return await self._links.fetch(member, plan)

    def _reply(
        self, result: RecommendationSet, *, heading: str, count: int
    ) -> tuple[discord.Embed, discord.ui.View]:
        """The embed and buttons for ``result``, stamped with the catalog it was computed on
        (after a reload, a result computed on the old index keeps the old fingerprint, so
        its "More like" buttons are refused instead of pointing at other music)."""
        return build_reply(result, heading=heading, fingerprint=result.catalog, count=count)

    async def _follow_up(
        self,
        interaction: discord.Interaction[Any],
        result: RecommendationSet,
        *,
        heading: str,
        count: int,
    ) -> None:
        """Send ``result`` as the follow-up of an interaction acknowledged with thinking…"""
        embed, view = self._reply(result, heading=heading, count=count)
        await interaction.followup.send(embed=embed, view=view)
