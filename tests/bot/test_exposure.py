"""What the bot shows and allows: who administers the catalog, what error and result text
may say in public, clamped button counts, and Discord URLs that keep the token private."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock

import discord
import pytest

from bot.app import MusicrecBot
from bot.checks import is_admin, require_admin
from bot.errors import AdminOnlyError, public_text, report_error, user_message
from bot.settings import load_settings
from bot.views import MoreLikeButton
from musicrec_core.errors import IndexCorruptError, NotAudioError
from musicrec_core.recommendation import source_name
from musicrec_core.service.request import MAX_COUNT
from musicrec_core.service.settings import ConfigurationError
from tests.bot.helpers import assert_private, make_interaction, make_settings, sent_text
from tests.fake_discord.markdown import render

ADMIN_SERVER = 1
OTHER_SERVER = 2
OWNER = 9001
ADMIN_ROLE = 555


# Who may reload -------------------------------------------------------------------------


def bot_with(tmp_path: Path, **settings: object) -> MusicrecBot:
    values = {"owner_ids": str(OWNER), "admin_role_id": ADMIN_ROLE, **settings}
    return MusicrecBot(make_settings(tmp_path, **values), load_engine=False)


@pytest.mark.parametrize(
    ("member", "allowed_in_admin_server", "allowed_elsewhere"),
    [
        ({"manage_guild": True}, True, False),
        ({"role_ids": (ADMIN_ROLE,)}, True, False),
        ({"user_id": OWNER}, True, True),
        ({}, False, False),
    ],
)
async def test_server_permissions_count_only_in_admin_servers(
    tmp_path: Path, member: dict, allowed_in_admin_server: bool, allowed_elsewhere: bool
) -> None:
    bot = bot_with(tmp_path, admin_guild_ids=str(ADMIN_SERVER))
    for guild_id, allowed in (
        (ADMIN_SERVER, allowed_in_admin_server),
        (OTHER_SERVER, allowed_elsewhere),
    ):
        interaction = make_interaction(bot, guild_id=guild_id, **member)
        assert await is_admin(interaction) is allowed, guild_id
        if not allowed:
            with pytest.raises(AdminOnlyError):
                await require_admin(interaction)


async def test_without_admin_servers_only_the_owners_administer(tmp_path: Path) -> None:
    bot = bot_with(tmp_path)
    manager = make_interaction(bot, manage_guild=True, role_ids=(ADMIN_ROLE,))
    assert await is_admin(manager) is False
    assert await is_admin(make_interaction(bot, user_id=OWNER)) is True


async def test_a_refusal_is_polite_and_private(tmp_path: Path) -> None:
    interaction = make_interaction(bot_with(tmp_path), manage_guild=True)
    with pytest.raises(AdminOnlyError) as caught:
        await require_admin(interaction)
    await report_error(interaction, caught.value)
    text = sent_text(interaction.response.send_message)
    assert text.startswith("Sorry, only musicrec's operators can do that")
    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True


# Error text in public -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("Cannot read /srv/idx/CURRENT: Permission denied.", "Cannot read CURRENT."),
        (
            "The manifest /srv/idx/v0002/manifest.json is unreadable: [Errno 21] Is a "
            "directory: '/srv/idx/v0002/manifest.json'.",
            "The manifest manifest.json is unreadable.",
        ),
        ("No index at ~/musicrec-index: the folder does not exist.", "No index at"),
        ("Annoy cannot load /a/b/vectors.ann.", "Annoy cannot load vectors.ann."),
        ("Moved: [Errno 18] Invalid cross-device link: '/a/b' -> '/c/d'.", "Moved."),
    ],
)
def test_paths_and_os_errors_stay_in_the_log(message: str, shown: str) -> None:
    text, unexpected = user_message(IndexCorruptError(message))
    assert render(text).visible.startswith(shown) and not unexpected
    assert_private(text, "/srv", "/a/", "~/")


def test_commands_and_links_are_not_mistaken_for_paths() -> None:
    text = "Rebuilt since: run /recommend again, or see https://www.youtube.com/watch?v=a_b."
    assert render(public_text(text)).visible == text


def test_user_provided_names_are_markdown_escaped() -> None:
    text, _ = user_message(NotAudioError("my_song_**loud**`.mp3 holds no audio."))
    rendering = render(text)
    assert rendering.visible == "my_song_**loud**`.mp3 holds no audio."
    assert not rendering.active


async def test_refusals_are_logged_with_the_full_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    interaction = make_interaction(bot_with(tmp_path))
    with caplog.at_level("INFO", logger="bot.errors"):
        await report_error(interaction, IndexCorruptError("Cannot read /srv/x/CURRENT: Bad."))
    assert "/srv/x/CURRENT" in caplog.text
    assert "/srv" not in sent_text(interaction.response.send_message)


# Public results -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("/home/someone/Music/Artist/01 song.flac", "01 song.flac"),
        ("C:\\Users\\someone\\Music\\song.mp3", "song.mp3"),
        ("https://example.com/media/clip.ogg", "clip.ogg"),
        ("song.wav", "song.wav"),
    ],
)
def test_a_source_is_shown_by_its_file_name(source: str, shown: str) -> None:
    assert source_name(source) == shown


# More like counts -----------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "used"), [(0, 1), (3, 3), (99, MAX_COUNT)])
async def test_a_forged_more_like_count_is_clamped(sent: int, used: int) -> None:
    custom_id = f"musicrec:more:0123abcd:7:{sent}"
    match = MoreLikeButton.__discord_ui_compiled_template__.fullmatch(custom_id)
    assert match is not None
    item = discord.ui.Button(label="More like #1", custom_id=custom_id)
    button = await MoreLikeButton.from_custom_id(MagicMock(), item, match)
    assert (button.item_id, button.count) == (7, used)


# Discord URLs ---------------------------------------------------------------------------


@pytest.fixture
def base_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "a.b.c")
    monkeypatch.setenv("MUSICREC_INDEX_DIR", str(tmp_path))
    for name in ("MUSICREC_DISCORD_API_URL", "MUSICREC_DISCORD_GATEWAY_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MUSICREC_DISCORD_API_URL", "http://discord.example.net/api/v10"),
        ("MUSICREC_DISCORD_API_URL", "http://10.0.0.5:8080/api/v10"),
        ("MUSICREC_DISCORD_API_URL", "ftp://127.0.0.1/api"),
        ("MUSICREC_DISCORD_API_URL", "wss://discord.com/api/v10"),
        ("MUSICREC_DISCORD_API_URL", "discord.com/api/v10"),
        ("MUSICREC_DISCORD_GATEWAY_URL", "ws://gateway.example.net/"),
        ("MUSICREC_DISCORD_GATEWAY_URL", "ws://localhost.example.net/"),
        ("MUSICREC_DISCORD_GATEWAY_URL", "https://gateway.discord.gg/"),
    ],
)
@pytest.mark.usefixtures("base_environment")
def test_discord_urls_that_would_send_the_token_in_clear_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=rf"^{name} is invalid \(use a (https|wss)://"):
        load_settings(None)


@pytest.mark.parametrize(
    ("api", "gateway"),
    [
        ("https://discord.com/api/v10", "wss://gateway.discord.gg/"),
        ("https://discord.example.net/api", "wss://gateway.example.net"),
        ("http://127.0.0.1:8080/api/v10", "ws://127.0.0.1:8080/gateway"),
        ("http://127.5.6.7/api", "ws://localhost:9000/gateway"),
        ("http://[::1]:8080/api", "ws://LOCALHOST/"),
    ],
)
@pytest.mark.usefixtures("base_environment")
def test_secure_or_loopback_discord_urls_are_accepted(
    monkeypatch: pytest.MonkeyPatch, api: str, gateway: str
) -> None:
    monkeypatch.setenv("MUSICREC_DISCORD_API_URL", api)
    monkeypatch.setenv("MUSICREC_DISCORD_GATEWAY_URL", gateway)
    settings = load_settings(None)
    assert (settings.discord_api_url, settings.discord_gateway_url) == (api, gateway)
