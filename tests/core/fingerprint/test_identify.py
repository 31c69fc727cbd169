"""The confidence rule: a phone recording of a stored track is identified; a clip of a
track that is not stored, or of nothing, is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.clip import SAMPLE_RATE_HZ
from musicrec_core.fingerprint import (
    MIN_ALIGNED,
    LandmarkStore,
    StoredTrack,
    identify,
    landmarks,
)
from tests.helpers.melody import melody, phone_recording


@pytest.fixture(scope="module")
def songs() -> dict[str, np.ndarray]:
    return {f"song{seed}": melody(seed, 40.0) for seed in range(20, 26)}


@pytest.fixture(scope="module")
def store(songs: dict[str, np.ndarray]) -> LandmarkStore:
    stored = [name for name in songs if name != "song25"]  # song25: not in the library
    return LandmarkStore.build(
        [(StoredTrack(name, 0, 1), landmarks(songs[name])) for name in stored]
    )


def _excerpt(samples: np.ndarray, start_s: float) -> np.ndarray:
    return samples[int(start_s * SAMPLE_RATE_HZ) :][: 10 * SAMPLE_RATE_HZ]


def test_a_phone_recording_of_a_stored_track_is_identified(
    store: LandmarkStore, songs: dict[str, np.ndarray], tmp_path: Path
) -> None:
    clip = phone_recording(_excerpt(songs["song22"], 17.45), tmp_path / "q.mp3", seed=3)
    found = identify(store, landmarks(clip.samples))
    assert found is not None and found.track.group == "song22"
    assert found.aligned >= MIN_ALIGNED and found.offset_s == pytest.approx(17.45, abs=0.1)


def test_a_track_not_in_the_library_is_not_identified(
    store: LandmarkStore, songs: dict[str, np.ndarray], tmp_path: Path
) -> None:
    for start_s in (0.0, 12.0, 29.0):
        clean = _excerpt(songs["song25"], start_s)
        assert identify(store, landmarks(clean)) is None
        phone = phone_recording(clean, tmp_path / f"q{start_s}.mp3", seed=4)
        assert identify(store, landmarks(phone.samples)) is None


def test_noise_alone_is_not_identified(store: LandmarkStore) -> None:
    noise = np.random.default_rng(0).standard_normal(10 * SAMPLE_RATE_HZ).astype(np.float32)
    assert identify(store, landmarks(0.1 * noise)) is None
