"""End to end: what the bot shows and allows, seen from the fake Discord.

One real bot process serves a *library* catalog (local files, so every item's source is
an absolute path on the server) from the module's own index folder, with the fake's first
server as its only admin server. Every test reads the exact JSON the bot sent.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import signal
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from bot.errors import ADMIN_ONLY_MESSAGE
from bot.untrusted_text import Surface, inert
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.embedders.base import Embedder
from musicrec_core.service.request import MAX_COUNT
from tests.bot.conftest import LiveBot, LiveBotFactory
from tests.bot.helpers import assert_private
from tests.fake_discord.markdown import field_rows, read_payload, render, visible
from tests.fake_discord.payloads import EPHEMERAL_FLAG
from tests.fake_discord.server import CALLBACK_DEFERRED_MESSAGE
from tests.fake_discord.world import LIBRARY_TRACKS, build_catalog
from tests.helpers.index_damage import list_a_file_under_a_plain_file

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_broken_rules")]

ABSOLUTE_PATH = re.compile(r"(?<![\w:/])/(?:[^\s/\"]+/)+")
REFUSED = {
    "content": ADMIN_ONLY_MESSAGE,  # the bot's own words: nothing in them is escaped
    "flags": EPHEMERAL_FLAG,
    "tts": False,
    "allowed_mentions": {"parse": []},
}
HOSTILE_TITLE = "Track 3\r\n#EXTINF:0,injected\x1b[2J\u202e"
"""Track 3's title in this module's library: tags may hold line breaks, escapes and
direction marks, which a playlist line must not carry; its file is ``#track03.wav``, a
name a playlist must not write bare (a comment to players)."""
TRACKS = tuple(
    dataclasses.replace(track, video_id="#track03", title=HOSTILE_TITLE)
    if track.title == "Track 3"
    else track
    for track in LIBRARY_TRACKS
)
EXTINF = re.compile(r"#EXTINF:(?P<seconds>-?\d+),(?P<title>.*)")


@pytest.fixture(scope="module")
def library(vggish: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``Music/`` (the tracks) and ``index/`` (their library index)."""
    root = tmp_path_factory.mktemp("server-home")
    build_catalog(root / "index", root / "Music", vggish, catalog=TRACKS, library=True)
    return root


@pytest.fixture(scope="module")
def live(start_live_bot: LiveBotFactory, library: Path) -> LiveBot:
    return start_live_bot(extra_env={"MUSICREC_INDEX_DIR": str(library / "index")})


def recommend_file(live: LiveBot, data: bytes, name: str, **options: Any) -> str:
    attachment = live.fake.add_attachment(data, name, "audio/mpeg")
    values = [{"name": "file", "type": 11, "value": attachment["id"]}]
    values += [{"name": key, "type": 4, "value": value} for key, value in options.items()]
    return live.fake.slash_command("recommend", values, attachments=[attachment])


def shown_title(title: str) -> str:
    """A title as a field name shows it."""
    return visible(inert(title, Surface.FIELD_NAME))


def bot_payloads(live: LiveBot) -> str:
    """Every JSON body the bot sent to the fake so far, as one text."""
    return "\n".join(json.dumps(record.body) for record in live.fake.records if record.body)


def index_items(live: LiveBot) -> str:
    reply = live.fake.wait_reply(live.fake.slash_command("musicrec status", who="owner"))
    rows = field_rows(reply["payload"]["embeds"][0])
    return rows["Index items"]


# Public replies ---------------------------------------------------------------------------


def test_library_replies_show_file_names_never_server_paths(
    live: LiveBot, library: Path, song: bytes
) -> None:
    reply = live.fake.wait_reply(recommend_file(live, song, "concert-a.mp3", count=MAX_COUNT))
    assert reply["ephemeral"] is False
    fields = reply["payload"]["embeds"][0]["fields"]
    assert len(fields) == MAX_COUNT
    assert fields[0]["name"] == "#1 Track 8"
    files = {shown_title(track.title): f"{track.video_id}.wav" for track in TRACKS}
    for field in fields:
        title = visible(field["name"]).split(" ", 1)[1]
        assert visible(field["value"]).startswith(f"{files[title]} (0:01–0:11) · "), field
    sent = bot_payloads(live)
    shown = "\n".join(
        reading.rendering.visible
        for record in live.fake.records
        if isinstance(record.body, dict)
        for reading in read_payload(record.body.get("data", record.body))
    )
    assert str(library) not in shown and "/Music/" not in shown
    assert not ABSOLUTE_PATH.search(sent), ABSOLUTE_PATH.search(sent)


def test_a_library_mix_exports_an_m3u8_of_file_names_and_one_line_titles(
    live: LiveBot, library: Path, song: bytes
) -> None:
    fake = live.fake
    attachment = fake.add_attachment(song, "concert-a.mp3", "audio/mpeg")
    values = [{"name": "file", "type": 11, "value": attachment["id"]}]
    reply = fake.wait_reply(fake.slash_command("mix", values, attachments=[attachment]))
    (embed,) = reply["payload"]["embeds"]
    assert visible(embed["description"]).split("\n")[-1] == "12 tracks · page 1 of 2"
    export = reply["payload"]["components"][0]["components"][2]
    session_id = export["custom_id"].split(":")[2]
    exported = fake.wait_reply(fake.click(reply["message"], export["custom_id"]))
    assert exported["kind"] == "followup" and exported["ephemeral"] is True
    assert visible(exported["payload"]["content"]).startswith("The session as an M3U8 playlist")
    (upload,) = exported["files"]
    assert upload.filename == f"mix-{session_id}.m3u8"
    text = upload.text()
    assert str(library) not in text and "/Music/" not in text
    assert not [ch for ch in text if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf")]
    first, *lines = text.splitlines()
    assert first == "#EXTM3U" and len(lines) == 2 * 12
    pairs = zip(lines[::2], lines[1::2], strict=True)
    entries = [(EXTINF.fullmatch(info), name.removeprefix("./")) for info, name in pairs]
    assert [name for name in lines[1::2] if "/" in name] == ["./#track03.wav"]
    assert all(info for info, _ in entries), text
    names = {f"{track.video_id}.wav": track for track in TRACKS if track.title != "Track 8"}
    assert sorted(name for _, name in entries) == sorted(names)  # all but the seed's own
    page = [visible(field["value"]).split(" ", 1)[0] for field in embed["fields"]]
    assert [name for _, name in entries][: len(page)] == page  # in the session's order
    one_line = {HOSTILE_TITLE: "Track 3 #EXTINF:0,injected [2J"}
    for info, name in entries:
        title = names[name].title
        assert info and (info["seconds"], info["title"]) == ("12", one_line.get(title, title))


@pytest.mark.parametrize(("forged", "shown"), [(0, 1), (99, MAX_COUNT)])
def test_a_forged_more_like_count_is_clamped(
    live: LiveBot, song: bytes, forged: int, shown: int
) -> None:
    fake = live.fake
    first = fake.wait_reply(recommend_file(live, song, "concert-a.mp3", count=2))
    message = copy.deepcopy(first["message"])
    button = message["components"][0]["components"][0]
    assert button["custom_id"].endswith(":2")
    # discord.py only answers a custom_id the clicked message carries: forge both.
    button["custom_id"] = f"{button['custom_id'][:-2]}:{forged}"
    click = fake.click(message, button["custom_id"])
    reply = fake.wait_reply(click)
    assert reply["kind"] == "followup" and reply["ephemeral"] is False
    assert len(reply["payload"]["embeds"][0]["fields"]) == shown
    buttons = reply["payload"]["components"][0]["components"]
    assert all(button["custom_id"].endswith(f":{shown}") for button in buttons)


def test_an_error_after_a_public_thinking_is_shown_to_its_user_only(live: LiveBot) -> None:
    fake = live.fake
    interaction = recommend_file(live, b"plain words, no audio\n" * 50, "my_notes_*draft*.mp3")
    reply = fake.wait_reply(interaction)
    assert fake.acknowledgement(interaction) == CALLBACK_DEFERRED_MESSAGE
    calls = [(r.kind, r.status, r.body) for r in fake.records if r.interaction_id == interaction]
    kinds = [(kind, status) for kind, status, _ in calls]
    # A public "thinking…", deleted before the error is sent privately.
    assert calls[0] == ("callback", 200, {"type": CALLBACK_DEFERRED_MESSAGE})
    assert ("delete_original", 204) in kinds
    assert kinds.index(("delete_original", 204)) < kinds.index(("followup", 200))
    assert reply["kind"] == "followup" and reply["ephemeral"] is True
    assert reply["message"]["flags"] == EPHEMERAL_FLAG
    assert all(each["ephemeral"] for each in fake.replies(interaction))
    content = render(reply["payload"]["content"])
    assert "my_notes_*draft*.mp3" in content.visible and not content.active
    assert "Something went wrong" not in content.visible
    assert reply["payload"]["allowed_mentions"] == {"parse": []}  # names never ping


# Who may reload ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["musicrec reload", "musicrec status"])
@pytest.mark.parametrize("who", ["admin", "member"])
def test_admin_commands_are_refused_in_a_server_the_operator_did_not_name(
    live: LiveBot, command: str, who: str
) -> None:
    interaction = live.fake.slash_command(command, who=who, elsewhere=True)
    reply = live.fake.wait_reply(interaction)
    assert reply["kind"] == "message" and reply["payload"] == REFUSED


@pytest.mark.parametrize(("who", "elsewhere"), [("admin", False), ("dj", False), ("owner", True)])
def test_admins_of_the_admin_server_and_owners_anywhere_may_see_the_status(
    live: LiveBot, who: str, elsewhere: bool
) -> None:
    interaction = live.fake.slash_command("musicrec status", who=who, elsewhere=elsewhere)
    reply = live.fake.wait_reply(interaction)
    assert reply["ephemeral"] is True
    assert reply["payload"]["embeds"][0]["title"] == "musicrec status"


def test_the_owner_may_reload_from_another_server(live: LiveBot) -> None:
    interaction = live.fake.slash_command("musicrec reload", who="owner", elsewhere=True)
    reply = live.fake.wait_reply(interaction)
    assert reply["ephemeral"] is True
    assert reply["payload"]["embeds"][0]["title"] == "Catalog reloaded"


# Failure messages ---------------------------------------------------------------------------


def reload_refusal(live: LiveBot) -> str:
    reply = live.fake.wait_reply(live.fake.slash_command("musicrec reload", who="admin"))
    assert reply["ephemeral"] is True
    return visible(reply["payload"]["content"])


def test_failed_reloads_name_no_server_path_and_no_os_error(live: LiveBot, library: Path) -> None:
    index_dir = library / "index"
    with CatalogIndex.load(index_dir) as index:
        manifest = index.directory / "manifest.json"
    saved = manifest.read_bytes()
    manifest.unlink()
    manifest.mkdir()  # reading it fails with the OS error "Is a directory"
    try:
        corrupt = reload_refusal(live)
    finally:
        manifest.rmdir()
        manifest.write_bytes(saved)
    assert "manifest.json" in corrupt
    moved = library / "index-moved"
    index_dir.rename(moved)
    try:
        missing = reload_refusal(live)
    finally:
        moved.rename(index_dir)
    for text in (corrupt, missing):
        assert_private(text, str(library), "server-home")
    assert str(manifest) in live.process.output  # the log keeps the detail
    assert index_items(live) == str(len(LIBRARY_TRACKS))


def test_sighup_survives_an_unexpected_reload_error(
    live: LiveBot, library: Path, vggish: Embedder
) -> None:
    index_dir = library / "index"
    build_catalog(
        index_dir, library / "Music", vggish, catalog=LIBRARY_TRACKS, videos=3, library=True
    )
    with CatalogIndex.load(index_dir) as index:
        version = index.directory
    list_a_file_under_a_plain_file(version)
    live.process.send_signal(signal.SIGHUP)
    line = live.process.wait_for_line("catalog reload failed unexpectedly", timeout=120)
    assert "still serving the old one" in line
    assert index_items(live) == str(len(LIBRARY_TRACKS))

    build_catalog(
        index_dir, library / "Music", vggish, catalog=LIBRARY_TRACKS, videos=4, library=True
    )
    live.process.send_signal(signal.SIGHUP)
    live.process.wait_for_line("reloaded the catalog: 4 items", timeout=120)
    assert index_items(live) == "4"
