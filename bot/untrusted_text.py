"""Text from outside (tags, file names, video titles, channel names, catalog labels, error
details) made inert for the Discord surface it is shown on.

Every reply that shows such text passes it through :func:`inert` with the :class:`Surface`
it lands on; the bot's own links go through :func:`masked_link`. docs/discord-text-surfaces.md
says which surface renders what and why each is treated as it is here.

What a reader sees is :func:`shown_form` of the text: control characters, format characters
(bidirectional overrides and isolates, left/right marks, zero-width spaces and joiners, the
byte-order mark, soft hyphens, tag characters) and lone surrogates are removed, and every run
of whitespace (new lines included) becomes one space, so outside text can neither reorder
what surrounds it, hide characters in a link-like string nor start a line of its own.

On a markdown surface (message content, embed title, description, field names and values)
every ASCII punctuation character of the text is escaped with a backslash. Discord's parser
turns a backslash before any character that is not a letter, digit or whitespace into that
character, shown literally, before any other rule sees it; every markdown construct and
every tag Discord recognises needs one of those characters (``[`` ``]`` ``(`` for masked
links, ``<`` for mentions, timestamps, emoji and commands, ``@`` for @everyone, ``#`` ``-``
``>`` ``*`` ``_`` ``~`` ``|`` and the backtick for headings, lists, quotes, emphasis, spoilers
and code). So the reader sees exactly the shown form, and nothing of it is a link, a mention
or formatting.

URLs are defused the same way: ``https://evil.example`` is sent as
``https\\:\\/\\/evil\\.example``. Discord's autolinker needs a scheme followed directly by
``://`` in the source (``https``, ``http`` and any other); with a backslash before the colon
the source holds no such sequence, and the escape is read as a plain colon before a link rule
could see it. ``www.host`` and invite hosts such as ``discord.gg/x`` are broken at their
dots and slashes too, and ``<https://...>`` at its ``<``. A zero-width joiner was the other
candidate; it was not chosen because Discord does not document it as stopping the
autolinker, and because it would stay in the text a member copies, where the backslash is
consumed by the renderer and never shown.

On a plain surface (button labels, select options, embed footers and author names) Discord
shows the text as written, so a backslash would be visible: the text is only reduced to its
shown form.

Each surface's length limit is met after escaping: the text is cut between characters of the
shown form (never between a backslash and the character it escapes) and ends in ``…``.
"""

from __future__ import annotations

import enum
import re
import string
import unicodedata

from bot.limits import (
    ELLIPSIS,
    MAX_AUTHOR_NAME_CHARS,
    MAX_BUTTON_LABEL_CHARS,
    MAX_CONTENT_CHARS,
    MAX_EMBED_DESCRIPTION_CHARS,
    MAX_EMBED_TITLE_CHARS,
    MAX_FIELD_NAME_CHARS,
    MAX_FIELD_VALUE_CHARS,
    MAX_FOOTER_CHARS,
    MAX_SELECT_OPTION_CHARS,
    MAX_URL_CHARS,
)

INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
"""Unicode categories removed from outside text: controls, format characters (bidi
controls, zero-width characters, soft hyphen, tag characters) and lone surrogates."""
_MARKDOWN_SYMBOLS = frozenset(string.punctuation)
"""The characters escaped on a markdown surface: all ASCII punctuation."""
_LINK_TARGET = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%/?&=+-]*)?")
"""A URL the bot may put in a masked link or a link button: https, a host, and a path and
query of plain URL characters only (no brackets, parentheses, quotes, backslashes or
whitespace that could end the link early or start another)."""


class Surface(enum.Enum):
    """Where on a Discord message a text is shown: its length limit and whether Discord
    renders markdown and links there."""

    CONTENT = (MAX_CONTENT_CHARS, True)
    EMBED_TITLE = (MAX_EMBED_TITLE_CHARS, True)
    EMBED_DESCRIPTION = (MAX_EMBED_DESCRIPTION_CHARS, True)
    FIELD_NAME = (MAX_FIELD_NAME_CHARS, True)
    FIELD_VALUE = (MAX_FIELD_VALUE_CHARS, True)
    FOOTER = (MAX_FOOTER_CHARS, False)
    AUTHOR_NAME = (MAX_AUTHOR_NAME_CHARS, False)
    BUTTON_LABEL = (MAX_BUTTON_LABEL_CHARS, False)
    SELECT_OPTION = (MAX_SELECT_OPTION_CHARS, False)

    def __init__(self, limit: int, renders_markdown: bool) -> None:
        self.limit = limit
        self.renders_markdown = renders_markdown


def shown_form(text: str) -> str:
    """``text`` as a reader should see it: invisible characters removed, each run of
    whitespace one space, no leading or trailing space.

    ``"a\\u202e b\\n\\nc"`` -> ``"a b c"``.
    """
    kept = "".join(
        " " if character.isspace() else character
        for character in text
        if character.isspace() or unicodedata.category(character) not in INVISIBLE_CATEGORIES
    )
    return " ".join(kept.split())


def inert(text: str, surface: Surface, *, limit: int | None = None) -> str:
    """``text`` made inert for ``surface`` and cut to fit (see the module docstring).

    Args:
        text: outside text, any length.
        surface: where it will be shown.
        limit: at most this many characters of output (escapes included); the surface's
            own limit when None or larger.

    Returns:
        The text to send, at most ``limit`` characters; empty when nothing visible is left.
    """
    budget = surface.limit if limit is None else min(limit, surface.limit)
    shown = shown_form(text)
    if surface.renders_markdown:
        pieces = ["\\" + c if c in _MARKDOWN_SYMBOLS else c for c in shown]
    else:
        pieces = list(shown)
    return _fit(pieces, budget)


def _fit(pieces: list[str], budget: int) -> str:
    """The pieces joined, or as many leading ones as fit with an ellipsis after them; a
    piece (one shown character with its escape) is never split."""
    if sum(len(piece) for piece in pieces) <= budget:
        return "".join(pieces)
    if budget <= 0:
        return ""
    kept: list[str] = []
    used = len(ELLIPSIS)
    for piece in pieces:
        if used + len(piece) > budget:
            break
        kept.append(piece)
        used += len(piece)
    while kept and kept[-1] == " ":
        kept.pop()
    return "".join(kept) + ELLIPSIS


def link_target(url: str | None) -> str | None:
    """``url`` when the bot may link to it (https, plain URL characters, at most 512
    characters), else None. Catalog ids and oEmbed data go into URLs, so every link the bot
    makes is checked here first."""
    if url is None or len(url) > MAX_URL_CHARS or not _LINK_TARGET.fullmatch(url):
        return None
    return url


def masked_link(label: str, url: str | None) -> str | None:
    """A markdown link ``[label](url)`` for a markdown surface, or None when ``url`` fails
    :func:`link_target`.

    Args:
        label: the bot's own words (never outside text: brackets in it would end the label).
        url: where the link goes.
    """
    target = link_target(url)
    return None if target is None else f"[{label}]({target})"
