"""``musicrec embed AUDIO -o out.npy``: the embeddings of a clip, as a NumPy file.

::

    musicrec embed song.mp3 -o song.npy                  # uint8 [n, 128], AudioSet's format
    musicrec embed song.mp3 --raw -o song-raw.npy        # float32 [n, 128], before PCA
    musicrec embed song.mp3 --start 1:30 --checkpoint vggish_model.ckpt --pca pca.npz -o x.npy
    musicrec embed song.mp3 --embedder musicnn -o tags-space.npy

One row per embedder frame: per second (0.96 s) for VGGish, per 3-s patch for musicnn. The
default output is the postprocessed embedding: VGGish's PCA-whitened 8-bit codes (uint8,
exactly what AudioSet releases), or the float32 vectors of an embedder without quantization.
``--raw`` writes the float32 network output instead. The file is written to a temporary
name and renamed, so a failed run leaves no half-written output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from musicrec_core.atomic_file import atomic_write
from musicrec_core.cli.arguments import add_start_option, add_vggish_file_options
from musicrec_core.cli.exit_codes import EXIT_OK
from musicrec_core.embedders import EMBEDDER_NAMES, WeightFiles, load_embedder
from musicrec_core.errors import MusicrecError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``embed`` command."""
    parser = subparsers.add_parser(
        "embed",
        help="write the per-frame embeddings of a clip to a .npy file",
        description=(
            "Take a 10-second clip of AUDIO (a file or YouTube link), embed it and save one "
            "row per frame: uint8 [n, 128] VGGish codes by default, float32 with --raw."
        ),
    )
    parser.add_argument(
        "source", metavar="AUDIO", help="an audio/video file or a YouTube link (fetches 10 s)"
    )
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="OUT.npy", help="file to write"
    )
    parser.add_argument(
        "--embedder", choices=EMBEDDER_NAMES, default="vggish", help="default: vggish"
    )
    parser.add_argument(
        "--raw", action="store_true", help="write the float32 network output (no PCA/quantizing)"
    )
    add_start_option(parser)
    add_vggish_file_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Decode the clip, embed it, write the array; prints one line describing it."""
    from musicrec_core.sources import clip_from_source

    if args.embedder != "vggish" and (args.checkpoint or args.pca):
        raise MusicrecError("--checkpoint and --pca apply to the vggish embedder only.")
    clip = clip_from_source(args.source, start_s=args.start)
    weights = WeightFiles(vggish_checkpoint=args.checkpoint, vggish_pca=args.pca)
    embedder = load_embedder(args.embedder, weights=weights)
    embedding = embedder.embed(clip)
    if args.raw:
        array = embedding.raw
    elif embedding.quantized is not None:
        array = embedding.quantized
    else:
        array = embedding.vectors
    save_npy_atomically(args.output, array)
    where = clip.provenance
    print(
        f"{args.output}: {array.dtype} {list(array.shape)} from {where.ref} "
        f"({where.start_s:.2f}-{where.start_s + where.duration_s:.2f} s), "
        f"{embedder.name} {embedder.version}"
    )
    return EXIT_OK


def save_npy_atomically(target: Path, array: np.ndarray) -> None:
    """Write ``array`` as .npy at exactly ``target`` via a temporary file and a rename.

    Raises:
        MusicrecError: the file cannot be written (no such folder, no permission, disk full).
    """
    try:
        with atomic_write(target) as handle:
            np.save(handle, array, allow_pickle=False)
    except OSError as exc:
        raise MusicrecError(f"Cannot write {target}: {exc.strerror or exc}.") from exc
