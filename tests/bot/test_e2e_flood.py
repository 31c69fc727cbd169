"""End to end: one member floods every entry point while polite members keep being served.

The real bot process runs with the default admission policy (5-s cooldown per member, one
request in flight per member) against the fake Discord. The flooder's first request is a
link whose "video" stalls on the local media server, so it stays in flight for the whole
test; everything else it sends through every entry point (/recommend and the context menu
with a 10-minute 8-channel Opus upload, "More like" buttons, more pasted links) must be
refused at once without reading the upload, ephemerally for interactions and silently for
links. The polite members' requests, sent in the middle of the flood, must all be answered
with results, and no interaction may be acknowledged late (the fake records that).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.bot.conftest import LiveBot, LiveBotFactory
from tests.fake_discord.markdown import visible
from tests.fake_discord.payloads import EPHEMERAL_FLAG
from tests.fake_discord.server import CALLBACK_DEFERRED_MESSAGE, CALLBACK_MESSAGE
from tests.helpers.long_media import long_many_channel_opus
from tests.helpers.media import generate_media

pytestmark = pytest.mark.slow

SLOW_VIDEO = "slowvid0001"
REFUSALS = (
    "You already have a request in progress: wait for the answer, then ask again.",
    "Slow down: try again in",
)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("flood-media")
    return {
        "song": generate_media(folder / "song.mp3", seconds=12, tone_hz=440).read_bytes(),
        "long": long_many_channel_opus(folder / "long.opus").read_bytes(),
    }


@pytest.fixture(scope="module")
def live(start_live_bot: LiveBotFactory, media: dict[str, bytes]) -> LiveBot:
    live = start_live_bot(
        extra_env={"MUSICREC_RECOMMEND_COOLDOWN_S": "5"},
        serve_videos={SLOW_VIDEO: media["song"]},
    )
    # The launcher already knows the URL; from now on it answers after a long stall.
    live.media.add(f"/{SLOW_VIDEO}.mp3", media["song"], content_type="audio/mpeg", stall_s=600)
    return live


def recommend(live: LiveBot, attachment: dict[str, Any], who: str) -> str:
    option = {"name": "file", "type": 11, "value": attachment["id"]}
    return live.fake.slash_command("recommend", [option], attachments=[attachment], who=who)


def assert_refused(live: LiveBot, interaction: str) -> None:
    reply = live.fake.wait_reply(interaction)
    assert live.fake.acknowledgement(interaction) == CALLBACK_MESSAGE
    assert reply["payload"]["flags"] == EPHEMERAL_FLAG
    assert visible(reply["payload"]["content"]).startswith(REFUSALS), reply["payload"]["content"]


def assert_answered(live: LiveBot, interaction: str) -> None:
    reply = live.fake.wait_reply(interaction)
    assert live.fake.acknowledgement(interaction) == CALLBACK_DEFERRED_MESSAGE
    (embed,) = reply["payload"]["embeds"]
    assert embed["title"] == "Sounds like this"
    assert embed["fields"], embed


def assert_only_children_lowered(bot_pid: int, by: int) -> None:
    """The bot's child processes run ``by`` nice levels below the bot (the decode workers
    of the idle class in ``SCHED_IDLE``, below any nice level); every thread of the bot
    itself keeps the bot's priority. Waits for a yt-dlp worker (the bot starts one)."""
    task = Path(f"/proc/{bot_pid}/task")
    deadline = time.monotonic() + 120
    children: list[int] = []
    while time.monotonic() < deadline:
        children = [
            int(pid) for tid in task.iterdir() for pid in (tid / "children").read_text().split()
        ]
        if any(not _is_decode_worker(pid) for pid in children):
            break
        time.sleep(0.1)
    assert any(not _is_decode_worker(pid) for pid in children), "the link started no child"
    bot_nice = os.getpriority(os.PRIO_PROCESS, bot_pid)
    assert {os.getpriority(os.PRIO_PROCESS, int(tid.name)) for tid in task.iterdir()} == {bot_nice}
    for pid in children:
        lowered = os.getpriority(os.PRIO_PROCESS, pid) == min(19, bot_nice + by)
        assert lowered or os.sched_getscheduler(pid) == os.SCHED_IDLE, pid


def _is_decode_worker(pid: int) -> bool:
    try:
        return b"_decode_worker.py" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:  # it has just exited
        return True


def test_a_flooding_member_is_refused_while_polite_members_are_answered(
    live: LiveBot, media: dict[str, bytes]
) -> None:
    fake = live.fake
    # The flooder's first request is admitted and stays in flight (the "video" stalls).
    fake.post_message(f"https://youtu.be/{SLOW_VIDEO}", who="member")
    fake.wait_records(lambda record: record.kind == "typing")
    if sys.platform.startswith("linux"):
        assert_only_children_lowered(live.process.process.pid, by=10)  # the default

    long_upload = fake.add_attachment(media["long"], "long.opus", "audio/ogg")
    long_post = fake.post_message("listen", who="member", attachments=[long_upload])
    flood = [
        recommend(live, long_upload, "member"),
        fake.message_command("Find similar music", long_post, who="member"),
    ]
    polite_song = fake.add_attachment(media["song"], "song.mp3", "audio/mpeg")
    polite_post = fake.post_message("this one", who="owner", attachments=[polite_song])
    polite = [
        recommend(live, polite_song, "dj"),
        fake.message_command("Find similar music", polite_post, who="owner"),
    ]
    fake.post_message(f"again https://youtu.be/{SLOW_VIDEO}", who="member")
    flood.append(recommend(live, long_upload, "member"))
    polite.append(recommend(live, polite_song, "admin"))

    for interaction in polite:
        assert_answered(live, interaction)
    first_result = fake.wait_reply(polite[0])
    more_like = first_result["payload"]["components"][1]["components"][0]["custom_id"]
    flood.append(fake.click(first_result["message"], more_like, who="member"))
    for interaction in flood:
        assert_refused(live, interaction)

    # Refusals read nothing: the long upload was never downloaded.
    assert not [r for r in fake.records if r.kind == "cdn" and long_upload["id"] in r.path]
    # The second pasted link got no reply (and the first has none yet: it is still stalled).
    assert not [r for r in fake.records if r.kind == "channel_message"]

    # Ending the stall ends the flooder's first request: its link gets the one reply.
    live.media.close()
    (reply,) = fake.wait_records(lambda record: record.kind == "channel_message")
    assert "embeds" not in reply.body or not reply.body["embeds"]
    assert fake.violations == []
