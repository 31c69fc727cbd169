"""The embedding cache: embedded tracks on disk, so a rebuild embeds only what changed.

Mental model: one folder per *plan* (embedder identity and window plan), one file per
track key; a hit skips decoding and embedding the track altogether.

Where (decision: in the user cache, not in the index folder, so several indexes and
rebuilds into new folders share it, and the index folder stays exactly what the index
builder publishes): ``paths.cache_root()/"embeddings"/<embedder>-<plan id>/<key>.npz``,
where ``<plan id>`` hashes the embedder's name, version and dimension, the window count and
length and :data:`CACHE_FORMAT`, and ``<key>`` is the track key (sha256 or video id).

An entry stores the windows' per-frame embeddings and those of their phone views (pooling
happens at build time, so a change of pooling rule needs no re-embedding), their offsets,
the title, the track tags and the owner tags (album, artist; an entry written before
them has none, and the build reads them from the file).
Entries are written atomically (temporary file + rename); an unreadable or inconsistent
one is a miss. Failed inputs are never cached.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from musicrec_core.atomic_file import atomic_write
from musicrec_core.catalog.library.owners import TrackOwner
from musicrec_core.catalog.library.tracks import TrackEmbedding
from musicrec_core.clip import CLIP_SECONDS
from musicrec_core.embedders.base import EmbedderId, Tag

__all__ = ["CACHE_FORMAT", "EmbeddingCache"]

logger = logging.getLogger(__name__)

CACHE_FORMAT = 2
"""Version of the cache entry layout; part of every cache directory name (2: phone views)."""


def plan_id(plan: Mapping[str, object]) -> str:
    """16 hex digits naming a cache folder by ``plan`` (everything that shapes what the
    folder holds), so a change of any of it starts a new folder."""
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:16]


class EmbeddingCache:
    """Embedded tracks on disk, keyed by embedder identity, window plan and track key.

    Args:
        root: the cache root (``paths.cache_root()/"embeddings"`` by default).
        embedder: the id of the embedder (its variant is named by its version).
        n_windows: the window count requested per track.
    """

    def __init__(self, root: Path, embedder: EmbedderId, n_windows: int) -> None:
        plan = {
            "embedder": {"name": embedder.name, "version": embedder.version, "dim": embedder.dim},
            "windows": n_windows,
            "window_s": CLIP_SECONDS,
            "format": CACHE_FORMAT,
        }
        self.directory = Path(root) / f"{embedder.name}-{plan_id(plan)}"
        self.dim = embedder.dim

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def get(self, key: str) -> TrackEmbedding | None:
        """The stored embedding of track ``key``, or None (absent or unreadable)."""
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                info = json.loads(str(data["info"]))
                track = TrackEmbedding(
                    title=info["title"],
                    starts=data["starts"].astype(np.float64),
                    ends=data["ends"].astype(np.float64),
                    frames=data["frames"].astype(np.float32),
                    lengths=data["lengths"].astype(np.int64),
                    phone_frames=data["phone_frames"].astype(np.float32),
                    phone_lengths=data["phone_lengths"].astype(np.int64),
                    tags=tuple(
                        Tag(str(name), float(p))
                        for name, p in zip(data["tag_names"], data["tag_probs"], strict=True)
                    ),
                    owner=_owner(info.get("owner")),
                )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            logger.warning("ignoring unreadable cache entry %s: %s", path, exc)
            return None
        consistent = track.lengths.shape == track.starts.shape == track.ends.shape and all(
            frames.ndim == 2
            and frames.shape[1] == self.dim
            and lengths.shape == track.starts.shape
            and lengths.size >= 1
            and int(lengths.min()) >= 1
            and int(lengths.sum()) == frames.shape[0]
            for frames, lengths in (
                (track.frames, track.lengths),
                (track.phone_frames, track.phone_lengths),
            )
        )
        return track if consistent else None

    def put(self, key: str, track: TrackEmbedding) -> None:
        """Store ``track`` atomically; a failure to write is logged, never raised."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with atomic_write(self._path(key)) as handle:
                np.savez(
                    handle,
                    info=np.array(json.dumps(_info(track))),
                    starts=track.starts,
                    ends=track.ends,
                    frames=track.frames,
                    lengths=track.lengths,
                    phone_frames=track.phone_frames,
                    phone_lengths=track.phone_lengths,
                    tag_names=np.array([tag.name for tag in track.tags], dtype=np.str_),
                    tag_probs=np.array([tag.probability for tag in track.tags], np.float32),
                )
        except OSError as exc:
            logger.warning("cannot write the embedding cache entry for %s: %s", key, exc)


def _info(track: TrackEmbedding) -> dict[str, object]:
    """An entry's JSON fields: the title and, once read, the owner [album, artist]."""
    info: dict[str, object] = {"title": track.title}
    if track.owner is not None:
        info["owner"] = [track.owner.album, track.owner.artist]
    return info


def _owner(stored: object) -> TrackOwner | None:
    """The owner an entry stores, None when it has none (or not as a pair)."""
    if not isinstance(stored, list) or len(stored) != 2:
        return None
    return TrackOwner(*(tag if isinstance(tag, str) else None for tag in stored))
