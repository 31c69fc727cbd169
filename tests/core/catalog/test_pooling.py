"""The pooling rule shared by index and query."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_core.catalog.pooling import (
    DEFAULT_POOLING,
    POOLING_RULES,
    pool,
    pool_many,
    pool_quantized,
    pool_segments,
    pooled_dim,
)
from musicrec_core.embedders.vggish.postprocess import dequantize, dequantize_mean


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
    expected = dequantize_mean(pool_many(strided, "mean"))
    np.testing.assert_array_equal(pool_quantized(strided, "mean"), expected)


@pytest.mark.parametrize("rule", POOLING_RULES)
def test_ingest_and_query_put_every_code_on_the_same_float32_values(rule: str) -> None:
    # Every code 0..255 once, as 256 one-frame segments of width 1 and as 2 of width 128.
    for codes in (
        np.arange(256, dtype=np.uint8).reshape(256, 1, 1),
        np.arange(256, dtype=np.uint8).reshape(2, 1, 128),
    ):
        ingest = pool_quantized(codes, rule)  # AudioSet's uint8 features, pooled as codes
        query = np.stack([pool(dequantize(segment), rule) for segment in codes])  # VGGish
        assert ingest.dtype == query.dtype == np.float32
        np.testing.assert_array_equal(ingest, query)
    reference = (np.arange(256) * 4.0 / 255.0 - 2.0).astype(np.float32)
    np.testing.assert_array_equal(pool_quantized(codes, "mean").ravel(), reference)
