"""What a reply looks like: the result embed, link buttons and "More like #n" buttons.

This module only builds: every builder passes its output through :mod:`bot.limits`, so
replies always fit Discord's limits whatever titles and labels the catalog holds.

"More like #n" buttons are persistent: their ``custom_id`` carries everything needed to
answer a click, even after a restart: ``musicrec:more:<catalog>:<item id>:<count>``,
where ``<catalog>`` is the fingerprint of the catalog the reply came from, and on a steered
reply ``:<words>``, the reply's steering words as term indices (:mod:`bot.button_words`).
A client can send any custom_id, so a click's count is clamped to 1..MAX_COUNT and its
words are checked when they are read back.

Replies are public, so they show titles and file names, never a server path
(:func:`~musicrec_core.recommendation.source_name`). Every text that comes from outside
(tags, file names, titles, channels, labels) goes through :func:`bot.untrusted_text.inert`
for the surface it lands on, each piece within its own share of the surface's limit, and the
only links are the bot's own (:func:`bot.untrusted_text.masked_link`, link buttons). YouTube
results show the title and channel their oEmbed lookup found (:mod:`musicrec_core.titles`)
and the best result's thumbnail. A click is handed to the bot's request service
(``interaction.client.service``), which re-queries from the item's stored vector, or refuses
if the catalog has been rebuilt since."""

from __future__ import annotations

import re
from typing import Any, Protocol

import discord

from bot.button_words import CODE_PATTERN, button_words
from bot.errors import report_error
from bot.limits import (
    MAX_FIELD_VALUE_CHARS,
    fit_button_groups,
    fit_embed,
    fit_label,
    truncate,
)
from bot.mix_from import MixFromButton
from bot.untrusted_text import Surface, inert, link_target, masked_link
from musicrec_core.clip import Provenance
from musicrec_core.recommendation import source_name
from musicrec_core.recommender import Recommendation, RecommendationSet
from musicrec_core.service.request import MAX_COUNT
from musicrec_core.steering import SteeredOutcome
from musicrec_core.timecode import format_clock

EMBED_COLOUR = discord.Colour(0x5865F2)
MAX_LABELS_SHOWN = 5
MAX_TAGS_SHOWN = 5
MORE_LIKE_PREFIX = "musicrec:more"
MAX_QUERY_NAME_CHARS = 400
"""Characters (escapes included) of the query's name in the "Heard:" line."""
MAX_TAG_CHARS = 80
"""Characters (escapes included) of one tag or label name."""
MAX_CHANNEL_CHARS = 150
"""Characters (escapes included) of a channel name."""
MAX_SOURCE_CHARS = 200
"""Characters (escapes included) of a library item's file name."""
MAX_STEERING_CHARS = 1500
"""Characters (escapes included) of the steering words as resolved."""


class MoreLikeService(Protocol):
    """What a "More like" button needs from the bot (:class:`bot.service.RequestService`)."""

    async def answer_more_like(
        self,
        interaction: discord.Interaction[Any],
        catalog: str,
        item_id: int,
        count: int,
        words: str = "",
    ) -> None: ...


def _window(start_s: float, end_s: float) -> str:
    return f"{format_clock(start_s)}–{format_clock(end_s)}"


def describe_query(query: Provenance | None) -> str:
    """One line saying what was heard: name or title in bold, the window used and, for a
    video, a link to it (kept apart from the title, which is outside text).

    ``"Heard: **Song**, 0:30–0:40 · [on YouTube](https://www.youtube.com/watch?v=ID)"``
    """
    if query is None:
        return "Heard: your clip"
    name = query.title or (query.ref if query.kind == "youtube" else source_name(query.ref))
    shown = inert(name, Surface.EMBED_DESCRIPTION, limit=MAX_QUERY_NAME_CHARS) or "?"
    window = _window(query.start_s, query.start_s + query.duration_s)
    line = f"Heard: **{shown}**, {window}"
    if query.kind == "youtube":
        link = masked_link("on YouTube", f"https://www.youtube.com/watch?v={query.ref}")
        if link is not None:
            line += f" · {link}"
    return line


def shown_score(item: Recommendation) -> str:
    """What a reply shows of the score the list is ordered by: ``"**87%** similar"``, or
    ``"**identified**"`` for the track the clip's fingerprint identified (no score)."""
    if item.score is None:
        return "**identified**"
    return f"**{item.score * 100:.0f}%** similar"


def _entry_value(item: Recommendation) -> str:
    """The field value of one result: channel, where to play it, its score, labels. Each
    outside piece has its own budget, so the whole fits 1024 characters uncut."""
    window = _window(item.start_s, item.end_s)
    link = masked_link(f"Play from {format_clock(item.start_s)}", item.url)
    if link is not None:
        where = f"{link} ({window})"
    elif item.source is not None:
        name = inert(source_name(item.source), Surface.FIELD_VALUE, limit=MAX_SOURCE_CHARS)
        where = f"{name} ({window})"
    else:
        where = window
    lines = [f"{where} · {shown_score(item)}"]
    channel = inert(item.channel or "", Surface.FIELD_VALUE, limit=MAX_CHANNEL_CHARS)
    if channel:
        lines.insert(0, f"by {channel}")
    labels = [
        inert(label, Surface.FIELD_VALUE, limit=MAX_TAG_CHARS)
        for label in item.labels[:MAX_LABELS_SHOWN]
    ]
    if any(labels):
        lines.append(", ".join(label for label in labels if label))
    return truncate("\n".join(lines), MAX_FIELD_VALUE_CHARS)


def _ranked_title(item: Recommendation, surface: Surface) -> str:
    """``#rank title`` for ``surface`` (a field name or a link button's label); the title
    is outside text, made inert within what the surface's limit leaves after the rank."""
    prefix = f"#{item.rank} "
    title = inert(item.title or item.group, surface, limit=surface.limit - len(prefix))
    return prefix + title


def steering_lines(outcome: SteeredOutcome, count: int, shown: int) -> list[str]:
    """What a steered reply says of its steering: the words as resolved (outside text:
    the member's own words) and, when fewer than ``count`` results are ``shown``, how many
    items qualified (of the whole catalog when they were ranked exactly, else of the
    nearest results searched), so a short or empty reply always says why."""
    words = inert(outcome.steering.describe(), Surface.EMBED_DESCRIPTION, limit=MAX_STEERING_CHARS)
    lines = [f"Steering: {words}"]
    if outcome.qualified == 0:
        where = (
            "in the catalog" if outcome.exact else f"among the {outcome.searched} nearest results"
        )
        lines.append(
            f"Nothing {where} carries these words, so there is nothing to show: try fewer "
            "or more common words."
        )
    elif shown < count and outcome.exact:
        one = outcome.qualified == 1
        lines.append(
            f"{outcome.qualified:,} {outcome.unit}{'' if one else 's'} of the catalog "
            f"{'carries' if one else 'carry'} these words, one result per video or track and "
            f"never the query's own: {shown} shown of the {count} asked."
        )
    elif shown < count:
        lines.append(
            f"Only {outcome.qualified} of the {outcome.searched} nearest results carry these "
            f"words: {shown} shown of the {count} asked."
        )
    return lines


def result_embed(
    result: RecommendationSet, *, heading: str, fingerprint: str, count: int | None = None
) -> discord.Embed:
    """The reply embed: what was heard, how it was steered, one field per recommendation.

    Args:
        result: the recommendations.
        heading: the embed title (e.g. "Sounds like your clip").
        fingerprint: the catalog fingerprint, shown in the footer.
        count: the recommendations asked for (a steered reply says when fewer qualified);
            None: as many as ``result`` holds.
    """
    lines = [describe_query(result.query)]
    if result.query_tags:
        tags = ", ".join(
            f"{inert(tag.name, Surface.EMBED_DESCRIPTION, limit=MAX_TAG_CHARS)} "
            f"{tag.probability * 100:.0f}%"
            for tag in result.query_tags[:MAX_TAGS_SHOWN]
        )
        lines.append(f"Tags: {tags}")
    if result.steering is not None:
        shown = len(result.items)
        lines += steering_lines(result.steering, shown if count is None else count, shown)
    elif not result.items:
        lines.append("The catalog holds nothing else to compare with.")
    embed = discord.Embed(title=heading, description="\n".join(lines), colour=EMBED_COLOUR)
    for item in result.items:
        embed.add_field(
            name=_ranked_title(item, Surface.FIELD_NAME), value=_entry_value(item), inline=False
        )
    thumbnail = link_target(result.items[0].thumbnail_url) if result.items else None
    if thumbnail is not None:
        embed.set_thumbnail(url=thumbnail)  # a YouTube image host
    embed.set_footer(text=f"musicrec · catalog {fingerprint}")
    return fit_embed(embed)


class MoreLikeButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.compile(
        MORE_LIKE_PREFIX + r":(?P<catalog>[0-9a-f]{8}):(?P<item>[0-9]{1,12}):(?P<count>[0-9]{1,2})"
        rf"(?::(?P<words>{CODE_PATTERN}))?"
    ),
):
    """A persistent "More like #n" button that re-queries from a stored item, steered by
    ``words`` (a :mod:`bot.button_words` code; "" = unsteered)."""

    def __init__(
        self, *, catalog: str, item_id: int, count: int, rank: int = 0, words: str = ""
    ) -> None:
        label = fit_label(f"More like #{rank}") if rank else "More like this"
        custom_id = f"{MORE_LIKE_PREFIX}:{catalog}:{item_id}:{count}"
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"{custom_id}:{words}" if words else custom_id,
            )
        )
        self.catalog = catalog
        self.item_id = item_id
        self.count = count
        self.words = words

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Button[discord.ui.View],
        match: re.Match[str],
        /,
    ) -> MoreLikeButton:
        # The custom_id comes back from the client, so it may be forged: clamp the count.
        count = min(max(int(match["count"]), 1), MAX_COUNT)
        button = cls(
            catalog=match["catalog"],
            item_id=int(match["item"]),
            count=count,
            words=match["words"] or "",
        )
        button.item.label = item.label
        return button

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the click to the bot's request service (errors become ephemeral messages)."""
        try:
            service: MoreLikeService = interaction.client.service
            await service.answer_more_like(
                interaction, self.catalog, self.item_id, self.count, self.words
            )
        except Exception as exc:
            await report_error(interaction, exc)


def result_view(result: RecommendationSet, *, fingerprint: str, count: int) -> discord.ui.View:
    """Link buttons (one per playable result), then a "More like #n" button per result,
    then a "Mix from #n" button per result while rows are left (:mod:`bot.mix_from`), both
    carrying the result's steering words."""
    words = button_words(result.steering)
    links = [(item, url) for item in result.items if (url := link_target(item.url))]
    shown = len(result.items)
    link_count, more_count, mix_count = fit_button_groups([len(links), shown, shown])
    view = discord.ui.View(timeout=None)
    row = 0
    for position, (item, url) in enumerate(links[:link_count]):
        view.add_item(
            discord.ui.Button(
                label=_ranked_title(item, Surface.BUTTON_LABEL),
                url=url,
                row=row + position // 5,
            )
        )
    row += -(-link_count // 5)
    for position, item in enumerate(result.items[:more_count]):
        button = MoreLikeButton(
            catalog=fingerprint, item_id=item.item_id, count=count, rank=item.rank, words=words
        )
        button.row = row + position // 5
        view.add_item(button)
    row += -(-more_count // 5)
    for position, item in enumerate(result.items[:mix_count]):
        mix_button = MixFromButton(
            catalog=fingerprint, item_id=item.item_id, rank=item.rank, words=words
        )
        mix_button.row = row + position // 5
        view.add_item(mix_button)
    return view


def build_reply(
    result: RecommendationSet, *, heading: str, fingerprint: str, count: int
) -> tuple[discord.Embed, discord.ui.View]:
    """The embed and buttons for ``result``; ``count`` is what "More like" clicks ask for."""
    return (
        result_embed(result, heading=heading, fingerprint=fingerprint, count=count),
        result_view(result, fingerprint=fingerprint, count=count),
    )
