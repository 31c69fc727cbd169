"""yt-dlp's error messages as the short, typed errors a member reads.

yt-dlp reports every failure as one English sentence (``ERROR: [youtube] abc: Private
video. Sign in ...``). :func:`error_for_ytdlp_message` matches lower-cased phrases of it,
first match wins, and answers with a sentence written for a chat: the type says what
kind of failure it was (:mod:`musicrec_core.errors`), e.g. a bot check is a
:class:`~musicrec_core.errors.YouTubeBlockedError`, so the operator is told. A request
that opened no connection before the metadata came is a
:class:`~musicrec_core.errors.YouTubeNotReachedError`: YouTube saw nothing of it, so the
bot gives its fetch back to the hourly budget.
"""

from __future__ import annotations

from musicrec_core.errors import (
    FetchError,
    SourceError,
    VideoUnavailableError,
    YouTubeBlockedError,
    YouTubeNotReachedError,
)

__all__ = ["error_for_ytdlp_message"]

# (substrings of yt-dlp's message, lower-cased; the error a user sees). First match wins.
_MESSAGE_MAP: tuple[tuple[tuple[str, ...], SourceError], ...] = (
    (
        ("not a bot", "confirm you\u2019re not", "confirm you're not"),
        YouTubeBlockedError(
            "YouTube asked musicrec to prove it is not a bot; whoever runs musicrec needs to "
            "set up a cookies file. Try an audio file instead."
        ),
    ),
    (("private video",), VideoUnavailableError("That video is private.")),
    (
        ("confirm your age", "age-restricted", "age restricted", "inappropriate for some users"),
        VideoUnavailableError("That video is age-restricted, so musicrec cannot fetch it."),
    ),
    (
        ("in your country", "geo restrict", "geo-restrict", "not available in your location"),
        VideoUnavailableError("That video is not available in the country musicrec runs in."),
    ),
    (
        ("members-only", "members only", "join this channel"),
        VideoUnavailableError("That video is for channel members only."),
    ),
    (
        ("premieres in", "live event will begin", "this live event", "is_upcoming"),
        VideoUnavailableError("That video has not premiered yet; try again after it airs."),
    ),
    (
        ("http error 429", "too many requests"),
        YouTubeBlockedError("YouTube is rate-limiting musicrec; try again in a few minutes."),
    ),
    (
        (
            "video unavailable",
            "has been removed",
            "no longer available",
            "does not exist",
            "account associated with this video has been terminated",
            "http error 404",
            "http error 410",
        ),
        VideoUnavailableError("That video is unavailable (removed, or it never existed)."),
    ),
    (
        ("unsupported url", "no video formats", "requested format is not available"),
        VideoUnavailableError("No audio could be found for that video."),
    ),
    (
        ("ffmpeg exited",),
        FetchError("Could not download that video's audio; try again later."),
    ),
    (
        ("timed out", "timeout"),
        FetchError("YouTube took too long to answer; try again later."),
    ),
    (
        (
            "unable to download",
            "urlopen error",
            "connection",
            "network is unreachable",
            "name or service not known",
            "temporary failure in name resolution",
            "http error 5",
        ),
        FetchError("Could not reach YouTube; try again later."),
    ),
)


_NO_CONNECTION = (
    "connection refused",
    "name or service not known",
    "temporary failure in name resolution",
    "nodename nor servname",
    "no address associated with hostname",
    "network is unreachable",
    "no route to host",
)
"""yt-dlp's words (lower-cased) for a request that opened no connection: the name did not
resolve, or the host (or the proxy) refused or could not be routed to. A reset, a time-out
or any HTTP status means something answered, so they are not here."""


def error_for_ytdlp_message(message: str, *, before_contact: bool = False) -> SourceError:
    """The short, typed error a user sees for one of yt-dlp's error messages.

    ``before_contact``: the message ended the metadata phase, before yt-dlp had any answer.
    A connection that was never opened then means YouTube saw nothing of this fetch
    (:class:`~musicrec_core.errors.YouTubeNotReachedError`, so the bot gives its budget
    back); later in a fetch the same words are a plain :class:`FetchError`.
    """
    lowered = message.lower()
    if before_contact and any(needle in lowered for needle in _NO_CONNECTION):
        return YouTubeNotReachedError("Could not reach YouTube; try again later.")
    for needles, error in _MESSAGE_MAP:
        if any(needle in lowered for needle in needles):
            return type(error)(str(error))
    return FetchError("Could not fetch that video's audio.")
