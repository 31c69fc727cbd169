"""The landmark store of a catalog: hash -> (track, time), and the vote that names a track.

Mental model: every landmark of every indexed track is one *posting* (its track's row, the
frame of its first peak). Postings are sorted by hash, so the postings of a query's hashes
are found with a binary search (``np.searchsorted``), without loading the store: it is three
files in the index version folder, the two big ones memory-mapped (``np.load(mmap_mode="r")``)::

    landmark-hashes.npy   uint32 [n]     the hash of each posting, ascending
    landmark-posts.npy    uint32 [n, 2]  (track row, frame) of each posting
    landmark-tracks.json  format, landmark version, and per track row: its group (the
                          library track key), its first item id and item count in the index

Voting (:meth:`LandmarkStore.vote`): every posting that shares a hash with the query says
"track r, offset (its frame - the query landmark's frame)". A clip of a stored recording
gives many postings of its own track at one offset; chance collisions scatter. A track's
*aligned* count is its largest number of postings within one offset and its two
neighbours (frames of the clip and of the stored window fall on different 32-ms grids, so
an offset may come out one frame off). Hashes with more than :data:`MAX_POSTINGS` postings
(a drone, a repeated beat) carry no identity and are skipped.

Disk: 12 bytes per landmark; the figures per hour of audio are in the README.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_core.errors import IndexCorruptError
from musicrec_core.fingerprint.landmarks import HASH_BITS, LANDMARK_VERSION, Landmarks

__all__ = [
    "HASHES_FILE",
    "MAX_POSTINGS",
    "POSTS_FILE",
    "STORE_FILES",
    "STORE_FORMAT",
    "TRACKS_FILE",
    "LandmarkStore",
    "StoredTrack",
    "Votes",
]

HASHES_FILE = "landmark-hashes.npy"
POSTS_FILE = "landmark-posts.npy"
TRACKS_FILE = "landmark-tracks.json"
STORE_FILES = (HASHES_FILE, POSTS_FILE, TRACKS_FILE)
STORE_FORMAT = 1

MAX_POSTINGS = 2_000
"""Hashes with more postings than this are skipped at query time (too common to tell)."""


@dataclass(frozen=True)
class StoredTrack:
    """One track of a store: its group and the index items it owns (``first_item`` up to
    ``first_item + items``), so an identified track can be shown by one of its items."""

    group: str
    first_item: int
    items: int


@dataclass(frozen=True)
class Votes:
    """The outcome of a vote: the best two tracks by aligned postings.

    Attributes:
        best: the store row of the best track, or -1 when nothing matched.
        best_count: its aligned postings.
        best_offset: the offset (stored frame - query frame) where they align, in frames.
        runner_up_count: the aligned postings of the best *other* track (0 when none).
        query_landmarks: how many landmarks the query had.
    """

    best: int
    best_count: int
    best_offset: int
    runner_up_count: int
    query_landmarks: int


class LandmarkStore:
    """Sorted postings of every landmark of a catalog's tracks; read-only, thread-safe.

    Build one with :meth:`build`, write it with :meth:`save`, open a saved one with
    :meth:`load`.
    """

    def __init__(
        self, hashes: np.ndarray, posts: np.ndarray, tracks: tuple[StoredTrack, ...]
    ) -> None:
        """Wrap checked arrays (use :meth:`build` or :meth:`load`)."""
        self.hashes = hashes
        self.posts = posts
        self.tracks = tracks

    def __len__(self) -> int:
        """Postings stored."""
        return int(self.hashes.shape[0])

    @classmethod
    def build(cls, tracks: Sequence[tuple[StoredTrack, Landmarks]]) -> LandmarkStore:
        """A store of ``tracks``: each a :class:`StoredTrack` and its landmarks (hashes
        uint32 [m], frames from the track's start [m], non-negative)."""
        hashes = [np.asarray(h, dtype=np.uint32) for _, (h, _) in tracks]
        rows = [np.full(h.size, row, dtype=np.uint32) for row, h in enumerate(hashes)]
        frames = [np.asarray(f, dtype=np.uint32) for _, (_, f) in tracks]
        all_hashes = np.concatenate([np.zeros(0, np.uint32), *hashes])
        order = np.argsort(all_hashes, kind="stable")
        posts = np.stack(
            [
                np.concatenate([np.zeros(0, np.uint32), *rows])[order],
                np.concatenate([np.zeros(0, np.uint32), *frames])[order],
            ],
            axis=1,
        )
        return cls(all_hashes[order], posts, tuple(track for track, _ in tracks))

    def save(self, directory: Path) -> None:
        """Write the three files into ``directory`` (an unpublished index build: the index
        builder publishes them atomically with the rest)."""
        np.save(directory / HASHES_FILE, self.hashes)
        np.save(directory / POSTS_FILE, self.posts)
        description = {
            "format": STORE_FORMAT,
            "landmark_version": LANDMARK_VERSION,
            "groups": [track.group for track in self.tracks],
            "first_items": [track.first_item for track in self.tracks],
            "items": [track.items for track in self.tracks],
        }
        (directory / TRACKS_FILE).write_text(json.dumps(description) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, item_count: int) -> LandmarkStore:
        """Open the store in an index version folder, its postings memory-mapped.

        Checks what a damaged or foreign store would break (reads every hash and track row
        once: about 10 ms per million postings): dtypes and shapes, ascending hashes
        within :data:`~musicrec_core.fingerprint.landmarks.HASH_BITS`, track rows and item
        ranges inside the index's ``item_count`` items.

        Raises:
            IndexCorruptError: a file is missing, unreadable or inconsistent, or it was made
                by another landmark version (rebuild the index).
        """
        where = f"The landmark store in {directory}"
        try:
            description = json.loads((directory / TRACKS_FILE).read_text(encoding="utf-8"))
            hashes = np.load(directory / HASHES_FILE, mmap_mode="r", allow_pickle=False)
            posts = np.load(directory / POSTS_FILE, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise IndexCorruptError(f"{where} is unreadable ({exc}); rebuild the index.") from exc
        tracks = _tracks_of(description, item_count, where)
        if (
            hashes.dtype != np.uint32
            or hashes.ndim != 1
            or posts.dtype != np.uint32
            or posts.shape != (hashes.shape[0], 2)
        ):
            raise IndexCorruptError(
                f"{where} has arrays of the wrong shape or type ({hashes.dtype}{hashes.shape}, "
                f"{posts.dtype}{posts.shape}); rebuild the index."
            )
        if hashes.size and (
            int(hashes[-1]) >> HASH_BITS
            or bool(np.any(hashes[1:] < hashes[:-1]))
            or int(posts[:, 0].max()) >= len(tracks)
        ):
            raise IndexCorruptError(
                f"{where} is damaged (unsorted hashes or unknown tracks); rebuild the index."
            )
        return cls(hashes, posts, tracks)

    def vote(self, query: Landmarks) -> Votes:
        """Count the query's landmarks (hashes uint32 [m], frames [m]) aligned with each
        stored track; see the module docstring."""
        hashes, frames = (np.asarray(a).reshape(-1) for a in query)
        empty = Votes(-1, 0, 0, 0, int(hashes.size))
        if hashes.size == 0 or len(self) == 0:
            return empty
        keys = hashes.astype(np.uint32)
        first = np.searchsorted(self.hashes, keys, side="left")
        counts = np.searchsorted(self.hashes, keys, side="right") - first
        counts[counts > MAX_POSTINGS] = 0
        total = int(counts.sum())
        if total == 0:
            return empty
        starts = np.repeat(first, counts)
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        posts = np.asarray(self.posts[starts + within], dtype=np.int64)
        offsets = posts[:, 1] - np.repeat(np.asarray(frames, dtype=np.int64), counts)
        pair = (posts[:, 0] << 32) + (offsets + (1 << 31))  # (track, offset) as one key
        unique, tally = np.unique(pair, return_counts=True)
        aligned = tally.copy()
        for step in (-1, 1):  # the neighbouring offsets of the same track
            position = np.searchsorted(unique, unique + step)
            found = position < unique.size
            position = np.minimum(position, unique.size - 1)
            aligned += np.where(found & (unique[position] == unique + step), tally[position], 0)
        track_of = unique >> 32
        best_key = int(np.argmax(aligned))
        best_track = int(track_of[best_key])
        others = aligned[track_of != best_track]
        return Votes(
            best=best_track,
            best_count=int(aligned[best_key]),
            best_offset=int((unique[best_key] & 0xFFFFFFFF) - (1 << 31)),
            runner_up_count=int(others.max()) if others.size else 0,
            query_landmarks=int(hashes.size),
        )

    def size_bytes(self) -> int:
        """Bytes of the two posting arrays (what the store adds to an index, roughly)."""
        return int(self.hashes.nbytes + self.posts.nbytes)


def _tracks_of(description: object, item_count: int, where: str) -> tuple[StoredTrack, ...]:
    """The track table of a parsed ``landmark-tracks.json``, checked against the index."""
    if not isinstance(description, dict) or description.get("format") != STORE_FORMAT:
        raise IndexCorruptError(f"{where} has an unknown format; rebuild the index.")
    if description.get("landmark_version") != LANDMARK_VERSION:
        raise IndexCorruptError(
            f"{where} was made by another landmark version "
            f"({description.get('landmark_version')!r}, this musicrec makes "
            f"{LANDMARK_VERSION}); rebuild the index."
        )
    columns = [description.get(name) for name in ("groups", "first_items", "items")]
    if (
        not all(isinstance(column, list) for column in columns)
        or len(
            {len(column) for column in columns}  # type: ignore[arg-type]
        )
        != 1
    ):
        raise IndexCorruptError(f"{where} has an inconsistent track table; rebuild the index.")
    tracks = []
    for group, first, items in zip(*columns, strict=True):  # type: ignore[call-overload]
        if not (
            isinstance(group, str)
            and isinstance(first, int)
            and isinstance(items, int)
            and first >= 0
            and items >= 1
            and first + items <= item_count
        ):
            raise IndexCorruptError(
                f"{where} names items outside the index ({group!r}); rebuild the index."
            )
        tracks.append(StoredTrack(group, first, items))
    return tuple(tracks)
