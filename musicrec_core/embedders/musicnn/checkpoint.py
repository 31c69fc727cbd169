"""Read musicnn's TensorFlow 1 checkpoint into numpy arrays, strictly, without TensorFlow.

A checkpoint is two files (TensorFlow's "tensor bundle", version 2):

- ``PREFIX.index``: a LevelDB-format sorted table. Its fixed 48-byte footer points at an
  index block, whose entries point at data blocks; each block is a run of prefix-compressed
  key/value entries followed by its restart offsets. The empty key holds a header (number
  of data shards); every other key is a variable name whose value is a protobuf entry:
  dtype, shape, shard, byte offset and byte size in that shard.
- ``PREFIX.data-00000-of-00001``: the variables' raw little-endian bytes, one after another.

The published checkpoints hold the model variables plus Adam optimizer slots; the slots
(names containing "Adam", and the scalars beta1_power / beta2_power) are skipped. Every
variable the model expects must be present with exactly the expected shape and dtype
float32, and nothing else may be there: anything different is a
:class:`~musicrec_core.errors.CheckpointError` naming the variables — the network is never
run with a weight it did not read from the file. The tensors' CRC32C checksums are not
recomputed: the installed weights are checked by sha256 before they are read
(:func:`~musicrec_core.embedders.musicnn.weights.resolve_checkpoint`), and a variable whose
bytes fall outside its data file is refused.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_core.errors import CheckpointError
from musicrec_core.protobuf_varint import VarintError, read_varint

_OPTIMIZER_MARKERS = ("Adam", "beta1_power", "beta2_power")

_FOOTER_BYTES = 48
_TABLE_MAGIC = 0xDB4775248B80FB57
_BLOCK_TRAILER_BYTES = 5  # compression type (1 byte) + CRC32C (4 bytes) after each block
_DT_FLOAT = 1
_DTYPE_NAMES = {
    1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string",
    9: "int64", 10: "bool", 14: "bfloat16", 17: "uint16", 19: "float16", 22: "uint32",
    23: "uint64",
}  # fmt: skip
"""TensorFlow's DataType numbers -> numpy-style names, for messages."""


class _Malformed(ValueError):
    """The index file is not a tensor bundle this reader understands."""


def is_optimizer_slot(name: str) -> bool:
    """True for training-only variables (Adam moments and power accumulators)."""
    return any(marker in name for marker in _OPTIMIZER_MARKERS)


def read_variables(prefix: Path, expected: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Every expected variable of the checkpoint at ``prefix``, as float32 arrays.

    Args:
        prefix: checkpoint prefix (the path before ``.index`` / ``.data-00000-of-00001``).
        expected: variable name -> shape the model needs.

    Returns:
        name -> float32 array of exactly the expected shape, for every expected name.

    Raises:
        CheckpointError: the files cannot be read as a checkpoint, or a variable is missing,
            mis-shaped, not float32, or unexpected.
    """
    try:
        num_shards, entries = _read_index(Path(f"{prefix}.index"))
    except (OSError, _Malformed) as exc:
        raise CheckpointError(
            f"The musicnn checkpoint at {prefix} could not be read ({exc}); "
            "run `musicrec models download musicnn` again."
        ) from exc
    stored = {name: entry for name, entry in entries.items() if not is_optimizer_slot(name)}
    problems = [
        f"missing {name} {list(shape)}" for name, shape in expected.items() if name not in stored
    ]
    problems += [
        f"{name} has shape {list(stored[name].shape)}, expected {list(shape)}"
        for name, shape in expected.items()
        if name in stored and stored[name].shape != tuple(shape)
    ]
    problems += [
        f"{name} has dtype {_DTYPE_NAMES.get(stored[name].dtype, stored[name].dtype)}, "
        "expected float32"
        for name in expected
        if name in stored and stored[name].dtype != _DT_FLOAT
    ]
    problems += [f"unexpected {name}" for name in sorted(set(stored) - set(expected))]
    if problems:
        raise CheckpointError(
            f"The musicnn checkpoint at {prefix} does not match the model: "
            + "; ".join(sorted(problems))
            + "."
        )
    try:
        return _read_tensors(prefix, num_shards, {name: stored[name] for name in expected})
    except (OSError, _Malformed) as exc:
        raise CheckpointError(
            f"The musicnn checkpoint at {prefix} is damaged ({exc}); "
            "run `musicrec models download musicnn` again."
        ) from exc


@dataclass(frozen=True)
class _Entry:
    """Where one variable lies: TensorFlow dtype number, shape, data shard, byte range."""

    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int


def _read_index(path: Path) -> tuple[int, dict[str, _Entry]]:
    """(number of data shards, variable name -> entry) from a bundle's ``.index`` file."""
    try:
        return _parse_index(path.read_bytes())
    except VarintError as exc:  # translated here, once, not at every varint
        raise _Malformed("a number is truncated") from exc


def _parse_index(table: bytes) -> tuple[int, dict[str, _Entry]]:
    """:func:`_read_index` of the file's bytes, letting a bad varint's VarintError through."""
    if len(table) < _FOOTER_BYTES:
        raise _Malformed("the index file is too short")
    footer = table[-_FOOTER_BYTES:]
    if struct.unpack("<Q", footer[-8:])[0] != _TABLE_MAGIC:
        raise _Malformed("the index file is not a TensorFlow checkpoint index")
    position = 0
    for _ in range(2):  # the meta-index block's handle, unused
        _, position = read_varint(footer, position)
    index_offset, position = read_varint(footer, position)
    index_size, _ = read_varint(footer, position)
    num_shards = 0
    entries: dict[str, _Entry] = {}
    for _, handle in _block_entries(table, index_offset, index_size):
        offset, position = read_varint(handle, 0)
        size, _ = read_varint(handle, position)
        for key, value in _block_entries(table, offset, size):
            if not key:
                num_shards = _fields(value).get(1, [1])[0]  # BundleHeaderProto.num_shards
            else:
                entries[key.decode("utf-8", "replace")] = _entry(value)
    if num_shards < 1:
        raise _Malformed("the index has no header")
    return num_shards, entries


def _block_entries(table: bytes, offset: int, size: int) -> Iterator[tuple[bytes, bytes]]:
    """The (key, value) pairs of the uncompressed table block at ``offset``."""
    end = offset + size
    if end + _BLOCK_TRAILER_BYTES > len(table) or size < 4:
        raise _Malformed("a block lies outside the index file")
    if table[end] != 0:
        raise _Malformed("a block is compressed")
    (num_restarts,) = struct.unpack_from("<I", table, end - 4)
    entries_end = end - 4 - 4 * num_restarts
    if entries_end < offset:
        raise _Malformed("a block's restart array is damaged")
    key = b""
    position = offset
    while position < entries_end:
        shared, position = read_varint(table, position)
        unshared, position = read_varint(table, position)
        value_size, position = read_varint(table, position)
        if shared > len(key) or position + unshared + value_size > entries_end:
            raise _Malformed("a block entry is damaged")
        key = key[:shared] + table[position : position + unshared]
        position += unshared
        yield key, table[position : position + value_size]
        position += value_size


def _entry(value: bytes) -> _Entry:
    """Decode a BundleEntryProto (dtype 1, shape 2, shard_id 3, offset 4, size 5, slices 7)."""
    fields = _fields(value)
    if 7 in fields:
        raise _Malformed("a variable is stored in slices")
    shape_fields = _fields(fields.get(2, [b""])[0])
    if shape_fields.get(3, [0])[0]:
        raise _Malformed("a variable has an unknown rank")
    dims = tuple(_signed(_fields(dim).get(1, [0])[0]) for dim in shape_fields.get(2, []))
    return _Entry(
        dtype=fields.get(1, [0])[0],
        shape=dims,
        shard=fields.get(3, [0])[0],
        offset=fields.get(4, [0])[0],
        size=fields.get(5, [0])[0],
    )


def _read_tensors(
    prefix: Path, num_shards: int, entries: Mapping[str, _Entry]
) -> dict[str, np.ndarray]:
    """The float32 arrays of ``entries`` from the bundle's data shards."""
    arrays = {}
    for shard in sorted({entry.shard for entry in entries.values()}):
        with open(f"{prefix}.data-{shard:05d}-of-{num_shards:05d}", "rb") as data:
            for name, entry in entries.items():
                if entry.shard != shard:
                    continue
                if entry.size != 4 * int(np.prod(entry.shape)):
                    raise _Malformed(f"{name} holds {entry.size} bytes for shape {entry.shape}")
                data.seek(entry.offset)
                raw = data.read(entry.size)
                if len(raw) != entry.size:
                    raise _Malformed(f"{name} lies past the end of the data file")
                arrays[name] = np.frombuffer(bytearray(raw), dtype="<f4").reshape(entry.shape)
    return arrays


def _fields(message: bytes) -> dict[int, list]:
    """A protobuf message's fields: number -> values (ints for varint and fixed wire
    types, bytes for length-delimited ones), in order."""
    fields: dict[int, list] = {}
    position = 0
    while position < len(message):
        tag, position = read_varint(message, position)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value, position = read_varint(message, position)
        elif wire_type == 2:
            size, position = read_varint(message, position)
            value, position = message[position : position + size], position + size
        elif wire_type in (1, 5):
            width = 8 if wire_type == 1 else 4
            value = int.from_bytes(message[position : position + width], "little")
            position += width
        else:
            raise _Malformed(f"an entry has protobuf wire type {wire_type}")
        if position > len(message):
            raise _Malformed("an entry is truncated")
        fields.setdefault(number, []).append(value)
    return fields


def _signed(value: int) -> int:
    """A protobuf int64 read as an unsigned varint, back to its signed value."""
    return value - (1 << 64) if value >= 1 << 63 else value
