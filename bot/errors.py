"""Turning any failure during an interaction into one short message only its user sees.

Used by the command tree's ``on_error`` and by component callbacks (buttons), which
discord.py does not route through the tree. Known errors are shown as they are
(:class:`~musicrec_core.errors.MusicrecError` messages are written for users); anything
else gets a generic sentence and its traceback goes to the log.

This module is the bot's display boundary for error text. Core messages are written for a
person at the command line, so they may name server paths and quote OS errors; in Discord
:func:`public_text` shows a path as its last component, leaves OS error text out and
makes the rest inert (:mod:`bot.untrusted_text`: file names, titles and option values are
outside text), while the log keeps the full message.
"""

from __future__ import annotations

import math

import discord
from discord import app_commands

from bot.limits import fit_content, truncate
from bot.logging_setup import get_logger
from bot.untrusted_text import Surface, inert
from musicrec_core.errors import MusicrecError
from musicrec_core.server_details import without_server_details

log = get_logger(__name__)

UNEXPECTED_MESSAGE = "Something went wrong on our side; it has been logged. Please try again later."
ADMIN_ONLY_MESSAGE = (
    "Sorry, only musicrec's operators can do that: the catalog is shared by every server, so "
    "reload and status are kept for the bot owners and the admins of its home servers."
)
MAX_SHOWN_VALUE_CHARS = 100
"""Longest option value quoted back in a refusal."""


class AdminOnlyError(app_commands.CheckFailure):
    """The user may not administer musicrec (not an owner, nor an admin of an admin server)."""


def public_text(text: str) -> str:
    """``text`` as Discord may show it: no server paths, no OS error text, nothing in it a
    link, a mention or formatting, at most a message's 2000 characters after escaping.

    ``"Cannot read /srv/index/CURRENT: Permission denied."`` -> ``"Cannot read CURRENT."``
    """
    return inert(without_server_details(text), Surface.CONTENT)


def user_message(error: BaseException) -> tuple[str, bool]:
    """The sentence to show for ``error`` and whether its traceback should be logged."""
    if isinstance(error, app_commands.CommandInvokeError):
        return user_message(error.original)
    if isinstance(error, MusicrecError):
        return public_text(str(error)), False
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {math.ceil(error.retry_after)} s.", False
    if isinstance(error, AdminOnlyError | app_commands.MissingPermissions):
        return ADMIN_ONLY_MESSAGE, False
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server.", False
    if isinstance(error, app_commands.BotMissingPermissions):
        missing = ", ".join(error.missing_permissions)
        return f"I am missing a permission here: {missing}.", False
    if isinstance(error, app_commands.TransformerError):
        value = public_text(truncate(str(error.value), MAX_SHOWN_VALUE_CHARS))
        return f"That value is not valid for this option: {value}", False
    if isinstance(error, app_commands.CheckFailure):
        return "You cannot use this command here.", False
    return UNEXPECTED_MESSAGE, True


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell only the user of ``interaction`` the message for ``error`` (see :func:`send_private`).

    Unknown errors are logged with their traceback, known ones with their full message.
    """
    text, unexpected = user_message(error)
    if unexpected:
        command = interaction.command.qualified_name if interaction.command else "component"
        log.error("unexpected error in %s", command, exc_info=error)
    else:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        log.info("refused interaction %s: %s", interaction.id, cause)
    try:
        await send_private(interaction, text)
    except discord.HTTPException as exc:
        log.warning("could not tell the user about an error: %s", exc)


async def send_private(interaction: discord.Interaction, text: str) -> None:
    """Show ``text`` (fitted to Discord's limit) to the interaction's user only.

    Before any response it is an ephemeral message. After a deferral it is an ephemeral
    follow-up, but Discord makes the first follow-up after a deferral replace the
    "thinking…" message *and keep its visibility*: a public "thinking…" still showing is
    therefore deleted first, so the channel never sees the text.

    Raises:
        discord.HTTPException: Discord refused one of the calls.
    """
    content = fit_content(text)
    response = interaction.response
    if not response.is_done():
        await response.send_message(content, ephemeral=True)
        return
    if response.type is discord.InteractionResponseType.deferred_channel_message:
        original = await interaction.original_response()
        if original.flags.loading and not original.flags.ephemeral:
            await interaction.delete_original_response()
    await interaction.followup.send(content, ephemeral=True)
