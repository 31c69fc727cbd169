"""Replies show outside text inert (issue 18, finding 1): views, errors, admin replies.

Replies are built from a :class:`RecommendationSet` whose every text field is hostile and
read back through the fake Discord's strict markdown reader
(:mod:`tests.fake_discord.markdown`): nothing may be clickable, mentioning or formatted
beyond what the bot itself made, and the hostile text must still be visible as written.
"""

from __future__ import annotations

import discord
import numpy as np
import pytest

from bot.cogs.admin import _embed
from bot.errors import user_message
from bot.views import build_reply
from musicrec_core.clip import Provenance
from musicrec_core.embedders.base import Tag
from musicrec_core.errors import UnreadableAudioError
from musicrec_core.recommender import Recommendation, RecommendationSet, youtube_url
from tests.fake_discord.limits import message_violations
from tests.fake_discord.markdown import read_payload, render
from tests.helpers.hostile_text import BREAKOUT, HOSTILE, NITRO, shown_form

BOT_HOSTS = ("https://www.youtube.com/watch?v=",)


VALID_ID = "tone0440ccc"


def hostile_result(text: str) -> RecommendationSet:
    """A result in which every field that comes from outside holds ``text``."""
    query = Provenance(kind="attachment", ref=text, title=text, start_s=0, duration_s=10)
    items = (
        Recommendation(
            rank=1,
            group=VALID_ID,
            title=text,
            start_s=1,
            end_s=11,
            score=0.87,
            window_cosine=0.87,
            labels=(text, text),
            url=youtube_url(VALID_ID, 1),
            source=None,
            item_id=0,
            channel=text,
        ),
        Recommendation(
            rank=2,
            group="a" * 64,
            title=text,
            start_s=0,
            end_s=10,
            score=0.5,
            window_cosine=0.5,
            labels=(text,),
            url=None,
            source=f"/srv/music/{text}.mp3",
            item_id=1,
        ),
        Recommendation(
            rank=3,
            group=text,
            title=None,
            start_s=2,
            end_s=12,
            score=0.4,
            window_cosine=0.4,
            labels=(),
            url=youtube_url(text, 2),  # an unchecked catalog id in a link
            source=None,
            item_id=2,
        ),
    )
    return RecommendationSet(
        query=query,
        query_vector=np.zeros(4, dtype=np.float32),
        query_tags=(Tag(text, 0.5), Tag(text, 0.25)),
        items=items,
        catalog="0123abcd",
    )


def payload_of(embed: discord.Embed, view: discord.ui.View | None = None) -> dict:
    payload: dict = {"embeds": [embed.to_dict()]}
    if view is not None:
        payload["components"] = view.to_components()
    return payload


def assert_inert(payload: dict, *, allowed_formatting: frozenset[str] = frozenset()) -> None:
    """No link but the bot's own YouTube links, no mention, no formatting but the bot's."""
    for reading in read_payload(payload):
        rendering = reading.rendering
        foreign = [link for link in rendering.links if not link.startswith(BOT_HOSTS)]
        assert foreign == [], (reading.where, foreign)
        assert all(" " not in link and "evil" not in link for link in rendering.links)
        assert rendering.mentions == [], (reading.where, rendering.mentions)
        unexpected = set(rendering.formatting) - allowed_formatting
        assert not unexpected, (reading.where, unexpected)
        for character in rendering.visible:
            assert character.isprintable() or character == "\n", (reading.where, character)
            assert not 0x202A <= ord(character) <= 0x202E, reading.where
            assert not 0x2066 <= ord(character) <= 0x2069, reading.where


@pytest.mark.parametrize("text", HOSTILE)
def test_a_reply_built_from_hostile_text_shows_it_inert(text: str) -> None:
    embed, view = build_reply(
        hostile_result(text), heading="Sounds like this", fingerprint="0123abcd", count=3
    )
    payload = payload_of(embed, view)
    assert message_violations(payload) == []
    assert_inert(payload, allowed_formatting=frozenset({"bold"}))
    shown = shown_form(text)
    description = render(embed.description or "").visible
    assert shown in description  # the title is shown as written, not deleted
    assert shown in render(embed.fields[0].name).visible
    assert shown in render(embed.fields[0].value).visible  # channel and labels
    labels = [child["label"] for row in payload["components"] for child in row["components"]]
    assert any(label.endswith(shown[:40]) or shown[:40] in label for label in labels)
    assert not any("\\" in label for label in labels if "\\" not in text)


def test_the_two_reported_phishing_titles() -> None:
    for text in (NITRO, BREAKOUT):
        embed, _ = build_reply(
            hostile_result(text), heading="Sounds like this", fingerprint="0123abcd", count=3
        )
        heard = render(embed.description or "")
        assert not any("evil.example" in link or "x.example" in link for link in heard.links)


@pytest.mark.parametrize("text", HOSTILE)
def test_an_error_quoting_a_hostile_file_name_is_inert(text: str) -> None:
    message, _ = user_message(UnreadableAudioError(f"Cannot read {text}: not audio."))
    rendering = render(message)
    assert rendering.links == [] and rendering.mentions == [] and rendering.formatting == []
    assert shown_form(text).replace("\\", "") in rendering.visible.replace("\\", "")


@pytest.mark.parametrize("text", HOSTILE)
def test_admin_replies_show_outside_text_inert(text: str) -> None:
    embed = _embed(
        "musicrec status",
        {"YouTube blocks": text, "Shards": "#0: 4 ms\n#1: down"},
        colour=discord.Colour.blue(),
    )
    assert_inert(payload_of(embed))
    assert render(embed.fields[1].value).visible == "#0: 4 ms\n#1: down"
