"""The bot's settings, read from the environment and a ``.env`` file.

The request service's settings (the catalog, limits, YouTube, caches, titles) are the core's
(:mod:`musicrec_core.service.settings`); this module adds Discord's. Every setting has the
prefix ``MUSICREC_`` except the token, which keeps the name people already use:
``DISCORD_TOKEN``. The token has no default, so a bot without one stops at
start-up with one line saying where to put it. ``.env.example`` lists every setting with a
comment; :func:`load_settings` turns a validation failure into a single readable sentence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import NoDecode

from musicrec_core.private_url import check_private_url
from musicrec_core.service.settings import (
    ENV_PREFIX,
    ConfigurationError,
    ServiceSettings,
    settings_error,
)

TOKEN_ENV = "DISCORD_TOKEN"

IdSet = Annotated[frozenset[int], NoDecode]
"""A set of Discord ids written as a comma-separated list (``123,456``) in the environment."""
ShardIds = Annotated[tuple[int, ...], NoDecode]
"""Shard ids written as a comma-separated list with ranges (``0,2-3``) in the environment."""


class Settings(ServiceSettings):
    """Everything an operator can configure for the bot: the request service's settings
    (:class:`~musicrec_core.service.settings.ServiceSettings`) and Discord's. Durations are
    seconds unless the name says ms."""

    discord_token: SecretStr = Field(validation_alias=TOKEN_ENV)
    """The bot token from the Developer Portal (Bot -> Reset Token). Never logged."""

    # Links in chat.
    link_replies: bool = False
    """Answer YouTube links pasted in chat. Needs the Message Content intent in the portal."""
    link_reply_guilds: IdSet = frozenset()
    """Servers where link replies are on; empty = every server."""
    link_reply_channels: IdSet = frozenset()
    """Channels where link replies are allowed; empty = every channel."""
    link_cooldown_s: float = Field(default=30.0, ge=0)
    """Per-channel pause between two link replies; 0 turns it off."""

    # Administration.
    owner_ids: IdSet = frozenset()
    """User ids treated as bot owners; empty = the application's owner (or team).

    Owners may run /musicrec reload and status in any server."""
    admin_guild_ids: IdSet = frozenset()
    """Servers whose managers (Manage Server) and admin-role members may also run /musicrec;
    empty = owners only. The catalog is global, so list only servers the operator runs."""
    admin_role_id: int | None = None
    """Members with this role in an admin server may run /musicrec (besides Manage Server)."""
    admin_cooldown_s: float = Field(default=10.0, ge=0)
    """Per-user pause between two /musicrec commands; 0 turns it off."""

    # Logging.
    log_file: Path | None = Path("logs/musicrec-bot.log")
    """Rotating log file (5 MiB x 3); empty = console only."""
    log_level: str = "INFO"
    """DEBUG, INFO, WARNING or ERROR."""

    # Where Discord is (only change these for a self-hosted Discord-compatible server).
    discord_api_url: str = "https://discord.com/api/v10"
    """Base URL of the Discord HTTP API."""
    discord_gateway_url: str = "wss://gateway.discord.gg/"
    """URL of the Discord Gateway (websocket)."""

    # Sharding and operations (several processes; what a supervisor polls).
    shard_count: int | None = Field(default=None, ge=1)
    """Shards of the whole bot, over every process; None = as many as Discord recommends
    (``GET /gateway/bot``), all run by this process."""
    shard_ids: ShardIds = ()
    """The shards this process runs (each in ``0 .. shard_count - 1``); empty = all of them."""
    health_file: Path | None = None
    """JSON file rewritten atomically every ``health_interval_s`` (ready, shards, catalog,
    queue); None = none."""
    health_interval_s: float = Field(default=5.0, gt=0)
    """How often the health file (and the metrics' gauges) are refreshed, in seconds."""
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Prometheus metrics at ``/metrics`` on this port plus the process's lowest shard id;
    None = off."""
    metrics_host: str = "127.0.0.1"
    """The address the metrics port is bound to (loopback unless set otherwise)."""
    bot_serves_api: bool = False
    """Serve the HTTP API (``musicrec serve``'s endpoints, its ``MUSICREC_API_*`` settings)
    from this bot process too, so API keys and members share one queue, one set of fair
    pools and one model thread. For a bot in one process; with shards in several, run
    ``musicrec serve`` instead (each process would take the same port)."""
    log_format: Literal["text", "json"] = "text"
    """``text`` (one readable line per record) or ``json`` (one JSON object per line)."""

    @field_validator("shard_count", "health_file", "metrics_port", "log_file", mode="before")
    @classmethod
    def _operations_empty_is_none(cls, value: object) -> object:
        """An empty value (``MUSICREC_SHARD_COUNT=``) means None."""
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_name(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _split_shard_ids(cls, value: object) -> object:
        """Accept ``"0,2"`` and ranges ``"0-3"`` (environment) as well as a real collection."""
        if not isinstance(value, str):
            return value
        ids: list[int] = []
        try:
            for part in (p.strip() for p in value.split(",")):
                if "-" in part:
                    first, last = (int(end) for end in part.split("-", 1))
                    ids.extend(range(first, last + 1))
                elif part:
                    ids.append(int(part))
        except ValueError as exc:
            raise ValueError(
                "write shard ids as numbers or ranges like 0-3, comma-separated"
            ) from exc
        return tuple(ids)

    @field_validator("shard_ids")
    @classmethod
    def _shards_within_count(cls, value: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
        """Shard ids need the shard count, each below it and none twice."""
        if not value:
            return value
        count = info.data.get("shard_count")
        if count is None:
            raise ValueError("set MUSICREC_SHARD_COUNT too (the shards of every process)")
        if len(set(value)) != len(value):
            raise ValueError("a shard id is listed twice")
        if not all(0 <= shard < count for shard in value):
            raise ValueError(f"shard ids run from 0 to {count - 1} with {count} shards")
        return tuple(sorted(value))

    @field_validator(
        "link_reply_guilds", "link_reply_channels", "owner_ids", "admin_guild_ids", mode="before"
    )
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept ``"1, 2,3"`` (environment) as well as a real collection."""
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",")]
            try:
                return frozenset(int(part) for part in parts if part)
            except ValueError as exc:
                raise ValueError("write Discord ids as numbers separated by commas") from exc
        return value

    @field_validator("discord_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not token or any(char.isspace() for char in token):
            raise ValueError("it is empty or contains spaces")
        return SecretStr(token)

    @field_validator("log_level")
    @classmethod
    def _level_name(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("use DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("discord_api_url", "discord_gateway_url")
    @classmethod
    def _private_transport(cls, value: str, info: ValidationInfo) -> str:
        """https / wss, or plain http / ws to a loopback host only: the token travels in it."""
        secure, plain = ("https", "http") if info.field_name == "discord_api_url" else ("wss", "ws")
        return check_private_url(value, secure=secure, plain=plain)

    @property
    def token(self) -> str:
        """The bot token in clear text (pass it to discord.py only; never log it)."""
        return self.discord_token.get_secret_value()

    @property
    def log_secrets(self) -> tuple[str, ...]:
        """Strings no log line may contain: the token, the proxy's credentials, the cookies path."""
        return (self.token, *super().log_secrets)


def env_name(field: str) -> str:
    """The environment variable a settings field is read from."""
    return TOKEN_ENV if field == "discord_token" else ENV_PREFIX + field.upper()


def _missing_hint(name: str) -> str:
    if name == TOKEN_ENV:
        return "copy the bot token from the Discord Developer Portal (Bot -> Reset Token)"
    return "see .env.example"


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read the settings from the environment and ``env_file`` (missing file = ignored).

    Raises:
        ConfigurationError: naming the first missing or invalid setting, in one sentence.
    """
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigurationError(settings_error(exc, _missing_hint)) from None
