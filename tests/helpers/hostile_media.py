"""Hostile and odd inputs for the decoder, each with the outcome it must have.

Shared by the audio tests and the attachment tests (every hostile file of the foundation
issue)::

    for name, (path, expected) in hostile_files(tmp_path).items():
        if expected is None:
            clip = load_clip(path)          # must give a correct clip
        else:
            with pytest.raises(expected):   # must give exactly this typed error
                load_clip(path)

Everything is generated locally (ffmpeg, numpy, a hand-written WAV header); nothing is
downloaded. The whole set takes about a second to write; the 3-hour silent file is a 60-s
low-bitrate MP3 repeated by stream copy (about 11 MB).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from musicrec_core.errors import (
    AudioTooShortError,
    NotAudioError,
    UnreadableAudioError,
)
from tests.helpers.media import generate_media, run_ffmpeg

Expected = type[Exception] | None

LONG_SILENCE_SECONDS = 3 * 3600
"""Length of the long silent file."""

FLOAT_WAV_TONE_HZ = 440.0
"""Frequency of the tone inside the NaN/inf float WAV (a correct clip must show it)."""


def write_float_wav(path: Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write float32 samples [n] or [n, channels] as an IEEE-float WAV (format tag 3).

    Written by hand because the standard ``wave`` module only writes integer PCM, and a
    float WAV is the one common format that can hold NaN and infinity.
    """
    data = np.asarray(samples, dtype="<f4")
    if data.ndim == 1:
        data = data[:, None]
    channels = data.shape[1]
    payload = data.tobytes()
    fmt = struct.pack("<HHIIHH", 3, channels, sample_rate, sample_rate * channels * 4,
                      channels * 4, 32)  # fmt: skip
    body = (
        b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"fact" + struct.pack("<II", 4, data.shape[0])
        + b"data" + struct.pack("<I", len(payload)) + payload
    )  # fmt: skip
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def long_silent_mp3(path: Path, seconds: int = LONG_SILENCE_SECONDS) -> Path:
    """A silent mono MP3 of ``seconds`` (a multiple of 60), made fast by stream copy."""
    block = path.with_name(path.stem + "-block.mp3")
    run_ffmpeg("-f", "lavfi", "-t", "60", "-i", "anullsrc=r=8000:cl=mono",
            "-c:a", "libmp3lame", "-b:a", "8k", str(block))  # fmt: skip
    run_ffmpeg("-stream_loop", str(seconds // 60 - 1), "-i", str(block), "-c", "copy", str(path))
    block.unlink()
    return path


def hostile_files(directory: Path) -> dict[str, tuple[Path, Expected]]:
    """Write every hostile input into ``directory``; name -> (file, expected error or None).

    ``None`` means the decoder must return a correct clip (finite, in [-1, 1], at least
    0.975 s); otherwise it must raise exactly that error class (or a subclass).
    """
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[Path, Expected]] = {}

    empty = directory / "empty.mp3"
    empty.write_bytes(b"")
    files["empty"] = (empty, NotAudioError)

    random_mp3 = directory / "random.mp3"
    random_mp3.write_bytes(np.random.default_rng(20240601).bytes(64 * 1024))
    files["random_bytes_mp3"] = (random_mp3, NotAudioError)

    # A 30-s MP3 cut at 40 %: its header still promises 30 s. What is there must decode.
    whole = generate_media(directory / "whole.mp3", seconds=30, tone_hz=440)
    data = whole.read_bytes()
    whole.unlink()
    truncated = directory / "truncated.mp3"
    truncated.write_bytes(data[: int(len(data) * 0.4)])
    files["truncated_mp3"] = (truncated, None)
    # Cut inside its first frame: nothing recognisable is left.
    stub = directory / "truncated_stub.mp3"
    stub.write_bytes(data[:300])
    files["truncated_mp3_stub"] = (stub, NotAudioError)

    text = directory / "notes.txt"
    text.write_text("This is not music.\n" * 50, encoding="utf-8")
    files["text"] = (text, NotAudioError)

    png = directory / "picture.png"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", str(png))
    files["png"] = (png, NotAudioError)

    silent_video = generate_media(
        directory / "no_audio.mp4", seconds=2, video=True, audio=False,
        codec_args=("-c:v", "libx264", "-pix_fmt", "yuv420p"),
    )  # fmt: skip
    files["video_without_audio"] = (silent_video, NotAudioError)

    short = generate_media(directory / "short.wav", seconds=0.3, tone_hz=440)
    files["short_0.3s"] = (short, AudioTooShortError)

    files["silent_3h"] = (long_silent_mp3(directory / "silent_3h.mp3"), None)

    # A float WAV whose tone is peppered with NaN, +inf, -inf and out-of-range values.
    rate = 44_100
    t = np.arange(3 * rate) / rate
    tone = 0.5 * np.sin(2 * np.pi * FLOAT_WAV_TONE_HZ * t)
    stereo = np.stack([tone, tone], axis=1).astype(np.float32)
    stereo[rate // 2, 0] = np.nan
    stereo[rate, 1] = np.inf
    stereo[3 * rate // 2, :] = -np.inf
    stereo[2 * rate :: 997, 0] = 7.5
    files["float_wav_nan_inf"] = (write_float_wav(directory / "nan_inf.wav", stereo, rate), None)

    all_nan = np.full((2 * rate, 2), np.nan, dtype=np.float32)
    all_nan[::3] = np.inf
    files["float_wav_all_nan"] = (
        write_float_wav(directory / "all_nan.wav", all_nan, rate),
        UnreadableAudioError,
    )

    # Playlists that would make ffmpeg open other files or URLs.
    segment = generate_media(directory / "segment.mp3", seconds=3, tone_hz=440)
    playlist = directory / "playlist.m3u8"
    playlist.write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n"
        f"{segment.name}\n#EXTINF:3.0,\nhttp://127.0.0.1:9/segment.mp3\n#EXT-X-ENDLIST\n",
        encoding="utf-8",
    )
    files["hls_playlist"] = (playlist, NotAudioError)
    concat = directory / "list.ffconcat"
    concat.write_text(f"ffconcat version 1.0\nfile {segment.name}\n", encoding="utf-8")
    files["ffconcat_list"] = (concat, NotAudioError)

    return files


PLAYLIST_SHAPES = ("ffconcat", "hls_without_extension", "hls_m3u8")
"""Upload shapes that would make ffmpeg open a file they name (see :func:`playlist_naming`)."""


def playlist_naming(directory: Path, shape: str, target: str) -> Path:
    """Write an upload of ``shape`` (one of :data:`PLAYLIST_SHAPES`) into ``directory``
    that names the file ``target`` beside it; return the upload's path.

    The HLS upload without an extension is what a temp file for an attachment looks like;
    its content alone (``#EXTM3U``) makes ffmpeg pick the HLS demuxer.
    """
    if shape == "ffconcat":
        upload = directory / "upload-concat"
        upload.write_text(f"ffconcat version 1.0\nfile {target}\n", encoding="utf-8")
    else:
        upload = directory / ("upload-hls" if shape == "hls_without_extension" else "list.m3u8")
        upload.write_text(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"#EXTINF:4.0,\n{target}\n#EXT-X-ENDLIST\n",
            encoding="utf-8",
        )
    return upload
