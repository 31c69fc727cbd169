"""What a /mix or /path reply looks like: one page of the session, its page buttons, its
playlist links, and its export.

Like :mod:`bot.views`, this module only builds, within Discord's limits. A page shows
:data:`PAGE_SIZE` items, each with where to play it and the cosines that show the flow (a
mix: to the track before and to the seeds; a path: to A and to B). Its buttons carry the
session's id in the store (:mod:`bot.session_store`): ``musicrec:session:<id>:<page>``
turns the page, ``musicrec:session:<id>:export`` sends the export privately. Every outside
text (titles, channels, file names, the member's links) goes through
:func:`bot.untrusted_text.inert`; the only links are the bot's own (YouTube watch and
playlist links built from validated video ids).

The export: for a library, an M3U8 playlist with titles and durations and each file's name
only (:func:`musicrec_core.sessions.m3u.m3u_text` with ``names_only``: no server path leaves
the machine; titles from tags lose every control character); for YouTube, the watch links
one per line and the no-account playlist links
(:mod:`musicrec_core.sessions.youtube_playlist`).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from typing import Any, Protocol

import discord

from bot.errors import report_error
from bot.limits import MAX_FIELD_VALUE_CHARS, fit_embed, truncate
from bot.mix_from import sessions_cog
from bot.session_store import StoredSession
from bot.untrusted_text import Surface, inert, link_target, masked_link
from bot.views import EMBED_COLOUR, MAX_CHANNEL_CHARS, MAX_SOURCE_CHARS
from musicrec_core.catalog.index import ItemMeta
from musicrec_core.recommendation import source_name
from musicrec_core.recommender import youtube_url
from musicrec_core.sessions import MixItem
from musicrec_core.sessions.m3u import file_duration, m3u_text, plain_line
from musicrec_core.sessions.youtube_playlist import ID_SEPARATOR, playlist_urls
from musicrec_core.timecode import format_clock

PAGE_SIZE = 10
"""Items per page (a 50-item session has 5 pages)."""
SESSION_PREFIX = "musicrec:session"
EXPORT_ACTION = "export"
IDS_PER_PLAYLIST_BUTTON = 25
"""Video ids per playlist link: 25 ids make a 394-character URL, under the 512 the bot's
links may hold (:func:`bot.untrusted_text.link_target`; 50 ids would take 794)."""
MAX_NOTES_CHARS = 2500
"""Characters (escapes included) of the notes above the items."""
HEADINGS = {"mix": "Mix", "path": "Path"}


def page_count(stored: StoredSession) -> int:
    """Pages of ``stored`` (at least one, even when it holds nothing)."""
    return max(1, math.ceil(len(stored.session.items) / PAGE_SIZE))


def _shown_name(stored: StoredSession, meta: ItemMeta) -> str:
    """An item's title: its video's looked-up title, else the catalog's, else a file name."""
    answer = stored.answers.get(meta.group)
    if answer is not None and answer.title:
        return answer.title
    return meta.title or (source_name(meta.source) if meta.source else meta.group)


def _item_value(stored: StoredSession, item: Any) -> str:
    """Where to play the item, its channel, and its cosines."""
    meta: ItemMeta = item.meta
    window = f"{format_clock(meta.start_s)}–{format_clock(meta.end_s)}"
    link = None
    if meta.kind == "youtube":
        link = masked_link(f"Play from {format_clock(meta.start_s)}", _watch_url(meta))
    if link is not None:
        where = f"{link} ({window})"
    elif meta.source:
        name = inert(source_name(meta.source), Surface.FIELD_VALUE, limit=MAX_SOURCE_CHARS)
        where = f"{name} ({window})"
    else:
        where = window
    if isinstance(item, MixItem):
        figures = (
            f"{item.to_previous * 100:.0f}% like the one before · "
            f"{item.to_seeds * 100:.0f}% like the seeds"
        )
    else:
        figures = f"{item.to_a * 100:.0f}% like A · {item.to_b * 100:.0f}% like B"
    lines = [where, figures]
    answer = stored.answers.get(meta.group)
    if answer is not None and answer.channel:
        lines.insert(0, "by " + inert(answer.channel, Surface.FIELD_VALUE, limit=MAX_CHANNEL_CHARS))
    return truncate("\n".join(lines), MAX_FIELD_VALUE_CHARS)


def _watch_url(meta: ItemMeta) -> str:
    return youtube_url(meta.group, meta.start_s)


def _video_ids(items: Any) -> list[str]:
    return [item.meta.group for item in items if item.meta.kind == "youtube"]


def session_page(
    stored: StoredSession, session_id: str, page: int
) -> tuple[discord.Embed, discord.ui.View]:
    """The embed and buttons of page ``page`` (clamped to the pages there are)."""
    pages = page_count(stored)
    page = min(max(page, 1), pages)
    items = stored.session.items
    first = (page - 1) * PAGE_SIZE
    shown = items[first : first + PAGE_SIZE]
    notes = "\n".join(stored.notes)
    unit = "tracks" if stored.kind == "mix" else "steps"
    lines = [truncate(notes, MAX_NOTES_CHARS)] if notes else []
    lines.append(f"{len(items)} {unit} · page {page} of {pages}")
    embed = discord.Embed(
        title=HEADINGS.get(stored.kind, "Session"),
        description="\n".join(lines),
        colour=EMBED_COLOUR,
    )
    for rank, item in enumerate(shown, first + 1):
        prefix = f"#{rank} "
        limit = Surface.FIELD_NAME.limit - len(prefix)
        name = inert(_shown_name(stored, item.meta), Surface.FIELD_NAME, limit=limit) or "?"
        embed.add_field(name=prefix + name, value=_item_value(stored, item), inline=False)
    embed.set_footer(text=f"musicrec · catalog {stored.catalog} · session {session_id}")
    return fit_embed(embed), _page_view(stored, session_id, page, pages, shown)


def _page_view(
    stored: StoredSession, session_id: str, page: int, pages: int, shown: Any
) -> discord.ui.View:
    """Row 0: previous, next, export; row 1: this page and the whole session as playlists."""
    view = discord.ui.View(timeout=None)
    for label, target, disabled in (
        ("◀ Previous", page - 1, page <= 1),
        ("Next ▶", page + 1, page >= pages),
    ):
        button = SessionButton(session_id, str(target), label=label)
        button.item.disabled = disabled
        view.add_item(button)
    view.add_item(SessionButton(session_id, EXPORT_ACTION, label="Export"))
    page_ids = _video_ids(shown)
    links: list[tuple[str, str]] = []
    if page_ids:
        links.append((f"Play page {page} on YouTube", playlist_urls(page_ids)[0]))
    whole = playlist_urls(_video_ids(stored.session.items), IDS_PER_PLAYLIST_BUTTON)
    for part, url in enumerate(whole):
        start = part * IDS_PER_PLAYLIST_BUTTON + 1
        end = start + url.count(ID_SEPARATOR)
        label = "Play all on YouTube" if len(whole) == 1 else f"Play {start}–{end} on YouTube"
        links.append((label, url))
    for label, url in links:
        target = link_target(url)
        if target is not None:
            view.add_item(discord.ui.Button(label=label, url=target, row=1))
    return view


def export_file(
    stored: StoredSession, session_id: str, duration: Callable[[str], float | None] = file_duration
) -> tuple[str, discord.File]:
    """The export of ``stored``: a message and its file (blocking: a library's durations
    are probed with ffprobe).

    A session holding library files gives ``<kind>-<id>.m3u8``; a YouTube one
    ``<kind>-<id>.txt`` with one watch link per line, and the message gives the playlist
    links.
    """
    items = stored.session.items
    metas = [item.meta for item in items]
    if any(meta.kind != "youtube" for meta in metas):
        text, left_out = m3u_text(metas, duration, names_only=True)
        message = (
            "The session as an M3U8 playlist: each file's name only, so open it in a player "
            "where the same files lie."
        )
        if left_out:
            one = left_out == 1
            message += (
                f" {left_out} item{' was' if one else 's were'} left out: "
                f"{'its file name' if one else 'their file names'} cannot be written on one line."
            )
        name = f"{stored.kind}-{session_id}.m3u8"
    else:
        rows = [f"{_watch_url(meta)} {plain_line(_shown_name(stored, meta))}" for meta in metas]
        text = "".join(f"{row.rstrip()}\n" for row in rows)
        playlists = playlist_urls(_video_ids(items), IDS_PER_PLAYLIST_BUTTON)
        message = "The session's links, one per line (a link, then its title)."
        for part, url in enumerate(playlists, 1):
            label = "Play all as one YouTube playlist"
            if len(playlists) > 1:
                label = f"Play part {part} as one YouTube playlist"
            link = masked_link(label, url)
            message += f"\n{link}" if link else ""
        message += "\nThe playlist links need no YouTube account."
        name = f"{stored.kind}-{session_id}.txt"
    return message, discord.File(io.BytesIO(text.encode("utf-8")), filename=name)


class SessionHandler(Protocol):
    """What a session button needs from the bot (the sessions cog)."""

    async def press(
        self, interaction: discord.Interaction[Any], session_id: str, action: str
    ) -> None: ...


class SessionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.compile(
        SESSION_PREFIX + rf":(?P<session>[0-9a-f]{{8}}):(?P<action>[0-9]{{1,2}}|{EXPORT_ACTION})"
    ),
):
    """A page or export button of a session reply; the store says whether its session is
    still kept, and the member's and catalog's checks are made there."""

    def __init__(self, session_id: str, action: str, *, label: str = "-") -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"{SESSION_PREFIX}:{session_id}:{action}",
                row=0,
            )
        )
        self.session_id = session_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Button[discord.ui.View],
        match: re.Match[str],
        /,
    ) -> SessionButton:
        return cls(match["session"], match["action"], label=item.label or "-")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to the sessions cog (errors become private messages)."""
        try:
            handler: SessionHandler = sessions_cog(interaction)
            await handler.press(interaction, self.session_id, self.action)
        except Exception as exc:
            await report_error(interaction, exc)
