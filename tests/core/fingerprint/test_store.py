"""The landmark store: sorted postings saved as .npy files and memory-mapped; a vote that
names the track a clip came from; a damaged or foreign store refused with a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.clip import SAMPLE_RATE_HZ
from musicrec_core.errors import IndexCorruptError
from musicrec_core.fingerprint.landmarks import HOP, landmarks
from musicrec_core.fingerprint.store import (
    HASHES_FILE,
    POSTS_FILE,
    TRACKS_FILE,
    LandmarkStore,
    StoredTrack,
)
from tests.helpers.melody import melody

SECONDS = 30.0


@pytest.fixture(scope="module")
def songs() -> list[np.ndarray]:
    return [melody(seed, SECONDS) for seed in (10, 11, 12)]


@pytest.fixture(scope="module")
def store(songs: list[np.ndarray]) -> LandmarkStore:
    tracks = [StoredTrack(f"track{i}", 4 * i, 4) for i in range(len(songs))]
    return LandmarkStore.build([(t, landmarks(s)) for t, s in zip(tracks, songs, strict=True)])


def test_postings_are_sorted_by_hash(store: LandmarkStore) -> None:
    assert len(store) > 1000
    assert np.all(np.diff(store.hashes.astype(np.int64)) >= 0)
    assert set(np.unique(store.posts[:, 0]).tolist()) == {0, 1, 2}


def test_an_excerpt_votes_for_its_track_at_its_offset(
    store: LandmarkStore, songs: list[np.ndarray]
) -> None:
    start_s = 12.3
    excerpt = songs[1][int(start_s * SAMPLE_RATE_HZ) :][: 10 * SAMPLE_RATE_HZ]
    votes = store.vote(landmarks(excerpt))
    assert store.tracks[votes.best].group == "track1"
    assert votes.best_offset == pytest.approx(start_s * SAMPLE_RATE_HZ / HOP, abs=1)
    assert votes.best_count > 10 * max(1, votes.runner_up_count)


def test_nothing_to_vote_on(store: LandmarkStore) -> None:
    votes = store.vote((np.zeros(0, np.uint32), np.zeros(0, np.int64)))
    assert (votes.best, votes.best_count) == (-1, 0)
    empty = LandmarkStore.build([])
    assert len(empty) == 0 and empty.vote(landmarks(melody(1, 5.0))).best == -1


def test_round_trip_is_memory_mapped(store: LandmarkStore, tmp_path: Path) -> None:
    store.save(tmp_path)
    loaded = LandmarkStore.load(tmp_path, item_count=12)
    assert isinstance(loaded.hashes, np.memmap) and isinstance(loaded.posts, np.memmap)
    np.testing.assert_array_equal(loaded.hashes, store.hashes)
    np.testing.assert_array_equal(loaded.posts, store.posts)
    assert loaded.tracks == store.tracks


def _damage_posts(folder: Path) -> None:
    np.save(folder / POSTS_FILE, np.zeros((5, 3), np.uint32))


def _damage_hashes(folder: Path) -> None:
    (folder / HASHES_FILE).write_bytes(b"not an array at all")


def _unsort(folder: Path) -> None:
    hashes = np.load(folder / HASHES_FILE)
    np.save(folder / HASHES_FILE, hashes[::-1].copy())


def _wrong_dtype(folder: Path) -> None:
    np.save(folder / HASHES_FILE, np.load(folder / HASHES_FILE).astype(np.int64))


def _other_version(folder: Path) -> None:
    description = json.loads((folder / TRACKS_FILE).read_text())
    description["landmark_version"] = 999
    (folder / TRACKS_FILE).write_text(json.dumps(description))


def _items_outside(folder: Path) -> None:
    description = json.loads((folder / TRACKS_FILE).read_text())
    description["first_items"][-1] = 11
    (folder / TRACKS_FILE).write_text(json.dumps(description))


def _unknown_track(folder: Path) -> None:
    description = json.loads((folder / TRACKS_FILE).read_text())
    for column in ("groups", "first_items", "items"):
        description[column] = description[column][:1]
    (folder / TRACKS_FILE).write_text(json.dumps(description))


def _missing(folder: Path) -> None:
    (folder / POSTS_FILE).unlink()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_damage_posts, "wrong shape"),
        (_damage_hashes, "unreadable"),
        (_unsort, "damaged"),
        (_wrong_dtype, "wrong shape or type"),
        (_other_version, "another landmark version"),
        (_items_outside, "outside the index"),
        (_unknown_track, "unknown tracks"),
        (_missing, "unreadable"),
    ],
)
def test_a_damaged_store_is_refused(
    store: LandmarkStore, tmp_path: Path, damage, message: str
) -> None:
    store.save(tmp_path)
    damage(tmp_path)
    with pytest.raises(IndexCorruptError, match=f"{message}.*rebuild the index"):
        LandmarkStore.load(tmp_path, item_count=12)
