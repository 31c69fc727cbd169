"""/musicrec reload and /musicrec status, for the operator: the catalog is global.

Who may run them is :func:`bot.checks.is_admin`: the bot owners anywhere, and in the admin
servers (``MUSICREC_ADMIN_GUILD_IDS``) members with Manage Server or the admin role. The
replies are ephemeral and name no server path (a failure's details go to the log); what
they quote from outside is made inert (:mod:`bot.untrusted_text`).

Both act on the process that received the command, i.e. the one running the shard of the
server it was typed in: the replies name its shards (other processes reload on SIGHUP, see
docs/operations.md), and status lists each of its shards' gateway latency and servers.
"""

from __future__ import annotations

import time

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MusicrecBot, index_summary
from bot.checks import cooldown_from_setting, require_admin
from bot.health import ShardSummary, shard_summaries
from bot.limits import fit_embed
from bot.untrusted_text import Surface, inert
from bot.views import EMBED_COLOUR
from musicrec_core.service.catalog_reload import ReloadOutcome, ReloadResult


def _embed(title: str, rows: dict[str, str], *, colour: discord.Colour) -> discord.Embed:
    """An embed of one inline field per row. Values hold outside text (the index's
    manifest, yt-dlp's last block message), so every line of them is made inert."""
    embed = discord.Embed(title=title, colour=colour)
    for name, value in rows.items():
        lines = [inert(line, Surface.FIELD_VALUE) for line in value.splitlines()]
        shown = "\n".join(line for line in lines if line)
        embed.add_field(name=inert(name, Surface.FIELD_NAME), value=shown or "-", inline=True)
    return fit_embed(embed)


def format_shards(shards: list[ShardSummary]) -> str:
    """One line per shard: ``"#0: 42 ms, 1,203 servers"`` (``"#1: down, ..."`` when its
    connection is closed, ``"? ms"`` before its first heartbeat)."""
    lines = []
    for shard in shards:
        if not shard.connected:
            latency = "down"
        elif shard.latency_ms is None:
            latency = "? ms"
        else:
            latency = f"{shard.latency_ms:.0f} ms"
        servers = f"{shard.guilds:,} server{'' if shard.guilds == 1 else 's'}"
        lines.append(f"#{shard.shard_id}: {latency}, {servers}")
    return "\n".join(lines)


def format_uptime(seconds: float) -> str:
    """``93784`` -> ``"1d 2:03:04"``, ``252`` -> ``"0:04:12"``."""
    days, rest = divmod(int(max(0.0, seconds)), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock


def format_last_reload(outcome: ReloadOutcome | None, now: float) -> str:
    """The status row of the process's latest reload, ``now`` being ``time.time()``:
    ``"reloaded 0:04:12 ago, 12,345 items (SIGHUP)"``; a refusal or failure says the log
    has why (a reply names no server path)."""
    if outcome is None:
        return "none since start"
    ago = format_uptime(now - outcome.ended_at)
    if outcome.result is ReloadResult.RELOADED:
        return f"reloaded {ago} ago, {outcome.items:,} items ({outcome.asked_by})"
    if outcome.result is ReloadResult.ABANDONED:
        return f"abandoned {ago} ago ({outcome.asked_by})"
    why = "the log says why" if outcome.result is ReloadResult.REFUSED else "see the log"
    return f"{outcome.result} {ago} ago ({outcome.asked_by}); still serving the old one, {why}"


class AdminCog(commands.Cog):
    """Catalog administration."""

    group = app_commands.Group(
        name="musicrec",
        description="musicrec administration",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: MusicrecBot) -> None:
        self.bot = bot

    @group.command(name="reload", description="Reload the catalog index from disk")
    @app_commands.checks.dynamic_cooldown(cooldown_from_setting("admin_cooldown_s"))
    @app_commands.check(require_admin)
    async def reload(self, interaction: discord.Interaction[MusicrecBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        index = await self.bot.reload_catalog(f"/musicrec reload by {interaction.user.id}")
        rows = {
            **index_summary(index),
            "Catalog id": self.bot.service.fingerprint,
            "Reloaded on": f"this process ({self.bot.shard_label})",
        }
        embed = _embed("Catalog reloaded", rows, colour=discord.Colour.green())
        await interaction.followup.send(embed=embed, ephemeral=True)

    @group.command(name="status", description="Show the catalog, model and queue")
    @app_commands.checks.dynamic_cooldown(cooldown_from_setting("admin_cooldown_s"))
    @app_commands.check(require_admin)
    async def status(self, interaction: discord.Interaction[MusicrecBot]) -> None:
        # Acknowledged first: the YouTube rows read files shared with other processes.
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = self.bot
        service = bot.service
        recommender = service.recommender
        stats = service.stats()
        embedder = recommender.embedder
        index_rows = index_summary(recommender.index)
        shards = shard_summaries(bot)
        rows = {
            **{f"Index {key.lower()}": value for key, value in index_rows.items()},
            "Catalog id": service.fingerprint,
            "Model": f"{embedder.name} {embedder.version}",
            "Queue": f"{stats.admitted}/{stats.capacity} admitted, {stats.waiting} waiting",
            "Batches": (
                f"{stats.batches} ({stats.clips} clips, largest {stats.largest_batch}, "
                f"{stats.mean_batch_s * 1000:.0f} ms avg)"
            ),
            "Loop lag peak": f"{bot.lag.take_peak_ms():.1f} ms since last status",
            "Uptime": format_uptime(time.monotonic() - bot.started_monotonic),
            "Last reload": format_last_reload(bot.last_reload, time.time()),
            "Link replies": "on" if bot.settings.link_replies else "off",
            **await service.youtube_status(),
            "Process": f"{bot.shard_label}, {sum(s.guilds for s in shards):,} servers",
            "Shards": format_shards(shards),
        }
        embed = _embed("musicrec status", rows, colour=EMBED_COLOUR)
        await interaction.followup.send(embed=embed, ephemeral=True)


async def setup(bot: MusicrecBot) -> None:
    await bot.add_cog(AdminCog(bot))
