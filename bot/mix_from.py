"""The "Mix from #n" buttons of a recommendation reply: a /mix seeded by that result.

Like "More like #n" (:class:`bot.views.MoreLikeButton`), the button is persistent and its
``custom_id`` carries all a click needs: ``musicrec:mixfrom:<catalog>:<item id>`` and, on a
steered reply, ``:<words>`` (:mod:`bot.button_words`), at most 83 characters. The click
walks from the catalog item's stored vector (no download, no embedding), one admission
like every request, and answers with a session of its own
(:meth:`bot.cogs.sessions.SessionsCog.mix_from`); a catalog rebuilt since the reply is
refused, as for "More like".
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import discord

from bot.button_words import CODE_PATTERN
from bot.errors import report_error
from bot.limits import fit_label
from musicrec_core.errors import MusicrecError

MIX_FROM_PREFIX = "musicrec:mixfrom"
SESSIONS_COG = "SessionsCog"
"""The name of the cog that answers session buttons (:mod:`bot.cogs.sessions`)."""


class MixFromHandler(Protocol):
    """What a "Mix from" button needs from the bot (the sessions cog)."""

    async def mix_from(
        self, interaction: discord.Interaction[Any], catalog: str, item_id: int, words: str
    ) -> None: ...


def sessions_cog(interaction: discord.Interaction[Any]) -> Any:
    """The cog answering session buttons.

    Raises:
        MusicrecError: this bot runs no sessions cog (its extension is not loaded).
    """
    cog = interaction.client.get_cog(SESSIONS_COG)
    if cog is None:
        raise MusicrecError("Sessions are not served by this bot right now.")
    return cog


class MixFromButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.compile(
        MIX_FROM_PREFIX + r":(?P<catalog>[0-9a-f]{8}):(?P<item>[0-9]{1,12})"
        rf"(?::(?P<words>{CODE_PATTERN}))?"
    ),
):
    """A persistent "Mix from #n" button: a mix seeded by catalog item ``item_id``."""

    def __init__(self, *, catalog: str, item_id: int, rank: int = 0, words: str = "") -> None:
        custom_id = f"{MIX_FROM_PREFIX}:{catalog}:{item_id}"
        super().__init__(
            discord.ui.Button(
                label=fit_label(f"Mix from #{rank}") if rank else "Mix from this",
                style=discord.ButtonStyle.secondary,
                custom_id=f"{custom_id}:{words}" if words else custom_id,
            )
        )
        self.catalog = catalog
        self.item_id = item_id
        self.words = words

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Button[discord.ui.View],
        match: re.Match[str],
        /,
    ) -> MixFromButton:
        button = cls(
            catalog=match["catalog"], item_id=int(match["item"]), words=match["words"] or ""
        )
        button.item.label = item.label
        return button

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the click to the sessions cog (errors become private messages)."""
        try:
            handler: MixFromHandler = sessions_cog(interaction)
            await handler.mix_from(interaction, self.catalog, self.item_id, self.words)
        except Exception as exc:
            await report_error(interaction, exc)
