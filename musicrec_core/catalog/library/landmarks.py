"""A library track's landmarks at build time: from its decoded windows, cached by track key.

Mental model: the landmark store of a library index (:mod:`musicrec_core.fingerprint`)
holds the landmarks of the same windows the embedder sees (up to ``DEFAULT_WINDOWS`` x
10 s per track: a track of up to 5 minutes whole). Each window's landmarks are extracted
on their own (no pair spans the gap between two windows) and their frames moved to the
track's time line, so a clip's landmarks align with the track at one offset.

Cache (like the embedding cache, and beside it, so a rebuild decodes nothing):
``<embedding cache root>/landmarks-<plan id>/<key>.landmarks.npz`` with ``hashes`` uint32 [m] and
``frames`` int64 [m]; the plan id hashes the landmark version, the window plan and
:data:`LANDMARK_CACHE_FORMAT`. A track whose embeddings are cached but whose landmarks are
not (an index built before landmarks) has its windows decoded once more, not embedded.
Extraction costs about 2 CPU-s per hour of audio; decoding the windows is most of it.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musicrec_core.atomic_file import atomic_write
from musicrec_core.catalog.library.cache import plan_id
from musicrec_core.clip import CLIP_SECONDS, SAMPLE_RATE_HZ, Clip
from musicrec_core.fingerprint.landmarks import HOP, LANDMARK_VERSION, Landmarks, landmarks

__all__ = ["LANDMARK_CACHE_FORMAT", "LandmarkCache", "track_landmarks"]

logger = logging.getLogger(__name__)

LANDMARK_CACHE_FORMAT = 1
"""Version of the cache entry layout."""


def track_landmarks(windows: Sequence[Clip]) -> Landmarks:
    """The landmarks of a track's decoded windows (each a 16-kHz clip whose provenance
    gives its start in the track): hashes uint32 [m], frames from the track's start [m]."""
    hashes, frames = [np.zeros(0, np.uint32)], [np.zeros(0, np.int64)]
    for clip in windows:
        window_hashes, window_frames = landmarks(clip.samples)
        start = int(round(clip.provenance.start_s * SAMPLE_RATE_HZ / HOP))
        hashes.append(window_hashes)
        frames.append(window_frames + start)
    return np.concatenate(hashes), np.concatenate(frames)


class LandmarkCache:
    """Tracks' landmarks on disk, keyed by landmark version, window plan and track key.

    Args:
        root: the embedding cache root (the landmark folder goes beside the embeddings).
        n_windows: the window count requested per track.
    """

    def __init__(self, root: Path, n_windows: int) -> None:
        plan = {
            "landmarks": LANDMARK_VERSION,
            "windows": n_windows,
            "window_s": CLIP_SECONDS,
            "format": LANDMARK_CACHE_FORMAT,
        }
        self.directory = Path(root) / f"landmarks-{plan_id(plan)}"

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.landmarks.npz"

    def get(self, key: str) -> Landmarks | None:
        """The stored landmarks of track ``key``, or None (absent, unreadable or
        inconsistent)."""
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                hashes, frames = data["hashes"], data["frames"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            logger.warning("ignoring unreadable landmark cache entry %s: %s", path, exc)
            return None
        if hashes.dtype != np.uint32 or hashes.ndim != 1 or frames.shape != hashes.shape:
            return None
        return hashes, frames.astype(np.int64)

    def put(self, key: str, track: Landmarks) -> None:
        """Store ``track`` atomically; a failure to write is logged, never raised."""
        hashes, frames = track
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with atomic_write(self._path(key)) as handle:
                np.savez(handle, hashes=hashes.astype(np.uint32), frames=frames.astype(np.int64))
        except OSError as exc:
            logger.warning("cannot write the landmark cache entry for %s: %s", key, exc)
