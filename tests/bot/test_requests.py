"""Requests, errors and permission checks, with spec_set mocks of discord.py objects."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from discord import app_commands

from bot.app import MusicrecBot
from bot.checks import cooldown_from_setting, is_admin, require_admin
from bot.errors import ADMIN_ONLY_MESSAGE, UNEXPECTED_MESSAGE, AdminOnlyError, report_error
from bot.request import request_from_message, request_from_options
from musicrec_core.errors import InputTooLargeError, LinkRejectedError, NotAudioError
from musicrec_core.service.batching import BusyError
from musicrec_core.service.request import RequestError
from tests.bot.helpers import (
    make_attachment,
    make_interaction,
    make_message,
    make_settings,
    sent_text,
)

MiB = 2**20


@pytest.fixture
def bot(tmp_path: Path) -> MusicrecBot:
    settings = make_settings(tmp_path, owner_ids="9001", admin_role_id=555, admin_guild_ids="1")
    return MusicrecBot(settings, load_engine=False)


# Requests -------------------------------------------------------------------------------


def test_exactly_one_of_file_and_link() -> None:
    with pytest.raises(RequestError, match="either a file or a link, not both"):
        request_from_options(make_attachment(), "https://youtu.be/abcdefghijk", None, max_bytes=MiB)
    with pytest.raises(RequestError, match="Attach an audio file"):
        request_from_options(None, "   ", None, max_bytes=MiB)


def test_a_declared_size_over_the_cap_is_refused_before_reading() -> None:
    attachment = make_attachment(size=30 * MiB)
    with pytest.raises(InputTooLargeError):
        request_from_options(attachment, None, None, max_bytes=25 * MiB)
    attachment.read.assert_not_awaited()


def test_link_and_start_are_parsed() -> None:
    request = request_from_options(None, " https://youtu.be/abcdefghijk?t=5 ", "1:30", max_bytes=1)
    assert request.link is not None and request.link.video_id == "abcdefghijk"
    assert request.start_s == 90.0
    with pytest.raises(LinkRejectedError):
        request_from_options(None, "https://example.com/watch?v=abcdefghijk", None, max_bytes=1)
    with pytest.raises(RequestError, match="is not a start time"):
        request_from_options(make_attachment(), None, "soon", max_bytes=MiB)


def test_a_message_gives_its_first_audio_attachment_else_its_first_link() -> None:
    picture = make_attachment(filename="cat.png", content_type="image/png")
    voice = make_attachment(filename="voice-message.ogg", content_type=None)
    message = make_message("https://youtu.be/abcdefghijk", attachments=[picture, voice])
    assert request_from_message(message, max_bytes=MiB).attachment is voice
    only_link = make_message("see https://youtu.be/abcdefghijk", attachments=[picture])
    assert request_from_message(only_link, max_bytes=MiB).link is not None
    with pytest.raises(RequestError, match="no audio attachment and no YouTube link"):
        request_from_message(make_message("nothing", attachments=[picture]), max_bytes=MiB)


# Errors ---------------------------------------------------------------------------------


@app_commands.command(name="probe", description="a command to wrap errors in")
async def probe(interaction: object) -> None:
    """Never invoked; CommandInvokeError needs a command."""


async def test_errors_before_acknowledging_are_ephemeral_messages(bot: MusicrecBot) -> None:
    interaction = make_interaction(bot, done=False)
    await report_error(interaction, app_commands.CommandInvokeError(probe, BusyError(7)))
    interaction.response.send_message.assert_awaited_once()
    interaction.followup.send.assert_not_awaited()
    assert sent_text(interaction.response.send_message) == (
        "musicrec is busy right now: try again in 7 s."
    )
    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True


async def test_errors_after_acknowledging_are_follow_ups(bot: MusicrecBot) -> None:
    interaction = make_interaction(bot, done=True)
    await report_error(interaction, NotAudioError("notes.txt holds no audio."))
    interaction.response.send_message.assert_not_awaited()
    assert sent_text(interaction.followup.send) == "notes.txt holds no audio."
    assert interaction.followup.send.await_args.kwargs["ephemeral"] is True


async def test_cooldown_permissions_and_unknown_errors(
    bot: MusicrecBot, caplog: pytest.LogCaptureFixture
) -> None:
    cooldown = app_commands.CommandOnCooldown(app_commands.Cooldown(1, 10), 3.2)
    cases = [
        (cooldown, "Slow down: try again in 4 s."),
        (AdminOnlyError("x"), ADMIN_ONLY_MESSAGE),
        (app_commands.MissingPermissions(["manage_guild"]), ADMIN_ONLY_MESSAGE),
        (app_commands.NoPrivateMessage(), "This command only works in a server."),
        (ZeroDivisionError("boom"), UNEXPECTED_MESSAGE),
    ]
    for error, expected in cases:
        interaction = make_interaction(bot)
        with caplog.at_level(logging.ERROR, logger="bot.errors"):
            await report_error(interaction, error)
        assert sent_text(interaction.response.send_message) == expected
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [ZeroDivisionError]


# Checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "allowed"),
    [
        ({"manage_guild": True}, True),
        ({"role_ids": (555,)}, True),
        ({"user_id": 9001}, True),
        ({"role_ids": (556,)}, False),
        ({}, False),
    ],
)
async def test_who_is_an_admin(bot: MusicrecBot, kwargs: dict, allowed: bool) -> None:
    interaction = make_interaction(bot, **kwargs)
    assert await is_admin(interaction) is allowed
    if allowed:
        assert await require_admin(interaction) is True
    else:
        with pytest.raises(AdminOnlyError):
            await require_admin(interaction)


async def test_admin_commands_refuse_direct_messages_even_for_owners(bot: MusicrecBot) -> None:
    with pytest.raises(app_commands.NoPrivateMessage):
        await require_admin(make_interaction(bot, user_id=9001, in_guild=False))


def test_cooldowns_come_from_settings(tmp_path: Path) -> None:
    off = MusicrecBot(make_settings(tmp_path, recommend_cooldown_s=0), load_engine=False)
    on = MusicrecBot(make_settings(tmp_path, recommend_cooldown_s=12), load_engine=False)
    factory = cooldown_from_setting("recommend_cooldown_s")
    assert factory(make_interaction(off)) is None
    cooldown = factory(make_interaction(on))
    assert cooldown is not None and (cooldown.rate, cooldown.per) == (1, 12.0)
