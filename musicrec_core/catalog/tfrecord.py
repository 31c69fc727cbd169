"""TFRecord framing: find the records in a file's bytes and check their CRCs.

A TFRecord file is a sequence of::

    uint64 length (little endian)
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

masked(crc) = ((crc >> 15) | (crc << 17)) + 0xA282EAD8 (mod 2^32), crc32c = CRC-32C
(Castagnoli). The checksums come from ``google-crc32c`` (hardware CRC instructions). This
module reads no TensorFlow: it only locates records, so a caller can parse many at once.

A record whose data CRC fails is skipped and reported; a header whose CRC fails, or a file
that ends inside a record, stops the scan (the following lengths cannot be trusted).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import google_crc32c
import numpy as np

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


@dataclass
class Framing:
    """Where the intact records of one file's bytes are.

    Attributes:
        offsets: int64 [n], start of each intact record's data within the buffer.
        lengths: int64 [n], byte length of each intact record's data.
        bad_checksum: records skipped because their data CRC failed.
        bad_header: 1 when a length CRC failed and the rest of the file was given up.
        truncated: 1 when the file ended inside a record.
        problems: one line per problem, for logs.
    """

    offsets: np.ndarray
    lengths: np.ndarray
    bad_checksum: int = 0
    bad_header: int = 0
    truncated: int = 0
    problems: list[str] = field(default_factory=list)


def frame_records(data: bytes) -> Framing:
    """Scan a whole TFRecord file held in memory and check every CRC.

    The loop only follows lengths and checksums each record's data; the stored CRCs and
    the length CRCs are checked afterwards in vectorised passes. Records from the first
    bad length CRC on are dropped, so a corrupt length never makes garbage count as records.
    """
    unpack_length = struct.Struct("<Q").unpack_from
    crc = google_crc32c.value
    size = len(data)
    starts: list[int] = []
    lengths: list[int] = []
    data_crcs: list[int] = []
    position = 0
    truncated = 0
    while position < size:
        if position + HEADER_BYTES > size:
            truncated = 1
            break
        (length,) = unpack_length(data, position)
        start = position + HEADER_BYTES
        end = start + length
        if end + FOOTER_BYTES > size:
            truncated = 1
            starts.append(start)  # its length CRC is still checked below
            break
        starts.append(start)
        lengths.append(length)
        data_crcs.append(crc(data[start:end]))
        position = end + FOOTER_BYTES
    buffer = np.frombuffer(data, dtype=np.uint8)
    header_at = np.array(starts, dtype=np.int64) - HEADER_BYTES
    length_bytes = buffer[header_at[:, None] + np.arange(8)]
    stored_length_crcs = buffer[header_at[:, None] + np.arange(8, 12)].view("<u4")[:, 0]
    header_ok = _mask(_crc32c_of_lengths(length_bytes)) == stored_length_crcs
    count = len(lengths)
    problems = []
    if not header_ok.all():
        count = min(count, int(np.argmin(header_ok)))
        truncated = 0  # a cut after a bad length is explained by the bad length
        problems.append(f"record {count}: length checksum mismatch, rest of the file ignored")
    elif truncated:
        problems.append(f"record {count}: the file ends inside this record")
    offsets = np.array(starts[:count], dtype=np.int64)
    record_lengths = np.array(lengths[:count], dtype=np.int64)
    ends = offsets + record_lengths
    stored_data_crcs = buffer[ends[:, None] + np.arange(4)].view("<u4")[:, 0]
    data_ok = _mask(np.array(data_crcs[:count], dtype=np.uint32)) == stored_data_crcs
    problems.extend(
        f"record {int(index)}: data checksum mismatch, skipped"
        for index in np.flatnonzero(~data_ok)
    )
    return Framing(
        offsets=offsets[data_ok],
        lengths=record_lengths[data_ok],
        bad_checksum=int((~data_ok).sum()),
        bad_header=int(not header_ok.all()),
        truncated=truncated,
        problems=problems,
    )
