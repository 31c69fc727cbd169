"""``musicrec index``: build index directories.

::

    musicrec index build-audioset --features DIR|TAR.GZ [--labels CSV] [--ontology JSON]
                                  [--music-only] -o INDEX_DIR
    musicrec index build-audioset --download [--music-only] -o INDEX_DIR
    musicrec index build-library PATH|URL... -o INDEX_DIR [--embedder musicnn|vggish]
                                 [--model mtt|msd] [--windows N] [--checkpoint F --pca F]
    musicrec index enrich INDEX_DIR [--rate N]      # look every video's title up, ahead of time

:func:`register` adds ``index`` and calls one ``_register_<action>(actions)`` per action,
each adding its parser and setting its handler as ``func`` (the pattern of
:mod:`musicrec_core.cli`, one level down).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from tqdm import tqdm

from musicrec_core.catalog import audioset
from musicrec_core.catalog.index import BACKENDS, DEFAULT_BACKEND, DEFAULT_N_TREES, CatalogIndex
from musicrec_core.catalog.library import DEFAULT_WINDOWS, build_library
from musicrec_core.catalog.pooling import DEFAULT_POOLING, POOLING_RULES
from musicrec_core.cli.arguments import add_vggish_file_options
from musicrec_core.cli.exit_codes import EXIT_OK
from musicrec_core.embedders import EMBEDDER_NAMES, WeightFiles, load_embedder
from musicrec_core.embedders.musicnn.tags import DEFAULT_MODEL, VARIANTS
from musicrec_core.errors import CatalogError
from musicrec_core.titles.enrich import DEFAULT_RATE_PER_S

_GB = 1e9


def _register_build_audioset(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = actions.add_parser(
        "build-audioset",
        help="index AudioSet's released VGGish features",
        description=(
            "Build an index of AudioSet segments from the released features: an extracted "
            "folder, features.tar.gz (read as a stream), or --download to stream the "
            "official archive without storing it. Damaged records and bad video ids are "
            "skipped and counted in the closing summary; an archive that is not whole "
            "(cut, failing its gzip CRC or length, without its tar end marker, a member "
            "over 64 MiB) fails the build and publishes nothing, and so does a download "
            "holding under 99% of the release's segments."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--features", type=Path, metavar="DIR|TAR.GZ", help="extracted folder or archive"
    )
    source.add_argument(
        "--download",
        action="store_true",
        help=f"stream the official archive ({audioset.FEATURES_ARCHIVE_BYTES / _GB:.1f} GB, "
        "never stored)",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        metavar="CSV",
        help="class_labels_indices.csv (default: the one `musicrec models download "
        "audioset-labels` fetched)",
    )
    parser.add_argument(
        "--ontology",
        type=Path,
        metavar="JSON",
        help="ontology.json, needed by --music-only (default: the downloaded copy)",
    )
    parser.add_argument(
        "--music-only",
        action="store_true",
        help="keep only segments with a label in the Music subtree (/m/04rlf)",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="INDEX_DIR")
    _add_backend_option(parser)
    parser.add_argument(
        "--n-trees",
        type=int,
        default=None,
        help=f"Annoy trees (default {DEFAULT_N_TREES}; annoy backend only)",
    )
    parser.add_argument(
        "--pooling",
        choices=POOLING_RULES,
        default=DEFAULT_POOLING,
        help=f"how a segment's seconds become one vector (default {DEFAULT_POOLING})",
    )
    parser.add_argument(
        "--embedder-version",
        default=audioset.AUDIOSET_EMBEDDER.version,
        help="VGGish version the features were made with (default: the official weights)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=_build_audioset)


def _register_build_library(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = actions.add_parser(
        "build-library",
        help="index your own music: folders, files, lists of YouTube links",
        description=(
            "Build an index of your own music. Folders are searched recursively; a .txt or "
            ".list file holds YouTube links, one per line (# starts a comment). Each track "
            "is embedded in several 10-second windows; unchanged inputs reuse cached "
            "embeddings. Inputs that cannot be read are skipped and listed at the end."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="PATH|URL", help="folders, files, links")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="INDEX_DIR")
    parser.add_argument(
        "--embedder",
        choices=EMBEDDER_NAMES,
        default="musicnn",
        help="musicnn (default: runs offline and stores music tags) or vggish",
    )
    parser.add_argument(
        "--model", choices=sorted(VARIANTS), help=f"musicnn variant (default {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--windows",
        type=int,
        default=DEFAULT_WINDOWS,
        metavar="N",
        help=f"10-second windows per track, spread across it (default {DEFAULT_WINDOWS})",
    )
    add_vggish_file_options(parser)
    _add_backend_option(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=_build_library)


def _add_backend_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        choices=sorted(BACKENDS),
        default=DEFAULT_BACKEND,
        help=f"how the vectors are stored and searched (default {DEFAULT_BACKEND}): annoy "
        "trees, or a usearch HNSW graph in about 0.4 of the memory (see the README)",
    )


def _register_enrich(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = actions.add_parser(
        "enrich",
        help="look up the title of every YouTube video in an index ahead of time",
        description=(
            "Ask YouTube's oEmbed endpoint (MUSICREC_OEMBED_URL) about every YouTube video "
            "in the index and store the answers (title and channel, or gone) in the title "
            "cache, so replies show titles without waiting. Videos already cached are "
            "skipped: an interrupted run resumes where it stopped."
        ),
    )
    parser.add_argument("index", type=Path, metavar="INDEX_DIR", help="the index folder")
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE_PER_S,
        metavar="N",
        help=f"most requests per second (default {DEFAULT_RATE_PER_S:g})",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=_enrich)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``musicrec index`` and its actions."""
    parser = subparsers.add_parser("index", help="build index directories")
    actions = parser.add_subparsers(dest="index_action", metavar="ACTION", required=True)
    _register_build_audioset(actions)
    _register_build_library(actions)
    _register_enrich(actions)


def _build_audioset(args: argparse.Namespace) -> int:
    progress = not args.no_progress
    embedder = dataclasses.replace(audioset.AUDIOSET_EMBEDDER, version=args.embedder_version)
    if args.n_trees is not None and args.backend != "annoy":
        raise CatalogError(f"--n-trees sets Annoy's trees; the {args.backend} backend has none.")
    with ExitStack() as stack:
        if args.download:
            _check_space_for_download(args)
            from musicrec_core.download import open_stream

            features: Path | IO[bytes] = stack.enter_context(
                open_stream(audioset.FEATURES_URL, timeout_s=60.0, progress=progress)
            )
            on_bytes = None
            expected_segments: int | None = audioset.official_release_segments()
        else:
            features = args.features
            on_bytes = stack.enter_context(_byte_bar(args.features, progress)).update
            expected_segments = None
        count, stats = audioset.build_release_index(
            features,
            args.output,
            music_only=args.music_only,
            labels_path=args.labels,
            ontology_path=args.ontology,
            embedder=embedder,
            pooling=args.pooling,
            n_trees=args.n_trees,
            backend=args.backend,
            on_bytes=on_bytes,
            expected_segments=expected_segments,
        )
    print(stats.summary())
    print(f"Index of {count:,} segments written to {args.output}.")
    return EXIT_OK


def _build_library(args: argparse.Namespace) -> int:
    if args.windows < 1:
        raise CatalogError("--windows must be at least 1.")
    if args.embedder != "musicnn" and args.model:
        raise CatalogError("--model chooses a musicnn variant; it needs --embedder musicnn.")
    if args.embedder != "vggish" and (args.checkpoint or args.pca):
        raise CatalogError("--checkpoint and --pca are VGGish files; add --embedder vggish.")
    embedder = load_embedder(
        args.embedder,
        variant=args.model,
        weights=WeightFiles(vggish_checkpoint=args.checkpoint, vggish_pca=args.pca),
    )
    report = build_library(
        args.inputs,
        args.output,
        embedder,
        windows=args.windows,
        progress=not args.no_progress,
        backend=args.backend,
    )
    print(report.summary())
    return EXIT_OK


def _enrich(args: argparse.Namespace) -> int:
    from musicrec_core.titles import TitleLookup, TitleSettings, enrich_catalog

    if not args.rate > 0:
        raise CatalogError("--rate must be above 0 requests per second.")
    with (
        CatalogIndex.load(args.index) as index,
        TitleLookup.from_settings(TitleSettings.from_env()) as lookup,
    ):
        report = enrich_catalog(index, lookup, rate_per_s=args.rate, progress=not args.no_progress)
    print(report.summary())
    return EXIT_OK


def _byte_bar(features: Path, progress: bool) -> tqdm:
    """A progress bar over the bytes of the features folder or archive (a missing path is
    reported by the reader, after the labels are checked)."""
    total: int | None = None
    if features.is_dir():
        total = sum(p.stat().st_size for p in features.rglob("*.tfrecord"))
    elif features.is_file():
        total = features.stat().st_size
    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc="features",
        file=sys.stderr,
        disable=not progress,
    )


def _check_space_for_download(args: argparse.Namespace) -> None:
    """Say how much disk the index will take; refuse when the target cannot hold it."""
    output = args.output
    items, needed = audioset.release_index_estimate(
        music_only=args.music_only, pooling=args.pooling, n_trees=args.n_trees, backend=args.backend
    )
    free = audioset.free_disk_bytes(output)
    print(
        f"Streaming {audioset.FEATURES_URL} ({audioset.FEATURES_ARCHIVE_BYTES / _GB:.1f} GB, "
        f"not stored). The index of about {items:,} segments needs about "
        f"{needed / _GB:.1f} GB in {output} (plus the old index until the new one is "
        f"published); {free / _GB:.1f} GB are free.",
        file=sys.stderr,
    )
    if free < needed:
        raise CatalogError(
            f"Not enough disk space for the index in {output}: about {needed / _GB:.1f} GB "
            f"needed, {free / _GB:.1f} GB free."
        )
