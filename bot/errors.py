"""Turning any failure during an interaction into one short ephemeral message.

Used by the command tree's ``on_error`` and by component callbacks (buttons), which
discord.py does not route through the tree. Known errors are shown as they are
(:class:`~musicrec_core.errors.MusicrecError` messages are written for users); anything
else gets a generic sentence and its traceback goes to the log.
"""

from __future__ import annotations

import math

import discord
from discord import app_commands

from bot.limits import fit_content
from bot.logging_setup import get_logger
from musicrec_core.errors import MusicrecError

log = get_logger(__name__)

UNEXPECTED_MESSAGE = "Something went wrong on our side; it has been logged. Please try again later."
ADMIN_ONLY_MESSAGE = (
    "Only server managers (Manage Server), members with the musicrec admin role or the bot "
    "owner can do that."
)


class AdminOnlyError(app_commands.CheckFailure):
    """The user is not a musicrec admin (Manage Server, admin role, or owner)."""


def user_message(error: BaseException) -> tuple[str, bool]:
    """The sentence to show for ``error`` and whether its traceback should be logged."""
    if isinstance(error, app_commands.CommandInvokeError):
        return user_message(error.original)
    if isinstance(error, MusicrecError):
        return str(error), False
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
        return f"That value is not valid for this option: {error.value!r}.", False
    if isinstance(error, app_commands.CheckFailure):
        return "You cannot use this command here.", False
    return UNEXPECTED_MESSAGE, True


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Answer ``interaction`` with the ephemeral message for ``error`` (logging unknown ones).

    Picks ``response.send_message`` when nothing was sent yet, ``followup.send`` otherwise.
    """
    text, unexpected = user_message(error)
    if unexpected:
        command = interaction.command.qualified_name if interaction.command else "component"
        log.error("unexpected error in %s", command, exc_info=error)
    else:
        log.info("refused interaction %s: %s", interaction.id, text)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(fit_content(text), ephemeral=True)
        else:
            await interaction.response.send_message(fit_content(text), ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not tell the user about an error: %s", exc)
