"""The decode workers and the ffmpeg programs give the same clip.

Bit for bit where both libav versions decode the same samples (PCM WAV, FLAC, MP3): the
same seek, the same lead-in dropped by timestamp, the same libsoxr at 28-bit precision.
Within :data:`FLOAT_DECODER_TOLERANCE` for the float decoders of Vorbis, AAC and Opus:
the worker's libav (PyAV's wheel) and the system's ffmpeg round their last float bits
differently (seen: at most 3e-8, a few float32 steps; 16-bit audio steps by 3e-5).
The window rule may pick a start up to :data:`DURATION_SLACK_S` apart on MP3: newer libav
leaves the encoder's delay and padding out of the duration (a 30-s file: 30.000 s against
30.041 s), which moves the candidate windows by 70 % of that difference at most.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.audio import decode_workers, load_clip
from musicrec_core.audio.decode_workers import default_workers
from musicrec_core.audio.process import Budget, find_binaries, resampler_for
from musicrec_core.audio.window import candidate_starts
from tests.helpers.long_media import long_many_channel_opus
from tests.helpers.media import run_ffmpeg

FLOAT_DECODER_TOLERANCE = 1e-7
DURATION_SLACK_S = 0.05
OPUS_RELATIVE_RMS = 0.01
"""Opus clips of the two paths differ by at most this share of the signal's RMS (-40 dB)."""

FORMATS = {
    "wav": ("song.wav", ("-c:a", "pcm_s16le"), 0.0),
    "flac": ("song.flac", ("-c:a", "flac"), 0.0),
    "mp3": ("song.mp3", ("-c:a", "libmp3lame"), 0.0),
    "ogg": ("song.ogg", ("-c:a", "libvorbis"), FLOAT_DECODER_TOLERANCE),
    "m4a": ("song.m4a", ("-c:a", "aac"), FLOAT_DECODER_TOLERANCE),
    "video": (
        "clip.mp4",
        ("-c:a", "aac", "-c:v", "libx264", "-pix_fmt", "yuv420p"),
        FLOAT_DECODER_TOLERANCE,
    ),
}

pytestmark = pytest.mark.skipif(default_workers() is None, reason="PyAV or soxr not installed")


def _song(path: Path, codec_args: tuple[str, ...]) -> Path:
    """25 s of pink noise and a 330-Hz tone growing louder, stereo (the right channel at
    half level), with a test-pattern video when ``path`` is an MP4. The loudest candidate
    window is the last one, so a worker reads it after the three others."""
    video = ["-f", "lavfi", "-t", "25", "-i", "testsrc=size=64x48:rate=5"]
    noise = "anoisesrc=color=pink:sample_rate=44100:amplitude=0.3:seed=7"
    mix = "[0:a][1:a]amix=inputs=2,volume='0.2+0.8*t/25':eval=frame,pan=stereo|c0=c0|c1=0.5*c0"
    run_ffmpeg(
        "-f", "lavfi", "-t", "25", "-i", noise,
        "-f", "lavfi", "-t", "25", "-i", "sine=frequency=330:sample_rate=44100",
        *(video if path.suffix == ".mp4" else []),
        "-filter_complex", mix, *codec_args, str(path),
    )  # fmt: skip
    return path


def _both(path: Path, start_s: float | None, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """(the worker's clip, the ffmpeg programs' clip); the pool stays up in between."""
    worker = load_clip(path, start_s=start_s)
    with monkeypatch.context() as patch:
        patch.setattr(decode_workers, "_disabled", True)
        ffmpeg = load_clip(path, start_s=start_s)
    return worker, ffmpeg


@pytest.mark.parametrize("kind", list(FORMATS))
def test_both_paths_give_the_same_clip(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if resampler_for(find_binaries()[0], Budget(30, "buildconf")) != "soxr":
        pytest.skip("this ffmpeg resamples without libsoxr; the workers always use it")
    name, codec_args, tolerance = FORMATS[kind]
    path = _song(tmp_path / name, codec_args)
    for start in (0.0, 7.777):
        worker, ffmpeg = _both(path, start, monkeypatch)
        assert worker.provenance.start_s == ffmpeg.provenance.start_s == start
        assert worker.samples.shape == ffmpeg.samples.shape == (160_000,)
        if tolerance == 0.0:
            np.testing.assert_array_equal(worker.samples, ffmpeg.samples)
        else:
            np.testing.assert_allclose(worker.samples, ffmpeg.samples, rtol=0, atol=tolerance)
    worker, ffmpeg = _both(path, None, monkeypatch)
    last = candidate_starts(25.0, 10.0)[-1]
    assert worker.provenance.start_s == pytest.approx(last, abs=DURATION_SLACK_S)
    assert ffmpeg.provenance.start_s == pytest.approx(last, abs=DURATION_SLACK_S)
    if worker.provenance.start_s == ffmpeg.provenance.start_s:
        np.testing.assert_allclose(worker.samples, ffmpeg.samples, rtol=0, atol=tolerance)


def test_the_most_channels_musicrec_reads_give_the_same_clip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An 8-channel Opus file: PyAV 18 lists one plane too many for it, and reading its
    frames as arrays crashed the worker (every such upload answered "the decoder stopped").
    Opus is held to :data:`OPUS_RELATIVE_RMS`: the worker's libav 8 and the system's ffmpeg
    5.1 Opus decoders differ by more than float rounding (seen: 0.07 % of the signal's RMS,
    about -63 dB, on stereo and 8-channel noise alike), far below what an embedding hears."""
    if resampler_for(find_binaries()[0], Budget(30, "buildconf")) != "soxr":
        pytest.skip("this ffmpeg resamples without libsoxr; the workers always use it")
    path = long_many_channel_opus(tmp_path / "eight.opus", seconds=20, bitrate="96k")
    worker, ffmpeg = _both(path, 5.0, monkeypatch)
    assert worker.samples.shape == ffmpeg.samples.shape == (160_000,)
    difference = np.sqrt(np.mean((worker.samples - ffmpeg.samples) ** 2))
    assert difference <= OPUS_RELATIVE_RMS * np.sqrt(np.mean(ffmpeg.samples**2))
