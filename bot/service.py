"""The bot's request service: how every Discord entry point turns a request into a reply.

Mental model: /recommend, the "Find similar music" context menu, "More like #n" buttons
and links pasted in chat each validate their input (:mod:`bot.request`) and then make ONE
call to :class:`RequestService`. Steering words (``more:``/``less:``, a steered button's
code) are resolved first (:mod:`bot.catalog_words`), so refusing them costs nothing. The
work itself is the core's (:class:`~musicrec_core.service.service.RecommendService`:
admission, the fair pools, the deadline, the clip cache, the YouTube budget and shares,
titles), the same service the HTTP API calls; this module adds what is Discord's:

- who asks: the member and the server of an interaction or a message, and when it was sent
  (Discord's timestamp, which the member cooldown is measured by);
- the acknowledgement: an interaction's "thinking…", or a typing indicator in the channel
  of a pasted link;
- the reply: the embed and buttons of :mod:`bot.views`, stamped with the fingerprint of
  the catalog the result was computed on (:meth:`RequestService._reply`, the only place
  that pairs a result with a fingerprint);
- the entry point each request is counted under.

Errors from an interaction answer propagate (the command tree or the button reports them);
a link in chat is answered with the failure (:func:`bot.errors.user_message`), except a
member's own cooldown, in-flight or fetch-share refusal and a busy budget file, which are
only logged (a reply per flooded message would turn one member's flood into the bot's); a
spent total or server share is told once per channel per hour and otherwise only logged.
When YouTube blocks the address (a bot check, HTTP 429) the member gets the error's
sentence and the operator one hourly log warning naming the fix
(:class:`~musicrec_core.sources.blocks.BlockNotice`, shown by doctor and /musicrec status).
"""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager
from typing import Any

import discord

from bot.acknowledge import thinking, typing_indicator
from bot.catalog_words import CatalogWords
from bot.errors import user_message
from bot.limits import fit_content
from bot.logging_setup import get_logger
from bot.settings import Settings
from bot.steering_options import NO_WORDS, SteeringWords
from bot.views import build_reply
from musicrec_core.errors import MusicrecError, SteeringError
from musicrec_core.metrics import ServiceMetrics
from musicrec_core.recommender import RecommendationSet, Recommender
from musicrec_core.service.admission import MemberRefusedError
from musicrec_core.service.batching import QueueStats, RecommendQueue
from musicrec_core.service.off_loop import SharedStateBusyError
from musicrec_core.service.request import DEFAULT_COUNT, AudioRequest, Requester
from musicrec_core.service.service import RecommendService, started_queue
from musicrec_core.sources.budget import (
    FetchBudgetBusyError,
    MemberShareSpentError,
    YouTubeBusyError,
)
from musicrec_core.titles import TitleLookup

log = get_logger(__name__)

SOUNDS_LIKE_HEADING = "Sounds like this"
MORE_LIKE_HEADING = "More like this"

BUSY_NOTICE_S = 3600.0
"""A channel is told that the fetch budget is spent at most once in this many seconds."""

_LOGGED_ONLY = (
    MemberRefusedError,
    MemberShareSpentError,
    FetchBudgetBusyError,
    SharedStateBusyError,
)
"""Refusals of a pasted link that are only logged: the member's own limits, and a shared
file that did not answer in time (a reply to each would turn one flood into the bot's)."""

_COMMAND_ENTRIES = {"discover": "discover", "mix": "mix", "path": "path"}
"""Slash commands that call :meth:`RequestService.admitted`, by command name."""


def interaction_requester(interaction: discord.Interaction[Any]) -> Requester:
    """The member who sent ``interaction``, its server (0 in a DM) and when it was sent."""
    return Requester(
        member=interaction.user.id,
        server=interaction.guild_id or 0,
        sent_at=interaction.created_at.timestamp(),
    )


def command_entry(interaction: discord.Interaction[Any]) -> str:
    """The entry point of an interaction that calls ``admitted``: its slash command, or
    (a component, i.e. a "Mix from #n" button) ``mix_from``."""
    command = interaction.command
    if command is None:
        return "mix_from"
    return _COMMAND_ENTRIES.get(command.name, "mix_from")


class RequestService:
    """Admission, fetching, recommending and replying for every entry point of the bot.

    Args:
        queue: the request queue (tickets, micro-batching worker), started.
        settings: the operator's settings (see
            :class:`~musicrec_core.service.service.RecommendService`).
        metrics: where requests are counted and timed; None = a new registry.
    """

    def __init__(
        self,
        queue: RecommendQueue,
        settings: Settings,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.core = RecommendService(queue, settings, metrics)
        """The request service shared with the HTTP API's code: admission to titles."""
        self.words = CatalogWords(self.core.vocabulary)
        """The served catalog's vocabulary (steering words and their autocomplete)."""
        self._busy_told: dict[int, float] = {}

    @classmethod
    def start(
        cls, recommender: Recommender, settings: Settings, metrics: ServiceMetrics | None = None
    ) -> RequestService:
        """A service around a new queue sized by ``settings``, its worker started.

        Call it on the running event loop.
        """
        return cls(started_queue(recommender, settings), settings, metrics)

    async def close(self) -> None:
        """Stop the queue and the pools (requests still waiting fail), then the caches."""
        await self.core.close()

    @property
    def metrics(self) -> ServiceMetrics:
        """Where this service's requests are counted and timed."""
        return self.core.metrics

    @property
    def titles(self) -> TitleLookup | None:
        """The title lookups of YouTube results; None when turned off."""
        return self.core.titles

    @property
    def recommender(self) -> Recommender:
        """The one shared recommender (its index is swapped on reload)."""
        return self.core.recommender

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the catalog being served now (eight hex digits)."""
        return self.core.fingerprint

    def stats(self) -> QueueStats:
        """Queue counters for /musicrec status."""
        return self.core.stats()

    async def youtube_status(self) -> dict[str, str]:
        """/musicrec status lines: YouTube fetches and shares, the clip cache, the last
        block (read off the event loop)."""
        return await self.core.youtube_status()

    async def observe_budget(self) -> None:
        """Copy the YouTube budget's fetches this hour into :attr:`metrics`."""
        await self.core.observe_budget()

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
        menu = isinstance(interaction.command, discord.app_commands.ContextMenu)
        entry = "context_menu" if menu else "recommend"
        steering = await self.core.steering(entry, words.more, words.less) if words else None
        requester = interaction_requester(interaction)
        core = self.core
        async with core.admitted(
            requester, entry, request=request, acknowledgement=thinking(interaction)
        ) as plan:
            result = await core.recommend(requester, request, count, plan, steering)
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
        try:
            steering = await self.words.from_button(catalog, words)
        except SteeringError:
            self.core.count_bad_input("more_like")
            raise
        async with self._admitted_as("more_like", interaction):
            result = await self.core.more_like(item_id, count, steering)
        await self._follow_up(interaction, result, heading=MORE_LIKE_HEADING, count=count)

    async def answer_in_chat(self, message: discord.Message, request: AudioRequest) -> None:
        """Reply to ``message`` (a pasted link) with DEFAULT_COUNT recommendations.

        A refusal or failure becomes the reply's text instead (as Discord may show it),
        except the member's own refusals (cooldown, in-flight limit, share of YouTube
        fetches) and a busy budget file, which are only logged, and a spent fetch budget
        or server share, told once per channel per :data:`BUSY_NOTICE_S`.
        """
        core = self.core
        try:
            requester = Requester(
                member=message.author.id,
                server=message.guild.id if message.guild is not None else 0,
                sent_at=message.created_at.timestamp(),
            )
            typing = typing_indicator(message.channel)
            async with core.admitted(
                requester, "link", request=request, acknowledgement=typing
            ) as plan:
                result = await core.recommend(requester, request, DEFAULT_COUNT, plan)
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

    def admitted(
        self, interaction: discord.Interaction[Any]
    ) -> AbstractAsyncContextManager[object]:
        """For other interaction commands (/discover, /mix, /path, "Mix from"): a ticket
        and one of the member's slots (their cooldown started), "thinking…" shown and the
        deadline kept for the body of the ``async with`` block, as for a "More like"
        click."""
        return self._admitted_as(command_entry(interaction), interaction)

    def _admitted_as(
        self, entry: str, interaction: discord.Interaction[Any]
    ) -> AbstractAsyncContextManager[object]:
        return self.core.admitted(
            interaction_requester(interaction), entry, acknowledgement=thinking(interaction)
        )

    # Replies ----------------------------------------------------------------------------

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
