"""The onnxruntime network against the numpy reference and the textbook float64 forward
pass on the real weights, its thread settings, and the fallback to numpy where onnxruntime
is unavailable."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from musicrec_core.audio import load_clip
from musicrec_core.clip import Clip
from musicrec_core.embedders.musicnn import MusicnnEmbedder, frontend, weights
from musicrec_core.embedders.musicnn.checkpoint import read_variables
from musicrec_core.embedders.musicnn.model import (
    BATCH_NORM_EPSILON,
    MusicnnNetwork,
    front_end_blocks,
    variable_shapes,
)
from musicrec_core.embedders.musicnn.onnx_network import OnnxMusicnnNetwork, build_network
from tests.core.embedders.musicnn.test_embedder import music_like
from tests.core.embedders.musicnn.test_model import reference_forward
from tests.helpers.musicnn import REFERENCE_DIR, expected_rankings, weights_cache

PROBABILITY_TOLERANCE = 1e-5
"""Largest absolute difference allowed in tag probabilities (measured here: up to 8e-7)."""
EMBEDDING_TOLERANCE = 2e-5
"""Largest absolute difference allowed in embeddings (values up to about 4): float32
rounding in a different order of sums. Each path is within 8e-6 of a float64 forward pass
(test_model.py's); their difference measured here is up to 2e-6 (MTT) and 1e-5 (MSD)."""

Weights = dict[str, np.ndarray]


@pytest.fixture(scope="module", params=["mtt", "msd"])
def variables(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Weights:
    with weights_cache(tmp_path_factory.mktemp("musicnn-weights")):
        return read_variables(weights.resolve_checkpoint(request.param), variable_shapes())


@pytest.fixture(scope="module")
def music_patches() -> np.ndarray:
    """Patches of real music (the first reference clip, 15 s) when it is there, and of a
    synthetic groove: float32 [n, 187, 96]."""
    clips = [music_like(9.0)]
    if expected_rankings():
        clip = load_clip(REFERENCE_DIR / expected_rankings()[0][0], clip_seconds=15.0)
        clips.append(clip.samples)
    return np.concatenate([frontend.waveform_to_patches(samples)[0] for samples in clips])


def test_onnxruntime_agrees_with_the_numpy_reference(
    variables: Weights, music_patches: np.ndarray
) -> None:
    ours = OnnxMusicnnNetwork(variables)(music_patches)
    reference = MusicnnNetwork(variables)(music_patches)
    for name in ("probabilities", "embedding", "dense"):
        got, want = getattr(ours, name), getattr(reference, name)
        assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(
        ours.probabilities, reference.probabilities, rtol=0, atol=PROBABILITY_TOLERANCE
    )
    np.testing.assert_allclose(
        ours.embedding, reference.embedding, rtol=0, atol=EMBEDDING_TOLERANCE
    )
    # The ReLU output before the last batch norm reaches about 25: the same bound, relative.
    np.testing.assert_allclose(
        ours.dense, reference.dense, rtol=EMBEDDING_TOLERANCE, atol=EMBEDDING_TOLERANCE
    )


TEXTBOOK_PROBABILITY_TOLERANCE = 1e-5
"""Largest absolute difference allowed from the float64 textbook pass in tag probabilities
(measured on the reference clips, both variants: up to 6.4e-7)."""
TEXTBOOK_EMBEDDING_TOLERANCE = 2e-5
"""The same for embeddings (values up to about 4; measured: up to 3.0e-6). A front end
that takes the max where a negative batch-norm scale needs the min is off by 0.54-1.26
in embeddings and 0.05-0.26 in probabilities on these clips."""


def test_the_front_end_order_is_the_textbook_one_on_real_music(variables: Weights) -> None:
    """The graph takes the max over frequency before ReLU and batch norm (the min for a
    negative scale): on real clips it must give the spec's order, computed in float64."""
    for _, norm, _ in front_end_blocks():  # the min path is really taken by these weights
        variance = variables[f"{norm}/moving_variance"] + BATCH_NORM_EPSILON
        scale = variables[f"{norm}/gamma"] / np.sqrt(variance)
        assert (scale < 0).any() and (scale > 0).any(), norm
    if not expected_rankings():
        pytest.skip(f"the reference clips are not in {REFERENCE_DIR}")
    patches = np.stack(
        [
            frontend.waveform_to_patches(load_clip(REFERENCE_DIR / name, clip_seconds=3.5).samples)[
                0
            ][0]
            for name, _ in expected_rankings()
        ]
    )
    ours = OnnxMusicnnNetwork(variables)(patches)
    for index, patch in enumerate(patches):
        probabilities, embedding = reference_forward(patch, variables)
        np.testing.assert_allclose(
            ours.probabilities[index], probabilities, rtol=0, atol=TEXTBOOK_PROBABILITY_TOLERANCE
        )
        np.testing.assert_allclose(
            ours.embedding[index], embedding, rtol=0, atol=TEXTBOOK_EMBEDDING_TOLERANCE
        )


def test_the_session_uses_the_blas_thread_count_and_never_spins(
    variables: Weights, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    options = OnnxMusicnnNetwork(variables)._session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_malformed_patches_are_a_clear_error(variables: Weights) -> None:
    with pytest.raises(ValueError, match=r"\[n, 187, 96\]"):
        OnnxMusicnnNetwork(variables)(np.zeros((2, 187, 95), np.float32))


def test_without_onnxruntime_the_network_is_numpys_and_one_line_says_why(
    variables: Weights, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert isinstance(build_network(variables), OnnxMusicnnNetwork)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    with caplog.at_level(logging.WARNING):
        fallback = build_network(variables)
    assert isinstance(fallback, MusicnnNetwork)
    [record] = caplog.records
    assert "musicnn runs in numpy" in record.getMessage()
    assert "onnxruntime cannot be imported" in record.getMessage()


def test_a_session_that_cannot_be_built_falls_back_with_the_reason(
    variables: Weights, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import onnxruntime

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no CPU provider here")

    monkeypatch.setattr(onnxruntime, "InferenceSession", refuse)
    with caplog.at_level(logging.WARNING):
        network = build_network(variables)
    assert isinstance(network, MusicnnNetwork)
    [record] = caplog.records
    assert "could not build the session (RuntimeError: no CPU provider here)" in (
        record.getMessage()
    )


def test_the_embedder_falls_back_with_the_same_tags(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = Clip(music_like(6.0, seed=2))
    with weights_cache(tmp_path):
        preferred = MusicnnEmbedder.load("mtt").embed(clip)
        monkeypatch.setitem(sys.modules, "onnxruntime", None)
        fallback = MusicnnEmbedder.load("mtt").embed(clip)
    assert [tag.name for tag in fallback.tags] == [tag.name for tag in preferred.tags]
    np.testing.assert_allclose(
        fallback.vectors, preferred.vectors, rtol=0, atol=EMBEDDING_TOLERANCE
    )
