"""End to end: the real bot process, the real discord.py, against the fake Discord.

One bot process serves the whole module (catalog: seven generated "videos" embedded with
the synthetic VGGish). Every test asserts on the exact JSON the bot sent, and at the end
of each test the fake must have seen no broken rule (limits, deadlines, tokens).
"""

from __future__ import annotations

import re
import signal
import socket
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.errors import ADMIN_ONLY_MESSAGE
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.embedders.base import Embedder
from tests.bot.conftest import LiveBot, LiveBotFactory
from tests.fake_discord.markdown import field_rows, render, visible
from tests.fake_discord.payloads import EPHEMERAL_FLAG
from tests.fake_discord.server import CALLBACK_DEFERRED_MESSAGE, CALLBACK_MESSAGE
from tests.fake_discord.world import CATALOG_VIDEOS, build_catalog
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.media import generate_media

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_broken_rules")]

LINK_VIDEO = "linkvid0001"
FOOTER = re.compile(r"^musicrec · catalog [0-9a-f]{8}$")
ENTRY = re.compile(
    r"^\[Play from 0:01\]\(https://www\.youtube\.com/watch\?v=(?P<id>[\w-]{11})&t=1s\) "
    r"\(0:01–0:11\) · \*\*(?P<pct>\d+)%\*\* similar\n(?P<labels>.+)$"
)
VIDEOS = {video.video_id: video for video in CATALOG_VIDEOS}


@pytest.fixture(scope="module")
def metrics_port() -> int:
    """A free port for the live bot's metrics."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def live(
    start_live_bot: LiveBotFactory, tmp_path_factory: pytest.TempPathFactory, metrics_port: int
) -> LiveBot:
    media = tmp_path_factory.mktemp("link-media")
    link_audio = generate_media(media / "link.mp3", seconds=20, tone_hz=660).read_bytes()
    env = {"MUSICREC_METRICS_PORT": str(metrics_port)}
    return start_live_bot(serve_videos={LINK_VIDEO: link_audio}, extra_env=env)


def scraped_requests(port: int) -> dict[tuple[str, str], float]:
    """The bot's ``musicrec_requests_total`` by (entry point, outcome), scraped over HTTP."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.labels["entry_point"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "musicrec_requests_total"
    }


def current_fingerprint(index_dir: Path) -> str:
    with CatalogIndex.load(index_dir) as index:
        return index.fingerprint


def recommend_file(live: LiveBot, data: bytes, name: str, **options: Any) -> str:
    attachment = live.fake.add_attachment(data, name, "audio/mpeg")
    values = [{"name": "file", "type": 11, "value": attachment["id"]}]
    values += [
        {"name": key, "type": 4 if isinstance(value, int) else 3, "value": value}
        for key, value in options.items()
    ]
    return live.fake.slash_command("recommend", values, attachments=[attachment])


def assert_result_message(
    payload: dict[str, Any], *, title: str, heard: str, count: int, fingerprint: str
) -> list[str]:
    """Check a result reply field by field; returns the recommended video ids in order."""
    assert set(payload) >= {"embeds", "components"}
    assert payload.get("content") in (None, "")
    (embed,) = payload["embeds"]
    assert embed["title"] == title
    assert visible(embed["description"]) == visible(heard)
    assert render(embed["description"]).links == render(heard).links
    assert embed["footer"]["text"] == f"musicrec · catalog {fingerprint}"
    fields = embed["fields"]
    assert len(fields) == count
    ids, percentages = [], []
    for rank, field in enumerate(fields, start=1):
        match = ENTRY.match(field["value"])
        assert match, field["value"]
        video = VIDEOS[match["id"]]
        assert field["name"] == f"#{rank} {video.title}"
        assert render(match["labels"]).visible == ", ".join(video.labels)
        assert 0 <= int(match["pct"]) <= 100
        percentages.append(int(match["pct"]))
        assert field["inline"] is False
        ids.append(video.video_id)
    assert len(set(ids)) == count
    assert percentages == sorted(percentages, reverse=True)  # the score the list is ordered by
    links, more, mixes = payload["components"]
    assert [button["url"] for button in links["components"]] == [
        f"https://www.youtube.com/watch?v={video_id}&t=1s" for video_id in ids
    ]
    assert [button["label"] for button in links["components"]] == [
        f"#{rank} {VIDEOS[video_id].title}" for rank, video_id in enumerate(ids, start=1)
    ]
    assert all(button["style"] == 5 for button in links["components"])
    assert [button["label"] for button in more["components"]] == [
        f"More like #{rank}" for rank in range(1, count + 1)
    ]
    item_ids = [list(VIDEOS).index(video_id) for video_id in ids]
    assert [button["custom_id"] for button in more["components"]] == [
        f"musicrec:more:{fingerprint}:{item}:{count}" for item in item_ids
    ]
    assert [button["custom_id"] for button in mixes["components"]] == [
        f"musicrec:mixfrom:{fingerprint}:{item}" for item in item_ids
    ]
    return ids


def test_recommend_with_an_attachment(live: LiveBot, song: bytes) -> None:
    fake = live.fake
    interaction = recommend_file(live, song, "concert-a.mp3", count=3)
    reply = fake.wait_reply(interaction)
    assert fake.acknowledgement(interaction) == CALLBACK_DEFERRED_MESSAGE
    callback = fake.wait_records(lambda r: r.interaction_id == interaction and r.kind == "callback")
    assert callback[0].body == {"type": CALLBACK_DEFERRED_MESSAGE}
    assert callback[0].query == {"with_response": "1"}
    assert reply["kind"] == "followup" and reply["ephemeral"] is False
    ids = assert_result_message(
        reply["payload"],
        title="Sounds like this",
        heard="Heard: **concert-a.mp3**, 0:00–0:10",
        count=3,
        fingerprint=current_fingerprint(live.index_dir),
    )
    assert ids[0] == "tone0440ccc"  # the same tone is the nearest neighbour
    downloads = [r for r in fake.records if r.kind == "cdn"]
    assert len(downloads) == 1 and downloads[0].status == 200


def test_a_recommend_moves_the_scraped_request_counter(
    live: LiveBot, song: bytes, metrics_port: int
) -> None:
    before = scraped_requests(metrics_port)
    live.fake.wait_reply(recommend_file(live, song, "concert-a.mp3", count=3))
    after = scraped_requests(metrics_port)
    assert after[("recommend", "ok")] == before[("recommend", "ok")] + 1
    assert after[("link", "ok")] == before[("link", "ok")]


def test_start_option_picks_the_window(live: LiveBot, song: bytes) -> None:
    reply = live.fake.wait_reply(recommend_file(live, song, "concert-a.mp3", start="0:02"))
    assert (
        visible(reply["payload"]["embeds"][0]["description"]) == "Heard: concert-a.mp3, 0:02–0:12"
    )


def test_more_like_button_requeries_without_downloading(live: LiveBot, song: bytes) -> None:
    fake = live.fake
    first = fake.wait_reply(recommend_file(live, song, "concert-a.mp3", count=2))
    downloads = len([r for r in fake.records if r.kind == "cdn"])
    more_buttons = first["payload"]["components"][1]["components"]
    click = fake.click(first["message"], more_buttons[0]["custom_id"], who="dj")
    reply = fake.wait_reply(click)
    assert fake.acknowledgement(click) == CALLBACK_DEFERRED_MESSAGE
    assert len([r for r in fake.records if r.kind == "cdn"]) == downloads
    ids = assert_result_message(
        reply["payload"],
        title="More like this",
        heard=(
            "Heard: **Concert A**, 0:01–0:11 · "
            "[on YouTube](https://www.youtube.com/watch?v=tone0440ccc)"
        ),
        count=2,
        fingerprint=current_fingerprint(live.index_dir),
    )
    assert "tone0440ccc" not in ids


def ytdlp_workers_of(pid: int) -> list[int]:
    """Process ids of the yt-dlp workers process ``pid`` started (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if parent == str(pid) and b"_ytdlp_worker.py" in command:
                found.append(int(entry.name))
    return found


def test_a_pasted_link_is_answered_in_the_channel(live: LiveBot) -> None:
    fake = live.fake
    (worker,) = ytdlp_workers_of(live.process.process.pid)  # started with the bot
    fake.post_message(f"ignore me https://youtu.be/{LINK_VIDEO}", who="otherbot")
    fake.post_message("no link in this one")
    message = fake.post_message(f"listen to **https://youtu.be/{LINK_VIDEO}?t=3** !")
    (record,) = fake.wait_records(lambda r: r.kind == "channel_message")
    assert record.body["message_reference"]["message_id"] == int(message["id"])
    assert record.body["allowed_mentions"]["replied_user"] is False
    description = record.body["embeds"][0]["description"]
    assert re.fullmatch(  # t=3 snapped to the 5-s grid: the window heard is shown
        rf"Heard: \*\*.+\*\*, 0:00–0:10 · "
        rf"\[on YouTube\]\(https://www\.youtube\.com/watch\?v={LINK_VIDEO}\)",
        description,
    ), description
    ids = assert_result_message(
        record.body,
        title="Sounds like this",
        heard=description,
        count=5,
        fingerprint=current_fingerprint(live.index_dir),
    )
    assert ids[0] == "tone0660ddd"  # the served "video" is the catalog's 660 Hz tone
    assert ytdlp_workers_of(live.process.process.pid) == [worker]  # it fetched the link
    assert [r for r in fake.records if r.kind == "typing"]
    assert len([r for r in fake.records if r.kind == "channel_message"]) == 1


def test_a_failing_typing_indicator_does_not_stop_a_link_answer(live: LiveBot) -> None:
    """The typing indicator is cosmetic: when Discord refuses it, the link is answered."""
    fake = live.fake
    fake.typing_error = (403, 50013, "Missing Permissions")
    try:
        before = len(fake.records)
        message = fake.post_message(f"this one https://youtu.be/{LINK_VIDEO}?t=3")
        (record,) = fake.wait_records(
            lambda r: (
                r.kind == "channel_message"
                and r.body.get("message_reference", {}).get("message_id") == int(message["id"])
            )
        )
    finally:
        fake.typing_error = None
    assert [r for r in fake.records[before:] if r.kind == "typing"]
    assert record.body["embeds"][0]["title"] == "Sounds like this"
    assert len(record.body["embeds"][0]["fields"]) == 5
    assert live.process.wait_for_line("typing indicator")


def test_context_menu_on_a_message_with_an_audio_attachment(live: LiveBot, song: bytes) -> None:
    fake = live.fake
    attachment = fake.add_attachment(song, "voice-note.mp3", "audio/mpeg")
    target = fake.post_message("what is this?", attachments=[attachment])
    interaction = fake.message_command("Find similar music", target)
    reply = fake.wait_reply(interaction)
    ids = assert_result_message(
        reply["payload"],
        title="Sounds like this",
        heard="Heard: **voice-note.mp3**, 0:00–0:10",
        count=5,
        fingerprint=current_fingerprint(live.index_dir),
    )
    assert ids[0] == "tone0440ccc"


def test_context_menu_refuses_a_message_without_audio_or_link(live: LiveBot) -> None:
    fake = live.fake
    target = fake.post_message("just words")
    interaction = fake.message_command("Find similar music", target)
    reply = fake.wait_reply(interaction)
    assert fake.acknowledgement(interaction) == CALLBACK_MESSAGE
    assert visible(reply["payload"].pop("content")) == (
        "That message has no audio attachment and no YouTube link."
    )
    assert reply["payload"] == {
        "flags": EPHEMERAL_FLAG,
        "tts": False,
        "allowed_mentions": {"parse": []},
    }


def test_file_and_link_together_are_refused_at_once(live: LiveBot, song: bytes) -> None:
    fake = live.fake
    attachment = fake.add_attachment(song, "a.mp3", "audio/mpeg")
    interaction = fake.slash_command(
        "recommend",
        [
            {"name": "file", "type": 11, "value": attachment["id"]},
            {"name": "link", "type": 3, "value": f"https://youtu.be/{LINK_VIDEO}"},
        ],
        attachments=[attachment],
    )
    reply = fake.wait_reply(interaction)
    assert reply["kind"] == "message" and reply["ephemeral"] is True
    assert visible(reply["payload"]["content"]) == "Give either a file or a link, not both."
    assert not [r for r in fake.records if r.kind == "cdn" and attachment["id"] in r.path]


def test_a_file_that_is_not_audio_gets_the_decoder_message(live: LiveBot) -> None:
    interaction = recommend_file(live, b"just some text, not audio\n" * 50, "notes.mp3")
    reply = live.fake.wait_reply(interaction)
    assert reply["kind"] == "followup"
    content = visible(reply["payload"]["content"])
    assert "notes.mp3" in content and "\n" not in content
    assert "Something went wrong" not in content


def test_reload_is_refused_for_a_plain_member(live: LiveBot) -> None:
    interaction = live.fake.slash_command("musicrec reload", who="member")
    reply = live.fake.wait_reply(interaction)
    assert reply["kind"] == "message"
    assert reply["payload"] == {
        "content": ADMIN_ONLY_MESSAGE,
        "flags": EPHEMERAL_FLAG,
        "tts": False,
        "allowed_mentions": {"parse": []},
    }


def status_rows(live: LiveBot, who: str) -> dict[str, str]:
    reply = live.fake.wait_reply(live.fake.slash_command("musicrec status", who=who))
    assert reply["ephemeral"] is True
    return field_rows(reply["payload"]["embeds"][0])


@pytest.mark.parametrize("who", ["admin", "dj", "owner"])
def test_status_for_each_kind_of_admin(live: LiveBot, who: str) -> None:
    rows = status_rows(live, who)
    assert rows["Index items"] == str(len(CATALOG_VIDEOS))
    assert rows["Index embedder"].startswith("vggish ")
    assert rows["Model"].startswith("vggish ")
    assert re.fullmatch(r"\d+/32 admitted, \d+ waiting", rows["Queue"])
    assert re.fullmatch(r"\d+\.\d ms since last status", rows["Loop lag peak"])
    assert rows["Link replies"] == "on"


def test_reload_swaps_a_new_catalog_and_stale_buttons_are_refused(
    live: LiveBot, song: bytes, vggish: Embedder
) -> None:
    fake = live.fake
    old = fake.wait_reply(recommend_file(live, song, "concert-a.mp3", count=1))
    old_fingerprint = current_fingerprint(live.index_dir)
    build_catalog(live.index_dir, live.work_dir / "rebuild-media", vggish, videos=3)
    new_fingerprint = current_fingerprint(live.index_dir)
    assert new_fingerprint != old_fingerprint

    interaction = fake.slash_command("musicrec reload", who="admin")
    reply = fake.wait_reply(interaction)
    assert fake.acknowledgement(interaction) == CALLBACK_DEFERRED_MESSAGE
    assert reply["ephemeral"] is True
    (embed,) = reply["payload"]["embeds"]
    rows = field_rows(embed)
    assert embed["title"] == "Catalog reloaded"
    assert rows["Items"] == "3"
    assert rows["Catalog id"] == new_fingerprint
    assert rows["Version"] == CatalogIndex.load(live.index_dir).directory.name

    stale = old["payload"]["components"][1]["components"][0]["custom_id"]
    click = fake.click(old["message"], stale)
    refused = fake.wait_reply(click)
    assert refused["kind"] == "message" and refused["ephemeral"] is True
    assert visible(refused["payload"]["content"]).startswith(
        "The catalog has been rebuilt since this reply"
    )

    fresh = fake.wait_reply(recommend_file(live, song, "concert-a.mp3", count=3))
    assert_result_message(
        fresh["payload"],
        title="Sounds like this",
        heard="Heard: **concert-a.mp3**, 0:00–0:10",
        count=3,
        fingerprint=new_fingerprint,
    )


def test_broken_and_mismatched_indexes_are_refused_while_the_old_one_serves(
    live: LiveBot, song: bytes, vggish: Embedder
) -> None:
    fake = live.fake
    serving = status_rows(live, "admin")
    # A catalog built with another embedder, published into the index folder.
    build_catalog(live.index_dir, live.work_dir / "band-media", BandEnergyEmbedder(), videos=2)
    mismatch = fake.wait_reply(fake.slash_command("musicrec reload", who="admin"))
    assert mismatch["ephemeral"] is True
    assert "bands" in visible(mismatch["payload"]["content"])
    assert "vggish" in visible(mismatch["payload"]["content"])
    # A version built with the right embedder whose vector file is then cut short.
    build_catalog(live.index_dir, live.work_dir / "cut-media", vggish, videos=2)
    with CatalogIndex.load(live.index_dir) as index:
        vectors = index.directory / "vectors.ann"
    vectors.write_bytes(vectors.read_bytes()[:100])
    corrupt = fake.wait_reply(fake.slash_command("musicrec reload", who="admin"))
    assert corrupt["ephemeral"] is True
    assert "vectors.ann" in visible(corrupt["payload"]["content"])

    still = fake.wait_reply(recommend_file(live, song, "concert-a.mp3", count=2))
    assert len(still["payload"]["embeds"][0]["fields"]) == 2
    assert status_rows(live, "admin")["Index version"] == serving["Index version"]


def test_sighup_reloads_the_catalog(live: LiveBot, vggish: Embedder) -> None:
    build_catalog(live.index_dir, live.work_dir / "sighup-media", vggish, videos=4)
    live.process.send_signal(signal.SIGHUP)
    live.process.wait_for_line("reloaded the catalog: 4 items", timeout=120)
    assert status_rows(live, "admin")["Index items"] == "4"
