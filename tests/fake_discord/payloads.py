"""JSON objects shaped like Discord API v10's: users, guilds, members, messages, interactions.

Only the fields discord.py 2.x reads are filled in, with plausible values. Ids are
snowflakes from :class:`Snowflakes`, so they sort by creation like Discord's.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000

JSON = dict[str, Any]

MANAGE_GUILD = 1 << 5
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31)
"""View channel, send messages, embed links, attach files, read history, use app commands."""
ADMIN_PERMISSIONS = MEMBER_PERMISSIONS | MANAGE_GUILD

EPHEMERAL_FLAG = 1 << 6
LOADING_FLAG = 1 << 7


class Snowflakes:
    """Monotonic Discord-style ids (timestamp << 22 | counter)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._last_ms = 0

    def next(self, *, shard: int = 0, shards: int = 1) -> str:
        """A new id; with ``shards`` > 1, one whose server would be on ``shard``:
        ``(id >> 22) % shards == shard`` (its timestamp moved up to a few ms ahead)."""
        millis = max(int(time.time() * 1000) - DISCORD_EPOCH_MS, self._last_ms)
        millis += (shard - millis) % shards
        self._last_ms = millis
        return str((millis << 22) | (next(self._counter) & 0x3FFFFF))


def shard_of(guild_id: str | int, shards: int) -> int:
    """The shard that receives a server's events (Discord's rule)."""
    return (int(guild_id) >> 22) % shards


def iso_now() -> str:
    """The current time as Discord writes timestamps."""
    return datetime.now(UTC).isoformat()


def user(user_id: str, name: str, *, bot: bool = False) -> JSON:
    return {
        "id": user_id,
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def role(role_id: str, name: str, permissions: int, position: int) -> JSON:
    return {
        "id": role_id,
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(permissions),
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def text_channel(channel_id: str, guild_id: str, name: str, position: int) -> JSON:
    return {
        "id": channel_id,
        "type": 0,
        "guild_id": guild_id,
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "nsfw": False,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "parent_id": None,
        "flags": 0,
    }


def member(member_user: JSON, roles: list[str], *, permissions: int | None = None) -> JSON:
    data: JSON = {
        "user": member_user,
        "nick": None,
        "avatar": None,
        "roles": roles,
        "joined_at": iso_now(),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def guild(
    guild_id: str,
    name: str,
    *,
    owner_id: str,
    roles: list[JSON],
    channels: list[JSON],
    members: list[JSON],
) -> JSON:
    return {
        "id": guild_id,
        "name": name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": owner_id,
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": roles,
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "max_members": 500000,
        "member_count": len(members),
        "large": False,
        "unavailable": False,
        "joined_at": iso_now(),
        "channels": channels,
        "threads": [],
        "members": members,
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def attachment(
    attachment_id: str, filename: str, size: int, url: str, content_type: str | None
) -> JSON:
    data: JSON = {
        "id": attachment_id,
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "flags": 0,
    }
    if content_type is not None:
        data["content_type"] = content_type
    return data


def message(
    message_id: str,
    channel_id: str,
    author: JSON,
    *,
    content: str = "",
    embeds: list[JSON] | None = None,
    components: list[JSON] | None = None,
    attachments: list[JSON] | None = None,
    flags: int = 0,
    guild_id: str | None = None,
    webhook_id: str | None = None,
    application_id: str | None = None,
    message_reference: JSON | None = None,
) -> JSON:
    data: JSON = {
        "id": message_id,
        "channel_id": channel_id,
        "author": author,
        "content": content,
        "timestamp": iso_now(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments or [],
        "embeds": embeds or [],
        "components": components or [],
        "pinned": False,
        "type": 19 if message_reference else 0,
        "flags": flags,
    }
    if guild_id is not None:
        data["guild_id"] = guild_id
    if webhook_id is not None:
        data["webhook_id"] = webhook_id
    if application_id is not None:
        data["application_id"] = application_id
    if message_reference is not None:
        data["message_reference"] = message_reference
    return data


def interaction(
    interaction_id: str,
    *,
    application_id: str,
    interaction_type: int,
    token: str,
    guild_id: str,
    channel: JSON,
    invoker: JSON,
    data: JSON,
    message_data: JSON | None = None,
    app_permissions: int = ADMIN_PERMISSIONS,
    attachment_size_limit: int = 10 * 2**20,
) -> JSON:
    payload: JSON = {
        "id": interaction_id,
        "application_id": application_id,
        "type": interaction_type,
        "token": token,
        "version": 1,
        "guild_id": guild_id,
        "channel_id": channel["id"],
        "channel": channel,
        "member": invoker,
        "app_permissions": str(app_permissions),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild_id},
        "context": 0,
        "attachment_size_limit": attachment_size_limit,
        "data": data,
    }
    if message_data is not None:
        payload["message"] = message_data
    return payload
