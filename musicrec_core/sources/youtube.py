"""YouTube links: recognise them in free text, then fetch a 10-second clip of the video.

Recognition (:func:`find_youtube_link`, :func:`parse_youtube_link`) accepts the forms people
paste — ``youtube.com/watch?v=ID`` with other parameters before or after, the ``www.``,
``m.`` and ``music.`` hosts, ``youtu.be/ID``, ``/shorts/``, ``/embed/``, ``/live/``, ``/v/``,
``youtube-nocookie.com``, a start written ``t=``/``start=`` (``90``, ``90s``, ``1m30s``,
``1h2m3s``, also in the ``#t=`` fragment), and links wrapped in ``<...>`` (Discord's embed
suppression) or in markdown ``[text](url)``. Each link is parsed with :mod:`urllib.parse` and
its exact host name is compared with an allowlist: look-alike hosts, user-info
(``user@host``), IP addresses, other ports, and schemes other than http(s) are refused.
What comes out is only an 11-character video id and a start time; the URL later handed to
yt-dlp is rebuilt from that id (:mod:`musicrec_core.sources.video_id`), so no text a user
typed ever reaches the extractor.

Fetching (:func:`fetch_youtube_clip`) reads the video's metadata, refuses live streams,
premieres and over-long videos, downloads only the needed section of the best audio format
(placed by :mod:`musicrec_core.audio.window`'s rules, the ones that then pick the clip
inside it) and decodes it with :mod:`musicrec_core.audio`; see
:mod:`musicrec_core.sources.ytdlp_fetch` for the limits and for the tests-only seam that lets
a test serve a "video" from 127.0.0.1. Imports run one way: this module uses ytdlp_fetch,
never the reverse.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from musicrec_core.audio import load_clip
from musicrec_core.audio.window import centred_start, fit_start
from musicrec_core.clip import CLIP_SECONDS, Clip
from musicrec_core.errors import (
    InputTooLargeError,
    LinkRejectedError,
    VideoUnavailableError,
)
from musicrec_core.sources.video_id import VIDEO_ID_RE, canonical_url
from musicrec_core.sources.ytdlp_fetch import VideoMeta, YouTubeSettings, YtDlpProcess
from musicrec_core.sources.ytdlp_workers import YtDlpWorkers
from musicrec_core.timecode import format_clock, parse_timecode

__all__ = [
    "DEFAULT_SPAN_S",
    "MAX_CANDIDATES",
    "MAX_LINK_CHARS",
    "START_GRID_S",
    "YouTubeLink",
    "YouTubeSettings",
    "fetch_youtube_clip",
    "find_youtube_link",
    "parse_youtube_link",
    "plan_section",
    "snapped_start",
]

MAX_LINK_CHARS = 2048
"""Longer candidate links are ignored (no real video link is that long)."""

_WATCH_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"})
_NOCOOKIE_HOSTS = frozenset({"youtube-nocookie.com", "www.youtube-nocookie.com"})
_SHORT_HOSTS = frozenset({"youtu.be", "www.youtu.be"})
_PATH_PREFIXES = ("shorts", "embed", "live", "v", "e", "watch")
"""Path forms ``/<prefix>/ID`` accepted on the watch and no-cookie hosts."""

DEFAULT_SPAN_S = 30.0
"""Without a start time, this many seconds around :data:`DEFAULT_SPAN_CENTRE` of the video
are downloaded and :func:`~musicrec_core.audio.load_clip` picks the loudest 10 s in them."""

DEFAULT_SPAN_CENTRE = 0.4
"""Where the default span sits, as a fraction of the video's duration (past intros)."""

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")
"""A URI scheme at the start of a string (``host:443`` is a port, not a scheme)."""

_CANDIDATE_RE = re.compile(r"(?:^|(?<=[\s<(\[|\"'`]))[^\s<>()\[\]|\"'`]+", re.MULTILINE)
"""Runs of URL characters starting at the beginning of a word, after ``<``, ``(`` or ``[``."""

_LEADING_MARKUP = "*_~"
_TRAILING_PUNCTUATION = ".,;:!?*~"
"""Stripped from the end of a candidate; a trailing ``_`` is only dropped on a retry, as
video ids may end with one (``_italic link_`` in markdown)."""

_MARKUP_RETRIES = 3
"""How many trailing ``_`` a retry may drop, one at a time: Discord closes italics with
``_``, underline with ``__`` and both with ``___``."""

_HOST_MARK = "youtu"
"""Every accepted host name contains this, so a candidate without it is skipped unparsed."""

MAX_CANDIDATES = 10
"""At most this many candidates naming a YouTube host are parsed in one message."""

START_GRID_S = 5.0
"""The bot moves a link's start down to a multiple of this many seconds
(:func:`snapped_start`)."""


@dataclass(frozen=True)
class YouTubeLink:
    """A YouTube video reference reduced to what musicrec uses.

    Attributes:
        video_id: the 11-character video id.
        start_s: start offset from the link's ``t=``/``start=``, in seconds, or None.
        url: the canonical watch URL rebuilt from the id (no start, no other parameters;
            :func:`~musicrec_core.sources.video_id.canonical_url`).
    """

    video_id: str
    start_s: float | None
    url: str


def find_youtube_link(text: str) -> YouTubeLink | None:
    """The first valid YouTube video link in free text (a chat message), or None.

    Links may sit anywhere in the text, inside ``<...>`` or a markdown ``[text](url)``.
    Strings that look like links but are refused (other hosts, bare playlists) are skipped.

    Linear in the length of ``text``: candidates are found in one pass of a regex that does
    not backtrack, only the first :data:`MAX_CANDIDATES` of them that name a YouTube host
    are parsed, and each parse is bounded (:func:`parse_youtube_link`).
    """
    tried = 0
    for match in _CANDIDATE_RE.finditer(text):
        candidate = match.group()
        if _HOST_MARK not in candidate.lower():
            continue
        try:
            return parse_youtube_link(candidate)
        except LinkRejectedError:
            tried += 1
            if tried == MAX_CANDIDATES:
                return None
    return None


def parse_youtube_link(text: str) -> YouTubeLink:
    """Parse one link (surrounding spaces, ``<...>`` or trailing punctuation allowed).

    Candidates longer than :data:`MAX_LINK_CHARS` are refused before any parsing, and at
    most :data:`_MARKUP_RETRIES` retries follow the first parse, so the work is linear in the
    length of ``text``.

    Raises:
        LinkRejectedError: with a one-sentence reason when ``text`` is not a YouTube video link.
    """
    candidate = _strip_wrapping(text)
    if len(candidate) > MAX_LINK_CHARS:
        raise LinkRejectedError("That is not a YouTube link.")
    try:
        return _parse_candidate(candidate)
    except LinkRejectedError:
        # "_https://youtu.be/ID_" is markdown italics; an id may itself end with "_".
        for _ in range(_MARKUP_RETRIES):
            if not candidate.endswith("_"):
                break
            candidate = candidate[:-1].rstrip(_TRAILING_PUNCTUATION)
            try:
                return _parse_candidate(candidate)
            except LinkRejectedError:
                continue
        raise


def _parse_candidate(candidate: str) -> YouTubeLink:
    """Parse one stripped candidate link; see :func:`parse_youtube_link`."""
    if not candidate:
        raise LinkRejectedError("That is not a YouTube link.")
    if any(ord(c) < 0x21 or c == "\x7f" for c in candidate):
        raise LinkRejectedError("That is not a YouTube link.")
    if "://" in candidate or _SCHEME_RE.match(candidate):
        scheme = candidate.split(":", 1)[0].lower()
        if scheme not in ("http", "https") or not candidate[len(scheme) :].startswith("://"):
            raise LinkRejectedError("Only http(s) YouTube links are accepted.")
    else:
        candidate = "https://" + candidate
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError as exc:
        raise LinkRejectedError("That is not a valid link.") from exc
    host = parts.hostname or ""
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise LinkRejectedError("Links with a user name in them are not accepted.")
    if _is_ip_address(host):
        raise LinkRejectedError("Links to IP addresses are not accepted; use a youtube.com link.")
    if port is not None and port != {"http": 80, "https": 443}[parts.scheme]:
        raise LinkRejectedError("Links with a port number are not accepted.")
    query = parse_qs(parts.query, keep_blank_values=True)
    path = [segment for segment in parts.path.split("/") if segment]
    if host in _SHORT_HOSTS:
        video_id = path[0] if len(path) == 1 else None
    elif host in _WATCH_HOSTS or host in _NOCOOKIE_HOSTS:
        video_id = _video_id_from_path(path, query)
    else:
        raise LinkRejectedError("Only YouTube links (youtube.com, youtu.be) are accepted.")
    if video_id is None:
        if "list" in query:
            raise LinkRejectedError(
                "That is a playlist link; send a link to one video from it instead."
            )
        raise LinkRejectedError("That YouTube link does not point to a video.")
    if not VIDEO_ID_RE.fullmatch(video_id):
        raise LinkRejectedError("That YouTube link has an invalid video id.")
    return YouTubeLink(
        video_id=video_id, start_s=_start_from(query, parts.fragment), url=canonical_url(video_id)
    )


def _strip_wrapping(text: str) -> str:
    """Remove spaces, one pair of ``<...>``, markdown emphasis and trailing punctuation."""
    candidate = text.strip()
    if candidate.startswith("<") and candidate.endswith(">"):
        candidate = candidate[1:-1].strip()
    return candidate.lstrip(_LEADING_MARKUP).rstrip(_TRAILING_PUNCTUATION)


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _video_id_from_path(path: list[str], query: dict[str, list[str]]) -> str | None:
    """The id on youtube.com / youtube-nocookie.com: ``watch?v=ID`` or ``/<form>/ID``."""
    if path == ["watch"]:
        values = query.get("v")
        return values[0] if values else None
    if len(path) == 2 and path[0] in _PATH_PREFIXES and path[1] != "videoseries":
        return path[1]
    return None


def _start_from(query: dict[str, list[str]], fragment: str) -> float | None:
    """The start offset from ``t=``/``start=`` (query first, then ``#t=``), or None."""
    values = query.get("t") or query.get("start") or []
    fragment_query = parse_qs(fragment, keep_blank_values=True)
    values = values or fragment_query.get("t") or fragment_query.get("start") or []
    for value in values:
        try:
            return parse_timecode(value, allow_colons=False)
        except ValueError:
            return None
    return None


def snapped_start(start_s: float) -> float:
    """``start_s`` moved down to the :data:`START_GRID_S` grid: ``t=1`` .. ``t=4`` -> 0,
    ``t=93`` -> 90 (seconds).

    Why: a clip is fetched and cached per start, so without a grid ``t=1``, ``t=2``, ...
    would each cost a YouTube fetch for nearly the same 10 s. Why down, and why 5 s: the
    10-s clip of the snapped start still holds the moment the link points at and at least
    the 5 s after it (rounding to the nearest could start up to 2.5 s past it; a 10-s grid
    could leave only 1 s after it), and the heard window shown in the reply is the snapped
    one, so the member sees what was heard. A coarser grid would not bound what a member
    can spend (a 6-hour video has thousands of windows on any grid): the per-member share
    of the fetch budget does that.
    """
    return math.floor(start_s / START_GRID_S) * START_GRID_S


def fetch_youtube_clip(
    link: YouTubeLink,
    *,
    start_s: float | None = None,
    settings: YouTubeSettings | None = None,
    workers: YtDlpWorkers | None = None,
) -> Clip:
    """Download and decode a 10-second clip of a YouTube video. Blocking: run in an executor.

    Reads the metadata first, refuses live streams, premieres and videos longer than
    ``settings.max_duration_s``, then downloads only the section :func:`plan_section`
    chooses into a private temporary directory (removed on every outcome) and decodes it.

    Args:
        link: the parsed link; only its ``video_id`` is used to build the fetched URL.
        start_s: start of the window in seconds; None uses ``link.start_s``, and when that
            is None too, the loudest 10 s of a span at 40 % of the video.
        settings: yt-dlp settings and limits (default :class:`YouTubeSettings`).
        workers: the yt-dlp workers to fetch in (default: the process-wide pool,
            :func:`~musicrec_core.sources.ytdlp_workers.default_fetch_workers`).

    Returns:
        A Clip (float32 [n], 16 kHz) whose provenance has kind "youtube", the video id as
        ``ref``, the video's title and channel, the start within the video and its duration.

    Raises:
        VideoUnavailableError, FetchError, InputTooLargeError: the video cannot be fetched.
        AudioError: the downloaded section cannot be decoded or the start is past the end.
    """
    settings = settings or YouTubeSettings()
    requested = start_s if start_s is not None else link.start_s
    if requested is not None and not (math.isfinite(requested) and requested >= 0):
        raise ValueError(f"start_s must be a finite number of seconds >= 0, got {requested!r}")
    workdir = Path(tempfile.mkdtemp(prefix="musicrec-yt-"))
    try:
        with YtDlpProcess(link.video_id, workdir, settings, workers) as process:
            meta = process.metadata()
            section_start, section_end = plan_section(meta, requested, settings)
            path = process.download_section(section_start, section_end)
        clip = load_clip(
            path,
            start_s=0.0 if requested is not None else None,
            kind="youtube",
            ref=link.video_id,
            title=meta.title,
            channel=meta.channel,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    provenance = dataclasses.replace(
        clip.provenance,
        start_s=section_start + clip.provenance.start_s,
        source_duration_s=meta.duration_s,
    )
    return Clip(samples=clip.samples, provenance=provenance)


def plan_section(
    meta: VideoMeta, start_s: float | None, settings: YouTubeSettings
) -> tuple[float, float]:
    """Check a video's metadata and choose the section to download, in seconds.

    With ``start_s``: ``[start_s, start_s + 10)``, moved back to end at the end of the
    video when it would run past it (:func:`~musicrec_core.audio.window.fit_start`, the rule
    load_clip applies to a file). Without: :data:`DEFAULT_SPAN_S` seconds centred at
    :data:`DEFAULT_SPAN_CENTRE` of the duration (from 0 when the duration is unknown).

    Raises:
        VideoUnavailableError: a live stream or an upcoming premiere.
        InputTooLargeError: longer than ``settings.max_duration_s``, or the section's
            estimated size (from the format's size and the duration) exceeds ``max_bytes``.
        AudioTooShortError: ``start_s`` is at or past the end of the video.
    """
    if meta.live_status in ("is_live", "post_live"):
        raise VideoUnavailableError("That is a live stream; send a link to a finished video.")
    if meta.live_status == "is_upcoming":
        raise VideoUnavailableError("That video has not premiered yet; try again after it airs.")
    duration = meta.duration_s
    if duration is not None and duration > settings.max_duration_s:
        raise InputTooLargeError(
            f"That video is {format_clock(duration)} long; musicrec takes videos up to "
            f"{format_clock(settings.max_duration_s)}."
        )
    if start_s is not None:
        start = fit_start(start_s, duration, CLIP_SECONDS, source="the video")
        end = start + CLIP_SECONDS
        if duration is not None:
            end = min(end, duration)
    elif duration is None:
        start, end = 0.0, DEFAULT_SPAN_S
    else:
        span = min(DEFAULT_SPAN_S, duration)
        start = centred_start(duration, DEFAULT_SPAN_CENTRE, span)
        end = start + span
    if meta.size_bytes is not None and duration:
        estimate = meta.size_bytes * (end - start) / duration
        if estimate > settings.max_bytes:
            raise InputTooLargeError(
                "That video's audio is too large to fetch "
                f"(about {estimate / 2**20:.1f} MiB for one clip, over the "
                f"{settings.max_bytes / 2**20:.1f} MiB limit)."
            )
    return start, end
