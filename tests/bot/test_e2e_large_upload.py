"""End to end: the real bot reads a large upload in the idle CPU class, a small one normally.

A member's 10-minute 8-channel Opus upload (20 MiB, over ``LARGE_UPLOAD_BYTES``) must be
probed and decoded by processes in ``SCHED_IDLE`` (a decode worker of the idle class, or
ffprobe/ffmpeg where the workers are off), so that it never slows another member's short
clip; a 12-s MP3 is read by processes of the ordinary class. The bot's child processes are
watched through /proc while each request runs; a decode worker counts once it has used
CPU time while watched (an idle worker of the other class waits beside the busy one).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from musicrec_core.sources.attachment import LARGE_UPLOAD_BYTES
from tests.bot.conftest import LiveBot, LiveBotFactory
from tests.helpers.long_media import long_many_channel_opus

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="the idle class and /proc are Linux's"
    ),
]

SETTLED_S = 0.005
"""A child is judged by a look at least this long after it was first seen: its class is
set just after it starts."""


@pytest.fixture(scope="module")
def live(start_live_bot: LiveBotFactory) -> LiveBot:
    return start_live_bot()


def decoder_classes_while_answering(
    live: LiveBot, who: str, data: bytes, name: str, content_type: str
) -> set[int]:
    """Send /recommend with ``data`` as ``who`` and watch the bot's ffmpeg and ffprobe
    children until the answer: the scheduling policies they had once settled."""
    attachment = live.fake.add_attachment(data, name, content_type)
    option = {"name": "file", "type": 11, "value": attachment["id"]}
    interaction = live.fake.slash_command("recommend", [option], attachments=[attachment], who=who)
    tasks = Path(f"/proc/{live.process.process.pid}/task")
    first_seen: dict[int, tuple[float, int]] = {}
    settled: dict[int, int] = {}
    deadline = time.monotonic() + 120
    while not live.fake.replies(interaction) and time.monotonic() < deadline:
        for pid in _children(tasks):
            try:
                worker = b"_decode_worker.py" in Path(f"/proc/{pid}/cmdline").read_bytes()
                program = Path(f"/proc/{pid}/comm").read_text().strip()
                if not worker and program not in ("ffmpeg", "ffprobe"):
                    continue
                policy = os.sched_getscheduler(pid)
                used = _cpu_ticks(pid)
            except (FileNotFoundError, ProcessLookupError):  # it has just exited
                continue
            now = time.monotonic()
            since, used_then = first_seen.setdefault(pid, (now, used))
            if now - since >= SETTLED_S and (not worker or used > used_then):
                settled[pid] = policy
        time.sleep(0.001)
    (reply,) = live.fake.replies(interaction)
    assert reply["payload"].get("embeds"), reply["payload"]
    assert settled, "no decoding child was seen while the upload was read"
    return set(settled.values())


def _cpu_ticks(pid: int) -> int:
    """User plus system CPU time of ``pid`` so far, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _children(tasks: Path) -> list[int]:
    """Process ids of the children of every thread of the bot."""
    pids = []
    for task in tasks.iterdir():
        try:
            pids += [int(pid) for pid in (task / "children").read_text().split()]
        except FileNotFoundError:  # the thread has ended
            continue
    return pids


def test_a_large_upload_is_read_in_the_idle_class_and_a_small_one_is_not(
    live: LiveBot, song: bytes, tmp_path: Path
) -> None:
    large = long_many_channel_opus(tmp_path / "long.opus").read_bytes()
    assert len(song) < LARGE_UPLOAD_BYTES < len(large)
    assert decoder_classes_while_answering(live, "dj", song, "song.mp3", "audio/mpeg") == {
        os.SCHED_OTHER
    }
    assert decoder_classes_while_answering(live, "owner", large, "long.opus", "audio/ogg") == {
        os.SCHED_IDLE
    }
    assert live.fake.violations == []
