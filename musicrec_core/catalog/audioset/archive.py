"""Stream a tar archive of release TFRecords, and accept it only whole and within bounds.

Input: a readable binary stream of a tar archive, gzip-, bzip2- or xz-compressed or plain,
told apart by its first bytes (the release's ``features.tar.gz`` is gzip). Output:
(member name, member bytes) of each regular ``*.tfrecord`` member, in archive order, from
:func:`tfrecord_members`. Nothing is unpacked to disk.

Whole means the following; anything else raises :class:`DamagedArchive` (one line saying
what and where), and the members already yielded must be dropped (the build does: it
publishes nothing):

- the compression's own checks pass: gzip's trailer of every gzip member (CRC-32 and ISIZE,
  the length mod 2**32, checked by zlib as each member ends), bzip2's block and stream
  CRCs, xz's check. The decompressed stream is read to its very end after the tar end
  marker, so a trailer is always read (Python's ``tarfile`` in stream mode stops at the end
  marker and never reads it);
- every tar header's checksum matches, and the archive ends with its end marker, two zero
  blocks: a tar cut at a member boundary and compressed again is refused too;
- the source stream's own errors (a cut download: :class:`~musicrec_core.errors.
  DownloadError`) propagate unchanged.

Bounded: no member nor extended header is read whole past its limit. A member over
:data:`MAX_MEMBER_BYTES` (the release's 12,228 files average about 250 KB; a 0.26 MB gzip
can claim a 256 MiB one) refuses the whole archive as soon as its header is read, and so does
an extended (pax or GNU long-name) header over :data:`MAX_EXTENDED_HEADER_BYTES`. Skipped
members are read through in 1 MiB steps, and one inflate step yields at most 1 MiB. So at
most one member, and at most 64 MiB, is held here at a time, whatever the archive says.

The tar format read: POSIX ustar and GNU headers (octal or base-256 sizes), pax extended
headers (``path`` and ``size`` are honoured) and GNU long names; links, folders and devices
carry no data.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO

from musicrec_core.errors import CatalogError

__all__ = [
    "MAX_EXTENDED_HEADER_BYTES",
    "MAX_MEMBER_BYTES",
    "DamagedArchive",
    "tfrecord_members",
]

MAX_MEMBER_BYTES = 64 * 2**20
"""Largest member accepted, in bytes; a larger one refuses the archive unread."""
MAX_EXTENDED_HEADER_BYTES = 2**20
"""Largest pax or GNU long-name header accepted, in bytes."""

BLOCK = 512
_SKIP_STEP = 2**20  # bytes read at a time through members that are not kept
_NO_DATA_TYPES = frozenset(b"12345")  # hard link, symlink, char/block device, folder, fifo
_REGULAR_TYPES = frozenset(b"07\0")
_PAX_TYPES = frozenset(b"xg")
_GNU_LONG_TYPES = frozenset(b"LK")
_INFLATE_IN_BYTES = 2**20  # compressed bytes read at a time
_INFLATE_OUT_BYTES = 2**20  # most bytes one inflate step may produce (a bomb cannot burst)
_ZLIB_CHECKS = {
    "incorrect data check": "the CRC-32 in its gzip trailer does not match the data",
    "incorrect length check": "the length (ISIZE) in its gzip trailer does not match the data",
}
"""zlib's words for a failed gzip trailer check -> what they mean."""
_GZIP_MAGIC = b"\x1f\x8b"
_BZIP2_MAGIC = b"BZh"
_XZ_MAGIC = b"\xfd7zXZ\x00"


class DamagedArchive(CatalogError):
    """The archive is not whole, not well formed, or claims a member over the limits."""


def tfrecord_members(stream: IO[bytes]) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each regular ``*.tfrecord`` member of the tar archive in ``stream``,
    then a check that the archive was whole (see the module docstring).

    Raises:
        DamagedArchive: the archive is cut, damaged, or over the limits.
        DownloadError: whatever ``stream`` raises itself.
    """
    head = _read_up_to(stream, len(_XZ_MAGIC))
    source: IO[bytes] = _Replayed(head, stream)  # type: ignore[assignment]
    kind = "tar"
    with ExitStack() as stack:
        if head.startswith(_GZIP_MAGIC):
            kind, tar = "gzip", _Gunzipped(source)  # type: ignore[assignment]
        elif head.startswith(_BZIP2_MAGIC):
            kind, tar = "bzip2", stack.enter_context(bz2.BZ2File(source))
        elif head.startswith(_XZ_MAGIC):
            kind, tar = "xz", stack.enter_context(lzma.LZMAFile(source))
        else:
            tar = source
        yield from _checked(_TarReader(tar), kind)


def _checked(reader: _TarReader, kind: str) -> Iterator[tuple[str, bytes]]:
    """The reader's members, then its end; decompression errors become DamagedArchive."""
    try:
        yield from reader.members()
        reader.read_to_the_end()
    except EOFError as exc:
        raise DamagedArchive(
            f"The features archive is not whole: its {kind} stream ends early ({exc}) "
            f"after {reader.offset:,} tar bytes."
        ) from exc
    except (OSError, zlib.error, lzma.LZMAError) as exc:
        cause = next((text for key, text in _ZLIB_CHECKS.items() if key in str(exc)), str(exc))
        raise DamagedArchive(
            f"The features archive is damaged: {kind} says {cause} "
            f"(after {reader.offset:,} tar bytes)."
        ) from exc


class _TarReader:
    """Walks tar headers in a (decompressed) stream; ``offset`` is the tar bytes read."""

    def __init__(self, tar: IO[bytes]) -> None:
        self._tar = tar
        self.offset = 0

    def members(self) -> Iterator[tuple[str, bytes]]:
        overrides: dict[str, str] = {}
        long_name: str | None = None
        while True:
            at = self.offset
            block = self._exact(BLOCK, "it ends without the tar end marker (two zero blocks)")
            if not any(block):
                self._end_marker()
                return
            name, size, kind = _header(block, at)
            name = overrides.pop("path", None) or long_name or name
            long_name = None
            if "size" in overrides:
                size = _pax_size(overrides.pop("size"), at)
            if kind in _NO_DATA_TYPES:
                continue
            limit = MAX_MEMBER_BYTES
            if kind in _PAX_TYPES or kind in _GNU_LONG_TYPES:
                limit = MAX_EXTENDED_HEADER_BYTES
            if size > limit:
                raise DamagedArchive(
                    f"The features archive is refused: member {name!r} claims {_mib(size)}, "
                    f"over the {_mib(limit)} limit (no release file comes near it)."
                )
            if kind == ord("x"):
                overrides = _pax_records(self._data(size, name), at)
            elif kind == ord("L"):
                long_name = self._data(size, name).split(b"\0", 1)[0].decode("utf-8", "replace")
            elif kind in _REGULAR_TYPES and name.endswith(".tfrecord"):
                yield name, self._data(size, name)
            else:
                self._skip(size + (-size % BLOCK), name)

    def read_to_the_end(self) -> None:
        """Read what follows the end marker (tar padding, then the compressed stream's own
        end and trailer checks), keeping none of it."""
        while chunk := self._tar.read(_SKIP_STEP):
            self.offset += len(chunk)

    def _end_marker(self) -> None:
        at = self.offset
        second = self._exact(BLOCK, "it ends after a single zero block, not the end marker")
        if any(second):
            raise DamagedArchive(
                f"The features archive is damaged: a lone zero block at tar byte {at - BLOCK:,} "
                "is followed by data."
            )

    def _exact(self, size: int, cut: str) -> bytes:
        data = _read_up_to(self._tar, size)
        self.offset += len(data)
        if len(data) < size:
            raise DamagedArchive(
                f"The features archive is not whole: {cut} (after {self.offset:,} tar bytes)."
            )
        return data

    def _data(self, size: int, name: str) -> bytes:
        """A member's ``size`` data bytes; its padding to the next block is read past."""
        data = self._exact(size, _inside(name))
        self._exact(-size % BLOCK, _inside(name))
        return data

    def _skip(self, size: int, name: str) -> None:
        while size:
            step = min(size, _SKIP_STEP)
            self._exact(step, _inside(name))
            size -= step


def _header(block: bytes, at: int) -> tuple[str, int, int]:
    """(name, data size, type byte) of one tar header block at tar byte ``at``."""
    stored = _number(block[148:156], at, "checksum")
    unsigned = sum(block[:148]) + 8 * 0x20 + sum(block[156:])
    signed = unsigned - 256 * sum(1 for byte in block[:148] + block[156:] if byte >= 128)
    if stored not in (unsigned, signed):
        raise DamagedArchive(
            f"The features archive is damaged: the tar header at byte {at:,} fails its checksum."
        )
    name = block[:100].split(b"\0", 1)[0]
    if block[257:265] == b"ustar\x0000" and block[345]:
        name = block[345:500].split(b"\0", 1)[0] + b"/" + name
    kind = block[156]
    return name.decode("utf-8", "replace"), _number(block[124:136], at, "size"), kind


def _number(field: bytes, at: int, what: str) -> int:
    """A header's numeric field: octal text, or GNU's base-256 (first byte 0x80)."""
    if field[0] == 0x80:
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise DamagedArchive(
            f"The features archive is damaged: the tar header at byte {at:,} has an "
            f"unreadable {what} field."
        ) from None


def _pax_records(data: bytes, at: int) -> dict[str, str]:
    """The ``key=value`` records of a pax extended header (``"<length> key=value\\n"``)."""
    records: dict[str, str] = {}
    position = 0
    while position < len(data) and data[position]:
        space = data.find(b" ", position)
        try:
            length = int(data[position:space])
            key, _, value = data[space + 1 : position + length - 1].partition(b"=")
        except ValueError:
            length = 0
        if space < 0 or length <= 0 or data[position + length - 1 : position + length] != b"\n":
            raise DamagedArchive(
                f"The features archive is damaged: the pax header at tar byte {at:,} is malformed."
            )
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        position += length
    return records


def _pax_size(text: str, at: int) -> int:
    if not text.isdigit():
        raise DamagedArchive(
            f"The features archive is damaged: the pax header at tar byte {at:,} gives the "
            f"size {text!r}."
        )
    return int(text)


def _read_up_to(stream: IO[bytes], size: int) -> bytes:
    """``size`` bytes of ``stream``, fewer only at its end (raw streams may return less)."""
    data = stream.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    got = len(data)
    while got < size and (more := stream.read(size - got)):
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _inside(name: str) -> str:
    return f"it ends inside member {name!r}"


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


class _Replayed:
    """A read-only stream: ``head`` (bytes already read from ``rest``), then ``rest``."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size < 0:
            head, self._head = self._head, b""
            return head + self._rest.read()
        head, self._head = self._head[:size], self._head[size:]
        return head


class _Gunzipped:
    """The inflated bytes of a gzip stream of one or more members, read in 1 MiB steps.

    zlib checks each member's trailer (CRC-32 and ISIZE) as the member ends and raises
    ``zlib.error`` when either differs; a stream that ends inside a member raises EOFError.
    One inflate step produces at most :data:`_INFLATE_OUT_BYTES`, whatever the input.
    """

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._inflate = zlib.decompressobj(31)
        self._chunk = b""
        self._position = 0
        self._ended = False

    def read(self, size: int) -> bytes:
        """Up to ``size`` inflated bytes; fewer only at the end of the stream."""
        available = len(self._chunk) - self._position
        if available >= size:
            self._position += size
            return self._chunk[self._position - size : self._position]
        parts = [self._chunk[self._position :]]
        wanted = size - available
        self._chunk, self._position = b"", 0
        while wanted and self._refill():
            take = min(wanted, len(self._chunk))
            parts.append(self._chunk[:take] if take < len(self._chunk) else self._chunk)
            self._position = take
            wanted -= take
        return b"".join(parts)

    def _refill(self) -> bool:
        """Inflate the next step into ``_chunk``; False at the true end of the stream."""
        while not self._ended:
            if self._inflate.eof:  # a member ended whole: another may follow
                data = self._inflate.unused_data or self._source.read(_INFLATE_IN_BYTES)
                if not data:
                    self._ended = True
                    break
                self._inflate = zlib.decompressobj(31)
            else:
                data = self._inflate.unconsumed_tail or self._source.read(_INFLATE_IN_BYTES)
                if not data:
                    raise EOFError("the stream ends inside a gzip member")
            self._chunk = self._inflate.decompress(data, _INFLATE_OUT_BYTES)
            if self._chunk:
                return True
        return False
