"""Expensive but legal uploads: long, many-channel Opus files, as a flooding member sends.

An 8-channel (the most musicrec reads) Opus file of 10 minutes at 320 kbit/s is 20 MiB
(12 minutes: 24 MiB), under Discord's 25 MiB, and every channel of each candidate window is decoded
before the downmix. Encoding many channels is slow, so :func:`long_many_channel_opus`
encodes one short block of noise and repeats it by stream copy (the way
:func:`tests.helpers.hostile_media.long_silent_mp3` makes hours of silence).
"""

from __future__ import annotations

from pathlib import Path

from musicrec_core.audio.decode import MAX_CHANNELS
from tests.helpers.media import run_ffmpeg

BLOCK_SECONDS = 5


def long_many_channel_opus(
    path: Path, *, seconds: int = 600, channels: int = MAX_CHANNELS, bitrate: str = "320k"
) -> Path:
    """Write ``seconds`` (a multiple of 5) of ``channels``-channel white noise as Ogg Opus."""
    block = path.with_name(path.stem + "-block.opus")
    labels = "".join(f"[c{n}]" for n in range(channels))
    graph = f"[0]asplit={channels}{labels};{labels}amerge=inputs={channels}"
    noise = "anoisesrc=sample_rate=48000:amplitude=0.3"
    run_ffmpeg("-f", "lavfi", "-t", str(BLOCK_SECONDS), "-i", noise,
               "-filter_complex", graph, "-c:a", "libopus", "-b:a", bitrate,
               "-mapping_family", "255", str(block))  # fmt: skip
    repeats = seconds // BLOCK_SECONDS - 1
    run_ffmpeg("-stream_loop", str(repeats), "-i", str(block), "-c", "copy", str(path))
    block.unlink()
    return path
