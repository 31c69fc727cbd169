"""The on-disk format of an index folder: layout, manifest, item records, integrity checks.

Layout of ``INDEX_DIR``::

    INDEX_DIR/
      CURRENT                  one line: the name of the current version folder
      v-20250101T120000Z-1a2b/ one complete version (never modified once published)
        vectors.ann            the vectors, item id = row id: an Annoy forest (the default),
         or vectors.usearch    or a usearch HNSW graph (format 3; see vector_backend.py)
        meta.sqlite            items (id, grp, start_s, end_s, label_ids, title, source, kind),
                               labels (id, name) and, from format 2, track_tags (grp,
                               rank, label_id, score): every music tag of a library track
                               with its score, best first (rank 0)
        label_offsets.npy,     the label index, label id -> item ids (label_items.py);
        label_items.npy        absent from versions built before it (derived on use)
        track_owners.json      a library build's album and artist tags per track
                               (catalog/library/owners.py); absent: no owner known
        manifest.json          format, embedder, dimension, metric, pooling, counts, the
                               backend (absent: annoy) and its settings (n_trees; or
                               connectivity, expansion_add), search_k (the backend's
                               default search effort), build time, size + sha256 of each file

The manifest's "embedder" entry is an :class:`~musicrec_core.embedders.base.EmbedderId` in
its JSON form. The *fingerprint* of a version is the first eight hex digits of the sha256 of
its manifest (keys sorted); every build writes a new manifest (build time, checksums), so it
tells two builds apart.

Integrity on load: the manifest is parsed and checked, every file's size must equal the
manifest's, the vector file's item count and the last metadata id must equal the manifest's count,
and the embedder must match the one the caller expects. These checks catch truncation and
keep a 1M-item load at about a millisecond (the files are mapped, not read;
``benchmarks/bench_index.py`` measures it). They do not catch bit rot: a same-size vector
file with a few bytes changed loads, and Annoy then follows wild offsets (a segfault). So
the sha256 of each file, recorded at build time, is verified on request, and a server
verifies it before it serves an index (start-up and every reload; see
:meth:`~musicrec_core.catalog.index.loaded.CatalogIndex.load_for_serving`). Measured on a
shared 2-core machine, files in the page cache: sha256 runs at 0.65-1 GB/s, 1.7-2.5 s for
the 1.7 GB vector file of a million 128-d items (100 trees); a whole serving load of 200,000
such items (332 MB) takes 0.52 s, its probe query 33 ms. A server starting up loads
TensorFlow for longer than that, so it verifies too.

A *bare version folder* (a ``v-...`` folder named directly instead of its index folder) can
be loaded for one-off queries, but a server refuses it (``bare_version_ok=False``): nothing
protects its files from being overwritten in place while they are mapped (a SIGBUS), while
an index folder only ever gains new versions beside the one in use.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musicrec_core.catalog.index.backends import backend_of
from musicrec_core.catalog.pooling import POOLING_RULES, pooled_dim
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from musicrec_core.hashing import file_sha256

FORMAT_NAME = "musicrec-index"
FORMAT_VERSION = 3
"""The newest layout this musicrec reads and writes. 2: meta.sqlite holds the track_tags
table. 3: the manifest may name a vector backend other than Annoy. A build writes the
oldest format that describes it (an Annoy build: 2, which earlier musicrec reads); loads
accept 1 (no table: a track's tags read as its items' label names, without scores) to 3."""
TRACK_TAGS_FROM_FORMAT = 2
"""The first format whose meta.sqlite must hold the track_tags table."""
METRIC = "angular"
"""Items rank by the cosine of their vectors (Annoy's angular metric, usearch's cos)."""
META_FILE = "meta.sqlite"
MANIFEST_FILE = "manifest.json"
CURRENT_FILE = "CURRENT"
BUILD_PREFIX = ".musicrec-build-"
VERSION_PREFIX = "v-"
STALE_POINTER_TEMP_S = 60.0
"""Age in seconds after which a temporary ``CURRENT`` file is taken as left by a killed build."""

FINGERPRINT_CHARS = 8
"""Hex digits of a manifest's sha256 that make its fingerprint."""

_VERSION_NAME = re.compile(r"^v-[0-9TZ]+-[0-9a-f]+$")
_REQUIRED_KEYS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "format_version": int,
    "embedder": dict,
    "dim": int,
    "metric": str,
    "pooling": str,
    "item_count": int,
    "search_k": int,
    "built_at": str,
    "files": dict,
}


@dataclass(frozen=True)
class ItemMeta:
    """What the catalog knows about one indexed item.

    Attributes:
        group: the YouTube video id (AudioSet, link lists) or a library track key; the
            recommender returns at most one item per group.
        start_s: where the item's window starts in its source, in seconds.
        end_s: where it ends, in seconds.
        labels: AudioSet display names or musicnn tags, most relevant first when known.
        title: a human-readable title, when known.
        source: a file path or URL, when known.
        kind: "youtube" or "file".
    """

    group: str
    start_s: float
    end_s: float
    labels: tuple[str, ...]
    title: str | None = None
    source: str | None = None
    kind: str = "youtube"


@dataclass(frozen=True)
class TrackTag:
    """One music tag of a library track.

    Attributes:
        name: the tag (a musicnn tag name).
        score: the tag's probability averaged over the track's windows, in [0, 1]; None
            for an index built before scores were kept (format 1).
    """

    name: str
    score: float | None


def fingerprint(manifest: dict[str, Any]) -> str:
    """Eight hex digits identifying one built index (its manifest differs per build)."""
    text = json.dumps(manifest, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:FINGERPRINT_CHARS]


def resolve_version_dir(directory: Path, *, bare_version_ok: bool = True) -> Path:
    """The version folder ``directory`` designates (via CURRENT, or itself if it holds a
    manifest and ``bare_version_ok``).

    Raises:
        IndexNotFoundError: no index there, or a bare version folder when not
            ``bare_version_ok``.
        IndexCorruptError: CURRENT is unreadable or names no version folder.
    """
    current = directory / CURRENT_FILE
    if current.is_file():
        try:
            name = current.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise IndexCorruptError(f"Cannot read {current}: {exc.strerror}.") from exc
        if not _VERSION_NAME.match(name):
            raise IndexCorruptError(f"{current} does not name an index version ({name!r}).")
        version_dir = directory / name
        if not version_dir.is_dir():
            raise IndexCorruptError(f"{current} names {name}, which is missing; rebuild it.")
        return version_dir
    if (directory / MANIFEST_FILE).is_file():
        if bare_version_ok:
            return directory
        parent = directory.parent
        hint = f" ({parent} is one)" if (parent / CURRENT_FILE).is_file() else ""
        raise IndexNotFoundError(
            f"{directory} is a single index version, not an index folder: a server maps its "
            "files, and rewriting them in place would crash it. Serve the index folder that "
            f"holds {CURRENT_FILE} and its versions instead{hint}."
        )
    if not directory.exists():
        raise IndexNotFoundError(f"No index at {directory}: the folder does not exist.")
    raise IndexNotFoundError(
        f"No index at {directory}: it holds neither {CURRENT_FILE} nor {MANIFEST_FILE}."
    )


def read_manifest(version_dir: Path) -> tuple[dict[str, Any], EmbedderId]:
    """The validated manifest of a version folder (as stored) and its embedder's id.

    Raises:
        IndexCorruptError: unreadable or incomplete manifest, unknown pooling dimension.
        IndexMismatchError: a newer format, another metric, an unknown pooling rule or
            vector backend.
    """
    path = version_dir / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"The index at {version_dir} has no {MANIFEST_FILE}.") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"The manifest {path} is unreadable: {exc}.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise IndexCorruptError(f"{path} is not a musicrec index manifest.")
    version = manifest.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index at {version_dir} uses format {version}; this musicrec reads up to "
            f"{FORMAT_VERSION}. Upgrade musicrec or rebuild the index."
        )
    for key, kind in _REQUIRED_KEYS.items():
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            raise IndexCorruptError(f"The manifest {path} lacks a valid {key!r} entry.")
    try:
        embedder = EmbedderId.from_json(manifest["embedder"])
    except ValueError as exc:
        raise IndexCorruptError(f"The manifest {path} has an invalid embedder entry.") from exc
    backend = backend_of(manifest)
    for key in backend.settings:
        if not isinstance(manifest.get(key), int) or isinstance(manifest.get(key), bool):
            raise IndexCorruptError(f"The manifest {path} lacks a valid {key!r} entry.")
    for name in (backend.vectors_file, META_FILE):
        entry = manifest["files"].get(name)
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("size"), int)
            and isinstance(entry.get("sha256"), str)
        ):
            raise IndexCorruptError(f"The manifest {path} lacks the size/sha256 of {name}.")
    _check_layout(manifest, embedder)
    return manifest, embedder


def check_embedder(built_with: EmbedderId, wanted: EmbedderId, where: Path) -> None:
    """The one compatibility check of index and query embedder: their ids must be equal.

    Raises:
        IndexMismatchError: naming both ids and the index folder ``where``.
    """
    if wanted != built_with:
        raise IndexMismatchError(
            f"The index at {where} was built with embedder {built_with}, but the query "
            f"embedder is {wanted}; rebuild the index or use that embedder."
        )


def _check_layout(manifest: dict[str, Any], embedder: EmbedderId) -> None:
    """Refuse a manifest whose metric, pooling or dimension do not fit."""
    if manifest["metric"] != METRIC:
        raise IndexMismatchError(
            f"The index uses metric {manifest['metric']!r}; expected {METRIC}."
        )
    if manifest["pooling"] not in POOLING_RULES:
        raise IndexMismatchError(
            f"The index uses pooling {manifest['pooling']!r}, which this musicrec does not know."
        )
    expected_dim = pooled_dim(embedder.dim, manifest["pooling"])
    if manifest["dim"] != expected_dim:
        raise IndexCorruptError(
            f"The manifest says {manifest['dim']}-d vectors, but {embedder.dim}-d frames "
            f"pooled with {manifest['pooling']!r} give {expected_dim}-d; rebuild the index."
        )


def check_files(version_dir: Path, manifest: dict[str, Any], verify_checksums: bool) -> None:
    """Every file the manifest lists must exist with its recorded size (and sha256)."""
    for name, entry in manifest["files"].items():
        path = version_dir / name
        try:
            size = path.stat().st_size
        except FileNotFoundError as exc:
            raise IndexCorruptError(f"The index at {version_dir} lacks {name}.") from exc
        if size != entry["size"]:
            raise IndexCorruptError(
                f"{name} in {version_dir} is {size} bytes but should be {entry['size']}: "
                "the index is truncated or damaged; rebuild it."
            )
        if not verify_checksums:
            continue
        try:
            digest = file_sha256(path)
        except OSError as exc:  # e.g. deleted by a publish since the size check
            raise IndexCorruptError(
                f"Cannot read {name} in {version_dir}: {exc.strerror}."
            ) from exc
        if digest != entry["sha256"]:
            raise IndexCorruptError(
                f"{name} in {version_dir} fails its sha256 check; rebuild the index."
            )
