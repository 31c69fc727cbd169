"""Read AudioSet's released VGGish features and pool them into one vector per segment.

Input: TFRecord files of ``tf.train.SequenceExample`` protos (schema in
docs/VGGISH_AND_AUDIOSET.md): context ``video_id``, ``start_time_seconds``,
``end_time_seconds``, ``labels``; feature list ``audio_embedding`` of 128-byte values, one per
second. Read from an extracted folder (every ``*.tfrecord`` below it) or streamed out of
``features.tar.gz`` without unpacking it (:meth:`AudioSetReader.read_archive`).

How it is fast (``benchmarks/bench_ingest.py``): no TensorFlow and no per-record proto
objects. Files are framed and CRC-checked by :mod:`musicrec_core.catalog.tfrecord`, then
records are parsed in bulk. Records written by one writer share their wire layout: the
same tags, keys and length prefixes at the same byte positions, differing only in payload
bytes (the id's characters, the two floats, the label varints, the embedding bytes). For
each record length in a batch, one record is parsed field by field into such a layout;
every other record of that length whose non-payload bytes are identical parses the same
way, so its fields are gathered for all those records at once with numpy indexing; the
rest of the group gets the next layout. Where layouts keep fitting only a few records
(records shaped in many ways), and for labels that do not fit two-byte varints, records
are parsed one by one by the same field-by-field parser. The result does not depend on
which path a record took.

Folders are read in the calling thread (with kernel read-ahead hints): on 2 cores a reader
thread lost more waiting for the GIL after each file than the reads cost, 255k against
285k segments/s. Only gzip inflation, which releases the GIL for whole 1 MiB chunks, runs
in a second thread (:func:`_prefetched`). Evenly spaced embedding frames are pooled as a
strided view of the record rows, summed in integers (:func:`pool_quantized`).

Never fatal: a record with a bad CRC, a file cut short, a proto that does not parse, a
segment without embeddings or with embeddings of the wrong width is skipped and counted in
:class:`IngestStats` by reason; a damaged archive stops the stream and is counted too.
Segments shorter than 10 s are kept and pooled over the seconds they have.
"""

from __future__ import annotations

import logging
import os
import queue
import tarfile
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from musicrec_core.catalog.index import IndexBuilder, ItemMeta
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pool_quantized
from musicrec_core.catalog.tfrecord import FramedBatch, RecordFramer
from musicrec_core.embedders.vggish import params as vggish_params
from musicrec_core.errors import CatalogError

logger = logging.getLogger(__name__)

EMBEDDING_BYTES = 128
"""Bytes per second of audio in the release (128 uint8 values)."""

BATCH_BYTES = 16 * 2**20
"""Files are gathered into batches of about this many bytes before parsing."""

MIN_SHARED_LAYOUT = 8
"""A layout fitting fewer records of a batch counts as a miss (see _MAX_LAYOUT_MISSES)."""

_MAX_LAYOUT_MISSES = 4
"""After this many layouts fitting too few records, the rest of a length group is parsed
one record at a time (bounds the cost when every record is shaped differently)."""
_POOL_CHUNK_ROWS = 4096
_LAYOUTS_KEPT_PER_LENGTH = 8
"""Layouts remembered per record length, so later batches skip parsing a representative."""
_PREFETCH_FILES = 16
_READ_AHEAD_FILES = 16  # files hinted to the kernel ahead of the one being read
_PREFETCH_JOIN_S = 5.0  # a reader blocked on the network ends when its stream is closed
_ARCHIVE_CHUNK_BYTES = 2**20  # tarfile's stream reads (its default, 10 KiB, costs 2x time)
_MAX_PROBLEMS_KEPT = 20

# Skip reasons, as shown in the summary.
BAD_CHECKSUM = "bad record checksum"
BAD_LENGTH = "bad length checksum (rest of file lost)"
TRUNCATED = "file cut short"
UNPARSABLE = "unparsable record"
NO_EMBEDDINGS = "no embeddings"
BAD_WIDTH = "embedding not 128 bytes"
UNREADABLE = "unreadable file"
DAMAGED_ARCHIVE = "damaged archive (stream stopped)"


@dataclass
class IngestStats:
    """Counts of one ingest run.

    Attributes:
        files: TFRecord files opened.
        kept: segments pooled and passed on.
        filtered: intact segments left out by the class filter (``--music-only``).
        skipped: skip reason -> count.
        problems: the first few problem descriptions, "file: what".
    """

    files: int = 0
    kept: int = 0
    filtered: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def skip(self, reason: str, count: int = 1, problem: str | None = None) -> None:
        """Count ``count`` records skipped for ``reason``."""
        if count <= 0:
            return
        self.skipped[reason] += count
        if problem is not None and len(self.problems) < _MAX_PROBLEMS_KEPT:
            self.problems.append(problem)

    @property
    def records(self) -> int:
        """Records met: kept + filtered + skipped (a lost file or archive counts as one)."""
        return self.kept + self.filtered + sum(self.skipped.values())

    def summary(self) -> str:
        """One paragraph: files, records read, kept, filtered, skipped by reason."""
        skipped = sum(self.skipped.values())
        text = (
            f"Read {self.records:,} records from {self.files:,} files: kept {self.kept:,}, "
            f"filtered out {self.filtered:,}, skipped {skipped:,}"
        )
        if skipped:
            reasons = ", ".join(f"{reason} {n:,}" for reason, n in self.skipped.most_common())
            text += f" ({reasons})"
        return text + "."

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly copy (for the index manifest)."""
        return {
            "files": self.files,
            "records": self.records,
            "kept": self.kept,
            "filtered": self.filtered,
            "skipped": dict(self.skipped),
        }


@dataclass
class SegmentBatch:
    """Pooled segments, column by column.

    Attributes:
        video_ids: m YouTube ids.
        start_s: float64 [m], segment start in seconds.
        end_s: float64 [m], segment end in seconds.
        label_counts: int64 [m], labels per segment.
        label_values: int64 [sum(label_counts)], class indices, segment after segment.
        frame_counts: int64 [m], seconds of embeddings per segment.
        vectors: float32 [m, D], pooled dequantized embeddings.
    """

    video_ids: list[str]
    start_s: np.ndarray
    end_s: np.ndarray
    label_counts: np.ndarray
    label_values: np.ndarray
    frame_counts: np.ndarray
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.video_ids)

    @staticmethod
    def join(parts: Sequence[SegmentBatch]) -> SegmentBatch:
        """One batch holding ``parts`` one after another."""
        if not parts:
            empty = np.zeros(0)
            return SegmentBatch([], empty, empty, empty, empty, empty, np.zeros((0, 0), np.float32))
        return SegmentBatch(
            video_ids=[v for part in parts for v in part.video_ids],
            start_s=np.concatenate([p.start_s for p in parts]),
            end_s=np.concatenate([p.end_s for p in parts]),
            label_counts=np.concatenate([p.label_counts for p in parts]),
            label_values=np.concatenate([p.label_values for p in parts]),
            frame_counts=np.concatenate([p.frame_counts for p in parts]),
            vectors=np.concatenate([p.vectors for p in parts]),
        )

    def labels(self) -> list[list[int]]:
        """Class indices per segment."""
        bounds = np.concatenate([[0], np.cumsum(self.label_counts)]).tolist()
        values = self.label_values.tolist()
        return [values[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


class _Malformed(Exception):
    """A record that cannot be used; ``reason`` is one of the skip reasons."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


# ---------------------------------------------------------------------------------------
# Field-by-field parsing of one record (protobuf wire format).


def _varint(data: bytes, position: int, end: int) -> tuple[int, int]:
    """Decode a varint at ``position``; returns (value, position after it)."""
    value = 0
    shift = 0
    while position < end and shift < 64:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7
    raise _Malformed(UNPARSABLE, "bad varint")


def _fields(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """Yield (field number, wire type, value start, value end, varint value) of a message.

    For length-delimited fields the span is the payload; for varints it is the varint's
    bytes; for fixed32/fixed64 the 4 or 8 bytes.
    """
    position = start
    while position < end:
        key, position = _varint(data, position, end)
        number, wire_type = key >> 3, key & 7
        value_start = position
        value = 0
        if wire_type == 0:
            value, position = _varint(data, position, end)
        elif wire_type == 1:
            position += 8
        elif wire_type == 2:
            size, value_start = _varint(data, position, end)
            position = value_start + size
        elif wire_type == 5:
            position += 4
        else:
            raise _Malformed(UNPARSABLE, f"wire type {wire_type}")
        if position > end or number == 0:
            raise _Malformed(UNPARSABLE, "field runs past its message")
        yield number, wire_type, value_start, position, value


def _map_entries(data: bytes, start: int, end: int) -> dict[str, tuple[int, int]]:
    """A ``map<string, message>`` field's entries: key -> value payload span."""
    entries: dict[str, tuple[int, int]] = {}
    for number, wire_type, entry_start, entry_end, _ in _fields(data, start, end):
        if number != 1 or wire_type != 2:
            continue
        key, value = b"", (entry_end, entry_end)
        for inner, inner_type, value_start, value_end, _ in _fields(data, entry_start, entry_end):
            if inner == 1 and inner_type == 2:
                key = data[value_start:value_end]
            elif inner == 2 and inner_type == 2:
                value = (value_start, value_end)
        entries[key.decode("utf-8", "replace")] = value
    return entries


def _list_values(
    data: bytes, feature: tuple[int, int], kind: int
) -> list[tuple[int, int, int, int]]:
    """The values of one tf.train.Feature's list of the given kind (1 bytes, 2 float,
    3 int64): (wire type, start, end, varint value) per wire field of the list."""
    values = []
    for number, wire_type, start, end, _ in _fields(data, *feature):
        if number == kind and wire_type == 2:
            values.extend(
                (value_type, value_start, value_end, value)
                for inner, value_type, value_start, value_end, value in _fields(data, start, end)
                if inner == 1
            )
    return values


@dataclass
class _Parsed:
    """One record parsed field by field; spans are byte offsets within the record."""

    video_id: str
    video_id_span: tuple[int, int]
    start_at: int
    end_at: int
    label_spans: list[tuple[int, int]]
    labels_packed: bool
    labels: list[int]
    frame_offsets: list[int]


def _decode_varints(data: bytes, start: int, end: int) -> list[int]:
    values = []
    position = start
    while position < end:
        value, position = _varint(data, position, end)
        values.append(value)
    return values


def _first_float_at(data: bytes, context: dict[str, tuple[int, int]], key: str) -> int:
    if key not in context:
        raise _Malformed(UNPARSABLE, f"no {key}")
    for wire_type, start, end, _ in _list_values(data, context[key], 2):
        if (wire_type == 2 and end - start >= 4) or wire_type == 5:
            return start
    raise _Malformed(UNPARSABLE, f"{key} holds no float")


def _parse(record: bytes) -> _Parsed:
    """Parse one release-format SequenceExample. Raises _Malformed."""
    context_span = lists_span = None
    for number, wire_type, start, end, _ in _fields(record, 0, len(record)):
        if number == 1 and wire_type == 2:
            context_span = (start, end)
        elif number == 2 and wire_type == 2:
            lists_span = (start, end)
    if context_span is None:
        raise _Malformed(UNPARSABLE, "no context")
    context = _map_entries(record, *context_span)
    if "video_id" not in context:
        raise _Malformed(UNPARSABLE, "no video_id")
    ids = [v for v in _list_values(record, context["video_id"], 1) if v[0] == 2]
    if not ids:
        raise _Malformed(UNPARSABLE, "empty video_id")
    video_id_span = (ids[0][1], ids[0][2])
    try:
        video_id = record[video_id_span[0] : video_id_span[1]].decode("ascii")
    except UnicodeDecodeError as exc:
        raise _Malformed(UNPARSABLE, "video_id is not ASCII") from exc
    label_spans: list[tuple[int, int]] = []
    labels: list[int] = []
    packed = True
    if "labels" in context:
        for wire_type, start, end, value in _list_values(record, context["labels"], 3):
            if wire_type == 2:
                label_spans.append((start, end))
                labels.extend(_decode_varints(record, start, end))
            elif wire_type == 0:
                packed = False
                label_spans.append((start, end))
                labels.append(value)
    if (
        label_spans
        and not packed
        and any(len(_decode_varints(record, *s)) != 1 for s in label_spans)
    ):
        raise _Malformed(UNPARSABLE, "mixed label encodings")
    frame_offsets: list[int] = []
    if lists_span is not None:
        feature_lists = _map_entries(record, *lists_span)
        if "audio_embedding" in feature_lists:
            for number, wire_type, start, end, _ in _fields(
                record, *feature_lists["audio_embedding"]
            ):
                if number != 1 or wire_type != 2:
                    continue
                values = [v for v in _list_values(record, (start, end), 1) if v[0] == 2]
                if len(values) != 1 or values[0][2] - values[0][1] != EMBEDDING_BYTES:
                    raise _Malformed(BAD_WIDTH, "an audio_embedding value is not 128 bytes")
                frame_offsets.append(values[0][1])
    return _Parsed(
        video_id=video_id,
        video_id_span=video_id_span,
        start_at=_first_float_at(record, context, "start_time_seconds"),
        end_at=_first_float_at(record, context, "end_time_seconds"),
        label_spans=label_spans,
        labels_packed=packed,
        labels=labels,
        frame_offsets=frame_offsets,
    )


# ---------------------------------------------------------------------------------------
# Layouts: parse one record, apply its byte positions to every record shaped like it.


@dataclass
class _Layout:
    """Byte positions shared by every record shaped like one parsed record.

    ``structure`` holds the positions of every byte that is not payload (tags, keys,
    length prefixes); a record of the same length whose bytes there equal ``expected``
    parses to payloads at the same positions.
    """

    parsed: _Parsed
    structure: np.ndarray
    expected: np.ndarray
    label_positions: np.ndarray
    label_span_ends: np.ndarray
    frame_positions: np.ndarray

    @classmethod
    def of(cls, record: bytes, parsed: _Parsed) -> _Layout:
        payload = np.zeros(len(record), dtype=bool)
        spans = [
            parsed.video_id_span,
            (parsed.start_at, parsed.start_at + 4),
            (parsed.end_at, parsed.end_at + 4),
            *parsed.label_spans,
            *((offset, offset + EMBEDDING_BYTES) for offset in parsed.frame_offsets),
        ]
        for start, end in spans:
            payload[start:end] = True
        structure = np.flatnonzero(~payload)
        label_positions = np.concatenate(
            [np.arange(start, end) for start, end in parsed.label_spans] or [np.zeros(0, int)]
        ).astype(np.int64)
        span_lengths = [end - start for start, end in parsed.label_spans]
        frame_positions = (
            np.asarray(parsed.frame_offsets, dtype=np.int64)[:, None] + np.arange(EMBEDDING_BYTES)
        ).ravel()
        return cls(
            parsed=parsed,
            structure=structure.astype(np.int64),
            expected=np.frombuffer(record, dtype=np.uint8)[structure],
            label_positions=label_positions,
            label_span_ends=np.cumsum(span_lengths, dtype=np.int64) - 1,
            frame_positions=frame_positions,
        )


def _decode_label_block(
    block: np.ndarray, span_ends: np.ndarray, packed: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode label varints of many records at once.

    Args:
        block: uint8 [m, k], each record's label payload bytes (all spans, concatenated).
        span_ends: positions in k where a wire span ends (a varint must end there).
        packed: False when each span must hold exactly one varint.

    Returns:
        (ok [m] bool, counts [m], values [sum(counts[ok])]) for the rows that decode with
        varints of at most two bytes (class indices < 16384); others are not ok.
    """
    rows, width = block.shape
    if width == 0:
        return np.ones(rows, bool), np.zeros(rows, np.int64), np.zeros(0, np.int64)
    continues = block >= 0x80
    ok = ~continues[:, span_ends].any(axis=1)
    ok &= ~(continues[:, 1:] & continues[:, :-1]).any(axis=1)
    ends = ~continues
    if not packed:
        ok &= ends.sum(axis=1) == span_ends.size
    values = block.astype(np.int64)
    low = values & 0x7F
    two_byte = np.zeros_like(continues)
    two_byte[:, 1:] = continues[:, :-1]
    values[:, 1:] = np.where(two_byte[:, 1:], (values[:, 1:] << 7) | low[:, :-1], values[:, 1:])
    ends &= ok[:, None]
    return ok, ends.sum(axis=1), values[ends]


# ---------------------------------------------------------------------------------------
# The reader.


class AudioSetReader:
    """Turns release TFRecords into :class:`SegmentBatch` es of pooled segments.

    Args:
        pooling: the pooling rule (musicrec_core.catalog.pooling).
        keep_classes: when given, keep only segments with at least one of these class
            indices (``--music-only`` passes the Music subtree); others count as filtered.
        batch_bytes: TFRecord bytes gathered before each bulk parse.

    Attributes:
        stats: running counts; complete once an iterator is exhausted.
    """

    def __init__(
        self,
        *,
        pooling: str = DEFAULT_POOLING,
        keep_classes: Collection[int] | None = None,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self.pooling = pooling
        self.keep_classes = (
            None if keep_classes is None else np.array(sorted(keep_classes), dtype=np.int64)
        )
        self.batch_bytes = batch_bytes
        self.stats = IngestStats()
        self._layouts: dict[int, list[_Layout]] = {}  # record length -> layouts seen

    def read(
        self, source: Path, *, on_bytes: Callable[[int], None] | None = None
    ) -> Iterator[SegmentBatch]:
        """Read a folder of TFRecords, one TFRecord file, or a (gzipped) tar archive of them.

        ``on_bytes(n)`` is called as input is consumed (file bytes, or archive bytes).
        Raises CatalogError when ``source`` does not exist or holds no TFRecords.
        """
        if source.is_dir():
            return self.read_directory(source, on_bytes=on_bytes)
        if source.is_file() and source.suffix == ".tfrecord":
            return self._read_files(_file_contents([source], on_bytes))
        if source.is_file():
            return self._read_archive_file(source, on_bytes)
        raise CatalogError(f"The features path {source} does not exist.")

    def _read_archive_file(
        self, source: Path, on_bytes: Callable[[int], None] | None
    ) -> Iterator[SegmentBatch]:
        try:
            handle = source.open("rb")
        except OSError as exc:
            raise CatalogError(f"Cannot open {source}: {exc.strerror}.") from exc
        with handle:
            counted = _CountingReader(handle, on_bytes) if on_bytes else handle
            yield from self.read_archive(counted)

    def read_directory(
        self, directory: Path, *, on_bytes: Callable[[int], None] | None = None
    ) -> Iterator[SegmentBatch]:
        """Read every ``*.tfrecord`` below ``directory`` (sorted by path)."""
        files = sorted(directory.rglob("*.tfrecord"))
        if not files:
            raise CatalogError(f"No .tfrecord files under {directory}.")
        return self._read_files(_file_contents(files, on_bytes))

    def read_archive(self, stream: IO[bytes]) -> Iterator[SegmentBatch]:
        """Stream a tar archive (gzip, bzip2, xz or plain) of TFRecords; nothing is unpacked
        to disk. Errors of ``stream`` itself (e.g. DownloadError) propagate."""
        return self._read_files(self._archive_contents(stream))

    def _archive_contents(self, stream: IO[bytes]) -> Iterator[tuple[str, bytes | OSError]]:
        try:
            yield from _prefetched(_archive_members(stream))
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            self.stats.skip(DAMAGED_ARCHIVE, 1, f"archive: {exc}")

    def _read_files(
        self, contents: Iterable[tuple[str, bytes | OSError]]
    ) -> Iterator[SegmentBatch]:
        framer = RecordFramer()
        for name, data in contents:
            self.stats.files += 1
            if isinstance(data, OSError):
                self.stats.skip(UNREADABLE, 1, f"{name}: {data.strerror or data}")
                continue
            framer.add(name, data)
            if framer.size >= self.batch_bytes:
                yield from self._parse_batch(framer.finish())
                framer = RecordFramer()
        if framer.size:
            yield from self._parse_batch(framer.finish())
        for problem in self.stats.problems:
            logger.info("skipped: %s", problem)

    def _parse_batch(self, framed: FramedBatch) -> Iterator[SegmentBatch]:
        for report in framed.reports:
            self.stats.skip(BAD_CHECKSUM, report.bad_checksum)
            self.stats.skip(BAD_LENGTH, report.bad_header)
            self.stats.skip(TRUNCATED, report.truncated)
            for problem in report.problems[:3]:
                if len(self.stats.problems) < _MAX_PROBLEMS_KEPT:
                    self.stats.problems.append(f"{report.name}: {problem}")
        parser = _BatchParser(
            framed.data, self.pooling, self.keep_classes, self.stats, self._layouts
        )
        batch = parser.parse(framed.offsets, framed.lengths)
        if len(batch):
            yield batch


def _file_contents(
    files: list[Path], on_bytes: Callable[[int], None] | None
) -> Iterator[tuple[str, bytes | OSError]]:
    """(name, bytes) of each file, or (name, the OSError) for one that cannot be read.

    Read in the calling thread: a reader thread would need the GIL back after every file,
    and waiting for it cost more than the reads themselves (page-cache reads of the
    release run at GB/s). Disk latency is hidden instead by asking the kernel to read the
    next files ahead (``posix_fadvise``, where the platform has it).
    """
    for number, path in enumerate(files):
        if number + _READ_AHEAD_FILES < len(files):
            _read_ahead(files[number + _READ_AHEAD_FILES])
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield str(path), exc
            continue
        if on_bytes:
            on_bytes(len(data))
        yield str(path), data


def _read_ahead(path: Path) -> None:
    """Ask the kernel to start reading ``path`` into the page cache; no-op where unsupported."""
    if not hasattr(os, "posix_fadvise"):
        return
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return  # reported when the file itself is read
    try:
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass  # only a hint
    finally:
        os.close(descriptor)


def _archive_members(stream: IO[bytes]) -> Iterator[tuple[str, bytes | OSError]]:
    """(name, bytes) of each *.tfrecord member of a tar stream; raises on a damaged archive."""
    with tarfile.open(fileobj=stream, mode="r|*", bufsize=_ARCHIVE_CHUNK_BYTES) as archive:
        for member in archive:
            if member.isfile() and member.name.endswith(".tfrecord"):
                extracted = archive.extractfile(member)
                if extracted is not None:
                    yield member.name, extracted.read()


_T = TypeVar("_T")


def _prefetched(items: Iterator[_T], depth: int = _PREFETCH_FILES) -> Iterator[_T]:
    """Run ``items`` in a background thread, up to ``depth`` items ahead.

    Used for archives: inflating gzip releases the GIL, so it overlaps with parsing on
    another core. An exception raised by ``items`` is re-raised here, in the consumer.
    """
    channel: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                channel.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((False, item)):
                    return
            put((True, None))
        except BaseException as exc:  # forwarded to the consumer
            put((True, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="musicrec-ingest-read", daemon=True)
    thread.start()
    try:
        while True:
            finished, payload = channel.get()
            if finished:
                if isinstance(payload, BaseException):
                    raise payload
                return
            yield payload  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=_PREFETCH_JOIN_S)


class _CountingReader:
    """A read-only file wrapper that reports bytes read (for progress bars)."""

    def __init__(self, inner: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        self._inner = inner
        self._on_bytes = on_bytes

    def read(self, size: int = -1) -> bytes:
        chunk = self._inner.read(size)
        self._on_bytes(len(chunk))
        return chunk


class _BatchParser:
    """Parses the records of one batch buffer into pooled, filtered segments."""

    def __init__(
        self,
        data: bytes,
        pooling: str,
        keep_classes: np.ndarray | None,
        stats: IngestStats,
        layouts: dict[int, list[_Layout]],
    ) -> None:
        self.data = data
        self.layouts = layouts
        self.buffer = np.frombuffer(data, dtype=np.uint8)
        self.pooling = pooling
        self.keep_classes = keep_classes
        self.stats = stats
        self.parts: list[SegmentBatch] = []

    def parse(self, offsets: np.ndarray, lengths: np.ndarray) -> SegmentBatch:
        """Parse every record (offset, length) of the buffer; skipped ones are counted."""
        if offsets.size == 0:
            return SegmentBatch.join([])
        order = np.argsort(lengths, kind="stable")
        group_lengths, group_starts = np.unique(lengths[order], return_index=True)
        groups = np.split(offsets[order], group_starts[1:])
        for length, remaining in zip(group_lengths.tolist(), groups, strict=True):
            # All records of this length, one per row: uint8 [m, length] (one copy).
            rows = sliding_window_view(self.buffer, length)[remaining]
            known = self.layouts.setdefault(length, [])
            for layout in known:  # layouts met in earlier batches: no parsing needed
                if remaining.size:
                    remaining, rows = self._apply(layout, remaining, rows)
            misses = 0
            while remaining.size:
                if misses == _MAX_LAYOUT_MISSES:
                    self._one_by_one(remaining, length)
                    break
                record = rows[0].tobytes()
                try:
                    layout = _Layout.of(record, _parse(record))
                except _Malformed as error:
                    self.stats.skip(error.reason, 1, f"record at byte {remaining[0]}: {error}")
                    remaining, rows = remaining[1:], rows[1:]
                    continue
                before = remaining.size
                remaining, rows = self._apply(layout, remaining, rows)
                if before - remaining.size < MIN_SHARED_LAYOUT:
                    misses += 1
                elif len(known) < _LAYOUTS_KEPT_PER_LENGTH:
                    known.append(layout)
        return SegmentBatch.join(self.parts)

    def _apply(
        self, layout: _Layout, offsets: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decode the records shaped like ``layout``; returns the others (offsets, rows)."""
        fits = (rows[:, layout.structure] == layout.expected).all(axis=1)
        if fits.all():  # the usual case: no copies
            self._with_layout(rows, offsets, layout)
            return offsets[:0], rows[:0]
        if fits.any():
            self._with_layout(rows[fits], offsets[fits], layout)
        return offsets[~fits], rows[~fits]

    def _with_layout(self, rows: np.ndarray, offsets: np.ndarray, layout: _Layout) -> None:
        """Decode records [m, length] that share ``layout``, all at once."""
        parsed = layout.parsed
        ok, counts, values = _decode_label_block(
            rows[:, layout.label_positions], layout.label_span_ends, parsed.labels_packed
        )
        if not ok.all():
            self._one_by_one(offsets[~ok], rows.shape[1])
            rows, counts = rows[ok], counts[ok]
        if not parsed.frame_offsets:
            self.stats.skip(NO_EMBEDDINGS, rows.shape[0])
            return
        id_start, id_end = parsed.video_id_span
        id_bytes = np.ascontiguousarray(rows[:, id_start:id_end]).view(f"S{id_end - id_start}")
        try:
            video_ids = id_bytes.ravel().astype(f"U{id_end - id_start}").tolist()
        except UnicodeDecodeError:
            self._one_by_one(offsets, rows.shape[1])
            return
        self._add(
            video_ids,
            _floats(rows, parsed.start_at),
            _floats(rows, parsed.end_at),
            counts,
            values,
            _frames(rows, layout),
        )

    def _one_by_one(self, offsets: np.ndarray, length: int) -> None:
        for offset in offsets.tolist():
            record = self.data[offset : offset + length]
            try:
                parsed = _parse(record)
            except _Malformed as error:
                self.stats.skip(error.reason, 1, f"record at byte {offset}: {error}")
                continue
            if not parsed.frame_offsets:
                self.stats.skip(NO_EMBEDDINGS)
                continue
            frames = np.frombuffer(record, dtype=np.uint8)[
                np.asarray(parsed.frame_offsets)[:, None] + np.arange(EMBEDDING_BYTES)
            ]
            start, end = (
                np.frombuffer(record, dtype="<f4", count=1, offset=at).astype(np.float64)
                for at in (parsed.start_at, parsed.end_at)
            )
            self._add(
                [parsed.video_id],
                start,
                end,
                np.array([len(parsed.labels)]),
                np.array(parsed.labels, dtype=np.int64),
                frames[None],
            )

    def _add(
        self,
        video_ids: list[str],
        starts: np.ndarray,
        ends: np.ndarray,
        counts: np.ndarray,
        values: np.ndarray,
        frames: np.ndarray,
    ) -> None:
        """Filter by class, pool uint8 frames [m, n, 128] and keep the segments."""
        rows = len(video_ids)
        keep = np.ones(rows, dtype=bool)
        if self.keep_classes is not None:
            owner = np.repeat(np.arange(rows), counts)
            hits = owner[np.isin(values, self.keep_classes)]
            keep = np.bincount(hits, minlength=rows) > 0
            self.stats.filtered += int(rows - keep.sum())
            values = values[keep[owner]]
            counts = counts[keep]
            video_ids = [v for v, k in zip(video_ids, keep.tolist(), strict=True) if k]
            starts, ends, frames = starts[keep], ends[keep], frames[keep]
        kept = len(video_ids)
        if kept == 0:
            return
        vectors = np.concatenate(
            [
                pool_quantized(frames[i : i + _POOL_CHUNK_ROWS], self.pooling)
                for i in range(0, kept, _POOL_CHUNK_ROWS)
            ]
        )
        self.stats.kept += kept
        self.parts.append(
            SegmentBatch(
                video_ids=video_ids,
                start_s=starts,
                end_s=ends,
                label_counts=counts.astype(np.int64),
                label_values=values.astype(np.int64),
                frame_counts=np.full(kept, frames.shape[1], dtype=np.int64),
                vectors=vectors,
            )
        )


def _floats(rows: np.ndarray, at: int) -> np.ndarray:
    """float64 [m] from the little-endian float32 at byte ``at`` of each row."""
    return np.ascontiguousarray(rows[:, at : at + 4]).view("<f4")[:, 0].astype(np.float64)


def _frames(rows: np.ndarray, layout: _Layout) -> np.ndarray:
    """uint8 [m, n, 128] embedding frames of records [m, length] laid out like ``layout``
    (a read-only view of ``rows`` where the frames are evenly spaced)."""
    frame_offsets = layout.parsed.frame_offsets
    gaps = set(np.diff(frame_offsets).tolist())
    if len(gaps) <= 1:
        # Evenly spaced frames (the usual case): a strided view of ``rows``, pooled in place.
        stride = gaps.pop() if gaps else EMBEDDING_BYTES
        view = as_strided(
            rows[:, frame_offsets[0] :],
            shape=(rows.shape[0], len(frame_offsets), EMBEDDING_BYTES),
            strides=(rows.strides[0], stride, 1),
            writeable=False,
        )
        return view
    return rows[:, layout.frame_positions].reshape(rows.shape[0], -1, EMBEDDING_BYTES)


# ---------------------------------------------------------------------------------------
# Building an index from the release.

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

AUDIOSET_EMBEDDER = {
    "name": "vggish",
    "version": vggish_params.AUDIOSET_VERSION,
    "dim": vggish_params.EMBEDDING_SIZE,
}
"""The identity of the embedder that made the released features."""


def build_index(
    batches: Iterable[SegmentBatch],
    target_dir: Path,
    *,
    class_names: Sequence[str],
    stats: IngestStats,
    embedder: dict[str, object] | None = None,
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
        embedder: identity of the features' embedder (default: AUDIOSET_EMBEDDER).
        pooling: must be the reader's pooling rule.
        n_trees, search_k: Annoy settings (None: the index defaults).
    """
    names = list(class_names)
    with IndexBuilder(
        target_dir,
        embedder=dict(embedder or AUDIOSET_EMBEDDER),
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
