"""The autocomplete callback of every option that takes steering words: /recommend's,
/mix's and /path's ``more:`` and ``less:``, /discover's ``words:``."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.app import MusicrecBot
from musicrec_core.errors import MusicrecError


async def complete_words(
    interaction: discord.Interaction[MusicrecBot], current: str
) -> list[app_commands.Choice[str]]:
    """Choices for the words typed so far, from the served catalog's vocabulary
    (:func:`bot.steering_options.word_choices`); none while musicrec is still starting (an
    autocomplete has no way to say why)."""
    try:
        service = interaction.client.service
    except MusicrecError:
        return []
    return await service.words.choices(current)
