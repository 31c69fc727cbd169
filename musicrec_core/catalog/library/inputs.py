"""What a library is built from: command-line inputs expanded into files and links.

Mental model: :func:`collect_inputs` turns what the user typed into a flat list of
:class:`FileInput` and :class:`LinkInput`, in the order given, before anything is probed,
hashed or decoded. Whether a file is audio is decided later, by its content.

Inputs (``build_library(inputs, ...)``; the CLI is ``musicrec index build-library``):
    - a folder: searched recursively (hidden entries and symlinked folders skipped). Every
      file is probed with ffprobe, so audio is recognised by content, not by its name; files
      whose suffix marks them as plainly not media (:data:`NON_MEDIA_SUFFIXES`: images,
      text, playlists, archives) are ignored without probing and only counted.
    - a file: a link list when its suffix is in :data:`LINK_LIST_SUFFIXES`, else audio.
    - a link list: UTF-8 text, one YouTube link per line; blank lines and lines starting
      with ``#`` are ignored, as is a `` # comment`` after a link. A line that is not a
      YouTube link is skipped with its reason.
    - a YouTube link.

A command-line input that is neither an existing path nor a YouTube link is a
:class:`~musicrec_core.errors.CatalogError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from musicrec_core.catalog.library.report import SkippedInput
from musicrec_core.errors import CatalogError, LinkRejectedError
from musicrec_core.sources.youtube import YouTubeLink, parse_youtube_link

__all__ = [
    "LINK_LIST_SUFFIXES",
    "NON_MEDIA_SUFFIXES",
    "CollectedInputs",
    "FileInput",
    "LinkInput",
    "collect_inputs",
]

LINK_LIST_SUFFIXES = frozenset({".txt", ".list"})
"""Suffixes of a file given on the command line that make it a list of YouTube links."""

NON_MEDIA_SUFFIXES = frozenset(
    {
        ".txt", ".md", ".nfo", ".log", ".cue", ".lrc", ".srt", ".pdf", ".json", ".xml",
        ".html", ".htm", ".ini", ".db", ".sfv", ".md5", ".m3u", ".m3u8", ".pls",
        ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".svg", ".ico",
        ".zip", ".rar", ".7z", ".gz", ".tar", ".exe", ".dll", ".py", ".sh", ".npy", ".npz",
    }
)  # fmt: skip
"""Suffixes of files in a folder that are ignored without probing (cover art, notes, ...)."""

_INLINE_COMMENT = re.compile(r"\s#")


@dataclass(frozen=True)
class FileInput:
    """A local file to probe, hash and decode."""

    path: Path


@dataclass(frozen=True)
class LinkInput:
    """A YouTube video to fetch; ``origin`` is the URL as given, or ``"list.txt:LINE"``."""

    link: YouTubeLink
    origin: str


@dataclass
class CollectedInputs:
    """The expanded inputs, the link-list lines skipped, and the files ignored by suffix."""

    inputs: list[FileInput | LinkInput]
    skipped: list[SkippedInput]
    ignored: int = 0


def collect_inputs(inputs: Sequence[str]) -> CollectedInputs:
    """Expand command-line inputs into files and links (see the module docstring).

    Raises:
        CatalogError: when an input is neither an existing path nor a YouTube link.
    """
    collected = CollectedInputs(inputs=[], skipped=[])
    for raw in inputs:
        path = Path(raw).expanduser()
        if path.is_dir():
            for file_path in _walk(path):
                if file_path.suffix.lower() in NON_MEDIA_SUFFIXES:
                    collected.ignored += 1
                else:
                    collected.inputs.append(FileInput(file_path))
        elif path.is_file():
            if path.suffix.lower() in LINK_LIST_SUFFIXES:
                _read_link_list(path, collected)
            else:
                collected.inputs.append(FileInput(path))
        else:
            try:
                collected.inputs.append(LinkInput(parse_youtube_link(raw), raw))
            except LinkRejectedError as exc:
                raise CatalogError(
                    f"{raw} is neither an existing file or folder nor a YouTube link."
                ) from exc
    return collected


def _walk(folder: Path) -> Iterator[Path]:
    """Files under ``folder``, sorted, skipping hidden names and symlinked folders."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def _read_link_list(path: Path, collected: CollectedInputs) -> None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CatalogError(f"Cannot read the link list {path}: {exc.strerror}.") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        entry = _INLINE_COMMENT.split(line, maxsplit=1)[0].strip()
        if not entry or entry.startswith("#"):
            continue
        origin = f"{path}:{number}"
        try:
            collected.inputs.append(LinkInput(parse_youtube_link(entry), origin))
        except LinkRejectedError as exc:
            collected.skipped.append(SkippedInput(origin, str(exc)))
