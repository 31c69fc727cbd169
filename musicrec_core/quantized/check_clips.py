"""Music-like clips made from numbers, the same on every machine, for the precision check.

The agreement check needs audio with music's structure (pitched notes with harmonics, a
bass line, drums, a tempo) and needs every operator to measure on the same audio, without
shipping recordings. So the project makes them: a *song* is a seeded set of choices (tempo
70-170 BPM, key, major or minor scale, an instrument's harmonic roll-off and note decay, a
drum pattern, a noise floor, a level); an *excerpt* of a song is 10 s of a melody over a
chord's bass and the song's drums, drawn from a generator seeded by (song, excerpt). Two
excerpts of one song share tempo, key, timbre and drums but not their notes, so a library
holds near neighbours as a real one does.

Everything is numpy with seeded ``default_rng`` streams: :func:`excerpt` returns the same
float32 samples for the same arguments on any platform numpy supports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicrec_core.clip import CLIP_SECONDS, SAMPLE_RATE_HZ
from musicrec_core.errors import MusicrecError
from musicrec_core.quantized.agreement import NEIGHBOURS

DEFAULT_LIBRARY = 400
"""Library clips a check searches by default."""
DEFAULT_QUERIES = 200
"""Query clips by default."""

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_PARTIALS = 8


@dataclass(frozen=True)
class Song:
    """What every excerpt of one song shares.

    Attributes:
        beat_s: seconds per beat.
        root_hz: the key's tonic (in the bass octave).
        scale: semitone steps of the scale from the root.
        rolloff: partial k has amplitude k ** -rolloff (bright < 1.5 < dull).
        decay_per_s: exponential decay rate of a note's envelope.
        kick, snare, hat: per-eighth-note probabilities of each drum.
        noise: level of the steady noise floor.
        level: peak level of the mix.
    """

    beat_s: float
    root_hz: float
    scale: tuple[int, ...]
    rolloff: float
    decay_per_s: float
    kick: float
    snare: float
    hat: float
    noise: float
    level: float

    @classmethod
    def drawn(cls, song: int) -> Song:
        """The song numbered ``song`` (any non-negative integer)."""
        rng = np.random.default_rng([0x5EED, song])
        return cls(
            beat_s=60.0 / rng.uniform(70.0, 170.0),
            root_hz=55.0 * 2 ** (rng.integers(0, 12) / 12),
            scale=_MAJOR if rng.random() < 0.5 else _MINOR,
            rolloff=rng.uniform(0.6, 2.5),
            decay_per_s=rng.uniform(0.5, 8.0),
            kick=rng.uniform(0.0, 0.6),
            snare=rng.uniform(0.0, 0.4),
            hat=rng.uniform(0.0, 0.9),
            noise=rng.uniform(0.0, 0.03),
            level=rng.uniform(0.2, 0.9),
        )


def check_sizes(library: int, queries: int) -> None:
    """Raise unless a check can search ``queries`` queries in ``library`` clips.

    Raises:
        MusicrecError: fewer than NEIGHBOURS library clips, or queries not in 1 .. library.
    """
    if library < NEIGHBOURS or not 1 <= queries <= library:
        raise MusicrecError(
            f"The check needs at least {NEIGHBOURS} library clips and between 1 and that "
            f"many queries (got {library} and {queries})."
        )


def library_and_queries(library: int, queries: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The clips a check compares: (library, queries) waveforms as :func:`excerpt` returns.

    The library is excerpt 0 of songs 0 .. library-1, the queries excerpt 1 of songs
    0 .. queries-1, so each query's song is in the library by another excerpt, as in a
    real one. Sizes as :func:`check_sizes` accepts.
    """
    library_clips = [excerpt(song, 0) for song in range(library)]
    return library_clips, [excerpt(song, 1) for song in range(queries)]


def excerpt(song: int, number: int, seconds: float = CLIP_SECONDS) -> np.ndarray:
    """Excerpt ``number`` of song ``song``: float32 [seconds * 16000] mono in [-1, 1]."""
    style = Song.drawn(song)
    rng = np.random.default_rng([0xC11B, song, number])
    length = int(round(seconds * SAMPLE_RATE_HZ))
    mix = np.zeros(length, np.float64)
    step_s = style.beat_s / 2  # an eighth note
    steps = int(np.ceil(seconds / step_s))
    degree = int(rng.integers(0, 7))
    for index in range(steps):
        start = int(index * step_s * SAMPLE_RATE_HZ)
        if rng.random() < 0.7:  # a melody note, moving by small steps through the scale
            degree = int(np.clip(degree + rng.integers(-2, 3), 0, 13))
            _add_note(mix, start, _pitch(style, degree, octave=2), 2 * step_s, style, 0.5)
        if index % 4 == 0:  # a bass note every half bar
            root = int(rng.choice([0, 3, 4, 5]))
            _add_note(mix, start, _pitch(style, root, octave=0), 4 * step_s, style, 0.7)
        for drum, chance in (("kick", style.kick), ("snare", style.snare), ("hat", style.hat)):
            if rng.random() < chance:
                _add_drum(mix, start, drum, rng)
    mix += style.noise * rng.standard_normal(length)
    peak = float(np.abs(mix).max()) or 1.0
    return (mix * (style.level / peak)).astype(np.float32)


def _pitch(style: Song, degree: int, octave: int) -> float:
    semitones = style.scale[degree % 7] + 12 * (degree // 7 + octave)
    return style.root_hz * 2 ** (semitones / 12)


def _add_note(
    mix: np.ndarray, start: int, hz: float, seconds: float, style: Song, gain: float
) -> None:
    """Add a harmonic note (partials up to 7.5 kHz) with a 5-ms attack and decay."""
    count = min(int(seconds * SAMPLE_RATE_HZ), mix.size - start)
    if count <= 0:
        return
    t = np.arange(count) / SAMPLE_RATE_HZ
    envelope = np.minimum(t / 0.005, 1.0) * np.exp(-style.decay_per_s * t)
    tone = np.zeros(count)
    for k in range(1, _PARTIALS + 1):
        if k * hz < 7500.0:
            tone += k**-style.rolloff * np.sin(2 * np.pi * k * hz * t)
    mix[start : start + count] += gain * envelope * tone


def _add_drum(mix: np.ndarray, start: int, drum: str, rng: np.random.Generator) -> None:
    """Add a kick (falling sine), snare (noise and a tone) or hi-hat (bright noise)."""
    seconds = {"kick": 0.25, "snare": 0.18, "hat": 0.05}[drum]
    count = min(int(seconds * SAMPLE_RATE_HZ), mix.size - start)
    if count <= 0:
        return
    t = np.arange(count) / SAMPLE_RATE_HZ
    noise = rng.standard_normal(count)
    if drum == "kick":
        sound = np.sin(2 * np.pi * (50 * t + 60 * (1 - np.exp(-30 * t)) / 30)) * np.exp(-12 * t)
    elif drum == "snare":
        sound = (0.6 * noise + 0.4 * np.sin(2 * np.pi * 190 * t)) * np.exp(-20 * t)
    else:
        sound = np.diff(noise, prepend=0.0) * 0.5 * np.exp(-60 * t)
    mix[start : start + count] += 0.8 * sound
