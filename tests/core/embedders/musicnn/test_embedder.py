"""The musicnn embedder with the real published weights: reference tags, shapes, batching."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from musicrec_core.audio import load_clip
from musicrec_core.clip import SAMPLE_RATE_HZ, Clip
from musicrec_core.embedders import load_embedder
from musicrec_core.embedders.musicnn import MusicnnEmbedder, embedder, frontend
from musicrec_core.embedders.musicnn.tags import MSD_TAGS, MTT_TAGS
from musicrec_core.errors import AudioTooShortError, WeightsMissingError
from tests.helpers.musicnn import REFERENCE_DIR, expected_rankings, install_weights, weights_cache


def music_like(seconds: float, *, seed: int = 0, bpm: float = 120.0) -> np.ndarray:
    """A synthetic groove at 16 kHz: a decaying kick on each beat, noise hats between,
    and a sustained three-note chord; float32 [seconds * 16000] in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    beat = 60.0 / bpm
    phase = t % beat
    kick = np.sin(2 * np.pi * 60 * phase) * np.exp(-phase * 30)
    hat_phase = (t + beat / 2) % beat
    hats = rng.standard_normal(t.size) * np.exp(-hat_phase * 80) * 0.3
    root = rng.choice([220.0, 246.9, 261.6])
    chord = sum(np.sin(2 * np.pi * root * ratio * t) for ratio in (1.0, 1.26, 1.5)) / 6
    return np.clip(0.5 * kick + hats + chord, -1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def mtt(tmp_path_factory: pytest.TempPathFactory) -> MusicnnEmbedder:
    with weights_cache(tmp_path_factory.mktemp("musicnn-weights")):
        return MusicnnEmbedder.load("mtt")


@pytest.mark.skipif(
    not expected_rankings(),
    reason=f"reference clips and EXPECTED.md not found in {REFERENCE_DIR}",
)
@pytest.mark.parametrize(("clip_name", "documented"), expected_rankings() or [("-", [])])
def test_reference_clips_give_the_documented_rankings(
    mtt: MusicnnEmbedder, clip_name: str, documented: list[str]
) -> None:
    clip = load_clip(REFERENCE_DIR / clip_name, clip_seconds=60.0)  # the whole clip
    assert clip.provenance.start_s == 0.0
    embedding = mtt.embed(clip)
    frames = 1 + clip.samples.size // frontend.STFT_HOP_SAMPLES
    assert embedding.vectors.shape == (frames // frontend.PATCH_FRAMES, 200)
    top = [tag.name for tag in embedding.tags[: len(documented)]]
    print(clip_name, [(tag.name, round(tag.probability, 3)) for tag in embedding.tags[:10]])
    assert top == documented


def test_embedding_shapes_tags_and_identity(mtt: MusicnnEmbedder) -> None:
    embedding = mtt.embed(Clip(music_like(10.0)))
    assert embedding.vectors.shape == (3, 200) and embedding.vectors.dtype == np.float32
    assert embedding.raw.shape == (3, 200) and embedding.raw.dtype == np.float32
    assert np.isfinite(embedding.vectors).all()
    assert (embedding.raw >= 0).all()  # the dense layer's ReLU output, before batch norm
    assert not np.allclose(embedding.raw, embedding.vectors)
    assert embedding.quantized is None and not embedding.padded
    names = [tag.name for tag in embedding.tags]
    probabilities = [tag.probability for tag in embedding.tags]
    assert sorted(names) == sorted(MTT_TAGS)
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert mtt.id.to_json() == {
        "name": "musicnn",
        "version": "musicnn-mtt-0.1.0",
        "dim": 200,
        "model": "mtt",
    }
    assert mtt.frame_seconds == pytest.approx(2.992)


def test_a_clip_shorter_than_a_patch_is_padded_and_flagged(mtt: MusicnnEmbedder) -> None:
    short = mtt.embed(Clip(music_like(1.5)))
    assert short.padded and short.vectors.shape == (1, 200)
    assert np.isfinite(short.vectors).all()
    whole = mtt.embed(Clip(music_like(3.0)))
    assert not whole.padded and whole.vectors.shape == (1, 200)
    with pytest.raises(AudioTooShortError):
        mtt.embed(Clip(np.zeros(100, dtype=np.float32)))


def test_batched_embedding_matches_one_by_one(
    mtt: MusicnnEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    clips = [Clip(music_like(seconds, seed=i)) for i, seconds in enumerate((7.0, 1.2, 12.5))]
    single = [mtt.embed(clip) for clip in clips]
    monkeypatch.setattr(embedder, "MAX_BATCH_PATCHES", 2)  # force several network calls
    batched = mtt.embed_many(clips)
    assert [e.vectors.shape[0] for e in batched] == [2, 1, 4]
    assert [e.padded for e in batched] == [False, True, False]
    for one, many in zip(single, batched, strict=True):
        np.testing.assert_allclose(many.vectors, one.vectors, atol=1e-4)
        assert [t.name for t in many.tags[:5]] == [t.name for t in one.tags[:5]]
    assert mtt.embed_many([]) == []


def test_one_instance_serves_several_threads(mtt: MusicnnEmbedder) -> None:
    clips = [Clip(music_like(4.0, seed=seed, bpm=90 + 20 * seed)) for seed in range(4)]
    serial = [mtt.embed(clip).vectors for clip in clips]
    results: dict[int, np.ndarray] = {}

    def work(index: int) -> None:
        results[index] = mtt.embed(clips[index]).vectors

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clips))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, vectors in enumerate(serial):
        np.testing.assert_allclose(results[index], vectors, atol=1e-4)


def test_the_msd_variant_has_its_own_tags_and_version(mtt: MusicnnEmbedder) -> None:
    install_weights()
    msd = load_embedder("musicnn", variant="msd")
    assert isinstance(msd, MusicnnEmbedder)
    assert msd.version == "musicnn-msd-0.1.0" != mtt.version
    clip = Clip(music_like(6.0))
    embedding = msd.embed(clip)
    assert sorted(tag.name for tag in embedding.tags) == sorted(MSD_TAGS)
    assert not np.allclose(embedding.vectors, mtt.embed(clip).vectors)


def test_missing_weights_and_unknown_models_are_clear_errors() -> None:
    with pytest.raises(WeightsMissingError, match="musicrec models download musicnn"):
        MusicnnEmbedder.load()
    with pytest.raises(ValueError, match="choose one of mtt, msd"):
        MusicnnEmbedder.load("big")
