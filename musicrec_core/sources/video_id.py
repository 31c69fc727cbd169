"""A YouTube video id, and the one URL musicrec builds from it.

Link parsing (:mod:`musicrec_core.sources.youtube`) reduces whatever a user typed to an
11-character id; the yt-dlp runner (:mod:`musicrec_core.sources.ytdlp_fetch`) hands yt-dlp
only the watch URL rebuilt here from that id, so no text a user typed ever reaches the
extractor. Both import this module; neither needs the other for it.
"""

from __future__ import annotations

import re
import string

from musicrec_core.errors import LinkRejectedError

__all__ = ["VIDEO_ID_ALPHABET", "VIDEO_ID_LENGTH", "VIDEO_ID_RE", "canonical_url"]

VIDEO_ID_ALPHABET = string.ascii_letters + string.digits + "_-"
"""The characters of a YouTube video id: the URL-safe base64 alphabet."""
VIDEO_ID_LENGTH = 11
"""Characters in a YouTube video id."""
VIDEO_ID_RE = re.compile(f"[{re.escape(VIDEO_ID_ALPHABET)}]{{{VIDEO_ID_LENGTH}}}")
"""A YouTube video id: exactly VIDEO_ID_LENGTH characters of VIDEO_ID_ALPHABET (the one rule;
the AudioSet reader checks whole columns of ids against the same two constants)."""


def canonical_url(video_id: str) -> str:
    """``https://www.youtube.com/watch?v=<video_id>`` for a validated id.

    Raises:
        LinkRejectedError: ``video_id`` is not 11 characters of ``[A-Za-z0-9_-]``.
    """
    if not VIDEO_ID_RE.fullmatch(video_id):
        raise LinkRejectedError(f"{video_id!r} is not a YouTube video id.")
    return f"https://www.youtube.com/watch?v={video_id}"
