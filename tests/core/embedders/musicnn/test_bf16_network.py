"""The bfloat16 network against float32 on the real weights and the reference clips."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_core.audio import load_clip
from musicrec_core.embedders.musicnn import MusicnnEmbedder, frontend, weights
from musicrec_core.embedders.musicnn.bf16_network import Bfloat16MusicnnNetwork
from musicrec_core.embedders.musicnn.checkpoint import read_variables
from musicrec_core.embedders.musicnn.model import MusicnnNetwork, variable_shapes
from musicrec_core.embedders.musicnn.tags import get_variant
from tests.helpers.musicnn import REFERENCE_DIR, expected_rankings, weights_cache

MAX_RELATIVE_ERROR = 0.03
"""Largest relative L2 error of a patch embedding (measured on these clips: 0.5-1.2 %)."""


@pytest.fixture(scope="module")
def variables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    with weights_cache(tmp_path_factory.mktemp("musicnn-weights")):
        return read_variables(weights.resolve_checkpoint("mtt"), variable_shapes())


@pytest.fixture(scope="module")
def network(variables: dict[str, np.ndarray]) -> Bfloat16MusicnnNetwork:
    return Bfloat16MusicnnNetwork(variables)


def test_patch_embeddings_are_within_a_few_percent_of_float32_but_not_equal(
    variables: dict[str, np.ndarray], network: Bfloat16MusicnnNetwork
) -> None:
    rankings = expected_rankings()
    assert rankings, f"the reference clips are missing from {REFERENCE_DIR}"
    clip = load_clip(REFERENCE_DIR / rankings[0][0], clip_seconds=9.0)
    patches = frontend.waveform_to_patches(clip.samples)[0]
    ours, reference = network(patches), MusicnnNetwork(variables)(patches)
    for name in ("embedding", "dense", "probabilities"):
        theirs, mine = getattr(reference, name), getattr(ours, name)
        assert mine.dtype == np.float32 and mine.shape == theirs.shape
        error = np.linalg.norm(mine - theirs, axis=1) / np.linalg.norm(theirs, axis=1)
        assert np.all(error < MAX_RELATIVE_ERROR), (name, error)
        assert np.all(error > 1e-4), f"{name} is float32's: the convolutions are not bfloat16"


def test_it_gives_the_documented_tags_of_the_reference_clips(
    network: Bfloat16MusicnnNetwork,
) -> None:
    embedder = MusicnnEmbedder(network, get_variant("mtt"))
    for name, documented in expected_rankings():
        clip = load_clip(REFERENCE_DIR / name, clip_seconds=60.0)  # the whole clip
        ranked = [tag.name for tag in embedder.embed(clip).tags[: len(documented)]]
        assert ranked == documented, name


def test_a_batch_of_the_wrong_shape_is_refused(network: Bfloat16MusicnnNetwork) -> None:
    for shape in ((0, 187, 96), (2, 96, 187), (187, 96)):
        with pytest.raises(ValueError, match=r"\[n, 187, 96\]"):
            network(np.zeros(shape, np.float32))
