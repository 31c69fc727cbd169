"""Logging: the token is redacted from messages, arguments and tracebacks, in text and JSON logs."""

from __future__ import annotations

import json
import logging
import logging.handlers
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logging_setup import REDACTED, setup_logging

TOKEN = "MTIz.secret-token.value"


def log_failure_naming_the_token(log: logging.Logger) -> None:
    """Log an exception whose message holds the token, then flush every root handler."""
    try:
        raise RuntimeError(f"bad token {TOKEN}")
    except RuntimeError:
        log.exception("failed")
    for handler in logging.getLogger().handlers:
        handler.flush()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in saved_handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(saved_level)


def test_token_is_redacted_on_the_console_and_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    log_file = tmp_path / "logs" / "bot.log"
    setup_logging(level="INFO", log_file=log_file, secrets=[TOKEN])
    log = logging.getLogger("discord.http")
    log.warning("logging in with %s", TOKEN)
    log.warning(f"literal {TOKEN} in the message")
    log_failure_naming_the_token(log)
    written = log_file.read_text()
    console = capsys.readouterr().err
    for text in (written, console):
        assert TOKEN not in text
        assert text.count(REDACTED) == 3
        assert "RuntimeError" in text


def test_the_log_file_rotates_and_its_folder_is_created(
    tmp_path: Path, restore_logging: None
) -> None:
    log_file = tmp_path / "logs" / "bot.log"
    setup_logging(level="INFO", log_file=log_file, secrets=[TOKEN])
    logging.getLogger("bot").info("hello")
    handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.handlers.RotatingFileHandler)
    ]
    assert log_file.exists()
    assert len(handlers) == 1 and handlers[0].maxBytes > 0 and handlers[0].backupCount > 0


def test_a_second_set_up_replaces_its_own_handlers_only(
    tmp_path: Path, restore_logging: None
) -> None:
    before = len(logging.getLogger().handlers)
    setup_logging(level="INFO", log_file=tmp_path / "a.log", secrets=[TOKEN])
    setup_logging(level="INFO", log_file=None, secrets=[TOKEN])
    assert len(logging.getLogger().handlers) == before + 1


def test_the_proxy_credentials_and_the_cookies_path_are_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    from tests.bot.helpers import make_settings

    cookies = tmp_path / "alice-cookies.txt"
    cookies.write_text(".youtube.com\tTRUE\t/\tTRUE\t0\tPREF\tf6=40000000\n")
    proxy = "socks5h://alice.proxy:pa%24%24-word@proxy.example:1080"
    settings = make_settings(tmp_path, ytdlp_proxy=proxy, ytdlp_cookies=str(cookies))
    log_file = tmp_path / "bot.log"
    setup_logging(level="INFO", log_file=log_file, secrets=settings.log_secrets)
    log = logging.getLogger("musicrec_core.sources.ytdlp_fetch")
    log.info("yt-dlp error: Unable to connect to proxy %s", proxy)
    log.info("yt-dlp error: cannot read %s", cookies)
    try:
        raise OSError("407 Proxy Authentication Required for alice.proxy / pa$$-word")
    except OSError:
        log.exception("fetch failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    for text in (log_file.read_text(), capsys.readouterr().err):
        for secret in ("pa%24%24-word", "pa$$-word", "alice.proxy", str(cookies)):
            assert secret not in text
        assert "proxy.example:1080" in text  # where it failed stays visible
        assert text.count(REDACTED) == 6  # the traceback shows the raising line too


def test_json_logs_are_one_redacted_object_per_line_on_the_console_and_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    log_file = tmp_path / "logs" / "bot.log"
    setup_logging(level="INFO", log_file=log_file, secrets=[TOKEN], log_format="json")
    log = logging.getLogger("discord.http")
    log.warning("logging in with %s\nsecond line", TOKEN)
    log_failure_naming_the_token(log)
    for text in (log_file.read_text(), capsys.readouterr().err):
        lines = text.splitlines()
        assert len(lines) == 2, lines
        first, second = (json.loads(line) for line in lines)
        assert set(first) == {"time", "level", "logger", "message"}
        assert first["level"] == "WARNING" and first["logger"] == "discord.http"
        assert first["message"] == f"logging in with {REDACTED}\nsecond line"
        assert first["time"].endswith("+00:00")
        assert second["message"] == "failed"
        assert "RuntimeError: bad token [redacted]" in second["exception"]
        assert TOKEN not in text
