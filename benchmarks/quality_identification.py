"""The quality benchmark's identification figures: how often the landmark store names a
clip's track, how often wrongly, how often a clip of a track *not* in the library is
"identified" anyway, what it costs per query, and what the store costs on disk.

Used by ``benchmarks/bench_quality.py``. Held-out queries: the corpus tracks are split in
two halves by the first byte of their key; a store of the even half is built from the
build's landmark cache (the very landmarks the index holds), and the clips of odd-half
tracks are asked of it: any identification of those is a false identification (the tracks
they name are printed, since two tracks can share a passage).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from quality_data import Query, Track

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.library.landmarks import LandmarkCache
from musicrec_core.catalog.library.tracks import DEFAULT_WINDOWS, plan_windows
from musicrec_core.clip import CLIP_SECONDS, Clip
from musicrec_core.fingerprint import LandmarkStore, StoredTrack, identify, landmarks
from musicrec_core.fingerprint.store import STORE_FILES


def _stored(key: str) -> bool:
    """Whether a track belongs to the held-out store's half."""
    return int(key[:2], 16) % 2 == 0


def identification_figures(
    index: CatalogIndex,
    tracks: Sequence[Track],
    queries: Sequence[Query],
    clips_by_condition: dict[str, list[Clip]],
    cache_root: Path,
) -> dict[str, object]:
    """Per condition: identified (right / wrong) with the whole library, false
    identifications of held-out clips, ms per query; and the store's size per hour."""
    if index.landmarks is None:
        raise SystemExit("the benchmark's index has no landmark store")
    cache = LandmarkCache(cache_root, DEFAULT_WINDOWS)
    half = []
    for track in tracks:
        stored = cache.get(track.key)
        if stored is None:
            raise SystemExit(f"no landmark cache entry for {track.path}")
        if _stored(track.key):
            half.append((StoredTrack(track.key, 0, 1), stored))
    held_out_store = LandmarkStore.build(half)
    name_of = {track.key: f"{track.collection}/{track.path.name}" for track in tracks}
    figures: dict[str, object] = {}
    for condition, clips in clips_by_condition.items():
        right = wrong = false_ids = held_out = 0
        seconds = 0.0
        named = []
        for query, clip in zip(queries, clips, strict=True):
            started = time.perf_counter()
            query_landmarks = landmarks(clip.samples)
            found = identify(index.landmarks, query_landmarks)
            seconds += time.perf_counter() - started
            if found is not None:
                right += found.track.group == query.track.key
                wrong += found.track.group != query.track.key
            if not _stored(query.track.key):
                held_out += 1
                other = identify(held_out_store, query_landmarks)
                if other is not None:
                    false_ids += 1
                    named.append(f"{name_of[query.track.key]} -> {name_of[other.track.group]}")
        figures[condition] = {
            "identified_right": right / len(queries),
            "identified_wrong": wrong / len(queries),
            "held_out_queries": held_out,
            "held_out_false_id": false_ids / max(1, held_out),
            "held_out_false_id_tracks": named,
            "ms_per_query": seconds / len(queries) * 1e3,
        }
    audio_h = sum(
        len(plan_windows(t.duration_s, DEFAULT_WINDOWS)) * min(CLIP_SECONDS, t.duration_s)
        for t in tracks
    )
    store_bytes = sum((index.directory / name).stat().st_size for name in STORE_FILES)
    figures["store_mb"] = store_bytes / 1e6
    figures["store_mb_per_audio_hour"] = store_bytes / 1e6 / (audio_h / 3600)
    return figures


def print_identification(figures: dict[str, object]) -> None:
    for condition, row in figures.items():
        if not isinstance(row, dict):
            continue
        print(
            f"identification {condition:<6} right {row['identified_right']:.3f}  wrong "
            f"{row['identified_wrong']:.3f}  held-out false-id {row['held_out_false_id']:.3f} "
            f"(of {row['held_out_queries']})  {row['ms_per_query']:.1f} ms/query"
        )
        for line in row["held_out_false_id_tracks"]:
            print(f"    held out, identified as a track sharing a passage? {line}")
    print(
        f"landmark store: {figures['store_mb']:.1f} MB, "
        f"{figures['store_mb_per_audio_hour']:.1f} MB per hour of indexed audio"
    )
