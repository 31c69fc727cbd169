"""YouTube settings: what the bot hands yt-dlp, and the cookies file refused at start-up."""

from __future__ import annotations

import os
from pathlib import Path
from unittest.mock import MagicMock, create_autospec

import pytest

from bot.__main__ import main
from bot.app import MusicrecBot
from bot.service import RequestService
from bot.settings import load_settings
from musicrec_core.errors import FetchError
from musicrec_core.js_runtime import bundled_deno
from musicrec_core.private_url import url_credentials
from musicrec_core.recommender import Recommender
from musicrec_core.service.batching import RecommendQueue
from musicrec_core.service.request import AudioRequest
from musicrec_core.service.settings import ConfigurationError
from musicrec_core.sources.youtube import (
    YouTubeSettings,
    fetch_youtube_clip,
    parse_youtube_link,
)
from tests.bot.helpers import make_interaction, make_message, make_settings

COOKIE_LINE = ".youtube.com\tTRUE\t/\tTRUE\t1893456000\tPREF\tf6=40000000\n"
PROXY = "http://alice:s3cret-pw@proxy.example:3128"
LINK = parse_youtube_link("https://youtu.be/abcdefghijk?t=7")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DISCORD_TOKEN",
        "MUSICREC_INDEX_DIR",
        "MUSICREC_YTDLP_COOKIES",
        "MUSICREC_YTDLP_PROXY",
        "MUSICREC_YTDLP_JS_RUNTIME",
        "MUSICREC_YTDLP_TIMEOUT_S",
        "MUSICREC_MAX_VIDEO_MINUTES",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def cookies(tmp_path: Path) -> Path:
    path = tmp_path / "cookies.txt"
    path.write_text("# Netscape HTTP Cookie File\n\n#HttpOnly_" + COOKIE_LINE + COOKIE_LINE)
    return path


def bot_with_spy_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: object
) -> tuple[MusicrecBot, MagicMock]:
    """A bot (its queue a spec'd mock) whose YouTube fetch is a spy that raises, ending the
    request."""
    bot = MusicrecBot(make_settings(tmp_path, **settings), load_engine=False)
    fetch = create_autospec(fetch_youtube_clip, side_effect=FetchError("stopped by the test"))
    monkeypatch.setattr("musicrec_core.service.youtube_links.fetch_youtube_clip", fetch)
    queue = create_autospec(RecommendQueue, instance=True)
    queue.recommender = create_autospec(Recommender, instance=True)  # the link's cache key
    bot._service = RequestService(queue, bot.settings)
    return bot, fetch


def make_settings_via_env(tmp_path: Path, **values: str) -> None:
    """Load settings from an env file holding the required ones plus ``values``."""
    lines = ["DISCORD_TOKEN=a.b.c", f"MUSICREC_INDEX_DIR={tmp_path}"]
    lines += [f"{name}={value}" for name, value in values.items()]
    env_file = tmp_path / "bot.env"
    env_file.write_text("\n".join(lines) + "\n")
    load_settings(env_file)


def test_the_settings_become_the_yt_dlp_settings(
    tmp_path: Path, cookies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "bot.env"
    env_file.write_text(
        "DISCORD_TOKEN=a.b.c\n"
        f"MUSICREC_INDEX_DIR={tmp_path}\n"
        "MUSICREC_YTDLP_COOKIES=cookies.txt\n"
        f"MUSICREC_YTDLP_PROXY={PROXY}\n"
        "MUSICREC_YTDLP_JS_RUNTIME=Node\n"
        "MUSICREC_YTDLP_TIMEOUT_S=8\n"
        "MUSICREC_MAX_VIDEO_MINUTES=90\n"
    )
    monkeypatch.chdir(tmp_path)  # a relative cookies path is made absolute: yt-dlp runs elsewhere
    settings = load_settings(env_file)
    assert settings.youtube == YouTubeSettings(
        cookiefile=cookies,
        proxy=PROXY,
        js_runtime="node",
        socket_timeout_s=8.0,
        metadata_timeout_s=8.0,
        download_timeout_s=8.0,
        max_duration_s=5400.0,
    )
    assert settings.youtube.cookiefile is not None and settings.youtube.cookiefile.is_absolute()
    assert "s3cret-pw" not in repr(settings)


def test_defaults_leave_yt_dlp_alone_but_for_the_bundled_deno(tmp_path: Path) -> None:
    youtube = make_settings(tmp_path).youtube
    assert (youtube.cookiefile, youtube.proxy, youtube.js_runtime) == (None, None, None)
    assert youtube.ytdlp_options() == {
        "socket_timeout": 15.0,
        "js_runtimes": {"deno": {"path": str(bundled_deno())}},
    }
    empty = make_settings(tmp_path, ytdlp_cookies="", ytdlp_proxy=" ", ytdlp_js_runtime="")
    assert empty.youtube == youtube


async def test_recommend_fetches_links_with_the_bot_settings(
    tmp_path: Path, cookies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, fetch = bot_with_spy_fetch(
        tmp_path,
        monkeypatch,
        ytdlp_cookies=str(cookies),
        ytdlp_proxy=PROXY,
        ytdlp_js_runtime="deno",
    )
    with pytest.raises(FetchError, match="stopped by the test"):
        await bot.service.answer(
            make_interaction(bot), AudioRequest(link=LINK, start_s=30.0), count=5
        )
    fetch.assert_called_once_with(LINK, start_s=30.0, settings=bot.settings.youtube)
    passed = fetch.call_args.kwargs["settings"]
    assert (passed.cookiefile, passed.proxy, passed.js_runtime) == (cookies, PROXY, "deno")


async def test_links_pasted_in_chat_are_fetched_with_the_bot_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, fetch = bot_with_spy_fetch(tmp_path, monkeypatch, ytdlp_proxy=PROXY, max_video_minutes=12)
    message = make_message("https://youtu.be/abcdefghijk?t=7")
    await bot.service.answer_in_chat(message, AudioRequest(link=LINK))
    # the link's t=7 on the 5-s grid (musicrec_core.sources.youtube.snapped_start)
    fetch.assert_called_once_with(LINK, start_s=5.0, settings=bot.settings.youtube)
    passed = fetch.call_args.kwargs["settings"]
    assert (passed.proxy, passed.max_duration_s) == (PROXY, 720.0)
    message.reply.assert_awaited_once()  # the refusal reached the user


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "no such file"),
        ("", "it holds no cookies"),
        ("# Netscape HTTP Cookie File\n# only comments\n", "it holds no cookies"),
        ('[{"domain": ".youtube.com", "name": "PREF"}]', "it is JSON"),
        ("# header\n.youtube.com TRUE / TRUE 0 PREF secretvalue\n", "line 2 is not a Netscape"),
        (b"\xff\xfe\x00binary", "the file cannot be read: not UTF-8 text"),
    ],
)
def test_an_unusable_cookies_file_stops_start_up_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | bytes | None,
    reason: str,
) -> None:
    cookies = tmp_path / "private" / "alice-cookies.txt"
    if content is not None:
        cookies.parent.mkdir()
        if isinstance(content, bytes):
            cookies.write_bytes(content)
        else:
            cookies.write_text(content)
    env_file = tmp_path / "bot.env"
    env_file.write_text(
        f"DISCORD_TOKEN=a.b.c\nMUSICREC_INDEX_DIR={tmp_path}\nMUSICREC_YTDLP_COOKIES={cookies}\n"
    )
    assert main(["--env-file", str(env_file)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"musicrec-bot: MUSICREC_YTDLP_COOKIES is invalid ({reason}")
    assert captured.err.count("\n") == 1
    assert "alice" not in captured.err and "secretvalue" not in captured.err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_cookies_file_is_refused(tmp_path: Path, cookies: Path) -> None:
    cookies.chmod(0)
    with pytest.raises(ConfigurationError, match=r"COOKIES is invalid \(the file cannot be read"):
        make_settings_via_env(tmp_path, MUSICREC_YTDLP_COOKIES=str(cookies))


def test_a_folder_is_not_a_cookies_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"COOKIES is invalid \(it is a folder"):
        make_settings_via_env(tmp_path, MUSICREC_YTDLP_COOKIES=str(tmp_path))


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MUSICREC_YTDLP_PROXY", "ftp://bob:hunter22@proxy.example:21", "write it as SCHEME://"),
        ("MUSICREC_YTDLP_PROXY", "bob:hunter22@proxy.example:1080", "write it as SCHEME://"),
        ("MUSICREC_YTDLP_PROXY", "http://bob:hunter22@proxy.example:port", "write it as"),
        ("MUSICREC_YTDLP_JS_RUNTIME", "rhino", "Input should be 'deno', 'node'"),
        ("MUSICREC_YTDLP_TIMEOUT_S", "0", "greater than 0"),
        ("MUSICREC_MAX_VIDEO_MINUTES", "-5", "greater than 0"),
    ],
)
def test_invalid_youtube_settings_name_the_setting_and_hide_the_value(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_settings_via_env(tmp_path, **{name: value})
    message = str(caught.value)
    assert message.startswith(f"{name} is invalid (") and expected in message
    assert "hunter22" not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://proxy.example:3128", ()),
        ("http://@proxy.example:3128", ()),
        ("socks5://bob:pa%40ss@h:1", ("bob:pa%40ss", "bob:pa@ss", "pa%40ss", "pa@ss")),
        ("http://api-key-123@h:1", ("api-key-123",)),
        ("http://ab:cd@h:1", ("ab:cd",)),  # short parts only as a whole
        ("http://[::1", ()),  # not a URL
    ],
)
def test_url_credentials(url: str, expected: tuple[str, ...]) -> None:
    assert sorted(url_credentials(url)) == sorted(expected)
