"""``musicrec tag FILE|URL``: music tags for a file or a YouTube link, with musicnn.

::

    musicrec tag song.mp3                      # top 10 MTT tags of the whole file (<= 60 s)
    musicrec tag song.mp3 --model msd -k 5 --json
    musicrec tag long-mix.flac --start 1:30 --seconds 30

A local file is tagged over the whole file up to ``--seconds`` (default: all of it, at most
60 s; a longer file gets its loudest 60-s window unless ``--start`` is given), as the
musicnn project tags whole files: the probabilities are the mean of the per-patch (3-s)
sigmoid outputs. A YouTube link is tagged over the clip the sources module fetches.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from musicrec_core.cli.arguments import positive_int, timecode_argument
from musicrec_core.cli.exit_codes import EXIT_OK
from musicrec_core.clip import Clip
from musicrec_core.embedders.musicnn.tags import DEFAULT_MODEL, VARIANTS
from musicrec_core.timecode import format_clock

MAX_TAG_SECONDS = 60.0
"""Longest stretch of a file tagged when ``--seconds`` is not given, in seconds."""
DEFAULT_TOP_K = 10
"""Tags shown by default."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``tag`` command."""
    parser = subparsers.add_parser(
        "tag",
        help="music tags (genre, instruments, mood) for a file or YouTube link (musicnn)",
        description=(
            "Tag FILE or URL with musicnn. A file is analysed whole, up to --seconds "
            f"(default: all of it, at most {MAX_TAG_SECONDS:.0f} s)."
        ),
    )
    parser.add_argument("source", metavar="FILE|URL", help="an audio/video file or YouTube link")
    parser.add_argument(
        "--model",
        choices=sorted(VARIANTS),
        default=DEFAULT_MODEL,
        help=(
            f"weights: mtt (MagnaTagATune: instruments, voice, mood) or msd (Million Song "
            f"Dataset: genres, decades); default {DEFAULT_MODEL}"
        ),
    )
    parser.add_argument(
        "-k", type=positive_int, default=DEFAULT_TOP_K, help="how many tags (default 10)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--start", type=timecode_argument, metavar="T", help="where to start (90, 1:30, 1m30s)"
    )
    parser.add_argument(
        "--seconds",
        type=_seconds,
        metavar="S",
        help=f"how much audio to analyse (default: the whole file, at most {MAX_TAG_SECONDS:.0f})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the clip and the model, tag, print a table or JSON."""
    from musicrec_core.embedders.musicnn import MusicnnEmbedder
    from musicrec_core.embedders.precision import precision_from_env

    precision = precision_from_env()  # a bad setting says so before any audio is read
    clip = load_source(args.source, start_s=args.start, seconds=args.seconds)
    embedder = MusicnnEmbedder.load(args.model, precision=precision)
    embedding = embedder.embed(clip)
    tags = embedding.tags[: args.k]
    if args.json:
        document = {
            "source": clip.provenance.to_json(),
            "model": args.model,
            "embedder": embedder.id.to_json(),
            "patches": int(embedding.vectors.shape[0]),
            "padded": embedding.padded,
            "tags": [{"tag": tag.name, "probability": round(tag.probability, 4)} for tag in tags],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return EXIT_OK
    query = clip.provenance
    end_s = query.start_s + query.duration_s
    note = ", padded to 3 s" if embedding.padded else ""
    print(
        f"{query.title or query.ref} ({format_clock(query.start_s)}-{format_clock(end_s)}), "
        f"musicnn {args.model.upper()}, {embedding.vectors.shape[0]} patch(es){note}"
    )
    width = max(len(tag.name) for tag in tags)
    for rank, tag in enumerate(tags, start=1):
        print(f"{rank:>3}  {tag.name.ljust(width)}  {tag.probability:.3f}")
    return EXIT_OK


def load_source(source: str, *, start_s: float | None, seconds: float | None) -> Clip:
    """The clip to tag: a local file whole (up to ``seconds`` or MAX_TAG_SECONDS), anything
    else through :func:`musicrec_core.sources.clip_from_source`.

    Raises:
        AudioError / SourceError subclasses, as the audio and sources modules do.
    """
    from musicrec_core.audio import MIN_CLIP_SECONDS, load_clip, probe_audio

    path = Path(source).expanduser()
    if not path.is_file():
        from musicrec_core.sources import clip_from_source

        return clip_from_source(source, start_s=start_s)
    info = probe_audio(path)
    if seconds is None:
        available = info.duration_s - (start_s or 0.0) if info.duration_s else MAX_TAG_SECONDS
        # A little over the duration so rounding in the container's figure loses nothing.
        seconds = min(MAX_TAG_SECONDS, max(MIN_CLIP_SECONDS, math.ceil(available)))
    return load_clip(path, start_s=start_s, clip_seconds=seconds, info=info)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from exc
    if not (math.isfinite(value) and value >= 1.0):
        raise argparse.ArgumentTypeError("must be at least 1 second")
    return value
