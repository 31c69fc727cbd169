"""Synthetic VGGish weight files in the official formats, for tests that need a real model.

``write_synthetic_vggish(directory)`` writes ``vggish_model.ckpt`` (a single-file
TensorFlow V1 checkpoint with the official variable names and shapes, seeded random weights)
and ``vggish_pca_params.npz`` (a random orthogonal PCA whose quantized output spreads over
0..255). The ``synthetic_vggish`` fixture writes them once per test session.

Loading them builds a 289 MB weights cache under ``MUSICREC_CACHE_DIR``, which the suite
gives every test afresh; a test that loads the synthetic model can request
``shared_vggish_cache`` to use one cache folder for the whole session instead.

The weights are He-scaled so activations keep a similar magnitude layer after layer; the
PCA was calibrated once on these weights (raw embeddings of sines and noise have a mean
near 1 and an overall standard deviation near 6), so the whitened values spread over [-2, 2]
with a few clipped, as real ones are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest

CHECKPOINT_NAME = "vggish_model.ckpt"
PCA_NAME = "vggish_pca_params.npz"

VARIABLE_SHAPES: dict[str, tuple[int, ...]] = {
    "vggish/conv1/weights": (3, 3, 1, 64),
    "vggish/conv1/biases": (64,),
    "vggish/conv2/weights": (3, 3, 64, 128),
    "vggish/conv2/biases": (128,),
    "vggish/conv3/conv3_1/weights": (3, 3, 128, 256),
    "vggish/conv3/conv3_1/biases": (256,),
    "vggish/conv3/conv3_2/weights": (3, 3, 256, 256),
    "vggish/conv3/conv3_2/biases": (256,),
    "vggish/conv4/conv4_1/weights": (3, 3, 256, 512),
    "vggish/conv4/conv4_1/biases": (512,),
    "vggish/conv4/conv4_2/weights": (3, 3, 512, 512),
    "vggish/conv4/conv4_2/biases": (512,),
    "vggish/fc1/fc1_1/weights": (12288, 4096),
    "vggish/fc1/fc1_1/biases": (4096,),
    "vggish/fc1/fc1_2/weights": (4096, 4096),
    "vggish/fc1/fc1_2/biases": (4096,),
    "vggish/fc2/weights": (4096, 128),
    "vggish/fc2/biases": (128,),
}
"""The official variable names and shapes, written out independently of the library's."""

PCA_SCALE = 0.15
"""Multiplier on the orthogonal PCA matrix: maps raw std ~6 to whitened std ~0.9."""


def synthetic_vggish_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random float32 weights for every official variable.

    Weights are normal with std sqrt(2 / fan_in) (He), biases normal with std 0.05.
    Each variable draws from its own generator (seeded by ``seed`` and its position), so
    dropping or replacing one leaves the others unchanged.
    """
    arrays: dict[str, np.ndarray] = {}
    for position, (name, shape) in enumerate(VARIABLE_SHAPES.items()):
        rng = np.random.default_rng([seed, position])
        if name.endswith("/weights"):
            fan_in = int(np.prod(shape[:-1]))
            std = np.sqrt(2.0 / fan_in)
        else:
            std = 0.05
        values = rng.standard_normal(shape, dtype=np.float32)
        values *= np.float32(std)
        arrays[name] = values
    return arrays


def write_v1_checkpoint(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` (name -> value) as a single-file TensorFlow V1 checkpoint at ``path``.

    Uses ``tf.compat.v1.train.Saver`` with ``SaverDef.V1`` in graph mode, the way the
    official ``vggish_model.ckpt`` was written; values are fed through placeholders so the
    graph stays small.
    """
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        variables = []
        assigns = []
        feeds = {}
        for name, value in arrays.items():
            variable = tf.compat.v1.Variable(
                tf.zeros(value.shape, dtype=tf.float32), name=name, dtype=tf.float32
            )
            placeholder = tf.compat.v1.placeholder(tf.float32, shape=value.shape)
            variables.append(variable)
            assigns.append(variable.assign(placeholder))
            feeds[placeholder] = value
        saver = tf.compat.v1.train.Saver(
            var_list=variables, write_version=tf.compat.v1.train.SaverDef.V1
        )
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(assigns, feed_dict=feeds)
            saver.save(session, str(path), write_meta_graph=False, write_state=False)
    return path


def write_pca_params(path: Path, eigen_vectors: np.ndarray, means: np.ndarray) -> Path:
    """Write a PCA parameter file with the official array names."""
    np.savez(path, pca_eigen_vectors=eigen_vectors, pca_means=means)
    return path


def write_synthetic_vggish(directory: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write ``vggish_model.ckpt`` and ``vggish_pca_params.npz`` into ``directory``.

    Returns:
        (checkpoint path, PCA path). The checkpoint holds the 18 official variables
        (72,141,184 float32 values, about 289 MB); the PCA file a 128 x 128 scaled random
        orthogonal ``pca_eigen_vectors`` and a 128-vector ``pca_means``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    checkpoint = write_v1_checkpoint(directory / CHECKPOINT_NAME, synthetic_vggish_arrays(seed))
    rng = np.random.default_rng([seed, len(VARIABLE_SHAPES)])
    orthogonal, _ = np.linalg.qr(rng.standard_normal((128, 128)))
    eigen_vectors = (orthogonal * PCA_SCALE).astype(np.float64)
    means = rng.normal(1.0, 0.5, size=128)
    pca = write_pca_params(directory / PCA_NAME, eigen_vectors, means)
    return checkpoint, pca


@pytest.fixture(scope="session")
def synthetic_vggish(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(checkpoint, pca) written once per test session with seed 0."""
    return write_synthetic_vggish(tmp_path_factory.mktemp("vggish-synthetic"))


@pytest.fixture(scope="session")
def shared_vggish_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache root for the whole session (see ``shared_vggish_cache``)."""
    return tmp_path_factory.mktemp("vggish-shared-cache")


@pytest.fixture
def shared_vggish_cache(
    shared_vggish_cache_dir: Path, isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point MUSICREC_CACHE_DIR at the session-wide cache root for this test, so the
    synthetic weights are parsed and cached once per session rather than once per test."""
    monkeypatch.setenv("MUSICREC_CACHE_DIR", str(shared_vggish_cache_dir))
    yield shared_vggish_cache_dir
