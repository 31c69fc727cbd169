"""Content identity of files: the hex digest of their bytes, read in chunks.

Shared by the catalog (index file checksums, library track keys) and the sources (a query
file's :attr:`~musicrec_core.clip.Provenance.content_sha256`), so a file hashes the same
way everywhere and no module has to import the catalog to identify a file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_digest", "file_sha256"]


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
