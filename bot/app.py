"""The Discord application: the Bot subclass, its command tree, catalog loading and reloads.

:class:`MusicrecBot` owns the shared pieces every cog uses: the settings, the
:class:`~bot.service.RequestService` every entry point calls (it holds the one
:class:`~musicrec_core.recommender.Recommender`, so one model serves everyone), and an
event-loop lag monitor. ``setup_hook`` loads the index and the embedder its manifest names
in a worker thread, so the event loop never waits on disk or TensorFlow; the index is proven
first (an index folder, not a bare version folder; every sha256; a probe query).
:meth:`MusicrecBot.reload_catalog` (``/musicrec reload``) and SIGHUP prove a new index the
same way beside the old one and swap it in only if it passes, one reload at a time
(:class:`~musicrec_core.service.catalog_reload.CatalogReloads`, as ``musicrec serve``).

The bot is an :class:`~discord.ext.commands.AutoShardedBot`: one process runs the shards
``MUSICREC_SHARD_IDS`` of ``MUSICREC_SHARD_COUNT`` (default: every shard Discord
recommends), so N processes, each mapping the same read-only index, share a big bot. A
reload reaches only its own process: SIGHUP each one (docs/operations.md). With
``MUSICREC_HEALTH_FILE`` set, :meth:`MusicrecBot.health_report` is written there every few
seconds (:class:`~bot.health.HealthFile`).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import report_error
from bot.health import HealthFile, Report, shard_summaries
from bot.lag import LagMonitor
from bot.logging_setup import get_logger
from bot.metrics_exposition import MetricsEndpoint, metrics_port
from bot.service import RequestService
from bot.settings import Settings
from bot.views import MoreLikeButton
from musicrec_core.api.embedded import EmbeddedApi, start_embedded_api
from musicrec_core.api.settings import ApiSettings
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.errors import MusicrecError
from musicrec_core.recommender import Recommender
from musicrec_core.service.catalog_reload import CatalogReloads, ReloadOutcome
from musicrec_core.service.workers import prestart_workers

log = get_logger(__name__)

EXTENSIONS = (
    "bot.cogs.recommend",
    "bot.cogs.discover",
    "bot.cogs.sessions",
    "bot.cogs.links",
    "bot.cogs.admin",
)
"""Cog modules loaded at start-up, each ending in ``async def setup(bot)``."""

STARTING = "musicrec is still starting up; try again in a moment."
"""The answer to a command that needs the catalog before it is loaded."""


class MusicrecTree(app_commands.CommandTree["MusicrecBot"]):
    """Command tree whose errors all become one short ephemeral message."""

    async def on_error(
        self, interaction: discord.Interaction[MusicrecBot], error: app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)


def build_intents(settings: Settings) -> discord.Intents:
    """Guilds always; guild messages and message content only when link replies are on."""
    intents = discord.Intents.none()
    intents.guilds = True
    if settings.link_replies:
        intents.guild_messages = True
        intents.message_content = True
    return intents


class MusicrecBot(commands.AutoShardedBot):
    """The musicrec Discord bot.

    Args:
        settings: the operator's settings.
        load_engine: False for ``--sync`` runs, which only need the command definitions.
    """

    def __init__(self, settings: Settings, *, load_engine: bool = True) -> None:
        # musicrec never joins voice channels: silence discord.py's missing-voice warnings.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=build_intents(settings),
            tree_cls=MusicrecTree,
            owner_ids=set(settings.owner_ids) or None,
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=settings.shard_count,
            shard_ids=list(settings.shard_ids) or None,
        )
        self.settings = settings
        self.lag = LagMonitor()
        self.started_monotonic = time.monotonic()
        self._load_engine = load_engine
        self._service: RequestService | None = None
        self.metrics_endpoint: MetricsEndpoint | None = None
        self.api: EmbeddedApi | None = None
        """The HTTP API served from this process (``MUSICREC_BOT_SERVES_API``), when on."""
        self._reloads: CatalogReloads | None = None
        self._closing = False
        self._health: HealthFile | None = None
        if load_engine and settings.health_file is not None:
            self._health = HealthFile(
                settings.health_file,
                interval_s=settings.health_interval_s,
                report=self.health_report,
            )

    # Shared pieces ----------------------------------------------------------------------

    @property
    def service(self) -> RequestService:
        """The request service (raises a friendly error while the catalog is not loaded)."""
        if self._service is None:
            raise MusicrecError(STARTING)
        return self._service

    @property
    def last_reload(self) -> ReloadOutcome | None:
        """How this process's latest catalog reload ended; None before the first."""
        return self._reloads.last if self._reloads is not None else None

    # Life cycle -------------------------------------------------------------------------

    @property
    def shard_label(self) -> str:
        """The shards of this process, e.g. ``"shards 0, 1 of 4"`` (for replies and logs)."""
        ids = sorted(self.shards) or list(self.settings.shard_ids)
        count = self.shard_count if self.shard_count is not None else "?"
        listed = ", ".join(str(shard) for shard in ids) or "?"
        return f"shard{'s' if len(ids) != 1 else ''} {listed} of {count}"

    def health_report(self) -> Report:
        """This process now: ``ready`` (catalog loaded, every shard connected and not
        closing), its shards (latency in ms, servers), the catalog's fingerprint and size,
        the queue (tickets held, capacity, clips waiting for the model) and clips embedded
        since start. See :mod:`bot.health`."""
        shards = shard_summaries(self)
        service = self._service
        report: dict[str, object] = {
            "ready": (
                service is not None
                and self.is_ready()
                and not self._closing
                and all(shard.connected for shard in shards)
            ),
            "shard_count": self.shard_count,
            "shard_ids": [shard.shard_id for shard in shards] or list(self.settings.shard_ids),
            "shards": [shard.as_json() for shard in shards],
            "guilds": sum(shard.guilds for shard in shards),
            "catalog": None,
            "catalog_items": None,
            "queue": None,
            "clips_embedded": 0,
            "uptime_s": round(time.monotonic() - self.started_monotonic, 1),
        }
        if service is not None:
            stats = service.stats()
            report |= {
                "catalog": service.fingerprint,
                "catalog_items": len(service.recommender.index),
                "queue": {
                    "admitted": stats.admitted,
                    "capacity": stats.capacity,
                    "waiting": stats.waiting,
                },
                "clips_embedded": stats.clips,
            }
        return report

    async def setup_hook(self) -> None:
        if self._health is not None:
            self._health.start()
        if self._load_engine:
            weights = self.settings.weight_files
            recommender = await asyncio.to_thread(
                Recommender.open, self.settings.index_dir, weights=weights, serving=True
            )
            self._service = RequestService.start(recommender, self.settings)
            self._start_metrics(self._service)
            if self.settings.bot_serves_api:
                self.api = await start_embedded_api(self._service.core, ApiSettings())
            await asyncio.to_thread(prestart_workers)
            self.lag.start()
            self._reloads = CatalogReloads(recommender, self.settings.index_dir)
            self._reloads.handle_sighup()
            log.info(
                "serving %d catalog items from %s with %s",
                len(recommender.index),
                recommender.index.directory,
                recommender.embedder.id,
            )
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(MoreLikeButton)

    async def on_ready(self) -> None:
        user = self.user
        log.info(
            "connected as %s (%s) to %d servers on %s",
            user,
            user and user.id,
            len(self.guilds),
            self.shard_label,
        )

    async def on_shard_ready(self, shard_id: int) -> None:
        servers = sum(1 for guild in self.guilds if guild.shard_id == shard_id)
        log.info("shard %d of %s ready: %d servers", shard_id, self.shard_count, servers)

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: chat messages are only read by the links cog."""

    async def close(self) -> None:
        self._closing = True
        if self._health is not None:
            await self._health.stop()
        if self.metrics_endpoint is not None:
            await self.metrics_endpoint.stop()
        if self.api is not None:
            await self.api.stop()
        if self._reloads is not None:
            await self._reloads.close()
        if self._service is not None:
            await self._service.close()
            await self.lag.stop()
        await super().close()

    def _start_metrics(self, service: RequestService) -> None:
        """Serve ``service``'s metrics when ``MUSICREC_METRICS_PORT`` is set; a port that
        cannot be bound is logged and the bot runs on without metrics."""
        port = metrics_port(self.settings)
        if port is None:
            return
        endpoint = MetricsEndpoint(
            service.metrics,
            host=self.settings.metrics_host,
            port=port,
            interval_s=self.settings.health_interval_s,
            report=self.health_report,
            refresh=service.observe_budget,
        )
        try:
            endpoint.start()
        except OSError as exc:
            host = self.settings.metrics_host
            log.error("metrics are off: cannot serve on %s:%d (%s)", host, port, exc)
            return
        self.metrics_endpoint = endpoint

    # Reloads ----------------------------------------------------------------------------

    async def reload_catalog(self, asked_by: str) -> CatalogIndex:
        """Load the index directory again and swap it in, after any reload running in this
        process; the old one keeps serving on error (logged either way:
        :class:`~musicrec_core.service.catalog_reload.CatalogReloads`).

        Raises:
            MusicrecError: the catalog is not loaded yet.
            CatalogError: the new index is missing, corrupt (sizes, sha256, probe query) or
                built for another embedder (nothing changes).
        """
        if self._reloads is None:
            raise MusicrecError(STARTING)
        return await self._reloads.reload(asked_by)


def index_summary(index: CatalogIndex) -> dict[str, str]:
    """Display rows describing an index (for reload and status replies)."""
    return {
        "Items": f"{len(index):,}",
        "Embedder": str(index.embedder),
        "Pooling": index.pooling,
        "Built": str(index.manifest.get("built_at", "unknown")),
        "Version": Path(index.directory).name,
    }
