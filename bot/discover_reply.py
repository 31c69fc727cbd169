"""What a /discover reply looks like: the words as resolved, how many items carry them, the
page, one field per item and a "More like #n" button per item that keeps the words.

Like :mod:`bot.views`, this module only builds, within Discord's limits: every outside
text (the member's words, titles, file names, labels) goes through
:func:`bot.untrusted_text.inert`, the only links are the bot's own.
"""

from __future__ import annotations

import discord

from bot.limits import MAX_FIELD_VALUE_CHARS, fit_embed, truncate
from bot.untrusted_text import Surface, inert, masked_link
from bot.views import (
    EMBED_COLOUR,
    MAX_LABELS_SHOWN,
    MAX_SOURCE_CHARS,
    MAX_TAG_CHARS,
    MoreLikeButton,
    source_name,
)
from musicrec_core.service.request import MAX_COUNT
from musicrec_core.steering.discovery import Discovered, Discovery
from musicrec_core.timecode import format_clock

DISCOVER_HEADING = "Discovered by words"
MAX_WORDS_LINE_CHARS = 1500
"""Characters (escapes included) of the words as resolved."""
BUTTONS_PER_ROW = 5


def _words_line(found: Discovery) -> str:
    """``Words: jazz (= Jazz), no vocals (= not Singing, Speech)``, made inert."""
    parts = []
    for resolution in found.resolutions:
        negation = "not " if resolution.negated else ""
        parts.append(f"{resolution.word} (= {negation}{', '.join(resolution.names)})")
    return "Words: " + inert(
        ", ".join(parts), Surface.EMBED_DESCRIPTION, limit=MAX_WORDS_LINE_CHARS
    )


def _item_name(item: Discovered, surface: Surface) -> str:
    """A result's shown name: its title, else a file's name, else its group (video id)."""
    meta = item.meta
    name = meta.title or (source_name(meta.source) if meta.source else meta.group)
    return inert(name, surface, limit=min(surface.limit, MAX_SOURCE_CHARS)) or "?"


def _item_value(item: Discovered) -> str:
    """Where to play it (a link for a video, the window otherwise) and its labels."""
    meta = item.meta
    window = f"{format_clock(meta.start_s)}–{format_clock(meta.end_s)}"
    link = masked_link(f"Play from {format_clock(meta.start_s)}", item.url)
    lines = [f"{link} ({window})" if link else window]
    labels = [inert(label, Surface.FIELD_VALUE, limit=MAX_TAG_CHARS) for label in meta.labels]
    shown = [label for label in labels[:MAX_LABELS_SHOWN] if label]
    if shown:
        lines.append(", ".join(shown))
    return truncate("\n".join(lines), MAX_FIELD_VALUE_CHARS)


def discover_reply(
    found: Discovery, *, fingerprint: str, page: int, words: str
) -> tuple[discord.Embed, discord.ui.View]:
    """The embed and buttons for a discovery page.

    Args:
        found: the page.
        fingerprint: the catalog's fingerprint (footer, and the buttons' custom_id).
        page: the page number the member may ask for again (the shuffle's seed).
        words: the words' :mod:`bot.button_words` code, carried by the buttons.
    """
    one = found.qualified == 1
    unit = found.unit if one else f"{found.unit}s"
    lines = [
        _words_line(found),
        f"{found.qualified} {unit} {'carries' if one else 'carry'} all the words; showing "
        f"{len(found.items)} in a shuffled order (page {page}: ask with that page to see "
        "them again, with another for others).",
    ]
    embed = discord.Embed(title=DISCOVER_HEADING, description="\n".join(lines), colour=EMBED_COLOUR)
    for rank, item in enumerate(found.items, 1):
        name = f"#{rank} " + _item_name(item, Surface.FIELD_NAME)
        embed.add_field(name=name, value=_item_value(item), inline=False)
    embed.set_footer(text=f"musicrec · catalog {fingerprint}")
    view = discord.ui.View(timeout=None)
    count = len(found.items)
    for rank, item in enumerate(found.items, 1):
        button = MoreLikeButton(
            catalog=fingerprint,
            item_id=item.item_id,
            count=min(count, MAX_COUNT),
            rank=rank,
            words=words,
        )
        button.row = (rank - 1) // BUTTONS_PER_ROW
        view.add_item(button)
    return fit_embed(embed), view
