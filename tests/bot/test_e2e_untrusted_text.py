"""End to end: text from outside reaches Discord inert (issue 18, finding 1).

The real bot process answers the fake Discord; every payload it sends is read through the
strict markdown reader (:mod:`tests.fake_discord.markdown`). The outside text comes in by
every road a member or a video owner has: an upload's title tag and file name, a YouTube
video's title (yt-dlp), and the oEmbed titles and channel names of the recommended videos.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mutagen.easyid3 import EasyID3

from tests.bot.conftest import LiveBot, LiveBotFactory
from tests.fake_discord.markdown import payload_links, payload_mentions, read_payload, render
from tests.fake_discord.world import CATALOG_VIDEOS
from tests.helpers.hostile_text import BREAKOUT, NITRO, shown_form
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.media import generate_media
from tests.helpers.oembed import OEmbedStandIn

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_broken_rules")]

LINK_VIDEO = "linkvid0002"
CHANNEL = "<@123456789012345678> @everyone [Support](https://evil.example/help)"
BOT_LINK = "https://www.youtube.com/watch?v="
EMPTY_UPLOAD_NAME = "**Win** ||free|| <@123456789012345678> @everyone <t:0:R>.mp3"


@pytest.fixture(scope="module")
def oembed() -> Iterator[OEmbedStandIn]:
    """Every catalog video's oEmbed answer holds a phishing title and a pinging channel."""
    server = LocalHTTPServer()
    stand_in = OEmbedStandIn(server)
    for video in CATALOG_VIDEOS:
        stand_in.found(video.video_id, NITRO, channel=CHANNEL)
    yield stand_in
    server.close()


@pytest.fixture(scope="module")
def live(
    start_live_bot: LiveBotFactory,
    oembed: OEmbedStandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> LiveBot:
    media = tmp_path_factory.mktemp("hostile-media")
    link_audio = generate_media(media / "link.mp3", seconds=20, tone_hz=660).read_bytes()
    return start_live_bot(
        extra_env={"MUSICREC_OEMBED_URL": oembed.endpoint},
        serve_videos={LINK_VIDEO: link_audio},
        served_names={LINK_VIDEO: BREAKOUT},  # yt-dlp's generic extractor: the title
    )


def titled_mp3(directory: Path, title: str) -> bytes:
    path = generate_media(directory / "tagged.mp3", seconds=12, tone_hz=440)
    tags = EasyID3()
    tags["title"] = title
    tags["artist"] = CHANNEL
    tags.save(path)
    return path.read_bytes()


def recommend(live: LiveBot, **options: Any) -> dict[str, Any]:
    values = [{"name": key, "type": 3, "value": value} for key, value in options.items()]
    return live.fake.wait_reply(live.fake.slash_command("recommend", values))


def upload(live: LiveBot, data: bytes, name: str) -> dict[str, Any]:
    attachment = live.fake.add_attachment(data, name, "audio/mpeg")
    values = [{"name": "file", "type": 11, "value": attachment["id"]}]
    interaction = live.fake.slash_command("recommend", values, attachments=[attachment])
    return live.fake.wait_reply(interaction)


def assert_only_bot_links(payload: dict[str, Any]) -> None:
    links = payload_links(payload)
    assert [link for link in links if not link.startswith(BOT_LINK)] == [], json.dumps(payload)
    assert not any("evil.example" in link or "x.example" in link for link in links)
    assert payload_mentions(payload) == []


def test_an_upload_titled_like_a_phishing_link_shows_no_link(live: LiveBot, tmp_path: Path) -> None:
    reply = upload(live, titled_mp3(tmp_path, NITRO), "song.mp3")
    payload = reply["payload"]
    assert reply["ephemeral"] is False and payload["embeds"], payload
    assert_only_bot_links(payload)
    heard = render(payload["embeds"][0]["description"])
    assert heard.visible.startswith(f"Heard: {NITRO}, 0:00–0:10")
    assert heard.formatting == ["bold"] and heard.links == []
    for field in payload["embeds"][0]["fields"]:  # oEmbed titles and channels
        assert render(field["name"]).visible.endswith(NITRO)
        assert shown_form(CHANNEL) in render(field["value"]).visible
    labels = [child["label"] for child in payload["components"][0]["components"]]
    assert labels and all(label.startswith("#") and "\\" not in label for label in labels)


def test_a_youtube_title_cannot_turn_heard_into_a_link(live: LiveBot) -> None:
    reply = recommend(live, link=f"https://youtu.be/{LINK_VIDEO}")
    payload = reply["payload"]
    assert payload["embeds"], payload
    assert_only_bot_links(payload)
    heard = render(payload["embeds"][0]["description"])
    assert heard.visible.startswith(f"Heard: {BREAKOUT}, 0:")
    assert heard.links == [f"{BOT_LINK}{LINK_VIDEO}"]  # the bot's own link, apart


def test_an_error_quoting_a_hostile_file_name_pings_nobody(live: LiveBot) -> None:
    reply = upload(live, b"", EMPTY_UPLOAD_NAME)
    assert reply["ephemeral"] is True
    for reading in read_payload(reply["payload"]):
        assert not reading.rendering.active, (reading.where, reading.rendering)
    content = render(reply["payload"]["content"]).visible
    assert shown_form(EMPTY_UPLOAD_NAME) in content


def test_every_message_the_bot_sent_allows_no_mention(live: LiveBot) -> None:
    sent = [
        record
        for record in live.fake.records
        if record.kind in ("followup", "callback", "edit_original", "channel_message")
    ]
    bodies = [record.body for record in sent if isinstance(record.body, dict)]
    messages = [body.get("data", body) for body in bodies]
    with_text = [message for message in messages if message.get("content") or message.get("embeds")]
    assert with_text
    for message in with_text:
        assert message.get("allowed_mentions", {}).get("parse") == [], message
