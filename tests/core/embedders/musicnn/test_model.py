"""The network against a plain float64 numpy forward pass written step by step from the spec."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_core.embedders.musicnn import frontend, weights
from musicrec_core.embedders.musicnn.checkpoint import read_variables
from musicrec_core.embedders.musicnn.model import MusicnnNetwork, flops_per_patch, variable_shapes
from tests.helpers.musicnn import weights_cache

Weights = dict[str, np.ndarray]


@pytest.fixture(scope="module", params=["mtt", "msd"])
def variables(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Weights:
    with weights_cache(tmp_path_factory.mktemp("musicnn-weights")):
        return read_variables(weights.resolve_checkpoint(request.param), variable_shapes())


def batch_norm(x: np.ndarray, w: Weights, name: str) -> np.ndarray:
    """Inference batch norm over the last axis, epsilon 0.001."""
    mean, variance = w[f"{name}/moving_mean"], w[f"{name}/moving_variance"]
    return (x - mean) / np.sqrt(variance + 0.001) * w[f"{name}/gamma"] + w[f"{name}/beta"]


def conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """VALID 2-D convolution (cross-correlation) of one channel: x [T, F],
    kernel [kt, kf, 1, C] -> [T - kt + 1, F - kf + 1, C], plus bias."""
    kt, kf, _, channels = kernel.shape
    windows = np.lib.stride_tricks.sliding_window_view(x, (kt, kf))  # [T', F', kt, kf]
    rows, cols = windows.shape[:2]
    flat = windows.reshape(rows * cols, kt * kf) @ kernel.reshape(kt * kf, channels)
    return flat.reshape(rows, cols, channels) + bias


def reference_forward(patch: np.ndarray, w: Weights) -> tuple[np.ndarray, np.ndarray]:
    """(tag probabilities [50], penultimate embedding [200]) for one patch [187, 96],
    in float64, following the spec step by step in its own order."""
    w = {name: value.astype(np.float64) for name, value in w.items()}
    x = batch_norm(patch.astype(np.float64)[..., np.newaxis], w, "batch_normalization")[..., 0]

    front = []
    padded = np.pad(x, [(3, 3), (0, 0)])  # zero-pad time by 3 on each side
    for index in (0, 1):  # timbral: VALID, ReLU, batch norm, max over frequency
        h = conv(
            padded,
            w[f"conv2d{'_1' if index else ''}/kernel"],
            w[f"conv2d{'_1' if index else ''}/bias"],
        )
        front.append(
            batch_norm(np.maximum(h, 0), w, f"batch_normalization_{index + 1}").max(axis=1)
        )
    for index, length in zip((2, 3, 4), (128, 64, 32), strict=True):  # temporal: SAME
        before = (length - 1) // 2  # TensorFlow's SAME puts the odd extra zero at the end
        same = np.pad(x, [(before, length - 1 - before), (0, 0)])
        h = conv(same, w[f"conv2d_{index}/kernel"], w[f"conv2d_{index}/bias"])
        front.append(
            batch_norm(np.maximum(h, 0), w, f"batch_normalization_{index + 1}").max(axis=1)
        )
    outputs = [np.concatenate(front, axis=1)]  # [187, 561]

    for index in range(3):  # mid end: kernel 7 x all features, time padded by 3
        previous = outputs[-1]
        h = conv(
            np.pad(previous, [(3, 3), (0, 0)]),
            w[f"conv2d_{index + 5}/kernel"],
            w[f"conv2d_{index + 5}/bias"],
        )
        h = batch_norm(np.maximum(h[:, 0, :], 0), w, f"batch_normalization_{index + 6}")
        outputs.append(h if index == 0 else h + previous)
    features = np.concatenate(outputs, axis=1)  # [187, 753]

    pooled = np.empty(2 * features.shape[1])
    pooled[0::2] = features.max(axis=0)
    pooled[1::2] = features.mean(axis=0)
    pooled = batch_norm(pooled, w, "batch_normalization_9")
    dense = np.maximum(pooled @ w["dense/kernel"] + w["dense/bias"], 0)
    embedding = batch_norm(dense, w, "batch_normalization_10")
    logits = embedding @ w["dense_1/kernel"] + w["dense_1/bias"]
    return 1 / (1 + np.exp(-logits)), embedding


def test_network_matches_the_numpy_reference(variables: Weights) -> None:
    rng = np.random.default_rng(3)
    t = np.arange(7 * 16_000) / 16_000
    samples = 0.3 * np.sin(2 * np.pi * 330 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2
    samples += 0.05 * rng.standard_normal(t.size)
    patches, _ = frontend.waveform_to_patches(samples.astype(np.float32))  # 2 patches
    output = MusicnnNetwork(variables)(patches)
    assert output.probabilities.shape == (2, 50) and output.embedding.shape == (2, 200)
    for index, patch in enumerate(patches):
        probabilities, embedding = reference_forward(patch, variables)
        np.testing.assert_allclose(output.probabilities[index], probabilities, atol=2e-5)
        np.testing.assert_allclose(output.embedding[index], embedding, rtol=1e-4, atol=1e-4)


def test_flop_count_from_layer_shapes() -> None:
    macs = (
        187 * 59 * 204 * 7 * 38  # timbral 7x38
        + 187 * 30 * 204 * 7 * 67  # timbral 7x67
        + 187 * 96 * 51 * (128 + 64 + 32)  # temporal
        + 187 * 64 * 7 * (561 + 64 + 64)  # mid end
        + 1506 * 200
        + 200 * 50  # back end
    )
    assert flops_per_patch() == 2 * macs
