"""Write AudioSet feature records in the exact release schema, for tests and benchmarks.

The release (features.tar.gz) holds TFRecord files of ``tf.train.SequenceExample`` protos:
context ``video_id`` (bytes), ``start_time_seconds`` / ``end_time_seconds`` (float),
``labels`` (int64 class indices); feature list ``audio_embedding`` with one 128-byte value
per second. This module writes exactly that with TensorFlow's own proto classes and
``tf.io.TFRecordWriter``, and can damage the result the ways real downloads get damaged.

Segment dicts: ``{"video_id": str, "start": float, "end": float, "labels": list[int] | None,
"embeddings": uint8 [n, 128]}``; ``labels=None`` leaves the context feature out entirely.
Where a writer takes segments, a ``bytes`` item is written as a raw record instead (for
records no release writer would produce).
"""

from __future__ import annotations

import io
import struct
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

RELEASE_ROOT = "audioset_v1_embeddings"
"""Top folder inside features.tar.gz."""


def segment_example_bytes(segment: dict[str, Any]) -> bytes:
    """One segment serialized as a release-format SequenceExample."""
    import tensorflow as tf

    example = tf.train.SequenceExample()
    context = example.context.feature
    context["video_id"].bytes_list.value.append(segment["video_id"].encode("utf-8"))
    context["start_time_seconds"].float_list.value.append(float(segment["start"]))
    context["end_time_seconds"].float_list.value.append(float(segment["end"]))
    if segment.get("labels") is not None:
        context["labels"].int64_list.value.extend(int(i) for i in segment["labels"])
    embeddings = np.asarray(segment["embeddings"], dtype=np.uint8)
    frames = example.feature_lists.feature_list["audio_embedding"].feature
    for row in embeddings:
        frames.add().bytes_list.value.append(row.tobytes())
    return example.SerializeToString()


def write_audioset_tfrecord(
    path: Path,
    segments: Sequence[dict[str, Any] | bytes],
    *,
    corrupt_record_at: int | None = None,
    truncate_bytes: int | None = None,
) -> Path:
    """Write ``segments`` as one TFRecord file in the release format.

    Args:
        path: the file to write (parents are created).
        segments: segment dicts (see the module docstring) or raw record bytes.
        corrupt_record_at: flip one payload byte of that record (0-based) after writing, so
            its data CRC no longer matches (the framing stays intact).
        truncate_bytes: cut this many bytes off the end of the file (a cut-short download).

    Returns:
        ``path``.
    """
    import tensorflow as tf

    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for segment in segments:
            raw = segment if isinstance(segment, bytes) else segment_example_bytes(segment)
            writer.write(raw)
    if corrupt_record_at is not None:
        data = bytearray(path.read_bytes())
        offset = 0
        for _ in range(corrupt_record_at):
            (length,) = struct.unpack_from("<Q", data, offset)
            offset += 12 + length + 4
        (length,) = struct.unpack_from("<Q", data, offset)
        data[offset + 12 + length // 2] ^= 0x5A
        path.write_bytes(bytes(data))
    if truncate_bytes is not None:
        size = path.stat().st_size
        with path.open("r+b") as handle:
            handle.truncate(max(0, size - truncate_bytes))
    return path


def random_segments(
    count: int,
    *,
    seed: int = 0,
    seconds: int | Sequence[int] = 10,
    num_classes: int = 527,
    prefix: str = "",
) -> list[dict[str, Any]]:
    """``count`` segments with random uint8 embeddings, 1-4 random labels each.

    Video ids are 11 characters (``prefix`` then digits); ``seconds`` is the number of
    embedding rows per segment, one value for all or one per segment.
    """
    rng = np.random.default_rng(seed)
    lengths = [seconds] * count if isinstance(seconds, int) else list(seconds)
    segments = []
    for i, length in enumerate(lengths):
        start = float(10 * int(rng.integers(0, 30)))
        segments.append(
            {
                "video_id": f"{prefix}{i:0{11 - len(prefix)}d}",
                "start": start,
                "end": start + length,
                "labels": sorted(
                    int(c) for c in rng.choice(num_classes, int(rng.integers(1, 5)), replace=False)
                ),
                "embeddings": rng.integers(0, 256, size=(length, 128), dtype=np.uint8),
            }
        )
    return segments


def write_features_archive(source_dir: Path, archive: Path) -> Path:
    """Pack ``source_dir``'s *.tfrecord files into a .tar.gz laid out like the release
    (``audioset_v1_embeddings/<split>/<name>.tfrecord``, split = the file's parent name)."""
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(source_dir.rglob("*.tfrecord")):
            info = tarfile.TarInfo(f"{RELEASE_ROOT}/{path.parent.name}/{path.name}")
            data = path.read_bytes()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive
