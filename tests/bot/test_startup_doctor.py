"""At start-up the bot runs the doctor's checks with its own settings and logs each line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.__main__ import start_doctor
from tests.bot.helpers import make_settings
from tests.helpers.musicnn import install_weights
from tests.helpers.small_index import MUSICNN_MTT, build_small_index


def doctor_lines(caplog: pytest.LogCaptureFixture, **settings: object) -> dict[str, str]:
    """Run the start-up doctor and return {message: level name} of what it logged."""
    with caplog.at_level(logging.INFO, logger="bot"):
        start_doctor(make_settings(**settings)).join(timeout=120)
    return {
        record.getMessage(): record.levelname
        for record in caplog.records
        if record.getMessage().startswith("doctor: ")
    }


def test_the_bot_logs_one_line_per_check(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    install_weights()
    index = build_small_index(tmp_path / "index", MUSICNN_MTT)
    lines = doctor_lines(
        caplog,
        index_dir=index,
        discord_api_url="http://127.0.0.1:8080/api/v10",
        ytdlp_proxy="socks5://user:s3cret@127.0.0.1:1080",
    )
    assert set(lines.values()) == {"INFO"}
    checks = [message.removeprefix("doctor: ")[6:].split(":")[0] for message in lines]
    assert checks[:4] == ["ffmpeg", "ffprobe", "JS runtime", "challenge solver"]
    assert checks[-2:] == ["Discord API URL", "Discord Gateway URL"]
    assert "doctor: OK    Discord API URL: http:// to the loopback host 127.0.0.1" in lines
    assert any(message.startswith("doctor: OK    index: 6 items") for message in lines)
    assert not any("s3cret" in message for message in lines)


def test_what_needs_fixing_is_a_warning_and_the_bot_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = doctor_lines(caplog, index_dir=tmp_path / "no-index")
    fixes = [message for message, level in lines.items() if level == "WARNING"]
    assert len(fixes) == 1 and fixes[0].startswith("doctor: FIX   index: ")
