"""End to end: /mix and /path through the real bot process and the fake Discord.

The catalog holds seven "videos" (tones and noise, :mod:`tests.fake_discord.world`), so a
mix of 15 from one of them is short: the reply says so and shows the six that fit.
"""

from __future__ import annotations

import copy
import http.client
import json
import re
from pathlib import Path
from typing import Any

import pytest

from musicrec_core.api.key_limits import KeyLimits
from musicrec_core.api.keys import ApiKeyStore
from musicrec_core.service.vocabulary import WORDS_MISSING_MESSAGE
from tests.bot.conftest import LiveBot, LiveBotFactory
from tests.fake_discord.markdown import visible
from tests.fake_discord.world import CATALOG_VIDEOS

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_broken_rules")]

CALLBACK_UPDATE_MESSAGE = 7
WATCH_ROW = re.compile(r"https://www\.youtube\.com/watch\?v=(?P<id>[\w-]{11})\S* (?P<title>.+)")
"""One line of a YouTube session's export: a watch link, a space, the video's title."""


@pytest.fixture(scope="module")
def api_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A key file with one key (``jukebox``), and the key."""
    keys = tmp_path_factory.mktemp("bot-api") / "keys.sqlite3"
    store = ApiKeyStore(keys)
    key = store.add("jukebox", KeyLimits())
    store.close()
    return keys, key


@pytest.fixture(scope="module")
def live(start_live_bot: LiveBotFactory, api_key: tuple[Path, str]) -> LiveBot:
    """A bot that also serves the HTTP API from its own process, on a port the system picks."""
    api = {
        "MUSICREC_BOT_SERVES_API": "true",
        "MUSICREC_API_PORT": "0",
        "MUSICREC_API_KEYS_PATH": str(api_key[0]),
    }
    return start_live_bot(extra_env=api)


def command(live: LiveBot, name: str, song: bytes | None = None, **options: Any) -> str:
    attachments, values = [], []
    if song is not None:
        attachment = live.fake.add_attachment(song, "concert-a.mp3", "audio/mpeg")
        attachments.append(attachment)
        file_option = "file" if name == "mix" else "from_file"
        values.append({"name": file_option, "type": 11, "value": attachment["id"]})
    values += [
        {"name": key, "type": 4 if isinstance(value, int) else 3, "value": value}
        for key, value in options.items()
    ]
    return live.fake.slash_command(name, values, attachments=attachments)


def test_a_mix_too_long_for_the_catalog_pages_and_refuses_other_members(
    live: LiveBot, song: bytes
) -> None:
    fake = live.fake
    reply = fake.wait_reply(command(live, "mix", song, link="not a link", count=15))
    assert reply["kind"] == "followup" and reply["ephemeral"] is False
    (embed,) = reply["payload"]["embeds"]
    lines = visible(embed["description"]).split("\n")
    assert lines[0] == "From concert-a.mp3"
    assert lines[1].startswith("Skipped not a link: ")
    assert "Only 6 of the 15 tracks asked fit" in lines[2]
    assert lines[-1] == "6 tracks · page 1 of 1"
    titles = [visible(field["name"]).split(" ", 1)[1] for field in embed["fields"]]
    assert "Concert A" not in titles  # the seed itself is never played
    assert sorted(titles) == sorted(v.title for v in CATALOG_VIDEOS if v.title != "Concert A")
    buttons = reply["payload"]["components"][0]["components"]
    assert [b["label"] for b in buttons] == ["◀ Previous", "Next ▶", "Export"]
    assert buttons[0]["disabled"] is True and buttons[1]["disabled"] is True
    assert all(len(b["custom_id"]) <= 100 for b in buttons)
    playlists = reply["payload"]["components"][1]["components"]
    assert playlists[-1]["url"].startswith("https://www.youtube.com/watch_videos?video_ids=")

    foreign = fake.wait_reply(fake.click(reply["message"], buttons[1]["custom_id"], who="dj"))
    assert foreign["kind"] == "message" and foreign["ephemeral"] is True
    assert visible(foreign["payload"]["content"]).startswith("Only the member who asked")
    page = fake.click(reply["message"], buttons[1]["custom_id"])
    assert fake.wait_reply(page)["kind"] == "update"
    assert fake.acknowledgement(page) == CALLBACK_UPDATE_MESSAGE

    # A session no longer kept (expired, pushed out, a restart): discord.py only answers a
    # custom_id the clicked message carries, so forge both.
    message = copy.deepcopy(reply["message"])
    forged = message["components"][0]["components"][1]
    forged["custom_id"] = "musicrec:session:00000000:2"
    ended = fake.wait_reply(fake.click(message, forged["custom_id"]))
    assert ended["kind"] == "message" and ended["ephemeral"] is True
    assert visible(ended["payload"]["content"]).startswith("This session has ended")


def test_every_seed_failing_is_told_privately(live: LiveBot) -> None:
    reply = live.fake.wait_reply(command(live, "mix", link="nope", link2="https://example.com/x"))
    assert reply["kind"] == "message" and reply["ephemeral"] is True
    text = visible(reply["payload"]["content"])
    assert text.startswith("Give 1 to 5 seeds")
    assert "Skipped nope:" in text and "Skipped https://example.com/x:" in text


def test_a_path_between_the_same_track_is_refused(live: LiveBot, song: bytes) -> None:
    attachment = live.fake.add_attachment(song, "concert-a.mp3", "audio/mpeg")
    values = [
        {"name": "from_file", "type": 11, "value": attachment["id"]},
        {"name": "to_file", "type": 11, "value": attachment["id"]},
    ]
    reply = live.fake.wait_reply(live.fake.slash_command("path", values, attachments=[attachment]))
    assert reply["ephemeral"] is True
    assert visible(reply["payload"]["content"]).startswith("A and B are the same track")


def test_mix_from_a_recommendation_walks_from_that_result(live: LiveBot, song: bytes) -> None:
    fake = live.fake
    attachment = fake.add_attachment(song, "concert-a.mp3", "audio/mpeg")
    values = [
        {"name": "file", "type": 11, "value": attachment["id"]},
        {"name": "count", "type": 4, "value": 2},
    ]
    first = fake.wait_reply(fake.slash_command("recommend", values, attachments=[attachment]))
    top = first["payload"]["embeds"][0]["fields"][0]["name"].split(" ", 1)[1]
    mix_button = first["payload"]["components"][2]["components"][0]
    assert mix_button["label"] == "Mix from #1"
    reply = fake.wait_reply(fake.click(first["message"], mix_button["custom_id"]))
    assert reply["kind"] == "followup" and reply["ephemeral"] is False
    (embed,) = reply["payload"]["embeds"]
    assert visible(embed["description"]).split("\n")[0] == f"From {top}"
    titles = [visible(field["name"]).split(" ", 1)[1] for field in embed["fields"]]
    assert top not in titles and len(titles) == len(set(titles)) == len(CATALOG_VIDEOS) - 1


def test_seeds_that_cannot_be_heard_are_told_privately_after_thinking(live: LiveBot) -> None:
    fake = live.fake
    junk = fake.add_attachment(b"plain words, no audio\n" * 50, "notes.mp3", "audio/mpeg")
    values = [
        {"name": "file", "type": 11, "value": junk["id"]},
        {"name": "link2", "type": 3, "value": "nope"},
    ]
    reply = fake.wait_reply(fake.slash_command("mix", values, attachments=[junk]))
    assert reply["ephemeral"] is True
    text = visible(reply["payload"]["content"])
    assert text.startswith("No seed could be heard. Skipped nope: ")
    assert "Skipped notes.mp3: " in text


def test_path_words_are_checked_before_anything_is_fetched(live: LiveBot) -> None:
    """/path takes `more:`/`less:` as /mix does; this catalog's label names are not
    installed, so the words are refused privately before either end is fetched."""
    ends = {"from": "https://youtu.be/dQw4w9WgXcQ", "to": "https://youtu.be/abcdefghijk"}
    reply = live.fake.wait_reply(command(live, "path", **ends, more="guitar"))
    assert reply["kind"] == "message" and reply["ephemeral"] is True
    assert visible(reply["payload"]["content"]) == WORDS_MISSING_MESSAGE


def test_export_of_a_youtube_mix_gives_its_links_and_playlist_privately(
    live: LiveBot, song: bytes
) -> None:
    fake = live.fake
    reply = fake.wait_reply(command(live, "mix", song, count=15))
    titles = [visible(f["name"]).split(" ", 1)[1] for f in reply["payload"]["embeds"][0]["fields"]]
    ids = [next(v.video_id for v in CATALOG_VIDEOS if v.title == title) for title in titles]
    previous, following, export = reply["payload"]["components"][0]["components"]
    session_id = export["custom_id"].split(":")[2]
    assert export["custom_id"] == f"musicrec:session:{session_id}:export"

    foreign = fake.wait_reply(fake.click(reply["message"], export["custom_id"], who="dj"))
    assert foreign["ephemeral"] is True and foreign["files"] == []
    assert visible(foreign["payload"]["content"]).startswith("Only the member who asked")

    exported = fake.wait_reply(fake.click(reply["message"], export["custom_id"]))
    assert exported["kind"] == "followup" and exported["ephemeral"] is True
    (upload,) = exported["files"]
    assert upload.filename == f"mix-{session_id}.txt"
    rows = [WATCH_ROW.fullmatch(line) for line in upload.text().splitlines()]
    assert all(rows), upload.text()
    assert [(row["id"], row["title"]) for row in rows if row] == list(zip(ids, titles, strict=True))
    playlist = "https://www.youtube.com/watch_videos?video_ids=" + "%2C".join(ids)
    content = exported["payload"]["content"]
    assert re.findall(r"https://www\.youtube\.com/watch_videos\?[^\s)>]+", content) == [playlist]
    assert reply["payload"]["components"][1]["components"][-1]["url"] == playlist
    assert visible(content).endswith("The playlist links need no YouTube account.")


def test_the_api_served_from_the_bot_answers_through_the_bots_own_service(
    live: LiveBot, api_key: tuple[Path, str]
) -> None:
    """MUSICREC_BOT_SERVES_API: the bot's process listens for the API too, and an API request
    is counted by the bot's own service (its registry, the one the bot's commands count
    in; the bot serves no other /metrics here)."""
    line = live.process.wait_for_line("listening on http://", timeout=60)
    port = int(line.rsplit(":", 1)[1].split()[0])
    headers = {"Authorization": f"Bearer {api_key[1]}"}
    seed = CATALOG_VIDEOS[2].video_id
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", f"/v1/similar?seed={seed}&n=3", headers=headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
        assert response.status == 200, answer
        connection.request("GET", "/metrics")
        metrics = connection.getresponse().read().decode()
    finally:
        connection.close()
    ids = [item["id"] for item in answer["items"]]
    assert len(ids) == 3 and seed not in ids
    assert 'musicrec_requests_total{entry_point="api_similar",outcome="ok"} 1.0' in metrics
