"""``musicrec clip SOURCE [--start T] -o clip.wav``: save the exact clip the embedders see.

::

    musicrec clip song.mp3 -o clip.wav
    musicrec clip "https://youtu.be/dQw4w9WgXcQ?t=42" -o clip.wav
    musicrec clip song.flac --start 1:30 -o clip.wav

SOURCE is a local file or a YouTube link. The output is the 10-second mono 16 kHz clip as a
32-bit IEEE-float WAV (format tag 3): the float32 samples are stored bit for bit, so the
file holds exactly what an embedder receives (16-bit PCM would round every sample).
The clip's provenance is printed on stdout as one JSON object (kind, ref, title, channel,
start, duration, source_duration). The WAV is written under a temporary name and renamed,
so a refusal or a crash leaves no half-written file; refusals print one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import struct
from pathlib import Path

import numpy as np

from musicrec_core.atomic_file import atomic_write
from musicrec_core.cli.arguments import add_start_option
from musicrec_core.cli.exit_codes import EXIT_OK
from musicrec_core.clip import SAMPLE_RATE_HZ
from musicrec_core.errors import MusicrecError

_WAVE_FORMAT_IEEE_FLOAT = 3


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``clip`` command."""
    parser = subparsers.add_parser(
        "clip",
        help="save the 16 kHz mono clip the embedders would see, as a float WAV",
        description=(
            "Take the 10-second clip of SOURCE (a file or YouTube link), write it as a mono "
            "16 kHz 32-bit float WAV and print its provenance as JSON."
        ),
    )
    parser.add_argument("source", metavar="SOURCE", help="an audio/video file or YouTube link")
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="CLIP.wav", help="file to write"
    )
    add_start_option(parser)
    parser.add_argument(
        "--cookies", type=Path, metavar="FILE", help="Netscape cookies file for yt-dlp"
    )
    parser.add_argument("--proxy", metavar="URL", help="proxy for yt-dlp, e.g. socks5://host:1080")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Make the clip, write the WAV, print the provenance JSON."""
    from musicrec_core.sources import YouTubeSettings, clip_from_source

    settings = YouTubeSettings(cookiefile=args.cookies, proxy=args.proxy)
    clip = clip_from_source(args.source, start_s=args.start, settings=settings)
    write_float_wav(args.output, clip.samples)
    print(json.dumps(clip.provenance.to_json(), ensure_ascii=False))
    return EXIT_OK


def float_wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE_HZ) -> bytes:
    """A mono IEEE-float WAV file holding float32 ``samples`` [n] bit for bit."""
    payload = np.ascontiguousarray(samples, dtype="<f4").tobytes()
    frames = len(payload) // 4
    fmt = struct.pack(
        "<HHIIHHH", _WAVE_FORMAT_IEEE_FLOAT, 1, sample_rate, sample_rate * 4, 4, 32, 0
    )
    chunks = (
        b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"fact" + struct.pack("<II", 4, frames)
        + b"data" + struct.pack("<I", len(payload)) + payload
    )  # fmt: skip
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def write_float_wav(target: Path, samples: np.ndarray) -> None:
    """Write ``samples`` (float32 [n], 16 kHz) to ``target`` via a temporary file and a rename.

    Raises:
        MusicrecError: the file cannot be written (no such folder, no permission, disk full).
    """
    try:
        with atomic_write(target) as handle:
            handle.write(float_wav_bytes(samples))
    except OSError as exc:
        raise MusicrecError(f"Cannot write {target}: {exc.strerror or exc}.") from exc
