"""/discover: music found by words alone ("calm, piano"), no clip needed.

The words are resolved in the served catalog's vocabulary before anything else (refusals
are private and free: no cooldown), then the core's discovery
(:func:`musicrec_core.steering.discovery.discover`) lists items carrying all of them, one
per video or track, in an order shuffled by the page number: the same page again gives the
same items, another page others. Without ``page`` a page is picked at random. It holds a
ticket and the member's slot like every request (:meth:`bot.service.RequestService.admitted`),
and reads the served index held as a query holds it, so a reload cannot close it meanwhile.
"""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MusicrecBot
from bot.button_words import codec_for
from bot.discover_reply import discover_reply
from bot.steering_options import MAX_OPTION_CHARS, SteeringWords, parse_words
from bot.word_autocomplete import complete_words
from musicrec_core.service.request import DEFAULT_COUNT, MAX_COUNT, RequestError
from musicrec_core.steering.discovery import Discovery, discover

MAX_PAGE_NUMBER = 1000
"""Highest page number (the shuffle's seed) a member may ask for."""


class DiscoverCog(commands.Cog):
    """The /discover command."""

    def __init__(self, bot: MusicrecBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="discover", description="Find music by words alone, e.g. calm, piano (no clip)"
    )
    @app_commands.describe(
        words="Words every result must carry, separated by commas, e.g. calm, piano",
        count="How many results (1-10)",
        page="Which shuffled page (the same number, the same results; default: any)",
    )
    @app_commands.autocomplete(words=complete_words)
    async def discover(
        self,
        interaction: discord.Interaction[MusicrecBot],
        words: app_commands.Range[str, 1, MAX_OPTION_CHARS],
        count: app_commands.Range[int, 1, MAX_COUNT] = DEFAULT_COUNT,
        page: app_commands.Range[int, 1, MAX_PAGE_NUMBER] | None = None,
    ) -> None:
        asked = parse_words(words)
        if not asked:
            raise RequestError("Give at least one word, e.g. calm, piano.")
        service = self.bot.service
        steering = await service.words.steering(SteeringWords(more=asked))
        page = page or interaction.id % MAX_PAGE_NUMBER + 1

        def discover_held() -> tuple[Discovery, str]:
            with service.recommender.held_index() as index:
                return discover(index, steering.vocabulary, list(asked), count, page), (
                    index.fingerprint
                )

        async with service.admitted(interaction):
            found, fingerprint = await asyncio.to_thread(discover_held)
        code = codec_for(steering.vocabulary).encode(steering)
        embed, view = discover_reply(found, fingerprint=fingerprint, page=page, words=code)
        await interaction.followup.send(embed=embed, view=view)


async def setup(bot: MusicrecBot) -> None:
    await bot.add_cog(DiscoverCog(bot))
