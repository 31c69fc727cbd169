"""The quality benchmark's data: the corpus, seeded queries and their degradations, MFCCs,
and an exact-search scorer for the baselines.

Used by ``benchmarks/bench_quality.py``; see its docstring for what is measured.

- Corpus: the folder ``scripts/fetch_corpus.py`` writes; each collection's folder holds its
  tracks and ``corpus.json`` lists them. A track is known by its library key (the sha256 of
  its bytes), so index results map back to a track and its collection.
- Queries: a track chosen at random and a 10-s window at a random offset (seeded), decoded
  like any query file. Degradations are rendered to files and decoded back through the
  same path a user's upload takes:
  *phone*: pink noise (ffmpeg ``anoisesrc``) mixed in at :data:`PHONE_SNR_DB`, a
  300-3400 Hz band (two cascaded 2-pole high-passes and low-passes), then MP3 at 32 kbit/s;
  *speed*: played :data:`SPEED_FACTOR` fast (pitch and tempo both, ``asetrate``), WAV.
- MFCC: DCT-II of the log mel spectrogram of musicnn's frontend (96 Slaney bands, 16 ms
  hop), coefficients 1..:data:`MFCC_COEFFS` (c0, the loudness, left out); a window is the
  mean and standard deviation over its frames.
"""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_core.audio import load_clip, probe_audio
from musicrec_core.catalog.library.tracks import track_key
from musicrec_core.clip import CLIP_SECONDS, SAMPLE_RATE_HZ, Clip
from musicrec_core.embedders.musicnn.frontend import mel_spectrogram

PHONE_SNR_DB = 10.0
"""Signal-to-noise ratio of the phone degradation (clip RMS over pink-noise RMS)."""
PHONE_BAND_HZ = (300, 3400)
PHONE_BITRATE = "32k"
SPEED_FACTOR = 1.03
MFCC_COEFFS = 20
CONDITIONS = ("clean", "phone", "speed")


@dataclass(frozen=True)
class Track:
    """One corpus track: its file, library key, collection and duration in seconds."""

    path: Path
    key: str
    collection: str
    duration_s: float


@dataclass(frozen=True)
class Query:
    """One query: a track and the offset of its 10-s window, in seconds."""

    number: int
    track: Track
    start_s: float


def load_corpus(corpus_dir: Path) -> list[Track]:
    """Every track ``corpus.json`` lists, keyed and timed."""
    description = json.loads((corpus_dir / "corpus.json").read_text())
    tracks = []
    for collection in description["collections"]:
        for name in collection["tracks"]:
            path = corpus_dir / collection["name"] / name
            duration = probe_audio(path).duration_s or 0.0
            tracks.append(Track(path, track_key(path), collection["name"], duration))
    return tracks


def make_queries(tracks: Sequence[Track], count: int, seed: int) -> list[Query]:
    """``count`` queries: tracks drawn uniformly (with replacement), offsets uniform in
    [0, duration - 10 s]."""
    rng = np.random.default_rng(seed)
    queries = []
    for number in range(count):
        track = tracks[int(rng.integers(len(tracks)))]
        latest = max(0.0, track.duration_s - CLIP_SECONDS)
        queries.append(Query(number, track, round(float(rng.uniform(0.0, latest)), 3)))
    return queries


def query_clip(query: Query, condition: str, work_dir: Path) -> Clip:
    """The query's clip under ``condition`` (rendered once into ``work_dir``, then reused)."""
    clean = load_clip(query.track.path, start_s=query.start_s)
    if condition == "clean":
        return clean
    suffix = ".mp3" if condition == "phone" else ".wav"
    path = work_dir / f"q{query.number:04d}-{query.start_s:.3f}-{condition}{suffix}"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        render = _phone if condition == "phone" else _speed
        render(clean.samples, path, seed=query.number)
    return load_clip(path, start_s=0.0)


def _ffmpeg_from_samples(samples: np.ndarray, filters: str, out_args: list[str], out: Path) -> None:
    """Pipe a 16 kHz float32 waveform through ffmpeg ``filters`` into ``out``."""
    command = ["ffmpeg", "-v", "error", "-y", "-f", "f32le", "-ar", str(SAMPLE_RATE_HZ)]
    command += ["-ac", "1", "-i", "-", "-af", filters, *out_args, str(out)]
    subprocess.run(command, input=samples.astype("<f4").tobytes(), check=True)


def pink_noise(seconds: float, seed: int) -> np.ndarray:
    """ffmpeg's pink noise at 16 kHz, float32 [seconds * 16000], unit RMS."""
    source = f"anoisesrc=color=pink:sample_rate={SAMPLE_RATE_HZ}:duration={seconds}:seed={seed}"
    command = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", source, "-f", "f32le", "-"]
    noise = np.frombuffer(subprocess.run(command, capture_output=True, check=True).stdout, "<f4")
    return (noise / np.sqrt(np.mean(np.square(noise, dtype=np.float64)))).astype(np.float32)


def _phone(samples: np.ndarray, out: Path, seed: int) -> None:
    noise = pink_noise(samples.size / SAMPLE_RATE_HZ + 0.1, seed)[: samples.size]
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    mixed = samples + noise * rms / 10 ** (PHONE_SNR_DB / 20)
    mixed /= max(1.0, float(np.abs(mixed).max()) / 0.99)  # the phone's gain control
    low, high = PHONE_BAND_HZ
    band = f"highpass=f={low},highpass=f={low},lowpass=f={high},lowpass=f={high}"
    _ffmpeg_from_samples(mixed, band, ["-c:a", "libmp3lame", "-b:a", PHONE_BITRATE], out)


def _speed(samples: np.ndarray, out: Path, seed: int) -> None:
    del seed  # deterministic
    rate = round(SAMPLE_RATE_HZ * SPEED_FACTOR)
    filters = f"asetrate={rate},aresample={SAMPLE_RATE_HZ}"
    _ffmpeg_from_samples(samples, filters, ["-c:a", "pcm_s16le"], out)


@functools.cache
def _dct_matrix(bands: int, coeffs: int) -> np.ndarray:
    """Orthonormal DCT-II rows 1..coeffs, float32 [coeffs, bands]."""
    n = np.arange(bands)
    k = np.arange(1, coeffs + 1)[:, None]
    return (np.sqrt(2.0 / bands) * np.cos(np.pi * k * (2 * n + 1) / (2 * bands))).astype(np.float32)


def mfcc_window(samples: np.ndarray) -> np.ndarray:
    """MFCC mean and std of one window: float32 [2 * MFCC_COEFFS]."""
    log_mel = np.log(mel_spectrogram(samples) + np.float32(1e-6))  # [frames, bands]
    coefficients = log_mel @ _dct_matrix(log_mel.shape[1], MFCC_COEFFS).T
    return np.concatenate([coefficients.mean(axis=0), coefficients.std(axis=0)])


@dataclass(frozen=True)
class Scores:
    """Per-query outcomes of one method under one condition (booleans and shares)."""

    hit1: np.ndarray
    hit5: np.ndarray
    style5: np.ndarray

    def summary(self) -> dict[str, float]:
        return {
            "hit@1": float(self.hit1.mean()),
            "hit@5": float(self.hit5.mean()),
            "style@5": float(self.style5.mean()),
        }


def score_rankings(
    rankings: Sequence[Sequence[str]], queries: Sequence[Query], collection_of: dict[str, str]
) -> Scores:
    """Score ranked distinct groups (at least 6 per query, best first, own track included).

    hit@k: the query's own track is among the first k. style@5: of the first five results
    other than the query's own track, the share from the query's own collection.
    """
    hit1, hit5, style = [], [], []
    for ranking, query in zip(rankings, queries, strict=True):
        hit1.append(ranking[0] == query.track.key)
        hit5.append(query.track.key in ranking[:5])
        others = [group for group in ranking if group != query.track.key][:5]
        same = sum(collection_of[group] == query.track.collection for group in others)
        style.append(same / len(others))
    return Scores(np.array(hit1), np.array(hit5), np.array(style))


def exact_rankings(
    items: np.ndarray, groups: Sequence[str], queries: np.ndarray, depth: int = 6
) -> list[list[str]]:
    """Exact cosine search: for each query row, the first ``depth`` distinct groups, the best
    item of each group deciding its rank. items [n, d], queries [q, d]."""
    unit_items = items / np.linalg.norm(items, axis=1, keepdims=True)
    unit_queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    similarities = unit_queries @ unit_items.T  # [q, n]
    rankings = []
    for row in similarities:
        ranking: list[str] = []
        for item in np.argsort(-row, kind="stable"):
            if groups[item] not in ranking:
                ranking.append(groups[item])
                if len(ranking) == depth:
                    break
        rankings.append(ranking)
    return rankings
