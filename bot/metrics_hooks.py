"""The request service, measured: requests, refusals, stage times and clip-cache lookups.

Mental model: :class:`MeasuredRequestService` is :class:`~bot.service.RequestService` with
the same behaviour, reporting to its :attr:`~MeasuredRequestService.metrics`
(:class:`~musicrec_core.metrics.ServiceMetrics`) as requests pass the service's own steps:

- every entry point names itself (a context variable read when the request is admitted),
  and :meth:`_admitted` counts how the request ended: ``refused`` (raised before the block
  was entered, with the refusal's reason), ``deadline``, ``failed`` or ``ok``;
- stages are timed where the service does them: ``fetch`` (a YouTube link: download and
  decode in a fetch worker), ``decode`` (an attachment: its download from Discord's CDN
  and decode), ``embed`` (a clip handed to the batching queue until its result: the wait
  for a batch, the model and the index search), ``search`` (a query without a clip: a
  cached link's vector or a catalog item), ``titles``;
- a link's plan counts a clip-cache hit (its query was cached) or miss, and each read of
  the title cache its hits and misses (:attr:`TitleLookup.on_cache_read`).

Nothing here changes what a member sees; a failure still propagates as before.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

import discord

from bot.admission import MemberRefusedError
from bot.batching import BusyError, RecommendQueue
from bot.off_loop import SharedStateBusyError
from bot.request import AudioRequest, RequestError
from bot.service import Acknowledgement, DeadlineError, RequestService
from bot.settings import Settings
from bot.steering_options import NO_WORDS, SteeringWords
from bot.youtube_links import LinkPlan
from musicrec_core.clip import Clip
from musicrec_core.errors import MusicrecError, SteeringError
from musicrec_core.metrics import ServiceMetrics
from musicrec_core.recommender import RecommendationSet
from musicrec_core.sources.budget import FetchBudgetBusyError, YouTubeBusyError
from musicrec_core.steering import Steering

_ENTRY: ContextVar[str | None] = ContextVar("musicrec_entry_point", default=None)
"""The entry point of the request being admitted in this task (a metrics label)."""

_TITLES_S: ContextVar[list[float] | None] = ContextVar("musicrec_titles_s", default=None)
"""Where a timed search collects the title lookups inside it, to leave them out (seconds)."""

_COMMAND_ENTRIES = {"discover": "discover", "mix": "mix", "path": "path"}
"""Slash commands that call :meth:`RequestService.admitted`, by command name."""


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


def command_entry(interaction: discord.Interaction[Any]) -> str:
    """The entry point of an interaction that calls ``admitted``: its slash command, or
    (a component, i.e. a "Mix from #n" button) ``mix_from``."""
    command = interaction.command
    if command is None:
        return "mix_from"
    return _COMMAND_ENTRIES.get(command.name, "mix_from")


class _TimedQueue:
    """The service's :class:`RecommendQueue`, with ``recommend`` timed as ``embed`` and
    ``recommend_from_item`` as ``search``; everything else is the queue's own."""

    def __init__(self, queue: RecommendQueue, metrics: ServiceMetrics) -> None:
        self._queue = queue
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)

    async def recommend(
        self, clip: Clip, k: int, steering: Steering | None = None
    ) -> RecommendationSet:
        with self._metrics.timed("embed"):
            return await self._queue.recommend(clip, k, steering)

    async def recommend_from_item(
        self, item_id: int, k: int, steering: Steering | None = None
    ) -> RecommendationSet:
        with self._metrics.timed("search"):
            return await self._queue.recommend_from_item(item_id, k, steering)


class MeasuredRequestService(RequestService):
    """A :class:`RequestService` that reports to :attr:`metrics` (a new
    :class:`ServiceMetrics` unless one is given)."""

    def __init__(
        self, queue: RecommendQueue, settings: Settings, metrics: ServiceMetrics | None = None
    ) -> None:
        self.metrics = metrics if metrics is not None else ServiceMetrics()
        """Where this service's requests are counted and timed."""
        super().__init__(_TimedQueue(queue, self.metrics), settings)  # type: ignore[arg-type]
        if self.titles is not None:
            self.titles.on_cache_read = self._count_title_reads

    def _count_title_reads(self, hits: int, misses: int) -> None:
        self.metrics.count_cache_lookups("title", hits=hits, misses=misses)

    async def observe_budget(self) -> None:
        """Copy the YouTube budget's fetches this hour into :attr:`metrics` (the figure
        /musicrec status shows); a budget file that does not answer leaves the last one."""
        with contextlib.suppress(SharedStateBusyError, FetchBudgetBusyError):
            used, allowed = await self._links.fetches_used()
            self.metrics.set_youtube_budget(used=used, allowed=allowed)

    # Entry points name themselves --------------------------------------------------------

    async def answer(
        self,
        interaction: discord.Interaction[Any],
        request: AudioRequest,
        *,
        count: int,
        words: SteeringWords = NO_WORDS,
    ) -> None:
        menu = isinstance(interaction.command, discord.app_commands.ContextMenu)
        with self._as_entry("context_menu" if menu else "recommend"):
            await super().answer(interaction, request, count=count, words=words)

    async def answer_more_like(
        self,
        interaction: discord.Interaction[Any],
        catalog: str,
        item_id: int,
        count: int,
        words: str = "",
    ) -> None:
        with self._as_entry("more_like"):
            await super().answer_more_like(interaction, catalog, item_id, count, words)

    async def answer_in_chat(self, message: discord.Message, request: AudioRequest) -> None:
        with self._as_entry("link"):
            await super().answer_in_chat(message, request)

    def admitted(self, interaction: discord.Interaction[Any]) -> Acknowledgement:
        if _ENTRY.get() is not None:  # "More like" admits through here
            return super().admitted(interaction)
        return self._admitted_as(command_entry(interaction), interaction)

    @contextlib.asynccontextmanager
    async def _admitted_as(
        self, entry: str, interaction: discord.Interaction[Any]
    ) -> AsyncIterator[object]:
        with self._as_entry(entry):
            async with super().admitted(interaction) as held:
                yield held

    @contextlib.contextmanager
    def _as_entry(self, entry: str) -> Any:
        """Name ``entry`` as the entry point of what the block admits; a steering or
        request error raised before admission counts as a ``bad_input`` refusal."""
        token = _ENTRY.set(entry)
        try:
            yield
        except (SteeringError, RequestError):
            if _ENTRY.get() == entry:  # not yet admitted (admission clears the name)
                self.metrics.count_refusal("bad_input")
                self.metrics.count_request(entry, "refused")
            raise
        finally:
            _ENTRY.reset(token)

    # The measured sequence ---------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _admitted(
        self,
        member: int,
        sent_at: float,
        acknowledgement: Acknowledgement,
        request: AudioRequest | None = None,
        server: int = 0,
    ) -> AsyncIterator[LinkPlan | None]:
        entry = _ENTRY.get()
        metrics = self.metrics
        entered = False
        try:
            async with super()._admitted(member, sent_at, acknowledgement, request, server) as plan:
                entered = True
                _ENTRY.set("")  # admitted: later errors are no longer refusals
                yield plan
        except DeadlineError:
            if entry:
                metrics.count_request(entry, "deadline")
            raise
        except BaseException as exc:
            refused = not entered and isinstance(exc, MusicrecError)
            if entry and refused:
                metrics.count_refusal(refusal_reason(exc))
            if entry:
                metrics.count_request(entry, "refused" if refused else "failed")
            raise
        if entry:
            metrics.count_request(entry, "ok")

    async def _recommend(
        self,
        member: int,
        request: AudioRequest,
        count: int,
        plan: LinkPlan | None,
        steering: Steering | None = None,
        *,
        titled: bool = True,
    ) -> RecommendationSet:
        again = super()._recommend
        if plan is None:
            return await again(member, request, count, plan, steering, titled=titled)
        cached = plan.cached is not None
        self.metrics.count_cache_lookups("clip", hits=int(cached), misses=int(not cached))
        if plan.cached is None:
            return await again(member, request, count, plan, steering, titled=titled)
        titles_s: list[float] = []  # a cached link: the search of its stored vector
        token = _TITLES_S.set(titles_s)
        began = time.perf_counter()
        try:
            return await again(member, request, count, plan, steering, titled=titled)
        finally:
            _TITLES_S.reset(token)
            self.metrics.observe_stage("search", time.perf_counter() - began - sum(titles_s))

    async def _fetch_clip(self, member: int, request: AudioRequest, plan: LinkPlan | None) -> Clip:
        with self.metrics.timed("decode" if request.attachment is not None else "fetch"):
            return await super()._fetch_clip(member, request, plan)

    async def _titled(self, result: RecommendationSet, count: int) -> RecommendationSet:
        if self.titles is None:
            return await super()._titled(result, count)
        began = time.perf_counter()
        try:
            return await super()._titled(result, count)
        finally:
            took = time.perf_counter() - began
            self.metrics.observe_stage("titles", took)
            spent = _TITLES_S.get()
            if spent is not None:
                spent.append(took)
