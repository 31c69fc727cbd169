"""Where clips come from: local files, Discord attachments and YouTube links.

- :func:`clip_from_source`: a local file path or a YouTube link (the CLI commands).
- :mod:`.attachment`: uploads streamed to a private file, size-checked and identified by
  content.
- :mod:`.youtube`: link recognition and section downloads with yt-dlp.
"""

from __future__ import annotations

from pathlib import Path

from musicrec_core.audio import load_clip
from musicrec_core.clip import Clip
from musicrec_core.errors import LinkRejectedError
from musicrec_core.hashing import file_sha256
from musicrec_core.sources.attachment import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    check_declared_size,
    clip_from_bytes,
    clip_from_file,
    streamed_upload,
)
from musicrec_core.sources.youtube import (
    YouTubeLink,
    YouTubeSettings,
    fetch_youtube_clip,
    find_youtube_link,
    parse_youtube_link,
)

__all__ = [
    "DEFAULT_MAX_ATTACHMENT_BYTES",
    "YouTubeLink",
    "YouTubeSettings",
    "check_declared_size",
    "clip_from_bytes",
    "clip_from_file",
    "clip_from_source",
    "fetch_youtube_clip",
    "find_youtube_link",
    "parse_youtube_link",
    "streamed_upload",
]

_LINK_PREFIXES = ("www.", "youtu", "m.youtube", "music.youtube")


def clip_from_source(
    source: str, *, start_s: float | None = None, settings: YouTubeSettings | None = None
) -> Clip:
    """A clip from a local file path or a YouTube link. Blocking (may download).

    An existing path is decoded as a file (provenance kind "file", ``content_sha256`` the
    sha256 of its bytes, hashed after a successful decode); anything else must be a YouTube
    video link (kind "youtube"; its ``t=`` is used unless ``start_s`` is given).

    Raises:
        LinkRejectedError: ``source`` is neither an existing file nor a YouTube video link
            (the message says which it looked like).
        AudioError, SourceError: decoding or fetching failed.
    """
    path = Path(source).expanduser()
    if path.exists():
        return load_clip(path, start_s=start_s).with_content_sha256(file_sha256(path))
    try:
        link = parse_youtube_link(source)
    except LinkRejectedError as exc:
        if "://" in source or source.strip().lower().startswith(_LINK_PREFIXES):
            raise
        raise LinkRejectedError(
            f"{source!r} is neither an existing file nor a YouTube link."
        ) from exc
    return fetch_youtube_clip(link, start_s=start_s, settings=settings)
