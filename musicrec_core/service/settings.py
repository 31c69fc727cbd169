"""The settings of the request service, shared by its front ends (the bot, the HTTP API).

Every setting is read from the environment or a ``.env`` file with the prefix
``MUSICREC_``: the catalog served, the models, the limits every request passes (sizes,
member limits, pools, deadline), how yt-dlp fetches links, the YouTube budget and its
shares, the clip cache and the title lookups. The bot's settings (:mod:`bot.settings`) and
the API's (:mod:`musicrec_core.api`) add their own to these, so one ``.env`` configures
both front ends alike. Durations are seconds unless the name says ms. ``.env.example``
lists every setting with a comment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from musicrec_core.clip_cache import DEFAULT_MAX_MB as DEFAULT_CLIP_CACHE_MB
from musicrec_core.embedders import WeightFiles
from musicrec_core.embedders.precision import Precision
from musicrec_core.errors import MusicrecError
from musicrec_core.idle_shelf import RETIRE_AFTER_S
from musicrec_core.private_url import url_credentials
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
JsRuntime = Literal["deno", "node", "bun", "quickjs"]
"""JavaScript runtimes yt-dlp can use for YouTube's challenges."""
SOCKET_TIMEOUT_S = 15.0
"""Longest wait on one unresponsive network read inside yt-dlp (capped by the phase limit)."""


class ConfigurationError(MusicrecError):
    """A setting is missing or invalid; the message names it and says how to fix it."""


class ServiceSettings(BaseSettings):
    """What the request service needs, whichever front end serves it."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    # The catalog and the models.
    index_dir: Path | None = None
    """Directory of the index built with ``musicrec index build-*``; None = the default
    catalog in the cache (AudioSet's music segments), built on the first start."""
    vggish_checkpoint: Path | None = None
    """VGGish checkpoint file; None = the model cache (``musicrec models download vggish``)."""
    vggish_pca: Path | None = None
    """VGGish PCA parameters file; None = the model cache."""
    precision: Precision = Precision.FLOAT32
    """The embedders' arithmetic; bfloat16 or int8 (VGGish) and bfloat16 (musicnn) only
    load after ``musicrec quantize check`` passed for the weight files on this CPU (else
    the bot refuses to start)."""

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
    key_yield_s: float = Field(default=2.0, ge=0, le=60)
    """Longest each heavy step of an API key's request (a YouTube fetch, an upload's
    decode, the embedding) waits while Discord members' requests are in progress in any
    process of this machine (the bot beside ``musicrec serve``), in seconds; then it goes
    anyway. 0 = keys never wait."""
    request_deadline_s: float = Field(default=150.0, gt=0)
    """Longest a request may take from admission to its result; then the member is told
    and the slot is freed. Keep it above twice ``ytdlp_timeout_s`` so links can finish."""
    worker_nice: int = Field(default=10, ge=0, le=19)
    """Lower CPU priority (Linux nice increment) of the decode workers and the ffmpeg /
    yt-dlp processes that fetch and decode, so replies and acknowledgements go first."""
    decode_in_workers: bool = True
    """Read uploads in long-lived decode workers (PyAV) where PyAV is installed; False
    starts ffprobe and ffmpeg processes for every upload instead (the fallback path)."""
    worker_idle_s: float = Field(default=RETIRE_AFTER_S, gt=0)
    """Seconds a decode or yt-dlp worker process waits for work before it is stopped, so a
    quiet process holds none; the next upload or link starts one (about 0.2 CPU-s)."""

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

    @field_validator("index_dir", "ytdlp_cookies", "ytdlp_proxy", "ytdlp_js_runtime", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """An empty value (``MUSICREC_INDEX_DIR=``) means None."""
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

    def with_catalog(self) -> Self:
        """These settings with ``index_dir`` set: when unset, the default catalog in the
        cache, fetched and built first if it is not complete (before a front end starts
        serving, so a long first build cannot time it out).

        Raises:
            MusicrecError: one line, when the catalog cannot be fetched (offline).
        """
        if self.index_dir is not None:
            return self
        from musicrec_core.catalog.default import prepare_default_catalog

        return self.model_copy(update={"index_dir": prepare_default_catalog(self.weight_files)})

    @property
    def max_attachment_bytes(self) -> int:
        """:attr:`max_attachment_mb` in bytes."""
        return int(self.max_attachment_mb * 2**20)

    @cached_property
    def youtube(self) -> YouTubeSettings:
        """The yt-dlp settings every YouTube fetch runs with."""
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
        """How answers look their YouTube results up."""
        return TitleSettings(
            enabled=self.title_lookup, endpoint=self.oembed_url, budget_s=self.title_budget_s
        )

    @property
    def log_secrets(self) -> tuple[str, ...]:
        """Strings no log line may contain: the proxy's credentials, the cookies path."""
        secrets: list[str] = []
        if self.ytdlp_proxy is not None:
            secrets.extend(url_credentials(self.ytdlp_proxy.get_secret_value()))
        if self.ytdlp_cookies is not None:
            secrets.append(str(self.ytdlp_cookies))
        return tuple(secrets)


def settings_error(
    error: ValidationError, missing_hint: Callable[[str], str], prefix: str = ENV_PREFIX
) -> str:
    """One sentence naming the first missing or invalid setting of ``error``: its variable
    (``prefix`` + the field, or the alias a field is read by) and the fix;
    ``missing_hint(name)`` says where a missing one comes from."""
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    name = field if field.isupper() else prefix + field.upper()
    if first["type"] == "missing":
        return f"{name} is not set: {missing_hint(name)} and put it in .env or the environment."
    reason = str(first["msg"]).removeprefix("Value error, ")
    return f"{name} is invalid ({reason}); see .env.example."


def load_service_settings(env_file: Path | None = Path(".env")) -> ServiceSettings:
    """The service's settings from the environment and ``env_file`` (missing = ignored).

    Raises:
        ConfigurationError: naming the first invalid setting, in one sentence.
    """
    try:
        return ServiceSettings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigurationError(settings_error(exc, lambda name: "see .env.example")) from None
