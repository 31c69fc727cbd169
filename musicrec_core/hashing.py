"""Content identity of files: the hex sha256 of their bytes, read in chunks.

Shared by the catalog (index file checksums, library track keys) and the sources (a query
file's :attr:`~musicrec_core.clip.Provenance.content_sha256`), so a file hashes the same
way everywhere and no module has to import the catalog to identify a file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_sha256"]

_HASH_CHUNK_BYTES = 4 * 2**20
"""Bytes read per chunk (4 MiB): constant memory for files of any size."""


def file_sha256(path: Path) -> str:
    """Hex sha256 (64 lowercase hex digits) of a file's bytes, read in 4 MiB chunks.

    Raises:
        OSError: the file cannot be opened or read.
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
