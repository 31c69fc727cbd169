"""Discord limits: every builder's output passes the fake Discord's independent checks."""

from __future__ import annotations

import discord
import numpy as np
import pytest

from bot.limits import (
    MAX_EMBED_TOTAL_CHARS,
    fit_button_groups,
    fit_content,
    fit_embed,
    fit_label,
    truncate,
)
from bot.views import build_reply
from musicrec_core.clip import Provenance
from musicrec_core.embedders.base import Tag
from musicrec_core.recommender import Recommendation, RecommendationSet
from musicrec_core.timecode import format_clock
from tests.fake_discord.limits import message_violations


def test_truncate_marks_the_cut() -> None:
    assert truncate("abcdef", 10) == "abcdef"
    assert truncate("abcdef", 4) == "abc…"
    assert len(truncate("x" * 5000, 1024)) == 1024
    assert truncate("abc", 0) == ""


def test_content_and_labels() -> None:
    assert len(fit_content("y" * 2500)) == 2000
    assert len(fit_label("z" * 200)) == 80
    assert fit_label("") == "-"


@pytest.mark.parametrize(
    ("sizes", "kept"),
    [([10, 10], [10, 10]), ([25, 5], [25, 0]), ([12, 12], [12, 10]), ([0, 3], [0, 3])],
)
def test_button_groups_fit_five_rows_of_five(sizes: list[int], kept: list[int]) -> None:
    assert fit_button_groups(sizes) == kept


def test_fit_embed_enforces_every_part_and_the_total() -> None:
    embed = discord.Embed(title="t" * 300, description="d" * 5000)
    embed.set_footer(text="f" * 3000)
    embed.set_author(name="a" * 300)
    for number in range(30):
        embed.add_field(name=f"{number}" + "n" * 300, value="v" * 2000)
    fit_embed(embed)
    payload = {"embeds": [embed.to_dict()]}
    assert message_violations(payload) == []
    assert len(embed) <= MAX_EMBED_TOTAL_CHARS
    assert embed.fields[0].name.startswith("0")  # the best results are kept


def result_set(count: int, *, title: str, labels: int, url_extra: int = 0) -> RecommendationSet:
    items = tuple(
        Recommendation(
            rank=rank,
            group=f"vid{rank:08d}",
            title=f"{title} {rank}",
            start_s=61.0,
            end_s=71.0,
            score=0.888,
            window_cosine=0.888,
            labels=tuple(f"label {n} " * 10 for n in range(labels)),
            url=f"https://www.youtube.com/watch?v=vid{rank:08d}&t=61s" + "x" * url_extra,
            source=None,
            item_id=rank * 7,
        )
        for rank in range(1, count + 1)
    )
    return RecommendationSet(
        query=Provenance(kind="attachment", ref="q.mp3", title=title, duration_s=10.0),
        query_vector=np.zeros(4, dtype=np.float32),
        query_tags=tuple(Tag(f"tag{n}", 0.5) for n in range(50)),
        items=items,
        catalog="0123abcd",
    )


@pytest.mark.parametrize(
    ("count", "title", "labels", "url_extra"),
    [(1, "Song", 1, 0), (10, "Long *title* " * 40, 50, 0), (10, "x", 2, 600), (25, "T" * 90, 5, 0)],
)
def test_replies_always_fit(count: int, title: str, labels: int, url_extra: int) -> None:
    embed, view = build_reply(
        result_set(count, title=title, labels=labels, url_extra=url_extra),
        heading="Sounds like this",
        fingerprint="0123abcd",
        count=count,
    )
    payload = {"embeds": [embed.to_dict()], "components": view.to_components()}
    assert message_violations(payload) == []


def test_reply_shows_the_query_window_tags_and_links() -> None:
    embed, view = build_reply(
        result_set(2, title="Song", labels=2), heading="H", fingerprint="0123abcd", count=2
    )
    assert embed.description == (
        "Heard: **Song**, 0:00–0:10\nTags: tag0 50%, tag1 50%, tag2 50%, tag3 50%, tag4 50%"
    )
    assert embed.fields[0].name == "#1 Song 1"
    assert embed.fields[0].value.startswith(
        "[Play from 1:01](https://www.youtube.com/watch?v=vid00000001&t=61s) (1:01–1:11) · "
        "**89%** similar\n"
    )
    rows = view.to_components()
    assert [b["custom_id"] for b in rows[1]["components"]] == [
        "musicrec:more:0123abcd:7:2",
        "musicrec:more:0123abcd:14:2",
    ]


def test_format_time() -> None:
    assert format_clock(0) == "0:00"
    assert format_clock(83.9) == "1:23"
    assert format_clock(3723) == "1:02:03"
