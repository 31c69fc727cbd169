"""A session page reads as Discord shows it (hostile titles inert, only the bot's links,
every limit kept), its buttons page within custom_id limits, and its export holds no server
path."""

from __future__ import annotations

import re

from bot.session_reply import SessionButton, export_file, page_count, session_page
from bot.session_store import StoredSession
from musicrec_core.catalog.index import ItemMeta
from musicrec_core.sessions import MixItem, PathItem, Session
from musicrec_core.titles import VideoAnswer
from tests.fake_discord.limits import message_violations
from tests.fake_discord.markdown import payload_links, payload_mentions, read_payload
from tests.helpers.hostile_text import BREAKOUT, NITRO

SESSION_ID = "0a1b2c3d"
MENTION = "<@123456789012345678> @everyone"


def video(number: int) -> str:
    return f"vid{number:08d}"


def youtube_mix(items: int) -> StoredSession:
    metas = [ItemMeta(video(n), 30.0, 40.0, (NITRO,), title=BREAKOUT * 20) for n in range(items)]
    answers = {
        video(n): VideoAnswer(video(n), "found", f"{NITRO} #{n}", f"{MENTION} band")
        for n in range(0, items, 2)
    }
    session = Session(tuple(MixItem(n, m, 0.8, 0.7) for n, m in enumerate(metas)), items)
    return StoredSession(7, "0123abcd", "mix", session, ("From **a**",), answers)


def library_path(paths: list[str]) -> StoredSession:
    items = tuple(
        PathItem(
            n, ItemMeta(f"{n:064x}", 0.0, 10.0, (), title=None, source=p, kind="file"), 0.9, 0.2
        )
        for n, p in enumerate(paths)
    )
    return StoredSession(7, "0123abcd", "path", Session(items, len(items)))


def payload_of(stored: StoredSession, page: int) -> dict:
    embed, view = session_page(stored, SESSION_ID, page)
    return {"embeds": [embed.to_dict()], "components": view.to_components()}


def test_a_hostile_fifty_track_mix_is_inert_within_limits_and_paged() -> None:
    stored = youtube_mix(50)
    assert page_count(stored) == 5
    payload = payload_of(stored, 1)
    assert message_violations(payload) == []
    assert payload_mentions(payload) == []
    assert {link.split("&")[0] for link in payload_links(payload)} == {
        f"https://www.youtube.com/watch?v={video(n)}" for n in range(10)
    }
    shown = "\n".join(reading.rendering.visible for reading in read_payload(payload))
    assert f"#1 {NITRO} #0" in shown and "by <@123456789012345678> @everyone band" in shown
    assert "80% like the one before · 70% like the seeds" in shown
    assert "50 tracks · page 1 of 5" in shown
    pages, playlists = payload["components"]
    assert [(b["label"], b.get("disabled", False)) for b in pages["components"]] == [
        ("◀ Previous", True),
        ("Next ▶", False),
        ("Export", False),
    ]
    custom_ids = [b["custom_id"] for b in pages["components"]]
    assert custom_ids == [f"musicrec:session:{SESSION_ID}:{a}" for a in ("0", "2", "export")]
    assert all(SessionButton.__discord_ui_compiled_template__.fullmatch(c) for c in custom_ids)
    assert [b["label"] for b in playlists["components"]] == [
        "Play page 1 on YouTube",
        "Play 1–25 on YouTube",
        "Play 26–50 on YouTube",
    ]
    last = playlists["components"][2]["url"]
    assert last.endswith("=" + "%2C".join(video(n) for n in range(25, 50)))


def test_the_last_page_holds_the_rest_and_cannot_go_further() -> None:
    payload = payload_of(youtube_mix(23), 9)  # clamped to the last page
    assert [field["name"].split(" ")[0] for field in payload["embeds"][0]["fields"]] == [
        "#21",
        "#22",
        "#23",
    ]
    previous, following, _ = payload["components"][0]["components"]
    assert previous["custom_id"].endswith(":2") and not previous.get("disabled")
    assert following.get("disabled") is True
    assert [b["label"] for b in payload["components"][1]["components"]] == [
        "Play page 3 on YouTube",
        "Play all on YouTube",
    ]


def test_a_library_path_shows_file_names_its_figures_and_no_playlist_link() -> None:
    stored = library_path([f"/srv/music/{MENTION}/song {n}.flac" for n in range(3)])
    payload = payload_of(stored, 1)
    assert message_violations(payload) == []
    shown = "\n".join(reading.rendering.visible for reading in read_payload(payload))
    assert "/srv/music" not in shown and "#1 song 0.flac" in shown
    assert "90% like A · 20% like B" in shown
    assert len(payload["components"]) == 1  # no YouTube videos: no playlist links


def test_a_library_export_is_an_m3u8_of_file_names_only() -> None:
    stored = library_path(["/srv/music/a\u202e.flac", "/srv/music/Band/b.mp3"])
    message, file = export_file(stored, SESSION_ID, duration=lambda path: 200.4)
    assert file.filename == f"path-{SESSION_ID}.m3u8"
    text = file.fp.read().decode("utf-8")
    assert "/srv" not in text
    assert text.splitlines() == ["#EXTM3U", "#EXTINF:200,b.mp3", "b.mp3"]
    assert "each file's name only" in message
    assert "1 item was left out: its file name cannot be written" in message


def test_a_youtube_export_lists_the_links_and_the_playlists() -> None:
    message, file = export_file(youtube_mix(30), SESSION_ID)
    assert file.filename == f"mix-{SESSION_ID}.txt"
    lines = file.fp.read().decode("utf-8").splitlines()
    assert len(lines) == 30
    assert lines[0] == f"https://www.youtube.com/watch?v={video(0)}&t=30s {NITRO} #0"
    assert "\n" not in lines[1] and lines[1].startswith(
        f"https://www.youtube.com/watch?v={video(1)}&t=30s x]"
    )
    playlists = re.findall(r"\((https://www\.youtube\.com/watch_videos[^)]*)\)", message)
    assert [url.count("%2C") + 1 for url in playlists] == [25, 5]
    assert "Play part 1 as one YouTube playlist" in message
