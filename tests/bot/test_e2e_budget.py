"""End to end: the YouTube budget through the real bot process and the fake Discord.

One bot process (20 fetches an hour, so a member's 10 % share is 2) serves a 60-s "video"
from 127.0.0.1. Another process holds the budget file's lock while other members'
interactions come in; members spend their share; ``t=`` starts snap to a 5-s grid.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.conftest import LiveBot, LiveBotFactory
from tests.fake_discord.markdown import visible
from tests.fake_discord.payloads import EPHEMERAL_FLAG
from tests.fake_discord.server import CALLBACK_DEFERRED_MESSAGE, CALLBACK_MESSAGE
from tests.helpers.lock_holder import lock_held
from tests.helpers.media import generate_media

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_broken_rules")]

VIDEO = "budgetvid01"
MEDIA_PATH = f"/{VIDEO}.mp3"


@pytest.fixture(scope="module")
def live(start_live_bot: LiveBotFactory, tmp_path_factory: pytest.TempPathFactory) -> LiveBot:
    media = tmp_path_factory.mktemp("budget-media")
    audio = generate_media(media / "video.mp3", seconds=60, tone_hz=660).read_bytes()
    return start_live_bot(
        serve_videos={VIDEO: audio},
        extra_env={
            "MUSICREC_YOUTUBE_FETCHES_PER_HOUR": "20",
            "MUSICREC_YOUTUBE_MEMBER_SHARE": "10%",
            "MUSICREC_RECOMMEND_COOLDOWN_S": "0",
        },
    )


def recommend_link(live: LiveBot, start: int, *, who: str) -> str:
    link = f"https://youtu.be/{VIDEO}?t={start}"
    return live.fake.slash_command(
        "recommend", [{"name": "link", "type": 3, "value": link}], who=who
    )


def recommend_file(live: LiveBot, data: bytes, *, who: str) -> str:
    attachment = live.fake.add_attachment(data, "song.mp3", "audio/mpeg")
    values = [{"name": "file", "type": 11, "value": attachment["id"]}]
    return live.fake.slash_command("recommend", values, who=who, attachments=[attachment])


def media_requests(live: LiveBot) -> int:
    return len(live.media.requests(MEDIA_PATH))


@pytest.fixture
def lock_held_elsewhere(live: LiveBot, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Another process of the machine holding the budget file's lock."""
    with lock_held(live.work_dir / "cache" / "youtube-fetches.bin", tmp_path) as holder:
        yield holder


def test_a_held_budget_lock_costs_only_the_request_that_needs_it(
    live: LiveBot, song: bytes, lock_held_elsewhere: subprocess.Popen[bytes]
) -> None:
    """Finding 5: while another process holds the lock, another member's upload is
    acknowledged and answered, and the link gets a private "try again"."""
    fake = live.fake
    link = recommend_link(live, 50, who="member")
    upload = recommend_file(live, song, who="dj")
    answer = fake.wait_reply(upload, timeout=60)
    assert fake.acknowledgement(upload) == CALLBACK_DEFERRED_MESSAGE
    assert answer["payload"]["embeds"][0]["title"] == "Sounds like this"
    refusal = fake.wait_reply(link, timeout=60)
    assert lock_held_elsewhere.poll() is None  # all of it while the lock was held
    assert fake.acknowledgement(link) == CALLBACK_MESSAGE  # refused at once, not deferred
    assert refusal["ephemeral"] is True and refusal["message"]["flags"] == EPHEMERAL_FLAG
    assert "try again in a few seconds" in visible(refusal["payload"]["content"])
    assert media_requests(live) == 0


def test_a_member_over_their_share_is_told_privately_and_others_are_served(
    live: LiveBot,
) -> None:
    """Finding 2: a member's share (2 of 20) is refused with when it refills; another
    member is still served."""
    fake = live.fake
    for start in (5, 15):
        reply = fake.wait_reply(recommend_link(live, start, who="member"))
        assert reply["payload"]["embeds"][0]["title"] == "Sounds like this"
    refused = recommend_link(live, 25, who="member")
    refusal = fake.wait_reply(refused)
    assert fake.acknowledgement(refused) == CALLBACK_MESSAGE
    assert refusal["ephemeral"] is True
    assert visible(refusal["payload"]["content"]) == (
        "You have used your share of YouTube links for this hour (2): it refills in 60 min. "
        "An audio file works right away."
    )
    served = fake.wait_reply(recommend_link(live, 25, who="dj"))
    assert served["payload"]["embeds"][0]["title"] == "Sounds like this"


def test_starts_one_to_four_seconds_apart_cost_one_fetch(live: LiveBot) -> None:
    fake = live.fake
    before = media_requests(live)
    descriptions = []
    for start in (31, 32, 33, 34):
        reply = fake.wait_reply(recommend_link(live, start, who="admin"))
        descriptions.append(reply["payload"]["embeds"][0]["description"])
        if start == 31:
            fetched = media_requests(live)
    assert fetched > before  # the first one fetched the "video"
    assert media_requests(live) == fetched  # the next three were answered from the cache
    assert all(", 0:30–0:40 · " in text for text in descriptions), descriptions
