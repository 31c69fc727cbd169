"""The file in which a machine's processes share their YouTube fetch budget.

Layout (little-endian): a header (magic ``MRF2``, count, CRC-32 of the records) and
``count`` records of 24 bytes: the start time (float64, Unix seconds), the member id and
the server id (uint64 each: Discord ids, 0 for none), a :class:`FetchStamp` each.

The ids are stored as they are, not hashed: a Discord id is public (anyone in a shared
server can copy it), 64 bits of which the high 42 are a timestamp, so a hash of one could
be reversed by anyone holding the list of a server's members and would hide nothing;
stored plainly they are exact (no collision ever merges two members' shares) and readable
when an operator debugs a refusal. The file is private (mode 0600) and holds only the last
hour.

A file of the first format (``MRF1``: start times only, before shares) decodes with no
owner on each stamp; the next write uses the new format. A write cut short by a crash
fails its CRC and does not decode. The file is locked with
:func:`musicrec_core.file_lock.flock_before`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = ["MAX_ID", "FetchStamp", "decode", "encode"]

_HEADER = struct.Struct("<4sII")
"""Magic, number of records, CRC-32 of the records' bytes."""
_MAGIC = b"MRF2"
_RECORD = struct.Struct("<dQQ")
"""Start time (Unix seconds), member id, server id."""
_MAGIC_STAMPS_ONLY = b"MRF1"
_STAMP = struct.Struct("<d")
"""A record of the first format: the start time alone."""
MAX_ID = 2**64 - 1
"""The largest member or server id a record holds."""


@dataclass(frozen=True)
class FetchStamp:
    """One fetch in the window; :meth:`FetchBudget.take` returns it as the fetch's token.

    Attributes:
        at: when the fetch started (the budget's clock, seconds).
        member: who asked (a Discord user id), 0 for nobody in particular.
        server: where (a Discord server id), 0 for none (the CLI, a direct message).
    """

    at: float
    member: int = 0
    server: int = 0


def encode(stamps: list[FetchStamp]) -> bytes:
    """The file's bytes for ``stamps`` (ids within 0 .. :data:`MAX_ID`)."""
    body = b"".join(_RECORD.pack(s.at, s.member, s.server) for s in stamps)
    return _HEADER.pack(_MAGIC, len(stamps), zlib.crc32(body)) + body


def decode(data: bytes) -> tuple[list[FetchStamp], bool] | None:
    """The stamps in ``data`` (in file order) and whether it was the first format; None
    for bytes that are not a whole file of either format (cut short, corrupt, foreign)."""
    if len(data) < _HEADER.size:
        return None
    magic, count, crc = _HEADER.unpack_from(data)
    size = {_MAGIC: _RECORD.size, _MAGIC_STAMPS_ONLY: _STAMP.size}.get(magic, 0)
    body = data[_HEADER.size : _HEADER.size + size * count]
    if not size or len(body) != size * count or zlib.crc32(body) != crc:
        return None
    if magic == _MAGIC:
        return [FetchStamp(*fields) for fields in _RECORD.iter_unpack(body)], False
    return [FetchStamp(at) for (at,) in _STAMP.iter_unpack(body)], True
