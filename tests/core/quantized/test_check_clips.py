"""The check's generated music: the same samples everywhere, different songs differ."""

from __future__ import annotations

import numpy as np

from musicrec_core.quantized.check_clips import Song, excerpt


def test_an_excerpt_is_ten_seconds_of_bounded_audio_made_the_same_way_twice() -> None:
    samples = excerpt(3, 0)
    assert samples.dtype == np.float32 and samples.shape == (160_000,)
    assert np.all(np.isfinite(samples)) and np.abs(samples).max() <= 1.0
    assert samples.std() > 0.01, "an excerpt should not be silent"
    np.testing.assert_array_equal(samples, excerpt(3, 0))


def test_excerpts_of_one_song_share_its_style_but_not_their_notes() -> None:
    first, second, other = excerpt(5, 0, 3.0), excerpt(5, 1, 3.0), excerpt(6, 0, 3.0)
    assert not np.array_equal(first, second) and not np.array_equal(first, other)
    assert Song.drawn(5) == Song.drawn(5) != Song.drawn(6)
