"""Content identity of files: the hex digest of their bytes, read in chunks.

:func:`copy_digest` hashes a stream while copying it (downloads, files read out of a
wheel), so bytes are checked as they are stored, without a second read.

Shared by the catalog (index file checksums, library track keys) and the sources (a query
file's :attr:`~musicrec_core.clip.Provenance.content_sha256`), so a file hashes the same
way everywhere and no module has to import the catalog to identify a file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO

__all__ = ["copy_digest", "file_digest", "file_sha256"]

COPY_CHUNK_BYTES = 1 << 20
"""Bytes read per step by :func:`copy_digest`."""


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes with a hashlib ``algorithm`` ("sha256", "md5"), read in
    chunks (constant memory for files of any size).

    Raises:
        OSError: the file cannot be opened or read.
    """
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def file_sha256(path: Path) -> str:
    """Hex sha256 (64 lowercase hex digits) of a file's bytes.

    Raises:
        OSError: the file cannot be opened or read.
    """
    return file_digest(path, "sha256")


def copy_digest(source: IO[bytes], sink: IO[bytes], algorithm: str = "sha256") -> str:
    """Copy ``source`` to ``sink`` to its end, in chunks, and return the hex digest (hashlib
    ``algorithm``) of the bytes copied.

    Raises:
        OSError: reading or writing failed (and whatever ``source.read`` raises).
    """
    digest = hashlib.new(algorithm, usedforsecurity=False)
    while chunk := source.read(COPY_CHUNK_BYTES):
        digest.update(chunk)
        sink.write(chunk)
    return digest.hexdigest()
