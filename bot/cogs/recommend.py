"""/recommend: music that sounds like an attachment or a YouTube link, steered by ``more:``
and ``less:`` words (autocompleted from the served catalog's vocabulary).

Its cooldown is the member's one shared by every entry point
(:mod:`musicrec_core.service.admission`, applied by the request service), not a per-command
one.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MusicrecBot
from bot.request import request_from_options
from bot.steering_options import MAX_OPTION_CHARS, steering_words
from bot.word_autocomplete import complete_words
from musicrec_core.service.request import DEFAULT_COUNT, MAX_COUNT


class RecommendCog(commands.Cog):
    """The /recommend command."""

    def __init__(self, bot: MusicrecBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="recommend", description="Find music that sounds like an audio file or a YouTube link"
    )
    @app_commands.describe(
        file="An audio or video file to listen to",
        link="A YouTube video link to listen to",
        start="Where to start listening, e.g. 1:30 or 90 (default: a lively part)",
        count="How many recommendations (1-10)",
        more="Words the results must carry, separated by commas, e.g. jazz, piano",
        less="Words the results must not carry, separated by commas, e.g. vocals",
    )
    @app_commands.autocomplete(more=complete_words, less=complete_words)
    async def recommend(
        self,
        interaction: discord.Interaction[MusicrecBot],
        file: discord.Attachment | None = None,
        link: str | None = None,
        start: str | None = None,
        count: app_commands.Range[int, 1, MAX_COUNT] = DEFAULT_COUNT,
        more: app_commands.Range[str, 1, MAX_OPTION_CHARS] | None = None,
        less: app_commands.Range[str, 1, MAX_OPTION_CHARS] | None = None,
    ) -> None:
        request = request_from_options(
            file, link, start, max_bytes=self.bot.settings.max_attachment_bytes
        )
        words = steering_words(more, less)
        await self.bot.service.answer(interaction, request, count=count, words=words)


async def setup(bot: MusicrecBot) -> None:
    await bot.add_cog(RecommendCog(bot))
