"""Mocks of discord.py objects built with ``spec_set``, plus real settings and request
services for tests.

``spec_set`` makes each mock pass ``isinstance`` checks and refuse attributes the real
class does not have, so a test cannot invent an API the bot then relies on. Coroutine
methods become ``AsyncMock``s automatically.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock, create_autospec

import discord

from bot.service import RequestService
from bot.settings import Settings
from musicrec_core.recommender import Recommender
from musicrec_core.service.batching import RecommendQueue
from tests.fake_discord.markdown import render


def make_settings(index_dir: Path, **overrides: Any) -> Settings:
    """Real settings with a dummy token and no file logging (``.env`` is not read)."""
    values: dict[str, Any] = {
        "DISCORD_TOKEN": "test.token.value",
        "index_dir": index_dir,
        "log_file": "",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class ServiceMaker:
    """Makes request services for one test, each around a real, started
    :class:`RecommendQueue` and a spec'd recommender that ``prepare`` sets up; settings
    come from ``defaults`` and the keywords of each call. :meth:`close` closes them all.
    """

    def __init__(
        self,
        tmp_path: Path,
        prepare: Callable[[MagicMock], None],
        *,
        batch_window_s: float = 0.0,
        **defaults: Any,
    ) -> None:
        self._tmp_path = tmp_path
        self._prepare = prepare
        self._batch_window_s = batch_window_s
        self._defaults = defaults
        self._services: list[RequestService] = []

    def __call__(self, **settings: Any) -> RequestService:
        recommender = create_autospec(Recommender, instance=True)
        self._prepare(recommender)
        queue = RecommendQueue(
            recommender, queue_size=8, batch_window_s=self._batch_window_s, max_batch=4
        )
        queue.start()
        service = RequestService(queue, make_settings(self._tmp_path, **self._defaults | settings))
        self._services.append(service)
        return service

    async def close(self) -> None:
        for service in self._services:
            await service.close()


def make_attachment(
    *,
    filename: str = "song.mp3",
    size: int = 1000,
    content_type: str | None = "audio/mpeg",
    data: bytes = b"",
) -> MagicMock:
    """A ``discord.Attachment`` whose ``read()`` returns ``data``."""
    attachment = MagicMock(spec_set=discord.Attachment)
    attachment.filename = filename
    attachment.size = size
    attachment.content_type = content_type
    attachment.read.return_value = data
    return attachment


def make_message(
    content: str = "",
    *,
    attachments: list[MagicMock] | None = None,
    author_is_bot: bool = False,
    guild_id: int | None = 1,
    channel_id: int = 10,
) -> MagicMock:
    """A ``discord.Message`` in a guild text channel."""
    message = MagicMock(spec_set=discord.Message)
    message.id = 1000
    message.created_at = datetime.now(UTC)  # sent now, as Discord stamps it
    message.content = content
    message.attachments = attachments or []
    author = MagicMock(spec_set=discord.Member)
    author.bot = author_is_bot
    author.id = 77
    message.author = author
    if guild_id is None:
        message.guild = None
    else:
        guild = MagicMock(spec_set=discord.Guild)
        guild.id = guild_id
        message.guild = guild
    channel = MagicMock(spec_set=discord.TextChannel)
    channel.id = channel_id
    message.channel = channel
    return message


def make_interaction(
    client: Any,
    *,
    done: bool = False,
    manage_guild: bool = False,
    in_guild: bool = True,
    role_ids: tuple[int, ...] = (),
    user_id: int = 42,
    guild_id: int = 1,
) -> MagicMock:
    """A ``discord.Interaction`` from a member of server ``guild_id`` (unless not
    ``in_guild``); ``done`` = already acknowledged."""
    interaction = MagicMock(spec_set=discord.Interaction)
    interaction.id = 5000
    interaction.created_at = datetime.now(UTC)  # sent now, as Discord stamps it
    interaction.client = client
    interaction.command = None
    interaction.permissions = discord.Permissions(manage_guild=manage_guild)
    user = MagicMock(spec_set=discord.Member)
    user.id = user_id
    user.get_role.side_effect = lambda role_id: object() if role_id in role_ids else None
    interaction.user = user
    interaction.guild = MagicMock(spec_set=discord.Guild) if in_guild else None
    interaction.guild_id = guild_id if in_guild else None
    response = MagicMock(spec_set=discord.InteractionResponse)
    response.is_done.return_value = done
    interaction.response = response
    interaction.followup = MagicMock(spec_set=discord.Webhook)
    return interaction


def sent_text(mock_method: AsyncMock) -> str:
    """The text a mocked ``send_message`` / ``followup.send`` was awaited with, as a Discord
    reader sees it (escapes read); fails if any of it would be a link, mention or formatting
    (:mod:`tests.fake_discord.markdown`)."""
    call = mock_method.await_args
    if call is None:
        raise AssertionError("nothing was sent")
    rendering = render(call.args[0] if call.args else call.kwargs["content"])
    assert not rendering.active, rendering
    return rendering.visible


OS_ERROR_TEXTS = tuple(os.strerror(code) for code in (errno.EACCES, errno.ENOENT, errno.EISDIR))


def assert_private(text: str, *secrets: str) -> None:
    """Text fit for Discord: no absolute path of two components or more, no OS error text
    (``[Errno n]`` or a common strerror), none of ``secrets``; checked on what a reader sees
    (markdown escapes read), so an escaped path counts as a path."""
    text = render(text).visible
    assert not re.search(r"(?<![\w:/])/[^\s/]+/", text), text
    assert "Errno" not in text, text
    for phrase in (*OS_ERROR_TEXTS, *secrets):
        assert phrase not in text, (phrase, text)
