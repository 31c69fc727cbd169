"""/mix and /path: listening sessions in Discord, on the core's walks
(:mod:`musicrec_core.sessions`, the functions ``musicrec mix`` and ``musicrec path`` use).

Mental model: the options are checked first (:func:`bot.session_seeds.seed_requests`): a
bad link or an oversized file is named with its reason, and when none is left the member
is told privately before anything is admitted (no cooldown). Steering words (``more:`` and
``less:`` of /mix and /path) are resolved as /recommend resolves them, also before
admission. Then the command is ONE admission
(:meth:`bot.service.RequestService.admitted`: a ticket, one of the member's slots, the
cooldown, "thinking…", the deadline), inside which every seed is heard at once (a YouTube
seed not in the clip cache takes one fetch of the member's share) and the walk runs in a
thread on the served index, held as a query holds it, never playing a seed or what sounds
exactly like one (:func:`musicrec_core.sessions.seed_groups.never_played`). Gone videos are
left out and the walk goes on in their place
(:func:`musicrec_core.sessions.playable.looked_up_session` with the title lookup), so a mix
of 15 shows 15 that play. The session is kept in a
bounded store (:mod:`bot.session_store`) and its first page sent; its buttons turn pages
(only for the member who asked, only while the same catalog is served) and export it
privately (:mod:`bot.session_reply`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MusicrecBot
from bot.errors import public_text
from bot.mix_from import SESSIONS_COG, MixFromButton
from bot.service import interaction_requester
from bot.session_reply import EXPORT_ACTION, SessionButton, export_file, session_page
from bot.session_seeds import seed_requests
from bot.session_store import SessionStore, StoredSession
from bot.steering_options import MAX_OPTION_CHARS, steering_words
from bot.untrusted_text import Surface, inert
from bot.word_autocomplete import complete_words
from musicrec_core.errors import SessionError
from musicrec_core.service.request import RequestError
from musicrec_core.service.sessions import (
    FailedSeed,
    HeardSeed,
    SeedRequest,
    WalkedSession,
    catalog_seed,
    hear_seeds,
    nothing_left,
    walk_mix,
    walk_path,
)
from musicrec_core.sessions import MAX_SESSION, Session
from musicrec_core.steering import LabelSteering

DEFAULT_MIX_LENGTH = 15
DEFAULT_PATH_STEPS = 10
MAX_SEED_NAME_CHARS = 120
MORE_HELP = "Words the tracks must carry, separated by commas, e.g. jazz, piano"
LESS_HELP = "Words the tracks must not carry, separated by commas, e.g. vocals"
"""Characters (escapes included) of one seed's name in the notes."""


class SessionsCog(commands.Cog, name=SESSIONS_COG):
    """The /mix and /path commands and their session buttons."""

    def __init__(self, bot: MusicrecBot, store: SessionStore | None = None) -> None:
        self.bot = bot
        self.store = store if store is not None else SessionStore()

    @app_commands.command(name="mix", description="A session of tracks that flow from 1-5 songs")
    @app_commands.describe(
        file="An audio or video file to start from",
        file2="Another file",
        file3="Another file",
        link="A YouTube video link to start from",
        link2="Another YouTube link",
        count=f"How many tracks (1-{MAX_SESSION}, default {DEFAULT_MIX_LENGTH})",
        more=MORE_HELP,
        less=LESS_HELP,
    )
    @app_commands.autocomplete(more=complete_words, less=complete_words)
    async def mix_command(
        self,
        interaction: discord.Interaction[MusicrecBot],
        file: discord.Attachment | None = None,
        file2: discord.Attachment | None = None,
        file3: discord.Attachment | None = None,
        link: str | None = None,
        link2: str | None = None,
        count: app_commands.Range[int, 1, MAX_SESSION] = DEFAULT_MIX_LENGTH,
        more: app_commands.Range[str, 1, MAX_OPTION_CHARS] | None = None,
        less: app_commands.Range[str, 1, MAX_OPTION_CHARS] | None = None,
    ) -> None:
        if not 1 <= count <= MAX_SESSION:  # a client may send any number
            raise SessionError(f"A mix holds 1 to {MAX_SESSION} tracks, not {count}.")
        max_bytes = self.bot.settings.max_attachment_bytes
        requests, failed = seed_requests([file, file2, file3], [link, link2], max_bytes=max_bytes)
        if not requests:
            raise RequestError(nothing_left(failed, "Give 1 to 5 seeds: files or YouTube links."))
        service = self.bot.service
        words = steering_words(more, less)
        steering = await service.words.steering(words) if words else None
        requester = interaction_requester(interaction)
        async with service.admitted(interaction):
            heard, failed = await hear_seeds(service.core, requester, requests, failed)
            walked = await walk_mix(service.core, heard, count, steering)
        stored = self._kept(interaction, "mix", walked, heard, failed, steering)
        await self._send_first_page(interaction, stored)

    @app_commands.command(
        name="path", description="Tracks that move from one song's sound to another's"
    )
    @app_commands.rename(
        start_link="from", end_link="to", start_file="from_file", end_file="to_file"
    )
    @app_commands.describe(
        start_link="A YouTube link to start from (or attach from_file)",
        end_link="A YouTube link to end at (or attach to_file)",
        start_file="A file to start from",
        end_file="A file to end at",
        steps=f"How many tracks between them (1-{MAX_SESSION}, default {DEFAULT_PATH_STEPS})",
        more=MORE_HELP,
        less=LESS_HELP,
    )
    @app_commands.autocomplete(more=complete_words, less=complete_words)
    async def path_command(
        self,
        interaction: discord.Interaction[MusicrecBot],
        start_link: str | None = None,
        end_link: str | None = None,
        start_file: discord.Attachment | None = None,
        end_file: discord.Attachment | None = None,
        steps: app_commands.Range[int, 1, MAX_SESSION] = DEFAULT_PATH_STEPS,
        more: app_commands.Range[str, 1, MAX_OPTION_CHARS] | None = None,
        less: app_commands.Range[str, 1, MAX_OPTION_CHARS] | None = None,
    ) -> None:
        if not 1 <= steps <= MAX_SESSION:
            raise SessionError(f"A path takes 1 to {MAX_SESSION} steps, not {steps}.")
        max_bytes = self.bot.settings.max_attachment_bytes
        ends: list[SeedRequest] = []
        for name, file, link in (("from", start_file, start_link), ("to", end_file, end_link)):
            given = [option for option in (file, link) if option]
            if len(given) != 1:
                raise RequestError(
                    f"Give `{name}` as one YouTube link or one file, not {len(given)}."
                )
            requests, failed = seed_requests([file], [link], max_bytes=max_bytes)
            if failed:
                raise RequestError(nothing_left(failed, f"`{name}` cannot be used."))
            ends += requests
        service = self.bot.service
        words = steering_words(more, less)
        steering = await service.words.steering(words) if words else None
        async with service.admitted(interaction):
            heard, failed = await hear_seeds(service.core, interaction_requester(interaction), ends)
            if failed:
                raise SessionError(nothing_left(failed, "A path needs both of its ends."))
            walked = await walk_path(service.core, *heard, steps, steering)
        stored = self._kept(interaction, "path", walked, heard, [], steering)
        await self._send_first_page(interaction, stored)

    async def mix_from(
        self, interaction: discord.Interaction[Any], catalog: str, item_id: int, words: str
    ) -> None:
        """A "Mix from #n" click: a mix of DEFAULT_MIX_LENGTH from catalog item ``item_id``
        (its stored vector), steered by the reply's ``words`` (a :mod:`bot.button_words`
        code; "" = unsteered).

        Raises:
            CatalogError: the catalog was rebuilt since the reply.
            UnknownItemError: the catalog holds no such item (a forged button).
        """
        service = self.bot.service
        steering = await service.words.from_button(catalog, words)
        async with service.admitted(interaction):
            seed = await asyncio.to_thread(catalog_seed, service.recommender, item_id)
            walked = await walk_mix(service.core, [seed], DEFAULT_MIX_LENGTH, steering)
        stored = self._kept(interaction, "mix", walked, [seed], [], steering)
        await self._send_first_page(interaction, stored)

    # The session ------------------------------------------------------------------------

    def _kept(
        self,
        interaction: discord.Interaction[Any],
        kind: str,
        walked: WalkedSession,
        heard: Sequence[HeardSeed],
        failed: Sequence[FailedSeed],
        steering: LabelSteering | None,
    ) -> tuple[str, StoredSession]:
        """The ``walked`` session of ``kind`` ("mix" or "path"), kept in the store with the
        lines above its items, and its id."""
        notes = _notes(kind, heard, failed, walked.session, steering)
        stored = StoredSession(
            interaction.user.id, walked.catalog, kind, walked.session, notes, walked.answers
        )
        return self.store.add(stored), stored

    async def _send_first_page(
        self, interaction: discord.Interaction[Any], kept: tuple[str, StoredSession]
    ) -> None:
        session_id, stored = kept
        embed, view = session_page(stored, session_id, 1)
        await interaction.followup.send(embed=embed, view=view)

    async def press(
        self, interaction: discord.Interaction[Any], session_id: str, action: str
    ) -> None:
        """A session button: turn to page ``action`` (the message is edited), or send the
        export privately. Raises SessionGoneError with a sentence for the member."""
        stored = self.store.get(
            session_id, member=interaction.user.id, catalog=self.bot.service.fingerprint
        )
        if action == EXPORT_ACTION:
            await interaction.response.defer(ephemeral=True, thinking=True)
            message, file = await asyncio.to_thread(export_file, stored, session_id)
            await interaction.followup.send(message, file=file, ephemeral=True)
            return
        embed, view = session_page(stored, session_id, int(action))
        await interaction.response.edit_message(embed=embed, view=view)


def _seed_name(name: str) -> str:
    return inert(name, Surface.EMBED_DESCRIPTION, limit=MAX_SEED_NAME_CHARS) or "?"


def _failed_lines(failed: Sequence[FailedSeed]) -> list[str]:
    """One line per failed seed for an embed (made inert, no server path)."""
    return [f"Skipped {_seed_name(seed.name)}: {public_text(seed.reason)}" for seed in failed]


def _notes(
    kind: str,
    heard: Sequence[HeardSeed],
    failed: Sequence[FailedSeed],
    session: Session,
    steering: LabelSteering | None,
) -> tuple[str, ...]:
    """The lines above a session's items: its seeds or ends, the seeds skipped, the steering
    and why it is short (all outside text made inert)."""
    names = [f"**{_seed_name(seed.name)}**" for seed in heard]
    lines = ["From " + (", " if kind == "mix" else " to ").join(names)]
    lines += _failed_lines(failed)
    if steering is not None:
        words = inert(steering.describe(), Surface.EMBED_DESCRIPTION, limit=500)
        lines.append(f"Steering: {words}")
    if session.shortfall:
        lines.append(inert(session.shortfall, Surface.EMBED_DESCRIPTION))
    return tuple(lines)


async def setup(bot: MusicrecBot) -> None:
    await bot.add_cog(SessionsCog(bot))
    bot.add_dynamic_items(SessionButton, MixFromButton)
