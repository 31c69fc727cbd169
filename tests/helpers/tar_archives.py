"""Tar archives written block by block for tests: the damaged copies a download can
deliver, and a bomb (a small gzip holding one huge member) written without holding it.

Every function takes member bytes by name and returns (or writes) gzip bytes, so a test can
serve them, store them, or damage them further.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from pathlib import Path

BLOCK = 512
END_MARKER = bytes(2 * BLOCK)
"""What ends a tar archive: two zero blocks."""
_ZERO_CHUNK = bytes(1 << 20)


def tar_bytes(members: dict[str, bytes], *, end_marker: bool = True) -> bytes:
    """An uncompressed ustar archive of ``members`` (name -> data), with or without its
    end marker (without: it ends right after the last member's padding)."""
    out = io.BytesIO()
    for name, data in members.items():
        out.write(_header(name, len(data)))
        out.write(data)
        out.write(bytes(-len(data) % BLOCK))
    if end_marker:
        out.write(END_MARKER)
    return out.getvalue()


def tar_gz_bytes(members: dict[str, bytes], *, end_marker: bool = True) -> bytes:
    """:func:`tar_bytes` compressed as one gzip member (its trailer intact)."""
    return gzip.compress(tar_bytes(members, end_marker=end_marker), mtime=0)


def members_of(archive: Path) -> dict[str, bytes]:
    """name -> data of every regular member of a tar archive on disk (any compression)."""
    with tarfile.open(archive) as tar:
        result = {}
        for member in tar.getmembers():
            extracted = tar.extractfile(member)
            if extracted is not None:
                result[member.name] = extracted.read()
        return result


CUT_DOWNLOADS = ("closed-at-70%-without-a-length", "truncated-copy-with-its-length")
"""The two ways a download arrives cut that only the archive's own checks can notice."""


def cut_download(data: bytes, how: str) -> tuple[bytes, dict[str, int]]:
    """(body, options of ``LocalHTTPServer.add``) serving ``data`` cut at 70 % ``how``
    (one of :data:`CUT_DOWNLOADS`): a host that closes the connection there without having
    sent a Content-Length, or a mirror serving a truncated copy with its own, matching
    length."""
    cut = len(data) * 7 // 10
    if how == CUT_DOWNLOADS[0]:
        return data, {"content_length": -1, "cut_after": cut}
    return data[:cut], {}


def with_bad_crc(gz: bytes) -> bytes:
    """``gz`` with its CRC-32 trailer field changed (the deflate data stay intact)."""
    damaged = bytearray(gz)
    damaged[-8] ^= 0xFF
    return bytes(damaged)


def with_bad_length(gz: bytes) -> bytes:
    """``gz`` with its ISIZE trailer field (length mod 2**32) changed."""
    damaged = bytearray(gz)
    damaged[-4] ^= 0x01
    return bytes(damaged)


def write_tar_bomb(path: Path, member_bytes: int, members: int = 1) -> Path:
    """A gzipped tar at ``path`` holding ``members`` members (``bomb/NN.tfrecord``) of
    ``member_bytes`` zero bytes each, written 1 MiB at a time (256 MiB of zeros compress to
    about 0.26 MB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        for number in range(members):
            out.write(compressor.compress(_header(f"bomb/{number:02d}.tfrecord", member_bytes)))
            left = member_bytes + (-member_bytes % BLOCK)
            while left:
                step = min(left, len(_ZERO_CHUNK))
                out.write(compressor.compress(_ZERO_CHUNK[:step]))
                left -= step
        out.write(compressor.compress(END_MARKER))
        out.write(compressor.flush())
    return path


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.USTAR_FORMAT)
