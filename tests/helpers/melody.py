"""Melodies to fingerprint, and phone-like recordings of them, made with numpy and ffmpeg.

``melody(seed, seconds)`` is a random sequence of two-voice notes (a new pitch pair every
quarter second, 300-3000 Hz, each note faded in and out): its spectrogram has the sharp,
moving peaks real music has, and another seed gives another tune. ``write_audio`` encodes
samples with real ffmpeg (the container follows the suffix); ``phone_recording`` is what a
phone held to a speaker hears of a clip: pink noise at 10 dB SNR, a 300-3400 Hz band and
32 kbit/s MP3, decoded back the way a user's upload is.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from musicrec_core.audio import load_clip
from musicrec_core.clip import SAMPLE_RATE_HZ, Clip

NOTE_S = 0.25


def melody(seed: int, seconds: float) -> np.ndarray:
    """float32 [seconds * 16000] in [-0.5, 0.5]: two voices, a new note every NOTE_S."""
    rng = np.random.default_rng(seed)
    note = int(NOTE_S * SAMPLE_RATE_HZ)
    count = int(np.ceil(seconds / NOTE_S))
    t = np.arange(note) / SAMPLE_RATE_HZ
    envelope = np.hanning(note)
    notes = []
    for _ in range(count):
        low, high = rng.uniform(300.0, 3000.0, size=2)
        notes.append(envelope * (np.sin(2 * np.pi * low * t) + 0.6 * np.sin(2 * np.pi * high * t)))
    samples = np.concatenate(notes)[: int(seconds * SAMPLE_RATE_HZ)]
    return (0.3 * samples).astype(np.float32)


def write_audio(path: Path, samples: np.ndarray, filters: str = "anull", *args: str) -> Path:
    """Encode 16-kHz float32 ``samples`` to ``path`` through ffmpeg ``filters``."""
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "f32le", "-ar", "16000"]
    command += ["-ac", "1", "-i", "-", "-af", filters, *args, str(path)]
    subprocess.run(command, input=samples.astype("<f4").tobytes(), check=True, timeout=60)
    return path


def phone_recording(samples: np.ndarray, path: Path, seed: int) -> Clip:
    """``samples`` as a phone hears them (see the module docstring), decoded from
    ``path`` (an .mp3 this writes)."""
    white = np.random.default_rng(seed).standard_normal(samples.size)
    spectrum = np.fft.rfft(white)
    spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))  # pink: power falls as 1/f
    noise = np.fft.irfft(spectrum, samples.size)
    noise *= np.sqrt(np.mean(samples**2) / np.mean(noise**2)) / 10 ** (10 / 20)
    mixed = (samples + noise).astype(np.float32)
    mixed /= max(1.0, float(np.abs(mixed).max()) / 0.99)
    band = "highpass=f=300,highpass=f=300,lowpass=f=3400,lowpass=f=3400"
    write_audio(path, mixed, band, "-c:a", "libmp3lame", "-b:a", "32k")
    return load_clip(path, start_s=0.0)
