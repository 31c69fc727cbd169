"""The shared varint reader: protobuf's own encodings read back, and every way a varint
can be broken (cut short, longer than 10 bytes, past 64 bits) refused with VarintError."""

from __future__ import annotations

import random

import pytest
from google.protobuf import descriptor_pb2

from musicrec_core.protobuf_varint import VarintError, read_varint


def _encoded(value: int) -> bytes:
    """``value`` as protobuf's own library writes a uint64 varint: a proto2 optional uint64
    (field 4, tag byte 0x20), which is written even when it is 0."""
    message = descriptor_pb2.UninterpretedOption(positive_int_value=value).SerializeToString()
    assert message[:1] == b"\x20"
    return message[1:]


BOUNDARY_VALUES = [0, 1, 127, 128, 16_383, 16_384, 2**32 - 1, 2**56 - 1, 2**56]
BOUNDARY_VALUES += [2**63 - 1, 2**63, 2**63 + 1, 2**64 - 2, 2**64 - 1]


@pytest.mark.parametrize("value", BOUNDARY_VALUES)
def test_protobuf_encodings_read_back(value: int) -> None:
    encoded = _encoded(value)
    assert read_varint(encoded, 0) == (value, len(encoded))


def test_the_64_bit_boundaries_take_nine_and_ten_bytes() -> None:
    assert read_varint(b"\xff" * 8 + b"\x7f", 0) == (2**63 - 1, 9)
    assert read_varint(b"\x80" * 9 + b"\x01", 0) == (2**63, 10)
    assert read_varint(b"\xff" * 9 + b"\x01", 0) == (2**64 - 1, 10)
    assert read_varint(b"\xff" * 9 + b"\x00", 0) == (2**63 - 1, 10)  # padded


def test_random_values_read_back_from_the_middle_of_a_buffer() -> None:
    rng = random.Random(3)
    values = [rng.getrandbits(rng.randint(1, 64)) for _ in range(500)]
    buffer = b"\x99" + b"".join(_encoded(value) for value in values) + b"\x99"
    position, found = 1, []
    for _ in values:
        value, position = read_varint(buffer, position, len(buffer) - 1)
        found.append(value)
    assert found == values
    assert position == len(buffer) - 1


@pytest.mark.parametrize(
    ("data", "end"),
    [
        (b"", None),
        (b"\x80", None),
        (b"\xff" * 9, None),  # cut just before the tenth byte
        (b"\x80\x01", 1),  # the varint continues past ``end``
        (b"\xff" * 9 + b"\x01", 9),
    ],
)
def test_a_cut_varint_is_truncated(data: bytes, end: int | None) -> None:
    with pytest.raises(VarintError, match="truncated"):
        read_varint(data, 0, end)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff" * 10 + b"\x01",  # 11 bytes
        b"\x80" * 10 + b"\x00",  # 11 bytes, however small the value
        b"\x80" * 9 + b"\x02",  # 10 bytes carrying bit 64
        b"\xff" * 9 + b"\x7f",  # 10 bytes, 70 bits
        b"\xff" * 20,
    ],
)
def test_an_overlong_varint_is_refused(data: bytes) -> None:
    with pytest.raises(VarintError, match="overlong"):
        read_varint(data, 0)


def test_a_position_at_the_end_is_truncated() -> None:
    with pytest.raises(VarintError, match="truncated"):
        read_varint(b"\x01\x02", 2)
