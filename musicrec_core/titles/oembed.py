"""One question to YouTube's oEmbed endpoint: what is video X called, and does it still exist?

Mental model: ``GET <endpoint>?url=<watch URL>&format=json`` answers with a small JSON
object (``title``, ``author_name`` = the channel, ``thumbnail_url``) for a video that can be
embedded. :meth:`OEmbedClient.ask` turns one HTTP exchange into a :class:`VideoAnswer` or a
:class:`TitleLookupError`, conservatively:

==============================  ===========================================================
the endpoint answers            what musicrec makes of it
==============================  ===========================================================
200 + a JSON object with title  ``found``: title, channel, thumbnail (YouTube image hosts only)
404 Not Found                   ``gone`` (deleted, or never existed), once the endpoint has
                                answered "found" at least once in this process
401 / 403                       ``restricted``: the video exists but may not be embedded (or
                                is private); never dropped, shown without a title
anything else                   :class:`TitleLookupError`: 400, 429, 5xx, redirects (never
                                followed), time-outs, bodies over MAX_BODY_BYTES, malformed
                                JSON, a JSON object without a title
==============================  ===========================================================

A 404 from an endpoint that has never answered "found" is not trusted: a mistyped
``MUSICREC_OEMBED_URL`` (or a proxy's error page) answers 404 for everything, and taking
that at its word would drop every result and remember them all as gone.

The endpoint must be ``https://``, or ``http://`` to a loopback host (tests' stand-in). Each
exchange is bounded: ``timeout_s`` for the connection and each read, and the same again as
a wall-clock limit on the whole body, which is read at most MAX_BODY_BYTES.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Literal

from musicrec_core import __version__
from musicrec_core.errors import MusicrecError
from musicrec_core.private_url import check_private_url
from musicrec_core.sources.video_id import VIDEO_ID_RE, canonical_url

__all__ = [
    "DEFAULT_OEMBED_URL",
    "MAX_BODY_BYTES",
    "MAX_TEXT_CHARS",
    "THUMBNAIL_HOSTS",
    "OEmbedClient",
    "TitleLookupError",
    "VideoAnswer",
    "VideoState",
    "check_endpoint",
    "thumbnail_or_none",
]

DEFAULT_OEMBED_URL = "https://www.youtube.com/oembed"
MAX_BODY_BYTES = 64 * 1024
"""Largest oEmbed body read; YouTube's answers are well under 1 KiB."""
MAX_TEXT_CHARS = 300
"""Titles and channel names are cut to this many characters (YouTube allows 100)."""
THUMBNAIL_HOSTS = frozenset(
    {"i.ytimg.com", "img.youtube.com", *(f"i{n}.ytimg.com" for n in range(10))}
)
"""The only hosts a thumbnail URL may name (YouTube's image hosts), always over https."""
_READ_BYTES = 8 * 1024
_USER_AGENT = f"musicrec/{__version__}"

VideoState = Literal["found", "gone", "restricted"]
"""What the endpoint said about a video: it exists with a title, it is gone, or it exists
but its details are withheld (embedding disabled, private)."""


class TitleLookupError(MusicrecError):
    """The endpoint gave no answer that clearly says what a video is (never cached).

    Attributes:
        status: the HTTP status the endpoint answered, when it answered one.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class VideoAnswer:
    """What the endpoint said about one video (the unit the cache stores).

    Attributes:
        video_id: the 11-character YouTube video id.
        state: "found", "gone" or "restricted" (:data:`VideoState`).
        title: the video's title ("found" only), at most MAX_TEXT_CHARS characters.
        channel: the uploading channel's name, when given.
        thumbnail_url: an https URL on a YouTube image host, or None.
    """

    video_id: str
    state: VideoState
    title: str | None = None
    channel: str | None = None
    thumbnail_url: str | None = None


def check_endpoint(url: str) -> str:
    """``url`` stripped, when it may be used as the oEmbed endpoint.

    Raises:
        ValueError: not https (http only to localhost, 127.0.0.0/8 or ::1), no host, or it
            carries a query or fragment (the client adds the query).
    """
    url = url.strip()
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
    except ValueError:
        host, parts = None, None
    if parts is None or not host:
        raise ValueError(f"{url!r} is not a URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r} must not carry a query or fragment")
    try:
        return check_private_url(url, secure="https", plain="http")
    except ValueError as exc:
        raise ValueError(f"{url!r}: {exc}") from None


def thumbnail_or_none(value: object) -> str | None:
    """``value`` when it is an https URL on one of THUMBNAIL_HOSTS, else None."""
    if not isinstance(value, str) or len(value) > 2048:
        return None
    try:
        parts = urllib.parse.urlsplit(value)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or host not in THUMBNAIL_HOSTS or parts.username:
        return None
    return value


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: the 3xx itself becomes an HTTPError (not an answer)."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class OEmbedClient:
    """Asks one oEmbed endpoint about videos; safe to share between threads.

    Attributes:
        endpoint: the endpoint URL (validated by :func:`check_endpoint`).
        timeout_s: seconds for the connection, each read, and the whole body.
        proven: whether the endpoint has answered "found" yet (404s are trusted after).
    """

    def __init__(self, endpoint: str = DEFAULT_OEMBED_URL, *, timeout_s: float = 5.0) -> None:
        """Raises ValueError for an endpoint :func:`check_endpoint` refuses."""
        self.endpoint = check_endpoint(endpoint)
        self.timeout_s = timeout_s
        self._proven = threading.Event()
        self._opener = urllib.request.build_opener(_NoRedirects)

    @property
    def proven(self) -> bool:
        return self._proven.is_set()

    def request_url(self, video_id: str) -> str:
        """The GET URL asking about ``video_id`` (raises LinkRejectedError for a bad id)."""
        query = urllib.parse.urlencode({"url": canonical_url(video_id), "format": "json"})
        return f"{self.endpoint}?{query}"

    def ask(self, video_id: str) -> VideoAnswer:
        """What the endpoint says about ``video_id`` (blocking, at most about 2 x timeout_s).

        Raises:
            TitleLookupError: no clear answer (see the module docstring's table).
        """
        if not VIDEO_ID_RE.fullmatch(video_id):
            raise TitleLookupError(f"{video_id!r} is not a YouTube video id.")
        request = urllib.request.Request(
            self.request_url(video_id),
            headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                body = self._read_body(response)
        except urllib.error.HTTPError as exc:
            exc.close()
            return self._error_answer(video_id, exc.code)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise TitleLookupError(f"oEmbed request for {video_id} failed: {exc}") from exc
        answer = _parse_found(video_id, body)
        self._proven.set()
        return answer

    def _error_answer(self, video_id: str, status: int) -> VideoAnswer:
        if status == 404 and self.proven:
            return VideoAnswer(video_id, "gone")
        if status in (401, 403):
            return VideoAnswer(video_id, "restricted")
        raise TitleLookupError(f"oEmbed answered HTTP {status} for {video_id}.", status=status)

    def _read_body(self, response: http.client.HTTPResponse) -> bytes:
        """At most MAX_BODY_BYTES of the body, within timeout_s of wall-clock time."""
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.strip().isdigit() and int(declared) > MAX_BODY_BYTES:
            raise TitleLookupError(f"oEmbed body of {declared} bytes, over {MAX_BODY_BYTES}.")
        deadline = time.monotonic() + self.timeout_s
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read1(_READ_BYTES):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise TitleLookupError(f"oEmbed body over {MAX_BODY_BYTES} bytes.")
            if time.monotonic() > deadline:
                raise TitleLookupError(f"oEmbed body took over {self.timeout_s:g} s.")
            chunks.append(chunk)
        return b"".join(chunks)


def _parse_found(video_id: str, body: bytes) -> VideoAnswer:
    """A "found" answer from a 200 body, or TitleLookupError when it is not oEmbed JSON."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise TitleLookupError(f"oEmbed answered malformed JSON for {video_id}.") from exc
    if not isinstance(document, dict):
        raise TitleLookupError(f"oEmbed answered JSON that is not an object for {video_id}.")
    title = _clean_text(document.get("title"))
    if title is None:
        raise TitleLookupError(f"oEmbed answered no title for {video_id}.")
    return VideoAnswer(
        video_id,
        "found",
        title=title,
        channel=_clean_text(document.get("author_name")),
        thumbnail_url=thumbnail_or_none(document.get("thumbnail_url")),
    )


def _clean_text(value: object) -> str | None:
    """A one-line, printable string of at most MAX_TEXT_CHARS, or None when empty/not text."""
    if not isinstance(value, str):
        return None
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    if not text:
        return None
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"
