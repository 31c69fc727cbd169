"""The bot's settings, read from the environment and a ``.env`` file.

Every setting has the prefix ``MUSICREC_`` except the token, which keeps the name people
already use: ``DISCORD_TOKEN``. The token has no default, so a bot without one stops at
start-up with one line saying where to put it. ``.env.example`` lists every setting with a
comment; :func:`load_settings` turns a validation failure into a single readable sentence.
"""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.logging_setup import url_credentials
from musicrec_core.clip_cache import DEFAULT_MAX_MB as DEFAULT_CLIP_CACHE_MB
from musicrec_core.embedders import WeightFiles
from musicrec_core.embedders.precision import Precision
from musicrec_core.errors import MusicrecError
from musicrec_core.private_url import check_private_url
from musicrec_core.sources.budget import (
    DEFAULT_FETCHES_PER_HOUR,
    DEFAULT_MEMBER_SHARE,
    DEFAULT_SERVER_SHARE,
)
from musicrec_core.sources.ytdlp_fetch import YouTubeSettings
from musicrec_core.sources.ytdlp_inputs import check_cookies_file, check_proxy_url
from musicrec_core.titles import DEFAULT_OEMBED_URL, TitleSettings, check_endpoint
from musicrec_core.titles.settings import DEFAULT_BUDGET_S as DEFAULT_TITLE_BUDGET_S

ENV_PREFIX = "MUSICREC_"
TOKEN_ENV = "DISCORD_TOKEN"

IdSet = Annotated[frozenset[int], NoDecode]
"""A set of Discord ids written as a comma-separated list (``123,456``) in the environment."""
ShardIds = Annotated[tuple[int, ...], NoDecode]
"""Shard ids written as a comma-separated list with ranges (``0,2-3``) in the environment."""
JsRuntime = Literal["deno", "node", "bun", "quickjs"]
"""JavaScript runtimes yt-dlp can use for YouTube's challenges."""
SOCKET_TIMEOUT_S = 15.0
"""Longest wait on one unresponsive network read inside yt-dlp (capped by the phase limit)."""


class ConfigurationError(MusicrecError):
    """A setting is missing or invalid; the message names it and says how to fix it."""


class Settings(BaseSettings):
    """Everything an operator can configure. Durations are seconds unless the name says ms."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    discord_token: SecretStr = Field(validation_alias=TOKEN_ENV)
    """The bot token from the Developer Portal (Bot -> Reset Token). Never logged."""

    # The catalog and the models.
    index_dir: Path | None = None
    """Directory of the index built with ``musicrec index build-*``; None = the default
    catalog in the cache (AudioSet's music segments), built on the first start."""
    vggish_checkpoint: Path | None = None
    """VGGish checkpoint file; None = the model cache (``musicrec models download vggish``)."""
    vggish_pca: Path | None = None
    """VGGish PCA parameters file; None = the model cache."""
    precision: Precision = Precision.FLOAT32
    """VGGish's arithmetic; int8 only loads after ``musicrec quantize check`` passed for the
    weight files (else the bot refuses to start)."""

    # Requests.
    max_attachment_mb: float = Field(default=25.0, gt=0)
    """Largest attachment read, in MiB; the declared size is checked before downloading."""
    recommend_cooldown_s: float = Field(default=5.0, ge=0)
    """Per-member pause between two requests, whatever asks (/recommend, the context menu,
    "More like" buttons, pasted links share it); 0 turns it off."""
    decode_workers: int = Field(default=2, ge=1, le=64)
    """Threads decoding attachments at the same time (links have ``fetch_workers``)."""
    queue_size: int = Field(default=32, ge=1)
    """Requests admitted at once (decoding + waiting + embedding); more are told to retry."""
    batch_window_ms: float = Field(default=15.0, ge=0)
    """How long the batcher waits for more clips after the first before calling the model."""
    max_batch: int = Field(default=16, ge=1)
    """Most clips embedded in one model call."""

    # Fairness between members (every entry point goes through the same admission).
    max_inflight_per_member: int = Field(default=1, ge=1, le=16)
    """Requests one member may have in progress at once; one more is refused at once."""
    fetch_workers: int = Field(default=2, ge=1, le=64)
    """Threads fetching YouTube links at the same time (separate from ``decode_workers``)."""
    request_deadline_s: float = Field(default=150.0, gt=0)
    """Longest a request may take from admission to its result; then the member is told
    and the slot is freed. Keep it above twice ``ytdlp_timeout_s`` so links can finish."""
    worker_nice: int = Field(default=10, ge=0, le=19)
    """Lower CPU priority (Linux nice increment) of the decode workers and the ffmpeg /
    yt-dlp processes that fetch and decode, so replies and acknowledgements go first."""
    decode_in_workers: bool = True
    """Read uploads in long-lived decode workers (PyAV) where PyAV is installed; False
    starts ffprobe and ffmpeg processes for every upload instead (the fallback path)."""

    # YouTube (yt-dlp). The cookies path and the proxy URL may hold credentials: never logged.
    ytdlp_cookies: Path | None = None
    """Netscape-format cookies file of a logged-in browser session; checked at start-up."""
    ytdlp_proxy: SecretStr | None = None
    """Proxy for yt-dlp (http, https, socks4, socks4a, socks5, socks5h URL); None = direct."""
    ytdlp_js_runtime: JsRuntime | None = None
    """JavaScript runtime for yt-dlp's YouTube challenge solver; None = the bundled Deno."""
    ytdlp_in_workers: bool = True
    """Run yt-dlp in long-lived worker processes that serve link after link; False starts a
    Python process for every link instead (the fallback path, about 0.4 CPU-s more each)."""
    ytdlp_timeout_s: float = Field(default=60.0, gt=0)
    """Wall-clock limit of each yt-dlp phase: reading the metadata, downloading the section."""
    max_video_minutes: float = Field(default=360.0, gt=0)
    """Longest YouTube video accepted, in minutes (live streams are always refused)."""

    # Spending YouTube requests, and titled results (oEmbed).
    youtube_fetches_per_hour: int = Field(default=DEFAULT_FETCHES_PER_HOUR, ge=1, le=10_000)
    """Most YouTube fetches in any hour (a sliding window), counted together by every bot
    process of the machine (``youtube-fetches.bin`` in the cache directory); YouTube tolerates
    about 300 an hour from one address without an account. Links answered from the clip
    cache are free."""
    youtube_member_share: float = DEFAULT_MEMBER_SHARE
    """Most of ``youtube_fetches_per_hour`` one member may spend in any hour, as a fraction
    (``0.1``) or a percentage (``10%``), at least one fetch; counted machine-wide like the
    total. A member refused on an interaction is told privately when their share refills."""
    youtube_server_share: float = DEFAULT_SERVER_SHARE
    """Most of ``youtube_fetches_per_hour`` one server may spend in any hour (fraction or
    percentage, at least one fetch), so one busy server leaves the others some."""

    @field_validator("youtube_member_share", "youtube_server_share", mode="before")
    @classmethod
    def _share(cls, value: object) -> float:
        """A fraction in (0, 1], written ``0.1`` or ``10%``."""
        try:
            if isinstance(value, str) and value.strip().endswith("%"):
                share = float(value.strip()[:-1]) / 100.0
            else:
                share = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            share = math.nan
        if not 0.0 < share <= 1.0:  # also refuses NaN
            raise ValueError(
                "write a share as a fraction above 0 and at most 1 (0.1) or a percentage (10%)"
            )
        return share

    clip_cache_mb: float = Field(default=DEFAULT_CLIP_CACHE_MB, ge=0)
    """Size of the embedded-clip cache beside the model cache, in MiB (a link pasted again
    is answered without downloading); 0 turns it off."""
    title_lookup: bool = True
    """Look YouTube results up: title and channel, gone videos replaced. False = no request."""
    title_budget_s: float = Field(default=DEFAULT_TITLE_BUDGET_S, ge=0, le=10)
    """Longest a reply waits for its title lookups, in seconds (0 = cache only)."""
    oembed_url: str = DEFAULT_OEMBED_URL
    """YouTube's oEmbed endpoint: https, or http to a loopback host (tests)."""

    @field_validator("oembed_url")
    @classmethod
    def _oembed_endpoint(cls, value: str) -> str:
        return check_endpoint(value)

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
    log_format: Literal["text", "json"] = "text"
    """``text`` (one readable line per record) or ``json`` (one JSON object per line)."""

    @field_validator("shard_count", "health_file", "metrics_port", mode="before")
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

    @field_validator(
        "index_dir", "log_file", "ytdlp_cookies", "ytdlp_proxy", "ytdlp_js_runtime", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """An empty value (``MUSICREC_LOG_FILE=``) means None."""
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("ytdlp_js_runtime", "precision", mode="before")
    @classmethod
    def _lower_case_name(cls, value: object) -> object:
        """Names are read in any case (``MUSICREC_PRECISION=INT8``)."""
        return value.lower() if isinstance(value, str) else value

    @field_validator("ytdlp_cookies")
    @classmethod
    def _cookies_file(cls, value: Path | None) -> Path | None:
        """An absolute path to a readable Netscape cookies file (yt-dlp runs elsewhere)."""
        if value is None:
            return None
        path = value.expanduser().resolve()
        check_cookies_file(path)
        return path

    @field_validator("ytdlp_proxy")
    @classmethod
    def _proxy_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        check_proxy_url(value.get_secret_value())
        return value

    @field_validator("discord_api_url", "discord_gateway_url")
    @classmethod
    def _private_transport(cls, value: str, info: ValidationInfo) -> str:
        """https / wss, or plain http / ws to a loopback host only: the token travels in it."""
        secure, plain = ("https", "http") if info.field_name == "discord_api_url" else ("wss", "ws")
        return check_private_url(value, secure=secure, plain=plain)

    @property
    def max_attachment_bytes(self) -> int:
        """:attr:`max_attachment_mb` in bytes."""
        return int(self.max_attachment_mb * 2**20)

    @property
    def token(self) -> str:
        """The bot token in clear text (pass it to discord.py only; never log it)."""
        return self.discord_token.get_secret_value()

    @cached_property
    def youtube(self) -> YouTubeSettings:
        """The yt-dlp settings every YouTube fetch of the bot runs with."""
        return YouTubeSettings(
            cookiefile=self.ytdlp_cookies,
            proxy=self.ytdlp_proxy.get_secret_value() if self.ytdlp_proxy else None,
            js_runtime=self.ytdlp_js_runtime,
            socket_timeout_s=min(SOCKET_TIMEOUT_S, self.ytdlp_timeout_s),
            metadata_timeout_s=self.ytdlp_timeout_s,
            download_timeout_s=self.ytdlp_timeout_s,
            max_duration_s=self.max_video_minutes * 60.0,
        )

    @property
    def weight_files(self) -> WeightFiles:
        """Where the VGGish files are and which of its models to run."""
        return WeightFiles(self.vggish_checkpoint, self.vggish_pca, self.precision)

    @cached_property
    def titles(self) -> TitleSettings:
        """How replies look their YouTube results up."""
        return TitleSettings(
            enabled=self.title_lookup, endpoint=self.oembed_url, budget_s=self.title_budget_s
        )

    @property
    def log_secrets(self) -> tuple[str, ...]:
        """Strings no log line may contain: the token, the proxy's credentials, the cookies path."""
        secrets = [self.token]
        if self.ytdlp_proxy is not None:
            secrets.extend(url_credentials(self.ytdlp_proxy.get_secret_value()))
        if self.ytdlp_cookies is not None:
            secrets.append(str(self.ytdlp_cookies))
        return tuple(secrets)


def _env_name(field: str) -> str:
    return TOKEN_ENV if field == "discord_token" else ENV_PREFIX + field.upper()


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read the settings from the environment and ``env_file`` (missing file = ignored).

    Raises:
        ConfigurationError: naming the first missing or invalid setting, in one sentence.
    """
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        name = TOKEN_ENV if field == TOKEN_ENV else _env_name(field)
        if error["type"] == "missing":
            if name == TOKEN_ENV:
                hint = "copy the bot token from the Discord Developer Portal (Bot -> Reset Token)"
            else:
                hint = "see .env.example"
            message = f"{name} is not set: {hint} and put it in .env or the environment."
        else:
            reason = str(error["msg"]).removeprefix("Value error, ")
            message = f"{name} is invalid ({reason}); see .env.example."
        raise ConfigurationError(message) from None
