"""The pooling rule shared by index and query."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_core.catalog.pooling import (
    DEFAULT_POOLING,
    POOLING_RULES,
    QUANTIZED_MAX,
    QUANTIZED_MIN,
    dequantize,
    pool,
    pool_many,
    pool_quantized,
    pool_segments,
    pooled_dim,
)


def test_default_rule_is_known() -> None:
    assert DEFAULT_POOLING in POOLING_RULES


def test_mean_pooling_averages_frames() -> None:
    frames = np.array([[1.0, 2.0], [3.0, 6.0]], dtype=np.float32)
    pooled = pool(frames, "mean")
    assert pooled.dtype == np.float32
    np.testing.assert_allclose(pooled, [2.0, 4.0])


def test_mean_std_pooling_concatenates_mean_and_population_std() -> None:
    frames = np.array([[1.0, 2.0], [3.0, 6.0]], dtype=np.float32)
    np.testing.assert_allclose(pool(frames, "mean_std"), [2.0, 4.0, 1.0, 2.0])
    assert pooled_dim(2, "mean_std") == 4
    np.testing.assert_allclose(pool(frames[:1], "mean_std"), [1.0, 2.0, 0.0, 0.0])


@pytest.mark.parametrize("rule", POOLING_RULES)
def test_pooled_width_follows_the_rule(rule: str) -> None:
    frames = np.random.default_rng(0).normal(size=(7, 128)).astype(np.float32)
    assert pool(frames, rule).shape == (pooled_dim(128, rule),)


@pytest.mark.parametrize("rule", POOLING_RULES)
def test_batched_pooling_matches_one_at_a_time(rule: str) -> None:
    rng = np.random.default_rng(1)
    lengths = np.array([10, 1, 3, 10, 7])
    frames = rng.normal(size=(int(lengths.sum()), 16)).astype(np.float32)
    batched = pool_segments(frames, lengths, rule)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    for row, (start, stop) in enumerate(zip(offsets[:-1], offsets[1:], strict=True)):
        np.testing.assert_allclose(batched[row], pool(frames[start:stop], rule), atol=1e-5)


def test_batched_pooling_of_nothing_is_empty() -> None:
    empty = pool_segments(np.zeros((0, 8), np.float32), np.zeros(0, np.int64), "mean_std")
    assert empty.shape == (0, 16)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown pooling rule 'max'"):
        pool(np.zeros((2, 3), np.float32), "max")
    with pytest.raises(ValueError, match="zero frames"):
        pool(np.zeros((0, 3), np.float32), "mean")
    with pytest.raises(ValueError, match="2-D"):
        pool(np.zeros(3, np.float32), "mean")
    with pytest.raises(ValueError, match="at least one frame"):
        pool_segments(np.zeros((3, 2), np.float32), np.array([3, 0]), "mean")


def test_dequantize_maps_the_uint8_range_onto_minus_two_to_two() -> None:
    codes = np.array([0, 255, 128], dtype=np.uint8)
    np.testing.assert_allclose(dequantize(codes), [-2.0, 2.0, 128 * 4 / 255 - 2], atol=1e-6)
    assert dequantize(codes).dtype == np.float32


@pytest.mark.parametrize("rule", POOLING_RULES)
def test_pooling_the_codes_equals_pooling_the_dequantized_frames(rule: str) -> None:
    codes = np.random.default_rng(2).integers(0, 256, size=(6, 10, 128), dtype=np.uint8)
    expected = pool_many(dequantize(codes), rule)
    np.testing.assert_allclose(pool_quantized(codes, rule), expected, atol=2e-5)
    np.testing.assert_allclose(expected[3], pool(dequantize(codes[3]), rule), atol=1e-6)


@pytest.mark.parametrize("frames", [1, 10, 300])
def test_quantized_mean_is_exactly_the_float32_mean_of_the_codes(frames: int) -> None:
    codes = np.random.default_rng(3).integers(0, 256, size=(5, 2 * frames, 128), dtype=np.uint8)
    codes[0] = 255  # the largest sums: 300 frames overflow a uint16 accumulator
    strided = codes[:, ::2]  # the reader pools strided views of its record buffer
    scale = np.float32((QUANTIZED_MAX - QUANTIZED_MIN) / 255.0)
    expected = pool_many(strided, "mean") * scale + np.float32(QUANTIZED_MIN)
    np.testing.assert_array_equal(pool_quantized(strided, "mean"), expected)
