"""Build a catalog index from the AudioSet release, and the release's published figures.

The release (``features.tar.gz``) holds VGGish embeddings of about two million 10-second
YouTube segments, already quantized to 8 bits. :class:`.reader.AudioSetReader` pools them;
:func:`build_index` stores each pooled segment under its video id, times and label names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from musicrec_core.catalog.audioset.segments import IngestStats, SegmentBatch
from musicrec_core.catalog.index import IndexBuilder, ItemMeta
from musicrec_core.catalog.pooling import DEFAULT_POOLING
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.embedders.vggish import params as vggish_params

FEATURES_URL = (
    "http://storage.googleapis.com/us_audioset/youtube_corpus/v1/features/features.tar.gz"
)
"""The official features archive (2.4 GB)."""

FEATURES_ARCHIVE_BYTES = 2_400_000_000
"""Approximate size of the archive, for messages."""

RELEASE_SEGMENTS = 20_383 + 22_176 + 2_042_985
"""Segments in the release (eval + balanced train + unbalanced train)."""

RELEASE_MUSIC_FRACTION = 0.39
"""Share of segments carrying a Music-subtree label (about 39% in every split)."""

AUDIOSET_EMBEDDER = EmbedderId(
    name="vggish", version=vggish_params.AUDIOSET_VERSION, dim=vggish_params.EMBEDDING_SIZE
)
"""The identity of the embedder that made the released features."""


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
    """
    names = list(class_names)
    with IndexBuilder(
        target_dir,
        embedder=embedder,
        pooling=pooling,
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
