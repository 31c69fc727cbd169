"""A small, fast, deterministic Embedder for catalog and recommender tests.

:class:`BandEnergyEmbedder` is an honest implementation of the Embedder interface, not a
stub: each 1-second frame of a clip becomes the square roots of its spectral energy shares
in 16 log-spaced bands between 50 Hz and 8 kHz. Tones of different pitch land in different
bands, so their vectors are nearly orthogonal; the same audio always gives the same
vectors. With ``tags=True`` it also reports "tags" named after the bands (probability =
the band's energy share), to exercise the code paths that store and show music tags.

It counts its calls (``calls``: embed_many invocations; ``clips``: clips embedded), so
tests can prove that cached work is not redone.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from musicrec_core.clip import SAMPLE_RATE_HZ, Clip
from musicrec_core.embedders.base import Embedder, Embedding, Tag

BANDS = 16
BAND_EDGES_HZ = np.geomspace(50.0, 8000.0, BANDS + 1)
"""Edges of the bands, in Hz (17 edges for 16 bands)."""


class BandEnergyEmbedder(Embedder):
    """Spectral band-energy frames: float32 [num_seconds, 16], one frame per second."""

    name = "bands"
    version = "1"
    frame_rate_hz = 1.0
    frame_seconds = 1.0
    dim = BANDS

    def __init__(self, *, tags: bool = False, version: str = "1") -> None:
        self.version = version
        self.with_tags = tags
        self.calls = 0
        self.clips = 0
        self._lock = threading.Lock()

    def embed_many(self, clips: Sequence[Clip]) -> list[Embedding]:
        with self._lock:
            self.calls += 1
            self.clips += len(clips)
        return [self._embed_one(clip.samples) for clip in clips]

    def _embed_one(self, samples: np.ndarray) -> Embedding:
        frame_len = SAMPLE_RATE_HZ
        n_frames = max(1, samples.shape[0] // frame_len)
        frames = np.zeros((n_frames, BANDS), dtype=np.float32)
        freqs = np.fft.rfftfreq(frame_len, d=1.0 / SAMPLE_RATE_HZ)
        band_of_bin = np.searchsorted(BAND_EDGES_HZ, freqs, side="right") - 1
        in_range = (band_of_bin >= 0) & (band_of_bin < BANDS)
        for i in range(n_frames):
            chunk = samples[i * frame_len : (i + 1) * frame_len]
            power = np.abs(np.fft.rfft(chunk, n=frame_len)) ** 2
            energy = np.bincount(band_of_bin[in_range], power[in_range], minlength=BANDS)
            share = energy / max(float(energy.sum()), 1e-12)
            frames[i] = np.sqrt(share)
        tags: tuple[Tag, ...] = ()
        if self.with_tags:
            mean_share = (frames**2).mean(axis=0)
            order = np.argsort(-mean_share, kind="stable")
            tags = tuple(Tag(f"band{b:02d}", float(mean_share[b])) for b in order)
        return Embedding(vectors=frames, raw=frames.copy(), tags=tags)
