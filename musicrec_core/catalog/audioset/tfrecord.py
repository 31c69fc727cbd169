"""TFRecord framing: find the records in a file's bytes and check their CRCs.

A TFRecord file is a sequence of::

    uint64 length (little endian)
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

masked(crc) = ((crc >> 15) | (crc << 17)) + 0xA282EAD8 (mod 2^32), crc32c = CRC-32C
(Castagnoli). The checksums come from ``google-crc32c`` (hardware CRC instructions). This
module reads no TensorFlow: it only locates records, so a caller can parse many at once.

A record whose data CRC fails is skipped and reported; a length whose CRC fails, or a file
that ends inside a record, ends that file (the following lengths cannot be trusted).

Memory: a file's bytes are held once (joined with the batch's other files only when there
are several), plus about 60 bytes per record while a batch is framed (compact arrays, no
per-record Python objects), so a file of the smallest possible records (16 bytes each)
costs a few times its size, not a hundred.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass, field

import google_crc32c
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

HEADER_BYTES = 12
"""Length (8) plus its CRC (4)."""

FOOTER_BYTES = 4
"""The data CRC."""

_MASK_DELTA = 0xA282EAD8


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C of ``data``."""
    return int(_mask(np.array([google_crc32c.value(data)], dtype=np.uint32))[0])


def _mask(crcs: np.ndarray) -> np.ndarray:
    """Vectorised TFRecord mask of uint32 CRCs."""
    crcs = crcs.astype(np.uint32)
    return ((crcs >> np.uint32(15)) | (crcs << np.uint32(17))) + np.uint32(_MASK_DELTA)


def _length_crc_tables() -> tuple[np.ndarray, int]:
    """Tables for a vectorised CRC-32C of 8-byte messages (the length fields).

    CRC-32C is linear over GF(2): the register after 8 bytes is the register the initial
    value alone leaves after 8 zero bytes, XOR one table entry per byte, where
    ``tables[j][b]`` is the effect of byte ``b`` followed by ``j`` zero bytes.
    """
    byte_table = np.zeros(256, dtype=np.uint32)
    for value in range(256):
        register = value
        for _ in range(8):
            register = (register >> 1) ^ (_POLYNOMIAL if register & 1 else 0)
        byte_table[value] = register
    tables = np.zeros((8, 256), dtype=np.uint32)
    tables[0] = byte_table
    for zeros in range(1, 8):
        previous = tables[zeros - 1]
        tables[zeros] = byte_table[previous & 0xFF] ^ (previous >> np.uint32(8))
    register = 0xFFFFFFFF
    for _ in range(8):
        register = int(byte_table[register & 0xFF]) ^ (register >> 8)
    return tables[::-1].copy(), register  # row i now applies to byte i of 8


_POLYNOMIAL = 0x82F63B78  # CRC-32C, bit-reflected
_LENGTH_TABLES, _LENGTH_INIT = _length_crc_tables()


def _crc32c_of_lengths(length_bytes: np.ndarray) -> np.ndarray:
    """CRC-32C of each row of uint8 [n, 8] -> uint32 [n]."""
    crcs = np.full(length_bytes.shape[0], _LENGTH_INIT ^ 0xFFFFFFFF, dtype=np.uint32)
    for position in range(8):
        crcs ^= _LENGTH_TABLES[position][length_bytes[:, position]]
    return crcs


def _gather(buffer: np.ndarray, positions: np.ndarray, width: int) -> np.ndarray:
    """uint8 [n, width]: the ``width`` bytes at each of ``positions`` in ``buffer`` (one
    copy, without an [n, width] index array)."""
    if positions.size == 0:
        return np.zeros((0, width), dtype=np.uint8)
    return sliding_window_view(buffer, width)[positions]


@dataclass
class FileReport:
    """What framing found wrong in one file.

    Attributes:
        name: the file's name, for messages.
        bad_checksum: records skipped because their data CRC failed.
        bad_header: 1 when a length CRC failed and the rest of the file was given up.
        truncated: 1 when the file ended inside a record.
        problems: one line per problem, for logs.
    """

    name: str
    bad_checksum: int = 0
    bad_header: int = 0
    truncated: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class FramedBatch:
    """Several files' bytes in one buffer, with the intact records located.

    Attributes:
        data: the files one after another.
        offsets: int64 [n], where each intact record's data starts in ``data``.
        lengths: int64 [n], each intact record's data length.
        reports: one per file that had a problem.
    """

    data: bytes
    offsets: np.ndarray
    lengths: np.ndarray
    reports: list[FileReport]


class RecordFramer:
    """Gathers TFRecord files and checks all their CRCs in one vectorised pass.

    :meth:`add` follows the lengths of one file in a Python loop and checksums each
    record's data; :meth:`finish` joins the files and checks every length CRC and data CRC
    at once. Records from a file's first bad length CRC on are dropped, so a corrupt length
    never makes garbage count as records; a record with a bad data CRC is dropped alone.
    """

    def __init__(self) -> None:
        self._files: list[tuple[str, bytes]] = []
        self._size = 0
        self._starts = array("q")
        self._lengths = array("q")
        self._crcs = array("I")
        self._first_record: list[int] = []
        self._truncated: list[bool] = []

    @property
    def size(self) -> int:
        """Bytes gathered so far."""
        return self._size

    def add(self, name: str, data: bytes) -> None:
        """Locate the records of one whole file (its CRCs are checked by finish, except the
        first length's: a file that fails it is not walked further)."""
        unpack_length = struct.Struct("<Q").unpack_from
        unpack_crc = struct.Struct("<I").unpack_from
        crc = google_crc32c.value
        add_start, add_length, add_crc = (
            self._starts.append,
            self._lengths.append,
            self._crcs.append,
        )
        base = self._size
        self._first_record.append(len(self._starts))
        size = len(data)
        position = 0
        truncated = False
        while position < size:
            if position + HEADER_BYTES > size:
                truncated = True
                break
            (length,) = unpack_length(data, position)
            start = position + HEADER_BYTES
            end = start + length
            if position == 0 and masked_crc32c(data[:8]) != unpack_crc(data, 8)[0]:
                add_start(start)  # finish() finds its length CRC bad and drops the file
                add_length(0)
                add_crc(0)
                break
            if end + FOOTER_BYTES > size:
                truncated = True
                # Kept as a zero-length record so that its length CRC is still checked.
                add_start(base + start)
                add_length(-1)
                add_crc(0)
                break
            add_start(base + start)
            add_length(length)
            add_crc(crc(data[start:end]))
            position = end + FOOTER_BYTES
        self._truncated.append(truncated)
        self._files.append((name, data))
        self._size += size

    def finish(self) -> FramedBatch:
        """Join the files, check every CRC and return the intact records."""
        data = b"".join(item[1] for item in self._files)  # one file: no copy
        buffer = np.frombuffer(data, dtype=np.uint8)
        starts = np.frombuffer(self._starts, dtype=np.int64)
        lengths = np.frombuffer(self._lengths, dtype=np.int64)
        header_bytes = _gather(buffer, starts - HEADER_BYTES, HEADER_BYTES)
        header_ok = (
            _mask(_crc32c_of_lengths(header_bytes[:, :8]))
            == header_bytes[:, 8:].copy().view("<u4")[:, 0]
        )
        del header_bytes
        complete = lengths >= 0
        footers = np.where(complete, starts + lengths, 0)
        stored = _gather(buffer, footers, FOOTER_BYTES).view("<u4")[:, 0]
        data_ok = _mask(np.frombuffer(self._crcs, dtype=np.uint32)) == stored
        keep = header_ok & complete & data_ok
        boundaries = [*self._first_record, len(starts)]
        reports = []
        for file_index, (name, _) in enumerate(self._files):
            first, stop = boundaries[file_index], boundaries[file_index + 1]
            report = FileReport(name)
            bad_headers = np.flatnonzero(~header_ok[first:stop])
            if bad_headers.size:
                cut = int(bad_headers[0])
                keep[first + cut : stop] = False
                stop = first + cut
                report.bad_header = 1
                report.problems.append(f"record {cut}: length checksum mismatch, rest ignored")
            elif self._truncated[file_index]:
                report.truncated = 1
                report.problems.append("the file ends inside its last record")
            bad_data = np.flatnonzero(complete[first:stop] & ~data_ok[first:stop])
            report.bad_checksum = int(bad_data.size)
            report.problems.extend(f"record {int(i)}: data checksum mismatch" for i in bad_data)
            if report.problems:
                reports.append(report)
        return FramedBatch(data, starts[keep], lengths[keep], reports)
