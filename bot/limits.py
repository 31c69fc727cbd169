"""Discord's size limits, enforced in one place.

Every reply the bot sends passes through :func:`fit_content`, :func:`fit_embed` and
:func:`fit_label` (link targets through :func:`bot.untrusted_text.link_target`), so no reply
can be refused by Discord for size (HTTP 400 "Invalid Form Body"). Numbers are Discord's (API v10).
"""

from __future__ import annotations

import discord

MAX_CONTENT_CHARS = 2000
MAX_EMBED_TITLE_CHARS = 256
MAX_EMBED_DESCRIPTION_CHARS = 4096
MAX_EMBED_FIELDS = 25
MAX_FIELD_NAME_CHARS = 256
MAX_FIELD_VALUE_CHARS = 1024
MAX_FOOTER_CHARS = 2048
MAX_AUTHOR_NAME_CHARS = 256
MAX_EMBED_TOTAL_CHARS = 6000
"""All embeds of one message together (title, description, field names and values,
footer text, author name)."""
MAX_ACTION_ROWS = 5
MAX_BUTTONS_PER_ROW = 5
MAX_BUTTON_LABEL_CHARS = 80
MAX_SELECT_OPTION_CHARS = 100
"""A select menu option's label, and its description."""
MAX_URL_CHARS = 512
"""Longest URL a link button may carry."""

ELLIPSIS = "…"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when cut.

    A cut never keeps half of a markdown escape: a backslash left alone at the end would
    escape the ellipsis, so it goes too (text already escaped by :mod:`bot.untrusted_text`
    stays escaped after any cut)."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    kept = text[: limit - 1].rstrip()
    if (len(kept) - len(kept.rstrip("\\"))) % 2:
        kept = kept[:-1]
    return kept + ELLIPSIS


def fit_content(text: str) -> str:
    """Message content cut to Discord's 2000 characters."""
    return truncate(text, MAX_CONTENT_CHARS)


def fit_label(text: str) -> str:
    """A button label cut to 80 characters (never empty: Discord refuses that)."""
    return truncate(text, MAX_BUTTON_LABEL_CHARS) or "-"


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Cut ``embed`` in place to every per-part limit and the 6000-character total; returns it.

    Parts are cut to their own limits first; fields beyond 25 are dropped. If the total is
    still over 6000, a long description is shortened to 1024 characters, then trailing
    fields are dropped (the first ones are the best results), then the description and the
    footer are shortened further.
    """
    if embed.title:
        embed.title = truncate(embed.title, MAX_EMBED_TITLE_CHARS)
    if embed.description:
        embed.description = truncate(embed.description, MAX_EMBED_DESCRIPTION_CHARS)
    if embed.footer.text:
        embed.set_footer(text=truncate(embed.footer.text, MAX_FOOTER_CHARS))
    if embed.author.name:
        embed.set_author(
            name=truncate(embed.author.name, MAX_AUTHOR_NAME_CHARS),
            url=embed.author.url,
            icon_url=embed.author.icon_url,
        )
    fields = [
        (
            truncate(field.name or "-", MAX_FIELD_NAME_CHARS) or "-",
            truncate(field.value or "-", MAX_FIELD_VALUE_CHARS) or "-",
            bool(field.inline),
        )
        for field in embed.fields[:MAX_EMBED_FIELDS]
    ]
    embed.clear_fields()
    for name, value, inline in fields:
        embed.add_field(name=name, value=value, inline=inline)
    # Over the total: a long description gives way first (down to a field's size), then
    # trailing fields (the first ones are the best results), then description and footer.
    _shrink_description(embed, floor=MAX_FIELD_VALUE_CHARS)
    while len(embed) > MAX_EMBED_TOTAL_CHARS and len(embed.fields) > 1:
        embed.remove_field(len(embed.fields) - 1)
    _shrink_description(embed, floor=0)
    excess = len(embed) - MAX_EMBED_TOTAL_CHARS
    if excess > 0 and embed.footer.text:
        embed.set_footer(text=truncate(embed.footer.text, len(embed.footer.text) - excess))
    return embed


def _shrink_description(embed: discord.Embed, *, floor: int) -> None:
    """Cut the description by the embed's excess over 6000, but not below ``floor``."""
    excess = len(embed) - MAX_EMBED_TOTAL_CHARS
    if excess <= 0 or not embed.description or len(embed.description) <= floor:
        return
    embed.description = truncate(embed.description, max(len(embed.description) - excess, floor))


def fit_button_groups(sizes: list[int]) -> list[int]:
    """How many buttons of each group fit, each group starting on a new row.

    Args:
        sizes: wanted button count per group, in display order.

    Returns:
        Count kept per group: rows of at most 5 buttons, at most 5 rows in all; a group that
        does not fit entirely keeps only the buttons of the rows left.
    """
    rows_left = MAX_ACTION_ROWS
    kept: list[int] = []
    for size in sizes:
        rows = min(-(-size // MAX_BUTTONS_PER_ROW), rows_left)
        kept.append(min(size, rows * MAX_BUTTONS_PER_ROW))
        rows_left -= rows
    return kept
