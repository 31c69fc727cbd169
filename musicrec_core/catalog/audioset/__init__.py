"""Read AudioSet's released VGGish features and pool them into one vector per segment.

The release stores each 10-second YouTube segment as one TFRecord record: its video id,
start and end times, class labels, and one 128-byte quantized embedding per second. The
path through this package, stage by stage:

- :mod:`.tfrecord` finds the records in a file's bytes and checks their CRCs;
- :mod:`.records` parses one record's protobuf wire bytes field by field;
- :mod:`.batch_parser` parses a whole batch in bulk, reusing one record's byte layout for
  every record shaped like it, then filters by class and pools;
- :mod:`.archive` walks a streamed tar archive and accepts it only whole and bounded;
- :mod:`.reader` feeds it from a folder, a file or a streamed tar archive;
- :mod:`.build` stores the pooled segments in a catalog index, and runs the whole path
  from the release to a published index (:func:`build_release_index`);
- :mod:`.segments` holds what flows between them: :class:`SegmentBatch` and the
  :class:`IngestStats` counts, with the reasons a record is skipped.

No TensorFlow is involved anywhere.
"""

from musicrec_core.catalog.audioset.archive import MAX_MEMBER_BYTES, DamagedArchive
from musicrec_core.catalog.audioset.build import (
    AUDIOSET_EMBEDDER,
    FEATURES_ARCHIVE_BYTES,
    FEATURES_URL,
    RELEASE_MUSIC_FRACTION,
    RELEASE_SEGMENTS,
    build_index,
    build_release_index,
    free_disk_bytes,
    official_release_segments,
    release_index_estimate,
)
from musicrec_core.catalog.audioset.reader import BATCH_BYTES, AudioSetReader
from musicrec_core.catalog.audioset.records import EMBEDDING_BYTES
from musicrec_core.catalog.audioset.segments import (
    BAD_CHECKSUM,
    BAD_LENGTH,
    BAD_VIDEO_ID,
    BAD_WIDTH,
    NO_EMBEDDINGS,
    TRUNCATED,
    UNPARSABLE,
    UNREADABLE,
    IngestStats,
    SegmentBatch,
)

__all__ = [
    "AUDIOSET_EMBEDDER",
    "BAD_CHECKSUM",
    "BAD_LENGTH",
    "BAD_VIDEO_ID",
    "BAD_WIDTH",
    "BATCH_BYTES",
    "EMBEDDING_BYTES",
    "FEATURES_ARCHIVE_BYTES",
    "FEATURES_URL",
    "MAX_MEMBER_BYTES",
    "NO_EMBEDDINGS",
    "RELEASE_MUSIC_FRACTION",
    "RELEASE_SEGMENTS",
    "TRUNCATED",
    "UNPARSABLE",
    "UNREADABLE",
    "AudioSetReader",
    "DamagedArchive",
    "IngestStats",
    "SegmentBatch",
    "build_index",
    "build_release_index",
    "free_disk_bytes",
    "official_release_segments",
    "release_index_estimate",
]
