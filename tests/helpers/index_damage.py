"""Damage an index version on disk the way bit rot does, for the tests that must refuse it.

``flip_middle_bytes`` changes a few bytes in the middle of a file, keeping its size (only a
checksum can tell). ``rewrite_stored_vector`` replaces one item's stored vector in
``vectors.ann`` and records the file's new sha256 in the manifest, as if the damage had
happened before the build computed its checksums (only a probe query can tell).
``list_a_file_under_a_plain_file`` makes reading the version fail with an error no catalog
check names (NotADirectoryError), for the tests of unexpected failures. ``make_format_1``
is not damage: it rewrites a version as a build before track tags left it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import numpy as np

from musicrec_core.catalog.index import MANIFEST_FILE, META_FILE, VECTORS_FILE
from musicrec_core.hashing import file_sha256

ANNOY_NODE_HEADER_BYTES = 12
"""An Annoy angular node is n_descendants and two children (int32 each), then the vector
(float32 [dim]); item i is node i."""


def flip_middle_bytes(path: Path, count: int = 6) -> None:
    """XOR ``count`` bytes in the middle of ``path`` with 0x5A; the size stays the same."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for offset in range(middle, middle + count):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def rewrite_stored_vector(version_dir: Path, item_id: int, values: np.ndarray) -> None:
    """Overwrite item ``item_id``'s vector (float32 [dim]) in a version folder's vector file,
    then make the manifest's sha256 agree with the damaged file."""
    vector = np.asarray(values, dtype=np.float32)
    node_bytes = ANNOY_NODE_HEADER_BYTES + vector.nbytes
    vectors_path = version_dir / VECTORS_FILE
    with vectors_path.open("r+b") as handle:
        handle.seek(item_id * node_bytes + ANNOY_NODE_HEADER_BYTES)
        handle.write(vector.tobytes())
    manifest_path = version_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"][VECTORS_FILE]["sha256"] = file_sha256(vectors_path)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


def list_a_file_under_a_plain_file(version_dir: Path) -> None:
    """List ``extra/part.bin`` in the manifest and make ``extra`` a plain file: proving the
    version then fails with NotADirectoryError, an OSError no catalog check names."""
    manifest_path = version_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["extra/part.bin"] = {"size": 1, "sha256": "0" * 64}
    manifest_path.write_text(json.dumps(manifest))
    (version_dir / "extra").write_bytes(b"a file where a folder was")


def make_format_1(version_dir: Path) -> None:
    """Turn a version folder into what a build before track tags wrote: format 1, no
    ``track_tags`` table (the manifest's size and sha256 of the metadata agree again)."""
    meta_path = version_dir / META_FILE
    with contextlib.closing(sqlite3.connect(meta_path)) as db:
        db.execute("DROP TABLE track_tags")
        db.commit()
        db.execute("VACUUM")
    manifest_path = version_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    manifest["files"][META_FILE] = {
        "size": meta_path.stat().st_size,
        "sha256": file_sha256(meta_path),
    }
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
