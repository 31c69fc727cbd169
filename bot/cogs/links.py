"""YouTube links in chat, and the "Find similar music" message context menu.

Links in chat need the privileged Message Content intent (``MUSICREC_LINK_REPLIES=true``
plus the portal switch). The context menu works without it: Discord sends the target
message's content with the interaction.

Both go through the request service, so the member's cooldown and in-flight limit are the
ones /recommend and the buttons share. Pasted links also have a per-channel cooldown
(``MUSICREC_LINK_COOLDOWN_S``): a busy channel gets at most one link reply per period.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MusicrecBot
from bot.logging_setup import get_logger
from bot.request import request_from_message
from musicrec_core.service.request import DEFAULT_COUNT, AudioRequest
from musicrec_core.sources.youtube import find_youtube_link

log = get_logger(__name__)

CONTEXT_MENU_NAME = "Find similar music"


class LinksCog(commands.Cog):
    """Answers pasted YouTube links and the message context menu."""

    def __init__(self, bot: MusicrecBot) -> None:
        self.bot = bot
        settings = bot.settings
        self._channel_cooldown = commands.CooldownMapping.from_cooldown(
            1, settings.link_cooldown_s, commands.BucketType.channel
        )
        self._menu = app_commands.ContextMenu(name=CONTEXT_MENU_NAME, callback=self.find_similar)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self._menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self._menu.name, type=self._menu.type)

    async def find_similar(
        self, interaction: discord.Interaction[MusicrecBot], message: discord.Message
    ) -> None:
        """Context menu: recommend from the message's audio attachment or YouTube link."""
        request = request_from_message(message, max_bytes=self.bot.settings.max_attachment_bytes)
        await self.bot.service.answer(interaction, request, count=DEFAULT_COUNT)

    def replies_allowed(self, message: discord.Message) -> bool:
        """Whether a link in ``message`` may be answered here (settings + who wrote it)."""
        settings = self.bot.settings
        if not settings.link_replies or message.guild is None:
            return False
        if message.author.bot or message.author == self.bot.user:
            return False
        if settings.link_reply_guilds and message.guild.id not in settings.link_reply_guilds:
            return False
        channel_ids = {message.channel.id}
        parent_id = getattr(message.channel, "parent_id", None)
        if parent_id is not None:
            channel_ids.add(parent_id)  # a thread inherits its parent channel's allowance
        return not settings.link_reply_channels or bool(channel_ids & settings.link_reply_channels)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if not self.replies_allowed(message):
            return
        link = find_youtube_link(message.content or "")
        if link is None:
            return
        if self.bot.settings.link_cooldown_s > 0:
            bucket = self._channel_cooldown.get_bucket(message)
            if bucket is not None and bucket.update_rate_limit():
                log.debug("link in channel %s ignored: channel cooldown", message.channel.id)
                return
        await self.bot.service.answer_in_chat(message, AudioRequest(link=link))


async def setup(bot: MusicrecBot) -> None:
    await bot.add_cog(LinksCog(bot))
