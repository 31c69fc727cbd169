"""Hostile text for the rendering tests: strings that would be links, mentions or
formatting if shown raw, and the form a reader should see of any text.

Shared by the reply tests and the rendering tests (issue 18, finding 1); the expected form
is computed here, apart from the bot's rendering, so it can check it.
"""

from __future__ import annotations

import unicodedata

NITRO = "[Song](https://x.example) [Claim your Nitro gift](https://evil.example/login)"
BREAKOUT = "x](https://evil.example/login) [y"
HOSTILE = [
    NITRO,
    BREAKOUT,
    "<@123456789012345678> @everyone @here <@&42> <#42> </airhorn:42> <:pepe:42> <t:0:R>",
    "# Heading\n> quote\n- list\n1. one\n-# small\n```py\ncode\n```",
    "**bold** __under__ *it* _it_ ~~strike~~ ||spoiler|| `code`",
    "visit discord.gg/abc or www.evil.example or <https://evil.example/a> http://evil.example",
    "\u202eevil.example\u202c \u2066x\u2069 zero\u200bwidth\u200d \u200e\u200f\ufeff\x00\x07 end",
    "trailing backslash \\",
]

INVISIBLE = {"Cc", "Cf", "Cs"}
"""Unicode categories a reader never sees: controls, format characters (bidi, zero-width),
lone surrogates."""


def shown_form(text: str) -> str:
    """What a reader should see of ``text``: every character but control, format (bidi,
    zero-width) and surrogate ones, whitespace runs as one space. Written apart from the
    bot's rendering on purpose."""
    kept = "".join(
        " " if character.isspace() else character
        for character in text
        if character.isspace() or unicodedata.category(character) not in INVISIBLE
    )
    return " ".join(kept.split())
