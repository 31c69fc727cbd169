"""PCA whitening, clipping, truncating quantization and the PCA file loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.embedders.vggish.postprocess import (
    PCAParams,
    dequantize,
    load_pca_params,
    quantize,
)
from musicrec_core.errors import CheckpointError, WeightsMissingError

IDENTITY = PCAParams(eigen_vectors=np.eye(128), means=np.zeros((128, 1)))


def row(values: list[float]) -> np.ndarray:
    """One raw embedding whose first entries are ``values`` and the rest zero."""
    raw = np.zeros((1, 128), np.float32)
    raw[0, : len(values)] = values
    return raw


def test_clipping_to_plus_minus_two() -> None:
    codes = quantize(row([-7.0, -2.0, 2.0, 9.0, 0.0]), IDENTITY)[0]
    assert codes.dtype == np.uint8
    assert list(codes[:5]) == [0, 0, 255, 255, 127]


def test_truncation_not_rounding() -> None:
    # (x + 2) * 255 / 4 = 100.9 -> 100 (rounding would give 101); 200.5 -> 200.
    values = [100.9 * 4 / 255 - 2, 200.5 * 4 / 255 - 2, 254.999 * 4 / 255 - 2]
    codes = quantize(row(values), IDENTITY)[0]
    assert list(codes[:3]) == [100, 200, 254]


def test_pca_is_applied_before_quantizing() -> None:
    rng = np.random.default_rng(0)
    eigen_vectors, _ = np.linalg.qr(rng.standard_normal((128, 128)))
    means = rng.normal(size=(128, 1))
    raw = rng.normal(size=(4, 128)).astype(np.float32)
    expected = np.zeros((4, 128), np.uint8)
    for i in range(4):
        for j in range(128):
            x = float(eigen_vectors[j] @ (raw[i].astype(np.float64) - means[:, 0]))
            x = min(2.0, max(-2.0, x))
            expected[i, j] = int((x + 2.0) * 255.0 / 4.0)
    codes = quantize(raw, PCAParams(eigen_vectors=eigen_vectors, means=means))
    np.testing.assert_array_equal(codes, expected)


def test_dequantize_maps_the_uint8_range_onto_minus_two_to_two() -> None:
    codes = np.array([0, 255, 128], dtype=np.uint8)
    np.testing.assert_allclose(dequantize(codes), [-2.0, 2.0, 128 * 4 / 255 - 2], atol=1e-6)
    assert dequantize(codes).dtype == np.float32


def test_dequantize() -> None:
    codes = np.array([[0, 127, 255]], np.uint8)
    values = dequantize(codes)
    assert values.dtype == np.float32 and values.shape == (1, 3)
    np.testing.assert_allclose(values[0], [-2.0, 127 * 4 / 255 - 2, 2.0], rtol=0, atol=1e-6)
    rng = np.random.default_rng(1)
    raw = rng.uniform(-3, 3, size=(5, 128))
    back = dequantize(quantize(raw, IDENTITY))
    clipped = np.clip(raw, -2, 2)
    assert np.all(back <= clipped + 1e-6)
    assert np.all(clipped - back < 4 / 255 + 1e-6)


@pytest.mark.parametrize("shape", [(128,), (3, 127), (2, 128, 1)])
def test_quantize_shape_checks(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"\[num_frames, 128\]"):
        quantize(np.zeros(shape, np.float32), IDENTITY)


def test_dequantize_wants_uint8() -> None:
    with pytest.raises(ValueError, match="uint8"):
        dequantize(np.zeros((1, 128), np.float32))


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def test_loads_the_official_layout(tmp_path: Path) -> None:
    eigen_vectors = np.arange(128 * 128, dtype=np.float64).reshape(128, 128)
    means = np.arange(128, dtype=np.float64)
    pca = load_pca_params(
        write_npz(tmp_path / "p.npz", pca_eigen_vectors=eigen_vectors, pca_means=means)
    )
    np.testing.assert_array_equal(pca.eigen_vectors, eigen_vectors)
    assert pca.means.shape == (128, 1)
    np.testing.assert_array_equal(pca.means[:, 0], means)
    column = load_pca_params(
        write_npz(tmp_path / "c.npz", pca_eigen_vectors=eigen_vectors, pca_means=means[:, None])
    )
    np.testing.assert_array_equal(column.means, pca.means)


def test_missing_array_is_named(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "p.npz", pca_eigen_vectors=np.eye(128))
    with pytest.raises(CheckpointError, match="lacks the array\\(s\\) pca_means"):
        load_pca_params(path)


def test_wrong_shapes_are_named(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "p.npz", pca_eigen_vectors=np.eye(64), pca_means=np.zeros(127))
    with pytest.raises(CheckpointError) as caught:
        load_pca_params(path)
    message = str(caught.value)
    assert "pca_eigen_vectors has shape [64, 64], expected [128, 128]" in message
    assert "pca_means has shape [127], expected [128]" in message


def test_non_finite_values_are_refused(tmp_path: Path) -> None:
    means = np.zeros(128)
    means[3] = np.nan
    path = write_npz(tmp_path / "p.npz", pca_eigen_vectors=np.eye(128), pca_means=means)
    with pytest.raises(CheckpointError, match="not finite"):
        load_pca_params(path)


@pytest.mark.parametrize(
    "content", [b"", b"PK\x03\x04 truncated zip", np.random.default_rng(2).bytes(4096)]
)
def test_garbage_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "vggish_pca_params.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a readable .npz file"):
        load_pca_params(path)


def test_a_bare_npy_or_text_arrays_are_refused(tmp_path: Path) -> None:
    bare = tmp_path / "bare.npz"
    with bare.open("wb") as handle:
        np.save(handle, np.eye(128))
    with pytest.raises(CheckpointError, match="not a readable .npz file"):
        load_pca_params(bare)
    strings = write_npz(
        tmp_path / "s.npz", pca_eigen_vectors=np.full((128, 128), "x"), pca_means=np.zeros(128)
    )
    with pytest.raises(CheckpointError, match="not a readable .npz file"):
        load_pca_params(strings)


def test_absent_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissingError, match="does not exist"):
        load_pca_params(tmp_path / "none.npz")
