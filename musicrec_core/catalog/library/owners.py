"""Who made each library track: its album and artist, from the file's tags, kept beside
the index so a session can tell "the same album again" from another track (the variety
rules of :mod:`musicrec_core.sessions.variety`).

Where: :data:`OWNERS_FILE` in the index version, written by the library build and listed
in the manifest like the landmark files (so a serving load checks its sha256)::

    {"format": 1, "tracks": {"<track key>": ["<album>" or null, "<artist>" or null], ...}}

Only tracks with at least one of the two tags are listed. No format step is needed: an
index built before owners were kept (or an AudioSet catalog) has no such file, and
:func:`track_owners` then knows no owner, so every track counts as its own; an older
musicrec ignores the file.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.errors import IndexCorruptError

__all__ = ["OWNERS_FILE", "TrackOwner", "track_owners", "write_owners"]

OWNERS_FILE = "track_owners.json"
_FORMAT = 1

_lock = threading.Lock()
_read: weakref.WeakKeyDictionary[CatalogIndex, dict[str, TrackOwner]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class TrackOwner:
    """A track's album and artist tags (trimmed, at most 300 characters), None when the
    file has no such tag."""

    album: str | None = None
    artist: str | None = None

    def __bool__(self) -> bool:
        return bool(self.album or self.artist)


def write_owners(path: Path, owners: Mapping[str, TrackOwner]) -> None:
    """Write :data:`OWNERS_FILE` at ``path``: the tracks of ``owners`` (track key ->
    owner) with at least one tag."""
    tracks = {key: [owner.album, owner.artist] for key, owner in owners.items() if owner}
    text = json.dumps({"format": _FORMAT, "tracks": tracks}, ensure_ascii=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


def track_owners(index: CatalogIndex) -> Mapping[str, TrackOwner]:
    """The tagged owners of ``index``'s tracks (track key -> owner), read once per loaded
    index; {} for an index that keeps none (the caller must not change the mapping).

    Raises:
        IndexCorruptError: the file is there but unreadable or not this layout.
    """
    with _lock:
        if index not in _read:
            _read[index] = _load(index)
        return _read[index]


def _load(index: CatalogIndex) -> dict[str, TrackOwner]:
    if OWNERS_FILE not in index.manifest.get("files", {}):
        return {}
    path = index.directory / OWNERS_FILE
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("format") != _FORMAT:
            raise ValueError(f"format {stored.get('format')!r}")
        return {
            str(key): TrackOwner(*(None if tag is None else str(tag) for tag in pair))
            for key, pair in stored["tracks"].items()
            if isinstance(pair, list) and len(pair) == 2
        }
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise IndexCorruptError(
            f"The track owners file {path} is unreadable ({exc}); rebuild the index."
        ) from exc
