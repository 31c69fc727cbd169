"""Checks shared by the cogs: per-user cooldowns from settings, and who counts as an admin.

``default_permissions`` on a command only hides it in the Discord client (server admins can
change that), so admin commands also run :func:`require_admin`, which the bot enforces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.errors import AdminOnlyError

if TYPE_CHECKING:
    from bot.app import MusicrecBot

CooldownFactory = Callable[[discord.Interaction[Any]], app_commands.Cooldown | None]


def cooldown_from_setting(name: str) -> CooldownFactory:
    """A ``dynamic_cooldown`` factory: one use per ``settings.<name>`` seconds per user.

    A setting of 0 turns the cooldown off.
    """

    def factory(interaction: discord.Interaction[Any]) -> app_commands.Cooldown | None:
        bot: MusicrecBot = interaction.client
        seconds = float(getattr(bot.settings, name))
        return app_commands.Cooldown(1, seconds) if seconds > 0 else None

    return factory


async def is_admin(interaction: discord.Interaction[Any]) -> bool:
    """Whether the user may administer musicrec's catalog from this interaction.

    The catalog is the operator's and one reload changes it for every server, so server
    permissions only count in the servers the operator names:

    * the bot's owners (``MUSICREC_OWNER_IDS``, else the application owner or team),
      anywhere;
    * in an admin server (``MUSICREC_ADMIN_GUILD_IDS``): members with Manage Server and
      members holding the admin role (``MUSICREC_ADMIN_ROLE_ID``).
    """
    bot: MusicrecBot = interaction.client
    if await bot.is_owner(interaction.user):
        return True
    if interaction.guild_id not in bot.settings.admin_guild_ids:
        return False
    if interaction.permissions.manage_guild:
        return True
    role_id = bot.settings.admin_role_id
    user = interaction.user
    return role_id is not None and isinstance(user, discord.Member) and bool(user.get_role(role_id))


async def require_admin(interaction: discord.Interaction[Any]) -> bool:
    """An ``app_commands.check`` predicate: passes for admins in a server.

    Raises:
        NoPrivateMessage: outside a server (admin commands are guild-only, also when a
            client ignores the command's declared contexts).
        AdminOnlyError: the user is not an admin.
    """
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    if await is_admin(interaction):
        return True
    raise AdminOnlyError("not a musicrec admin")
