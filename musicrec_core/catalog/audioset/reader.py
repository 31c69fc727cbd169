"""Read release TFRecords from a folder, one file or a tar stream, batch by batch.

Input: a folder of ``*.tfrecord`` files (every one below it, sorted by path), a single
``.tfrecord`` file, or a tar archive of them (gzip, bzip2, xz or plain) such as the
release's ``features.tar.gz``, streamed without unpacking it (:meth:`AudioSetReader.
read_archive`, through :mod:`.archive`, which accepts an archive only whole). Files are
gathered into batches of about :data:`BATCH_BYTES`, framed and CRC-checked by
:mod:`.tfrecord`, and parsed in bulk by :mod:`.batch_parser`. No TensorFlow.

How it is fast (``benchmarks/bench_ingest.py``): folders are read in the calling thread
(with kernel read-ahead hints): on 2 cores a reader thread lost more waiting for the GIL
after each file than the reads cost, 255k against 285k segments/s. Only an archive's
inflation and tar walk, which release the GIL while inflating, run in a second thread
(:func:`_prefetched`), at most :data:`PREFETCH_BYTES` of members ahead.

A damaged record is never fatal: a record with a bad CRC, a file cut short, a proto that
does not parse, a bad video id, a segment without embeddings or with embeddings of the
wrong width is skipped and counted in :class:`.segments.IngestStats` by reason. A damaged
archive is: :class:`.archive.DamagedArchive` ends the read (and so the build, which then
publishes nothing). Segments shorter than 10 s are kept and pooled over the seconds they
have.

Memory, for an archive: at most PREFETCH_BYTES of members queued plus one member over it
(each at most :data:`.archive.MAX_MEMBER_BYTES`), and one batch of about
:data:`BATCH_BYTES` plus one member, joined once for framing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import IO

import numpy as np

from musicrec_core.catalog.audioset.archive import tfrecord_members
from musicrec_core.catalog.audioset.batch_parser import BatchParser, RecordLayout
from musicrec_core.catalog.audioset.segments import (
    BAD_CHECKSUM,
    BAD_LENGTH,
    MAX_PROBLEMS_KEPT,
    TRUNCATED,
    UNREADABLE,
    IngestStats,
    SegmentBatch,
)
from musicrec_core.catalog.audioset.tfrecord import FramedBatch, RecordFramer
from musicrec_core.catalog.pooling import DEFAULT_POOLING
from musicrec_core.errors import CatalogError

logger = logging.getLogger(__name__)

BATCH_BYTES = 16 * 2**20
"""Files are gathered into batches of about this many bytes before parsing."""

PREFETCH_BYTES = 32 * 2**20
"""Archive members read ahead of the parser, in bytes (one larger member may still wait)."""

_READ_AHEAD_FILES = 16  # files hinted to the kernel ahead of the one being read
_PREFETCH_JOIN_S = 5.0  # a reader blocked on the network ends when its stream is closed


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
        self._layouts: dict[int, list[RecordLayout]] = {}  # record length -> layouts seen

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
            yield from self.read_archive(handle, on_bytes=on_bytes)

    def read_directory(
        self, directory: Path, *, on_bytes: Callable[[int], None] | None = None
    ) -> Iterator[SegmentBatch]:
        """Read every ``*.tfrecord`` below ``directory`` (sorted by path)."""
        files = sorted(directory.rglob("*.tfrecord"))
        if not files:
            raise CatalogError(f"No .tfrecord files under {directory}.")
        return self._read_files(_file_contents(files, on_bytes))

    def read_archive(
        self, stream: IO[bytes], *, on_bytes: Callable[[int], None] | None = None
    ) -> Iterator[SegmentBatch]:
        """Stream a tar archive (gzip, bzip2, xz or plain) of TFRecords; nothing is unpacked
        to disk. ``on_bytes(n)`` is called as archive bytes are read.

        Raises (while iterating):
            DamagedArchive: the archive is not whole, damaged or over the limits
                (:mod:`.archive`); batches already yielded must then be dropped.
            DownloadError: whatever ``stream`` raises itself.
        """
        counted = _CountingReader(stream, on_bytes) if on_bytes else stream
        return self._read_files(_prefetched(tfrecord_members(counted)))

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
                if len(self.stats.problems) < MAX_PROBLEMS_KEPT:
                    self.stats.problems.append(f"{report.name}: {problem}")
        parser = BatchParser(
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


def _prefetched(
    members: Iterator[tuple[str, bytes]], max_bytes: int = PREFETCH_BYTES
) -> Iterator[tuple[str, bytes]]:
    """Run ``members`` in a background thread, holding at most ``max_bytes`` of member data
    ahead of the consumer (or one member, however large, when none is waiting).

    Used for archives: inflating gzip releases the GIL, so it overlaps with parsing on
    another core. An exception raised by ``members`` is re-raised here, in the consumer.
    """
    waiting: deque[tuple[str, bytes]] = deque()
    held = [0]  # bytes in ``waiting``
    done = threading.Event()  # the producer has finished, however
    stop = threading.Event()  # the consumer has gone
    failure: list[BaseException] = []
    changed = threading.Condition()

    def produce() -> None:
        try:
            for name, data in members:
                with changed:
                    while held[0] and held[0] + len(data) > max_bytes and not stop.is_set():
                        changed.wait()
                    if stop.is_set():
                        return
                    waiting.append((name, data))
                    held[0] += len(data)
                    changed.notify_all()
        except BaseException as exc:  # forwarded to the consumer
            failure.append(exc)
        finally:
            members.close()  # type: ignore[attr-defined]
            with changed:
                done.set()
                changed.notify_all()

    thread = threading.Thread(target=produce, name="musicrec-ingest-read", daemon=True)
    thread.start()
    try:
        while True:
            with changed:
                while not waiting and not done.is_set():
                    changed.wait()
                if not waiting:
                    break
                name, data = waiting.popleft()
                held[0] -= len(data)
                changed.notify_all()
            yield name, data
        if failure:
            raise failure[0]
    finally:
        with changed:
            stop.set()
            changed.notify_all()
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
