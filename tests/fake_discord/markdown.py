"""A strict reading of Discord's markdown: what a client would make clickable, pinging or
formatted in a message payload.

Written for the tests, independently of the bot's own rendering (:mod:`bot.untrusted_text`):
it is the oracle the bot's replies are checked against, so it shares none of its code.

Modelled on Discord's published rules (its developer reference lists mentions, channel,
role, slash-command and emoji tags, timestamps and guild navigation; its markdown help
page lists emphasis, underline, strike, spoilers, code, headings, subtext, lists, quotes
and masked links) and on how its parser treats a backslash: ``\\`` followed by any
character that is not a letter, digit or whitespace shows that character literally and
starts nothing. Where Discord's exact behaviour is unclear the reading is *stricter* than
Discord: any ``scheme://`` counts as a link, as do ``www.<host>`` and invite hosts without a
scheme, and emphasis needs only an opening and a closing marker, wherever they are.

:func:`render` reads one markdown surface; :func:`read_payload` reads every text surface of
a message payload, plain ones (footer, author, button labels, select options) as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_LINK = re.compile(
    r"\[((?:\[[^\]]*\]|[^\[\]]|\](?=[^\[]*\]))*)\]"  # the label (brackets may nest once)
    r"\(\s*<?((?:\([^)]*\)|[^\s\\])*?)>?(?:\s+['\"][\s\S]*?['\"])?\s*\)"  # the target
)
"""A masked link ``[label](target)``; the target may not hold a backslash or whitespace."""
_ANGLE_URL = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^\s>]+)>")
_BARE_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<]+")
_SCHEMELESS = re.compile(
    r"(?:discord\.gg|discord(?:app)?\.com/invite|dsc\.gg)/[^\s<]+|www\.[^\s<.]+\.[^\s<]+",
    re.IGNORECASE,
)
"""Invites and ``www.`` hosts without a scheme (stricter than Discord: counted as links)."""
_URL_TAIL = ".,:;\"')]"
_TAGS = {
    "user": re.compile(r"<@!?\d+>"),
    "role": re.compile(r"<@&\d+>"),
    "channel": re.compile(r"<#\d+>"),
    "slash command": re.compile(r"</[^:>\n]+:\d+>"),
    "custom emoji": re.compile(r"<a?:\w+:\d+>"),
    "timestamp": re.compile(r"<t:-?\d+(?::[a-zA-Z])?>"),
    "guild navigation": re.compile(r"<id:[\w-]+(?::\d+)?>"),
    "everyone": re.compile(r"@(?:everyone|here)"),
}
_LINE_STARTS = {
    "heading": re.compile(r" *#{1,3} +(?=\S)"),
    "subtext": re.compile(r" *-# +(?=\S)"),
    "quote": re.compile(r" *>(?:>>)? "),
    "list": re.compile(r" *(?:[-*+]|\d+[.)]) +(?=\S)"),
}
_SPANS = (
    ("code block", "```"),
    ("spoiler", "||"),
    ("bold", "**"),
    ("underline", "__"),
    ("strike", "~~"),
    ("italic", "*"),
    ("italic", "_"),
    ("code", "`"),
)
_RAW_SPANS = {"code block", "code"}


@dataclass
class Rendering:
    """What a reader of one surface gets.

    Attributes:
        visible: the characters shown (markers and escapes removed, link labels kept).
        links: targets a click would open (masked links, bare or bracketed URLs, invites).
        mentions: tags Discord turns into mentions, emoji, timestamps or command links.
        formatting: kinds of formatting applied (heading, list, bold, code, spoiler, ...).
    """

    visible: str = ""
    links: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    formatting: list[str] = field(default_factory=list)

    def absorb(self, other: Rendering) -> None:
        self.visible += other.visible
        self.links += other.links
        self.mentions += other.mentions
        self.formatting += other.formatting

    @property
    def active(self) -> bool:
        """Whether anything beyond plain characters was made of the text."""
        return bool(self.links or self.mentions or self.formatting)


def _escaped(text: str, index: int) -> bool:
    """Whether ``text[index]`` is a backslash escape (a backslash before a symbol)."""
    return (
        text[index] == "\\"
        and index + 1 < len(text)
        and not text[index + 1].isalnum()
        and not text[index + 1].isspace()
    )


def _closing(text: str, start: int, marker: str) -> int:
    """Index of the first unescaped ``marker`` at or after ``start`` with something before
    it, or -1."""
    index = start
    while index < len(text):
        if _escaped(text, index):
            index += 2
            continue
        if index > start and text.startswith(marker, index):
            return index
        index += 1
    return -1


def _trim_url(url: str) -> str:
    while url and url[-1] in _URL_TAIL:
        url = url[:-1]
    return url


def render(text: str) -> Rendering:
    """Read ``text`` as a markdown surface (message content, embed title, description,
    field name or value)."""
    out = Rendering()
    index = 0
    while index < len(text):
        if index == 0 or text[index - 1] == "\n":
            for kind, pattern in _LINE_STARTS.items():
                match = pattern.match(text, index)
                if match:
                    out.formatting.append(kind)
                    index = match.end()
                    break
            if index >= len(text):
                break
        index = _read_inline(text, index, out)
    return out


def _read_inline(text: str, index: int, out: Rendering) -> int:
    """Read one inline element at ``index`` into ``out``; returns the index after it."""
    if _escaped(text, index):
        out.visible += text[index + 1]
        return index + 2
    link = _LINK.match(text, index)
    if link:
        label = render(link[1])
        out.absorb(label)
        out.links.append(link[2])
        return link.end()
    for kind, pattern in _TAGS.items():
        tag = pattern.match(text, index)
        if tag:
            out.mentions.append(f"{kind} {tag[0]}")
            out.visible += tag[0]
            return tag.end()
    angle = _ANGLE_URL.match(text, index)
    if angle:
        out.links.append(angle[1])
        out.visible += angle[1]
        return angle.end()
    for pattern in (_BARE_URL, _SCHEMELESS):
        url = pattern.match(text, index)
        if url:
            target = _trim_url(url[0])
            out.links.append(target)
            out.visible += target
            return index + len(target)
    for kind, marker in _SPANS:
        if not text.startswith(marker, index):
            continue
        end = _closing(text, index + len(marker), marker)
        if end < 0:
            continue
        inner = text[index + len(marker) : end]
        out.formatting.append(kind)
        if kind in _RAW_SPANS:
            out.visible += inner
        else:
            out.absorb(render(inner))
        return end + len(marker)
    out.visible += text[index]
    return index + 1


def visible(text: str) -> str:
    """What a reader sees of the markdown ``text`` (escapes read, markers hidden)."""
    return render(text).visible


def field_rows(embed: dict[str, Any]) -> dict[str, str]:
    """An embed's fields as a reader sees them: visible name -> visible value."""
    return {visible(item["name"]): visible(item["value"]) for item in embed.get("fields") or []}


MARKDOWN_SURFACES = ("content", "title", "description", "field name", "field value")
PLAIN_SURFACES = ("footer", "author", "button label", "select option")


@dataclass(frozen=True)
class SurfaceReading:
    """One text surface of a payload: where it is, its kind and how it reads."""

    where: str
    surface: str
    rendering: Rendering


def read_payload(payload: dict[str, Any]) -> list[SurfaceReading]:
    """Every text surface of a message payload (content, embeds, components), read as
    Discord shows it: markdown surfaces through :func:`render`, plain ones as text."""
    readings: list[SurfaceReading] = []

    def read(where: str, surface: str, text: Any) -> None:
        if not isinstance(text, str) or not text:
            return
        rendering = render(text) if surface in MARKDOWN_SURFACES else Rendering(visible=text)
        readings.append(SurfaceReading(where, surface, rendering))

    read("content", "content", payload.get("content"))
    for number, embed in enumerate(payload.get("embeds") or []):
        read(f"embeds[{number}].title", "title", embed.get("title"))
        read(f"embeds[{number}].description", "description", embed.get("description"))
        for position, item in enumerate(embed.get("fields") or []):
            read(f"embeds[{number}].fields[{position}].name", "field name", item.get("name"))
            read(f"embeds[{number}].fields[{position}].value", "field value", item.get("value"))
        read(f"embeds[{number}].footer", "footer", (embed.get("footer") or {}).get("text"))
        read(f"embeds[{number}].author", "author", (embed.get("author") or {}).get("name"))
    for row_number, row in enumerate(payload.get("components") or []):
        for position, child in enumerate(row.get("components") or []):
            where = f"components[{row_number}][{position}]"
            read(f"{where}.label", "button label", child.get("label"))
            for option_number, option in enumerate(child.get("options") or []):
                for key in ("label", "description"):
                    read(
                        f"{where}.options[{option_number}].{key}", "select option", option.get(key)
                    )
    return readings


def payload_links(payload: dict[str, Any]) -> list[str]:
    """Every link a reader could open from the payload's text (not its link buttons)."""
    return [link for reading in read_payload(payload) for link in reading.rendering.links]


def payload_mentions(payload: dict[str, Any]) -> list[str]:
    """Every mention-like tag rendered in the payload's text."""
    return [tag for reading in read_payload(payload) for tag in reading.rendering.mentions]
