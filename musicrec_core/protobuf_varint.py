"""Read one protobuf base-128 varint from raw bytes: the shared reader of the wire parsers.

A varint stores an unsigned integer of at most 64 bits in 1 to 10 bytes, seven bits per
byte, least significant group first; every byte but the last has its high bit set. The
tenth byte therefore carries only bit 63 and may be 0 or 1. Anything else is not a varint:
the bytes run out before the last byte (truncated), or a tenth byte would continue or
carry bits past 64 (overlong). Both raise :class:`VarintError`, which callers catch once
around a whole message and translate into their own typed, friendly error — the reader
itself knows nothing of checkpoints or records.

Signed protobuf types (int64, zigzag) are left to the caller: this returns the raw
unsigned value, 0 <= value < 2**64.
"""

from __future__ import annotations


class VarintError(ValueError):
    """The bytes at the position do not hold a varint (truncated or overlong)."""


def read_varint(data: bytes, position: int, end: int | None = None) -> tuple[int, int]:
    """The varint starting at byte ``position`` of ``data``.

    Args:
        data: the buffer (bytes-like, indexable to ints).
        position: byte offset of the varint's first byte.
        end: byte offset the varint must end by (exclusive); the end of ``data`` if None.

    Returns:
        (value, byte offset just after the varint), with 0 <= value < 2**64.

    Raises:
        VarintError: the bytes run out before the varint ends, or it would be longer than
            10 bytes or exceed 64 bits.
    """
    if end is None:
        end = len(data)
    value = shift = 0
    while position < end:
        byte = data[position]
        position += 1
        if byte < 0x80:
            return value | (byte << shift), position
        value |= (byte & 0x7F) << shift
        shift += 7
        if shift == 63:  # nine bytes read: the tenth may only hold bit 63
            if position >= end:
                break
            last = data[position]
            if last > 1:
                raise VarintError("overlong varint")
            return value | (last << 63), position + 1
    raise VarintError("truncated varint")
