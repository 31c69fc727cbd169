"""The bot's request service: the one way every entry point turns a request into a reply.

Mental model: /recommend, the "Find similar music" context menu, "More like #n" buttons
and links pasted in chat each validate their input (:mod:`bot.request`) and then make ONE
call to :class:`RequestService`. Every call goes through the same sequence
(:meth:`RequestService._admitted`):

1. **admit**: take a ticket from the :class:`~bot.batching.RecommendQueue` and one of the
   member's in-flight slots, which also starts the member's cooldown
   (:class:`~bot.admission.MemberAdmission`: one cooldown and one in-flight limit per
   member across every entry point), or be refused at once while nothing has been shown
   yet (so an interaction's refusal is still ephemeral);
2. **acknowledge**: show that work started (an interaction's "thinking…", or a typing
   indicator in the channel of a pasted link), held while the work runs;
3. **work**, within the request deadline: fetch a link in the fetch pool or decode an
   attachment in the decode pool (:class:`~bot.scheduler.FairPool`: separate workers per
   kind, members served in turn), then embed the clip with those arriving alongside it
   (for "More like", re-query a stored item instead). Past the deadline the member is
   told (:class:`DeadlineError`) and the slot and ticket are free again;
4. **reply**: the embed and buttons of :mod:`bot.views`, stamped with the fingerprint of
   the catalog the result was computed on (:meth:`RequestService._reply`, the only place
   that pairs a result with a fingerprint).

The service owns the queue, the pools, the admission counters and the settings the work
needs (the attachment size cap, how yt-dlp fetches links), so entry points hand nothing
along. Errors from an interaction answer propagate (the command tree or the button reports
them); a link in chat is answered with the failure as a reply, except a member's own
cooldown or in-flight refusal, which is only logged (a reply per flooded message would
turn one member's flood into the bot's).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import discord

from bot.admission import MemberAdmission, MemberRefusedError
from bot.batching import QueueStats, RecommendQueue
from bot.limits import fit_content
from bot.logging_setup import get_logger
from bot.request import DEFAULT_COUNT, AudioRequest, RequestError
from bot.scheduler import FairPool
from bot.settings import Settings
from bot.views import build_reply
from musicrec_core.clip import Clip
from musicrec_core.errors import CatalogError, MusicrecError
from musicrec_core.recommender import RecommendationSet, Recommender
from musicrec_core.sources.attachment import clip_from_file, streamed_upload
from musicrec_core.sources.youtube import fetch_youtube_clip

log = get_logger(__name__)

SOUNDS_LIKE_HEADING = "Sounds like this"
MORE_LIKE_HEADING = "More like this"

Acknowledgement = AbstractAsyncContextManager[object]
"""Entered once a request is admitted, exited when its result is ready (before the reply)."""


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
            pool sizes (``fetch_workers``, ``decode_workers``, ``worker_nice``) and
            ``request_deadline_s``.
    """

    def __init__(self, queue: RecommendQueue, settings: Settings) -> None:
        self._queue = queue
        self._members = MemberAdmission(
            cooldown_s=settings.recommend_cooldown_s,
            max_inflight=settings.max_inflight_per_member,
        )
        self._fetches = FairPool("fetch", settings.fetch_workers, nice=settings.worker_nice)
        self._decodes = FairPool("decode", settings.decode_workers, nice=settings.worker_nice)
        self._deadline_s = settings.request_deadline_s
        self._max_bytes = settings.max_attachment_bytes
        self._youtube = settings.youtube

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
        """Stop the queue and the pools: requests still waiting fail."""
        self._fetches.close()
        self._decodes.close()
        await self._queue.close()

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

    # Entry points -----------------------------------------------------------------------

    async def answer(
        self, interaction: discord.Interaction[Any], request: AudioRequest, *, count: int
    ) -> None:
        """Answer /recommend or the context menu with ``count`` recommendations.

        Raises:
            BusyError / MemberRefusedError: before acknowledging (the tree's refusal is
                then ephemeral).
            MusicrecError: fetching, decoding or recommending failed, or the deadline
                passed (after acknowledging).
        """
        member = interaction.user.id
        async with self._admitted(member, _thinking(interaction)):
            result = await self._recommend(member, request, count)
        await self._follow_up(interaction, result, heading=SOUNDS_LIKE_HEADING, count=count)

    async def answer_more_like(
        self, interaction: discord.Interaction[Any], catalog: str, item_id: int, count: int
    ) -> None:
        """Answer a "More like" click: ``count`` items like catalog item ``item_id``.

        ``catalog`` is the fingerprint the button was made with; item ids of another
        catalog may mean other music, so such a click is refused.

        Raises:
            CatalogError: the catalog was rebuilt since the button was made.
            BusyError / MemberRefusedError: before acknowledging.
        """
        if catalog != self.fingerprint:
            raise CatalogError(
                "The catalog has been rebuilt since this reply, so these buttons no longer "
                "point at the same music: run /recommend again."
            )
        async with self._admitted(interaction.user.id, _thinking(interaction)):
            result = await self._queue.recommend_from_item(item_id, count)
        await self._follow_up(interaction, result, heading=MORE_LIKE_HEADING, count=count)

    async def answer_in_chat(self, message: discord.Message, request: AudioRequest) -> None:
        """Reply to ``message`` (a pasted link) with DEFAULT_COUNT recommendations.

        A refusal or failure becomes the reply's text instead, except the member's own
        cooldown or in-flight limit, which is only logged.
        """
        member = message.author.id
        try:
            async with self._admitted(member, message.channel.typing()):
                result = await self._recommend(member, request, DEFAULT_COUNT)
        except MemberRefusedError as exc:
            log.info("link in message %s ignored: %s", message.id, exc)
            return
        except MusicrecError as exc:
            log.info("link in message %s refused: %s", message.id, exc)
            await message.reply(fit_content(str(exc)), mention_author=False)
            return
        embed, view = self._reply(result, heading=SOUNDS_LIKE_HEADING, count=DEFAULT_COUNT)
        await message.reply(embed=embed, view=view, mention_author=False)

    # The sequence -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _admitted(self, member: int, acknowledgement: Acknowledgement) -> AsyncIterator[None]:
        """Hold a ticket, one of ``member``'s slots and ``acknowledgement`` for the body of
        the ``async with`` block, which must end within the request deadline.

        Raises:
            BusyError / MemberRefusedError: at once, before ``acknowledgement`` is entered.
            DeadlineError: the body ran past ``request_deadline_s`` (it was cancelled).
        """
        with self._queue.admit(), self._members.admit(member):
            async with acknowledgement:
                deadline = asyncio.timeout(self._deadline_s)
                try:
                    async with deadline:
                        yield
                except TimeoutError:
                    if deadline.expired():
                        raise DeadlineError(self._deadline_s) from None
                    raise

    async def _recommend(self, member: int, request: AudioRequest, count: int) -> RecommendationSet:
        """Fetch and decode the request's audio, then recommend from it with a batch."""
        clip = await self._fetch_clip(member, request)
        return await self._queue.recommend(clip, count)

    async def _fetch_clip(self, member: int, request: AudioRequest) -> Clip:
        """Download and decode the request's audio in ``member``'s turn of a pool.

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
                )
        if request.link is None:
            raise RequestError("Nothing to listen to: no attachment and no link.")
        return await self._fetches.run(
            member,
            fetch_youtube_clip,
            request.link,
            start_s=request.start_s,
            settings=self._youtube,
        )

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


@contextlib.asynccontextmanager
async def _thinking(interaction: discord.Interaction[Any]) -> AsyncIterator[None]:
    """Acknowledge ``interaction`` with a public "thinking…" (the reply is a follow-up)."""
    await interaction.response.defer(thinking=True)
    yield
