"""YouTube blocks: the operator is warned once an hour and the marker file remembers."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from musicrec_core.errors import FetchError, YouTubeBlockedError
from musicrec_core.sources.blocks import (
    BlockNotice,
    BlockRecord,
    block_file,
    read_last_block,
)
from musicrec_core.sources.ytdlp_fetch import error_for_ytdlp_message

BOT_CHECK = "ERROR: [youtube] abcdefghijk: Sign in to confirm you\u2019re not a bot."


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    "message",
    [BOT_CHECK, "Sign in to confirm you're not a bot", "HTTP Error 429: Too Many Requests"],
)
def test_block_messages_become_youtube_blocked_errors(message: str) -> None:
    error = error_for_ytdlp_message(message)
    assert isinstance(error, YouTubeBlockedError) and isinstance(error, FetchError)


def test_other_failures_are_not_blocks() -> None:
    for message in ("Video unavailable", "Private video", "urlopen error timed out"):
        assert not isinstance(error_for_ytdlp_message(message), YouTubeBlockedError)


def test_one_warning_an_hour_names_the_fix(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    notice = BlockNotice(clock=clock)
    with caplog.at_level(logging.WARNING, logger="musicrec_core.sources.blocks"):
        for _ in range(5):
            notice.record("YouTube asked musicrec to prove it is not a bot.")
            clock.now += 60.0
        assert len(caplog.records) == 1
        clock.now += 3600.0
        notice.record("YouTube is rate-limiting musicrec.")
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 2
    for warning in warnings:
        assert "MUSICREC_YTDLP_COOKIES" in warning and "proxy" in warning
        assert "PO-token" in warning


def test_the_marker_file_remembers_the_last_block(isolated_cache: Path) -> None:
    clock = Clock()
    assert read_last_block() is None
    BlockNotice(clock=clock).record("first")
    clock.now += 10.0
    BlockNotice(clock=clock).record("second")  # another process, say
    assert block_file() == isolated_cache / "youtube-block.json"
    assert read_last_block() == BlockRecord(at=clock.now, reason="second")
    assert read_last_block().describe(clock.now + 720.0) == "12 min ago: second"


@pytest.mark.parametrize("content", ["", "{not json", '{"at": "soon"}', "[1, 2]"])
def test_an_unreadable_marker_reads_as_no_block(tmp_path: Path, content: str) -> None:
    path = tmp_path / "marker.json"
    path.write_text(content)
    assert read_last_block(path) is None


def test_a_marker_that_cannot_be_written_still_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    notice = BlockNotice(blocked / "marker.json")  # its folder is a file
    with caplog.at_level(logging.WARNING):
        notice.record("blocked")
    assert notice.last is not None and notice.last.reason == "blocked"
    assert json.dumps(caplog.messages).count("YouTube is blocking musicrec") == 1
