"""A YouTube video id, and the one URL musicrec builds from it.

Link parsing (:mod:`musicrec_core.sources.youtube`) reduces whatever a user typed to an
11-character id; the yt-dlp runner (:mod:`musicrec_core.sources.ytdlp_fetch`) hands yt-dlp
only the watch URL rebuilt here from that id, so no text a user typed ever reaches the
extractor. Both import this module; neither needs the other for it.
"""

from __future__ import annotations

import re

from musicrec_core.errors import LinkRejectedError

__all__ = ["VIDEO_ID_RE", "canonical_url"]

VIDEO_ID_RE = re.compile(r"[A-Za-z0-9_-]{11}")
"""A YouTube video id: exactly 11 characters of the URL-safe base64 alphabet."""


def canonical_url(video_id: str) -> str:
    """``https://www.youtube.com/watch?v=<video_id>`` for a validated id.

    Raises:
        LinkRejectedError: ``video_id`` is not 11 characters of ``[A-Za-z0-9_-]``.
    """
    if not VIDEO_ID_RE.fullmatch(video_id):
        raise LinkRejectedError(f"{video_id!r} is not a YouTube video id.")
    return f"https://www.youtube.com/watch?v={video_id}"
