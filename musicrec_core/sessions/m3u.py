"""A session as an extended M3U playlist (UTF-8, so ``.m3u8``) a local player can open.

Each entry is ``#EXTINF:<seconds>,<title>`` then where the track lies: the file path the
library index stores (absolute), or the YouTube link. Titles come from file tags or the
index, so every control character (newlines included) is replaced by a space: a title
cannot start a line of its own. The duration is the file's, asked of ffprobe; -1 (unknown,
as M3U allows) for a link or a file that cannot be probed. An item whose path itself holds
a control character or a line or paragraph separator (U+2028, U+2029: line breaks to
readers that split lines as Python does) cannot be written as one line and is left out
(and counted). A location starting with ``#`` (a file named "#1 Hit.mp3", written by name)
is written ``./#1 Hit.mp3``: bare, a player would skip it as a comment and give its
``#EXTINF`` to the next file.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path, PureWindowsPath

from musicrec_core.catalog.index import ItemMeta
from musicrec_core.errors import MusicrecError
from musicrec_core.recommender import youtube_url

Duration = Callable[[str], float | None]


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch).startswith("C")


def _breaks_line(ch: str) -> bool:
    return _is_control(ch) or unicodedata.category(ch) in ("Zl", "Zp")


def plain_line(text: str) -> str:
    """``text`` with every control or format character a space, runs of spaces one, trimmed."""
    return " ".join("".join(" " if _is_control(ch) else ch for ch in text).split())


def file_duration(path: str) -> float | None:
    """The file's length in seconds by ffprobe, or None when it cannot be told."""
    from musicrec_core.audio.probe import probe_audio

    try:
        return probe_audio(path).duration_s
    except (MusicrecError, OSError):
        return None


def m3u_text(
    metas: Iterable[ItemMeta], duration: Duration = file_duration, *, names_only: bool = False
) -> tuple[str, int]:
    """The playlist of ``metas`` in order, and how many items were left out.

    ``names_only``: each file's name instead of its path (a playlist shared with people who
    hold the same files elsewhere, e.g. from the bot: no server path leaves the machine);
    the duration is still probed at the full path."""
    lines, left_out = ["#EXTM3U"], 0
    for meta in metas:
        if meta.kind == "youtube":
            where, seconds = youtube_url(meta.group, meta.start_s), None
            name = meta.title or meta.group
        else:
            where = meta.source or ""
            if not where or any(_breaks_line(ch) for ch in where):
                left_out += 1
                continue
            file_name = PureWindowsPath(where).name if "\\" in where else Path(where).name
            seconds, name = duration(where), meta.title or file_name
            if names_only:
                where = file_name
            if where.startswith("#"):
                where = f"./{where}"
        title = plain_line(name)
        lines.append(f"#EXTINF:{-1 if seconds is None else round(seconds)},{title}")
        lines.append(where)
    return "\n".join(lines) + "\n", left_out
