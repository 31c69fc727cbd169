"""Build a catalog index from the AudioSet release, and the release's published figures.

The release (``features.tar.gz``) holds VGGish embeddings of about two million 10-second
YouTube segments, already quantized to 8 bits. :class:`.reader.AudioSetReader` pools them;
:func:`build_index` stores each pooled segment under its video id, times and label names.
:func:`build_release_index` is the whole path from the release (a folder, an archive on
disk or a streamed one) with the labels CSV and, for music only, the ontology, to a
published index: ``musicrec index build-audioset`` and the bot's default catalog both use
it. :func:`release_index_estimate` and :func:`free_disk_bytes` say up front what it needs.

Nothing is published unless the whole input was read: a damaged archive
(:class:`.archive.DamagedArchive`), a broken download, or, for the official archive, fewer
than :data:`RELEASE_MIN_SHARE` of :data:`RELEASE_SEGMENTS` segments fail the build before
its index is committed.

Tests only: :func:`_expect_test_release_segments` makes the official archive's expected
count that of a small stand-in archive; like the default catalog's weights seam it is
reachable only by that Python call, never by a setting.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from musicrec_core.catalog import labels
from musicrec_core.catalog.audioset.archive import DamagedArchive
from musicrec_core.catalog.audioset.reader import AudioSetReader
from musicrec_core.catalog.audioset.segments import IngestStats, SegmentBatch
from musicrec_core.catalog.index import (
    DEFAULT_BACKEND,
    IndexBuilder,
    ItemMeta,
    estimate_index_bytes,
)
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pooled_dim
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.embedders.vggish import params as vggish_params
from musicrec_core.errors import CatalogError

FEATURES_URL = (
    "https://storage.googleapis.com/us_audioset/youtube_corpus/v1/features/features.tar.gz"
)
"""The official features archive (2.4 GB)."""

FEATURES_ARCHIVE_BYTES = 2_400_000_000
"""Approximate size of the archive, for messages."""

RELEASE_SEGMENTS = 20_383 + 22_176 + 2_042_985
"""Segments in the release (eval + balanced train + unbalanced train)."""

RELEASE_MIN_SHARE_PERCENT = 99
"""An official archive holding fewer than this percentage of its segments is refused."""

RELEASE_MUSIC_FRACTION = 0.39
"""Share of segments carrying a Music-subtree label (about 39% in every split)."""

AUDIOSET_EMBEDDER = EmbedderId(
    name="vggish", version=vggish_params.AUDIOSET_VERSION, dim=vggish_params.EMBEDDING_SIZE
)
"""The identity of the embedder that made the released features."""

_TEST_RELEASE_SEGMENTS: list[int] = []
"""Tests only: the segment count expected of the official archive instead of the release's."""


def official_release_segments() -> int:
    """The segments the official archive holds: :data:`RELEASE_SEGMENTS` (tests' stand-in
    archives hold fewer: :func:`_expect_test_release_segments`)."""
    return _TEST_RELEASE_SEGMENTS[-1] if _TEST_RELEASE_SEGMENTS else RELEASE_SEGMENTS


@contextlib.contextmanager
def _expect_test_release_segments(count: int) -> Iterator[None]:
    """Tests only: inside the block, the official archive is expected to hold ``count``."""
    _TEST_RELEASE_SEGMENTS.append(count)
    try:
        yield
    finally:
        _TEST_RELEASE_SEGMENTS.pop()


def build_index(
    batches: Iterable[SegmentBatch],
    target_dir: Path,
    *,
    class_names: Sequence[str],
    stats: IngestStats,
    embedder: EmbedderId = AUDIOSET_EMBEDDER,
    pooling: str = DEFAULT_POOLING,
    n_trees: int | None = None,
    search_k: int | None = None,
    backend: str = DEFAULT_BACKEND,
) -> int:
    """Index pooled segments (from :class:`AudioSetReader`) and publish; returns the count.

    The builder is opened before the first batch is read, so an unusable target fails
    at once; an exception (or Ctrl-C) during the read leaves any previous index intact.

    Args:
        batches: the reader's output (consumed here).
        target_dir: the index folder.
        class_names: display name of each class index (labels CSV order).
        stats: the reader's stats; stored in the manifest once the read is done.
        embedder: the id of the features' embedder (default: AUDIOSET_EMBEDDER).
        pooling: must be the reader's pooling rule.
        n_trees, search_k: Annoy settings (None: the index defaults).
        backend: the vector backend (:mod:`musicrec_core.catalog.index.vector_backend`).
    """
    names = list(class_names)
    with IndexBuilder(
        target_dir,
        embedder=embedder,
        pooling=pooling,
        backend=backend,
        n_trees=n_trees,
        search_k=search_k,
    ) as builder:
        for batch in batches:
            label_names = [
                tuple(names[i] if 0 <= i < len(names) else f"class {i}" for i in row)
                for row in batch.labels()
            ]
            metas = [
                ItemMeta(group=video_id, start_s=start, end_s=end, labels=labels)
                for video_id, start, end, labels in zip(
                    batch.video_ids,
                    batch.start_s.tolist(),
                    batch.end_s.tolist(),
                    label_names,
                    strict=True,
                )
            ]
            builder.add_many(batch.vectors, metas)
        count = len(builder)
        builder.commit({"source": "audioset", "ingest": stats.as_dict()})
    return count


def release_index_estimate(
    *,
    music_only: bool,
    pooling: str = DEFAULT_POOLING,
    n_trees: int | None = None,
    backend: str = DEFAULT_BACKEND,
) -> tuple[int, int]:
    """(segments, bytes): about how many segments an index of the whole release keeps, and
    the disk one version of it takes (see :func:`estimate_index_bytes`)."""
    items = RELEASE_SEGMENTS
    if music_only:
        items = int(items * RELEASE_MUSIC_FRACTION)
    dim = pooled_dim(AUDIOSET_EMBEDDER.dim, pooling)
    return items, estimate_index_bytes(items, dim, n_trees, backend)


def free_disk_bytes(path: Path) -> int:
    """Free bytes on the file system that holds ``path`` (or would: its nearest existing
    parent is asked)."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def build_release_index(
    features: Path | IO[bytes],
    target_dir: Path,
    *,
    music_only: bool,
    labels_path: Path | None = None,
    ontology_path: Path | None = None,
    embedder: EmbedderId = AUDIOSET_EMBEDDER,
    pooling: str = DEFAULT_POOLING,
    n_trees: int | None = None,
    backend: str = DEFAULT_BACKEND,
    on_bytes: Callable[[int], None] | None = None,
    expected_segments: int | None = None,
) -> tuple[int, IngestStats]:
    """Index the release and publish it at ``target_dir``; returns (segments kept, stats).

    Args:
        features: an extracted folder, a ``.tfrecord`` file or an archive on disk, or an
            open binary stream of a tar archive (e.g. the download of :data:`FEATURES_URL`).
        target_dir: the index folder (published atomically; an error leaves it as it was).
        music_only: keep only segments with a label in the Music subtree.
        labels_path, ontology_path: the labels CSV and the ontology, parsed strictly (None:
            the copies ``musicrec models download audioset-labels`` put in the cache,
            checked against their pinned sha256 first).
        embedder: the id of the VGGish that made the features.
        pooling, n_trees: the pooling rule and Annoy's tree count (None: the default).
        backend: the vector backend ("annoy", the default, or "usearch").
        on_bytes: called with the number of input bytes read, as they are read.
        expected_segments: the segments the input must hold (the official archive:
            :func:`official_release_segments`); fewer than RELEASE_MIN_SHARE_PERCENT of
            them fail the build. None: any count is accepted (a folder, a subset).

    Raises:
        CatalogError: missing or malformed labels or ontology, no features, nothing kept,
            too few segments; DamagedArchive (a CatalogError): the archive is not whole,
            damaged or over the limits. Nothing is published.
        DownloadError: the stream broke (nothing is published).
    """
    classes = labels.read_labels(labels_path) if labels_path else labels.cached_labels()
    keep_classes = None
    if music_only:
        children = (
            labels.read_ontology(ontology_path) if ontology_path else labels.cached_ontology()
        )
        keep_classes = labels.music_class_indices(classes, children)
    reader = AudioSetReader(pooling=pooling, keep_classes=keep_classes)
    batches: Iterator[SegmentBatch]
    if isinstance(features, Path):
        batches = reader.read(features, on_bytes=on_bytes)
    else:
        batches = reader.read_archive(features, on_bytes=on_bytes)
    if expected_segments is not None:
        batches = _counted(batches, reader.stats, expected_segments)
    try:
        count = build_index(
            batches,
            target_dir,
            class_names=[c.name for c in classes],
            stats=reader.stats,
            embedder=embedder,
            pooling=pooling,
            n_trees=n_trees,
            backend=backend,
        )
    except DamagedArchive as exc:
        raise DamagedArchive(f"{exc} Nothing was published.") from exc
    return count, reader.stats


def _counted(
    batches: Iterator[SegmentBatch], stats: IngestStats, expected: int
) -> Iterator[SegmentBatch]:
    """``batches``, then a refusal (before the index is committed) when fewer than
    RELEASE_MIN_SHARE_PERCENT of ``expected`` segments were read."""
    yield from batches
    if stats.segments * 100 < expected * RELEASE_MIN_SHARE_PERCENT:
        raise CatalogError(
            f"The features archive held {stats.segments:,} segments, fewer than "
            f"{RELEASE_MIN_SHARE_PERCENT}% of the {expected:,} the release holds; it is "
            "refused and nothing was published."
        )
