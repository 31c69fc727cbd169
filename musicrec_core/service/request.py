"""What a requester asks to be heard, and who asks: one validated request, before any work.

Each front end turns its input into an :class:`AudioRequest` (the bot: a Discord attachment
or a link, :mod:`bot.request`; the HTTP API: an upload it has streamed to a private file, or
a link) without reading the audio, so refusals are instant and cost nothing; the request is
then handed to :class:`~musicrec_core.service.service.RecommendService`, which reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from musicrec_core.errors import MusicrecError
from musicrec_core.sources.youtube import YouTubeLink
from musicrec_core.timecode import parse_timecode

DEFAULT_COUNT = 5
"""Recommendations per answer when the requester does not choose."""
MAX_COUNT = 10
"""The most recommendations one request may ask for."""

API_ID_BASE = 2**63
"""Requester ids from this one up are API keys (``API_ID_BASE + key id``); Discord's ids
(snowflakes, 63 bits at most) stay below, so a key never shares a member's counters."""


class RequestError(MusicrecError):
    """The options of a request are contradictory or incomplete."""


class RemoteFile(Protocol):
    """An upload still on its host (a Discord attachment): where and what it claims to be."""

    @property
    def url(self) -> str: ...

    @property
    def filename(self) -> str: ...

    @property
    def size(self) -> int: ...


@dataclass(frozen=True)
class LocalFile:
    """An upload a front end already holds in a private file, within the size cap.

    Attributes:
        path: the file (the front end removes it after the request).
        filename: its name as the requester sent it (messages and provenance only).
    """

    path: Path
    filename: str


@dataclass(frozen=True)
class AudioRequest:
    """What to listen to: exactly one of an attachment, an upload or a YouTube link.

    Attributes:
        attachment: an upload on its host whose declared size passed the cap, or None.
        upload: an upload already in a local private file, or None.
        link: a recognised YouTube link, or None.
        start_s: where the window starts in seconds; None = the link's ``t=`` or the
            default window choice.
    """

    attachment: RemoteFile | None = None
    upload: LocalFile | None = None
    link: YouTubeLink | None = None
    start_s: float | None = None

    def __post_init__(self) -> None:
        given = sum(x is not None for x in (self.attachment, self.upload, self.link))
        if given != 1:
            raise RequestError("Give exactly one of a file or a link.")


@dataclass(frozen=True)
class Requester:
    """Who asks, for the counters every request passes (in-flight slots, the fair pools'
    turns, YouTube shares).

    Attributes:
        member: a Discord user id, or ``API_ID_BASE + key id`` for an API key (uint64).
        server: the Discord server asked in (0 = none; an API key is its own server).
        sent_at: when the member sent the request, in seconds on Discord's clock, which
            the member cooldown is measured by; None for a requester paced by limits of
            its own (an API key's token bucket), which the member cooldown skips.
        youtube_share: the fraction of the hourly YouTube budget this requester may spend
            (an API key's own); None = the operator's member share.
    """

    member: int
    server: int = 0
    sent_at: float | None = None
    youtube_share: float | None = None

    @property
    def is_api_key(self) -> bool:
        """Whether an API key asks (its heavy steps wait for Discord members,
        :mod:`~musicrec_core.service.members_first`)."""
        return self.member >= API_ID_BASE


def parse_start(text: str | None) -> float | None:
    """A start option in seconds (``90``, ``1:30``, ``1m30s``), or None when empty.

    Raises:
        RequestError: not a time.
    """
    if text is None or not text.strip():
        return None
    try:
        return parse_timecode(text)
    except ValueError as exc:
        raise RequestError(str(exc)) from None
