"""A YouTube session as one playlist anyone can open without an account.

``https://www.youtube.com/watch_videos?video_ids=ID1,ID2,...`` opens the listed videos, in
order, as one untitled playlist, signed in or not (YouTube makes it a temporary ``TL...``
list). It is not part of YouTube's documented API: it is what "play these" links in the
wild use (e.g. TeamPiped/Piped issue 3021 asks to support it), so it may change. The
number of ids it honours is commonly given as 50; it was not verified here (no network),
so longer lists are split into links of :data:`MAX_PLAYLIST_IDS` ids each. The commas
are written ``%2C`` (the same query once decoded): links the bot shows may hold plain URL
characters only (:func:`bot.untrusted_text.link_target`).
"""

from __future__ import annotations

from collections.abc import Sequence

from musicrec_core.sources.video_id import VIDEO_ID_RE

WATCH_VIDEOS_URL = "https://www.youtube.com/watch_videos?video_ids="
ID_SEPARATOR = "%2C"
"""A comma, percent-encoded."""
MAX_PLAYLIST_IDS = 50
"""Most video ids put in one link."""


def playlist_urls(video_ids: Sequence[str], per_link: int = MAX_PLAYLIST_IDS) -> list[str]:
    """Links that open ``video_ids`` in order as playlists of at most ``per_link`` (1 to
    MAX_PLAYLIST_IDS) each; anything that is not an 11-character video id (a library track
    key) is left out. ``["dQw4w9WgXcQ"]`` ->
    ``["https://www.youtube.com/watch_videos?video_ids=dQw4w9WgXcQ"]``; two ids are
    joined by ``%2C``."""
    if not 1 <= per_link <= MAX_PLAYLIST_IDS:
        raise ValueError(f"per_link must be 1 to {MAX_PLAYLIST_IDS}, got {per_link}")
    ids = [video for video in video_ids if VIDEO_ID_RE.fullmatch(video)]
    return [
        WATCH_VIDEOS_URL + ID_SEPARATOR.join(ids[start : start + per_link])
        for start in range(0, len(ids), per_link)
    ]
