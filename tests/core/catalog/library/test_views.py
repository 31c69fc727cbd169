"""Phone views: the band, the noise level, determinism, and the index items built from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.audio import load_clip
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.library import build_library, plan_windows, track_key
from musicrec_core.catalog.library.views import PHONE_BAND_HZ, phone_view, view_seed
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pool
from musicrec_core.clip import SAMPLE_RATE_HZ, Clip
from tests.core.catalog.library.folder import WINDOWS
from tests.helpers.band_embedder import BandEnergyEmbedder


def tone(hz: float, seconds: float = 10.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_a_view_keeps_only_the_phone_band() -> None:
    samples = tone(100.0) + tone(1000.0) + tone(6000.0)
    view = phone_view(samples / 2, seed=1)
    assert view.shape == samples.shape and view.dtype == np.float32
    assert np.all(np.isfinite(view)) and np.abs(view).max() <= 1.0
    spectrum = np.abs(np.fft.rfft(view))
    frequencies = np.fft.rfftfreq(view.size, 1.0 / SAMPLE_RATE_HZ)
    low, high = PHONE_BAND_HZ
    outside = (frequencies < low) | (frequencies > high)
    assert spectrum[outside].max() < 1e-6 * spectrum.max()
    at = {hz: spectrum[np.argmin(np.abs(frequencies - hz))] for hz in (100, 1000, 6000)}
    assert at[1000] > 1000 * max(at[100], at[6000], 1e-12)


def test_the_noise_sits_about_15_db_below_the_window() -> None:
    """Pink noise at 15 dB below the window's RMS over 20-8000 Hz; the phone band keeps
    about 40 % of its power (ln(3400/300) / ln(8000/20)), so about 19 dB in band."""
    clean = tone(1000.0)
    view = phone_view(clean, seed=7).astype(np.float64)
    noise = view - clean  # the tone lies in the band and passes unchanged
    snr_db = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise**2))
    assert 17.0 < snr_db < 21.0


def test_views_are_deterministic_per_track_and_window() -> None:
    samples = tone(440.0)
    assert view_seed("abc", 0) == view_seed("abc", 0)
    assert len({view_seed("abc", 0), view_seed("abc", 1), view_seed("abd", 0)}) == 3
    np.testing.assert_array_equal(phone_view(samples, 3), phone_view(samples, 3))
    assert not np.array_equal(phone_view(samples, 3), phone_view(samples, 4))
    silent = np.zeros(SAMPLE_RATE_HZ, dtype=np.float32)
    np.testing.assert_array_equal(phone_view(silent, 3), silent)  # no signal, no noise


def test_each_window_is_indexed_with_its_phone_view(library: Path, tmp_path: Path) -> None:
    """Build and query apply the same view: the stored phone-view vector is the pooled
    embedding of phone_view(window, view_seed(track, window))."""
    embedder = BandEnergyEmbedder()
    mid = library / "nested" / "deeper" / "mid.mp3"
    build_library([str(mid)], tmp_path / "index", embedder, windows=WINDOWS)
    starts = plan_windows(load_clip(mid).provenance.source_duration_s, WINDOWS)
    with CatalogIndex.load(tmp_path / "index") as index:
        assert len(index) == 2 * len(starts)
        metas = index.metas(range(len(index)))
        for i, start in enumerate(starts):
            window = load_clip(mid, start_s=start)
            view = Clip(phone_view(window.samples, view_seed(track_key(mid), i)))
            clean_item, view_item = i, len(starts) + i
            assert metas[clean_item] == metas[view_item]
            assert metas[view_item].start_s == pytest.approx(start, abs=1e-3)
            for item, clip in ((clean_item, window), (view_item, view)):
                expected = pool(embedder.embed(clip).vectors, DEFAULT_POOLING)
                np.testing.assert_allclose(index.vector(item), expected, rtol=1e-5, atol=1e-6)
