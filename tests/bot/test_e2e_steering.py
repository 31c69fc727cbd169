"""End to end: /recommend's more:/less: words, their autocomplete, and a steered "More like"
button, through the real bot process and the fake Discord.

The catalog's seven "videos" carry AudioSet labels ("Music" and one more each, see
:mod:`tests.fake_discord.world`); the bot reads AudioSet's label names from its cache,
where the real files are installed before the first word is typed.
"""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

import pytest

from musicrec_core.catalog.labels import LABELS_FILE as LABELS
from musicrec_core.catalog.labels import read_labels
from tests.bot.conftest import LiveBot, LiveBotFactory
from tests.fake_discord.markdown import render, visible
from tests.fake_discord.world import CATALOG_VIDEOS
from tests.helpers.shared_data import AUDIOSET_METADATA, needs_audioset_metadata

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("no_broken_rules"),
    needs_audioset_metadata,
]

TITLES = {video.title: video for video in CATALOG_VIDEOS}


@pytest.fixture(scope="module")
def live(start_live_bot: LiveBotFactory) -> LiveBot:
    started = start_live_bot()
    labels = started.work_dir / "cache" / "data" / "audioset"
    labels.mkdir(parents=True, exist_ok=True)
    for name in (LABELS, "ontology.json"):
        shutil.copyfile(AUDIOSET_METADATA / name, labels / name)
    return started


def base36(number: int) -> str:
    return (
        "0123456789abcdefghijklmnopqrstuvwxyz"[number]
        if number < 36
        else (base36(number // 36) + base36(number % 36))
    )


def recommend(live: LiveBot, song: bytes, **options: Any) -> str:
    attachment = live.fake.add_attachment(song, "concert-a.mp3", "audio/mpeg")
    values = [{"name": "file", "type": 11, "value": attachment["id"]}]
    values += [
        {"name": key, "type": 4 if isinstance(value, int) else 3, "value": value}
        for key, value in options.items()
    ]
    return live.fake.slash_command("recommend", values, attachments=[attachment])


def test_typing_a_word_offers_the_catalogs_words(live: LiveBot) -> None:
    typed = [
        {"name": "count", "type": 4, "value": "3"},
        {"name": "more", "type": 3, "value": "Drone,  gui", "focused": True},
    ]
    reply = live.fake.wait_reply(live.fake.autocomplete("recommend", typed))
    assert reply["kind"] == "autocomplete"
    values = [choice["value"] for choice in reply["choices"]]
    assert values[0] == "Drone, Guitar" and len(values) <= 25
    assert all(value.startswith("Drone, ") for value in values)


def test_a_steered_reply_keeps_only_carrying_results_and_counts_them(
    live: LiveBot, song: bytes
) -> None:
    reply = live.fake.wait_reply(recommend(live, song, count=3, more="guitar"))
    assert reply["kind"] == "followup" and reply["ephemeral"] is False
    (embed,) = reply["payload"]["embeds"]
    lines = visible(embed["description"]).split("\n")
    assert lines[1] == "Steering: more guitar (= Guitar)"
    assert lines[2] == (
        "1 segment of the catalog carries these words, one result per video or track and "
        "never the query's own: 1 shown of the 3 asked."
    )
    assert [field["name"] for field in embed["fields"]] == ["#1 Open string"]
    (more_like,) = reply["payload"]["components"][1]["components"]
    guitar = next(c.index for c in read_labels(AUDIOSET_METADATA / LABELS) if c.name == "Guitar")
    custom_id = more_like["custom_id"]
    assert re.fullmatch(
        rf"musicrec:more:[0-9a-f]{{8}}:1:3:[0-9a-f]{{4}}\+{base36(guitar)}", custom_id
    )

    click = live.fake.click(reply["message"], custom_id)
    again = live.fake.wait_reply(click)
    assert again["kind"] == "followup" and again["ephemeral"] is False
    (embed,) = again["payload"]["embeds"]
    assert embed["title"] == "More like this" and embed.get("fields", []) == []
    lines = visible(embed["description"]).split("\n")
    assert lines[1:] == [
        "Steering: more Guitar (= Guitar)",
        "1 segment of the catalog carries these words, one result per video or track and "
        "never the query's own: 0 shown of the 3 asked.",
    ]

    # A stale reply (words of an older vocabulary) or a forged one: discord.py answers
    # only custom_ids the message holds, so the message carries it.
    stale_id = custom_id.rsplit(":", 1)[0] + ":0000+1"
    stale = json.loads(json.dumps(reply["message"]).replace(custom_id, stale_id))
    refusal = live.fake.wait_reply(live.fake.click(stale, stale_id))
    assert refusal["ephemeral"] is True
    assert visible(refusal["payload"]["content"]).startswith("This button's words no longer")


def test_an_unknown_word_is_refused_privately_with_the_nearest(live: LiveBot, song: bytes) -> None:
    interaction = recommend(live, song, more="**guitar**, <@123456789012345678>")
    reply = live.fake.wait_reply(interaction)
    assert reply["kind"] == "message" and reply["ephemeral"] is True
    rendering = render(reply["payload"]["content"])
    assert not rendering.active, rendering
    assert rendering.visible.startswith('"**guitar**" is not a word this catalog')
    assert "the nearest it knows: Guitar" in rendering.visible
    assert not [r for r in live.fake.records if r.kind == "cdn" and interaction in r.path]


def discover(live: LiveBot, words: str, **options: int) -> str:
    values = [{"name": "words", "type": 3, "value": words}]
    values += [{"name": key, "type": 4, "value": value} for key, value in options.items()]
    return live.fake.slash_command("discover", values)


def test_discover_pages_items_carrying_the_words(live: LiveBot) -> None:
    first = live.fake.wait_reply(discover(live, "music", count=3, page=7))
    assert first["kind"] == "followup" and first["ephemeral"] is False
    (embed,) = first["payload"]["embeds"]
    lines = visible(embed["description"]).split("\n")
    assert lines[0] == "Words: music (= Music)"
    assert lines[1].startswith("6 segments carry all the words; showing 3 in a shuffled order")
    names = [field["name"] for field in embed["fields"]]
    assert len(names) == 3 and all(name.split(" ", 1)[1] in TITLES for name in names)
    assert all("Music" in visible(field["value"]) for field in embed["fields"])
    again = live.fake.wait_reply(discover(live, "music", count=3, page=7))
    assert [field["name"] for field in again["payload"]["embeds"][0]["fields"]] == names
    buttons = [b for row in first["payload"]["components"] for b in row["components"]]
    assert [b["label"] for b in buttons] == ["More like #1", "More like #2", "More like #3"]
    assert all(re.search(r":3:[0-9a-f]{4}\+[0-9a-z]+$", b["custom_id"]) for b in buttons)


def test_discover_words_no_item_carries_get_a_private_answer(live: LiveBot) -> None:
    reply = live.fake.wait_reply(discover(live, "Noise, Guitar"))
    assert reply["ephemeral"] is True
    text = visible(reply["payload"]["content"])
    assert text.startswith("0 segments of this catalog carry all of"), text
