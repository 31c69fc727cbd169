"""Index directories: build one atomically, load it by mmap, search it.

Mental model: an index is a folder that describes itself. ``IndexBuilder`` collects pooled
vectors with their metadata and :meth:`IndexBuilder.commit` publishes a new *version*;
:meth:`CatalogIndex.load` opens whatever version is current and refuses anything that does
not match what the caller expects.

Layout of ``INDEX_DIR``::

    INDEX_DIR/
      CURRENT                  one line: the name of the current version folder
      v-20250101T120000Z-1a2b/ one complete version (never modified once published)
        vectors.ann            Annoy forest, angular metric, item id = row id
        meta.sqlite            items (id, grp, start_s, end_s, label_ids, title, source, kind)
                               and labels (id, name)
        manifest.json          format, embedder, dimension, metric, pooling, counts,
                               n_trees, search_k, build time, size + sha256 of each file

Crash safety: a build writes into ``INDEX_DIR/.musicrec-build-<random>/`` (same file system
as the published versions). Publishing is (1) fsync the files and the build folder, (2)
rename the build folder to its version name, (3) write the new name to a temporary file,
fsync it and ``os.replace`` it over ``CURRENT`` (an atomic rename;
:func:`~musicrec_core.atomic_file.atomic_write` with ``durable=True``), (4) fsync
``INDEX_DIR``, then (5) delete versions ``CURRENT`` no longer names. Before step 3
completes, ``CURRENT`` names the old, complete version; after it, the new complete one. So
at every instant a loadable index exists, and a build killed at any point leaves at worst an
unpublished folder or a temporary pointer file, which the next build removes. A loaded
:class:`CatalogIndex` pins its version: files deleted by a later publish stay readable to it
(POSIX keeps open and mapped files alive).

Integrity on load: the manifest is parsed and checked, every file's size must equal the
manifest's, Annoy's item count and the last metadata id must equal the manifest's count,
and the embedder must match ``expect_embedder``. The sha256 of each file is recorded at
build time and verified only with ``verify_checksums=True``: hashing the 1.7 GB vector file
of a million items (100 trees) takes seconds, while these checks catch truncation, the
common damage, and keep a 1M-item load at about a millisecond (the files are mapped, not
read; ``benchmarks/bench_index.py`` measures it).

A :class:`CatalogIndex` may be used from many threads at once; :meth:`CatalogIndex.close`
waits for searches in flight before unmapping the files.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from annoy import AnnoyIndex

from musicrec_core.atomic_file import atomic_write, temporary_name_pattern
from musicrec_core.catalog.pooling import POOLING_RULES, pooled_dim
from musicrec_core.errors import (
    CatalogError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
)
from musicrec_core.hashing import file_sha256

logger = logging.getLogger(__name__)

FORMAT_NAME = "musicrec-index"
FORMAT_VERSION = 1
METRIC = "angular"
VECTORS_FILE = "vectors.ann"
META_FILE = "meta.sqlite"
MANIFEST_FILE = "manifest.json"
CURRENT_FILE = "CURRENT"
BUILD_PREFIX = ".musicrec-build-"
VERSION_PREFIX = "v-"
STALE_POINTER_TEMP_S = 60.0
"""Age in seconds after which a temporary ``CURRENT`` file is taken as left by a killed build."""

DEFAULT_N_TREES = 100
"""Trees per forest. Measured by benchmarks/bench_index.py --sweep on the hard 1M set:
at search_k 40,000 recall@10 is 0.922 with 50 trees and 0.960 with 100 (12.6x faster
than exact search), for 1.5x the file size; at 100k items both reach 0.998+ at 10,000."""

SEARCH_K_PER_ITEM = 0.04
"""Default search_k as a share of the items: recall at a fixed search_k falls as an index
grows, recall at a fixed share much less (hard set, 100 trees: 0.998 at 100k, 0.960 at 1M)."""

SEARCH_K_MIN = 10_000
"""Small indexes still inspect this many nodes (exact for up to about that many items)."""

SEARCH_K_MAX = 100_000
"""Large indexes inspect at most this many nodes (about 15 ms per query at 2M items)."""


def default_search_k(items: int) -> int:
    """search_k stored in a new index's manifest unless the builder is told otherwise."""
    return int(min(SEARCH_K_MAX, max(SEARCH_K_MIN, items * SEARCH_K_PER_ITEM)))


META_BYTES_PER_ITEM = 64
"""SQLite bytes per AudioSet item (id, video id, times, 2-3 label ids), rounded up."""

_LOAD_ATTEMPTS = 3
_META_FLUSH_ROWS = 10_000
_VERSION_NAME = re.compile(r"^v-[0-9TZ]+-[0-9a-f]+$")
_REQUIRED_KEYS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "format_version": int,
    "embedder": dict,
    "dim": int,
    "metric": str,
    "pooling": str,
    "item_count": int,
    "n_trees": int,
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


def estimate_index_bytes(items: int, dim: int, n_trees: int = DEFAULT_N_TREES) -> int:
    """Disk space one index version of ``items`` pooled ``dim``-d vectors takes, in bytes.

    Annoy stores one node of (12 + 4 * dim) bytes per item plus, per tree, about
    2.75 / (dim + 2) nodes per item (measured: 0.021 for 128-d, i.e. 2.1% per tree); the
    SQLite metadata of an AudioSet item takes about META_BYTES_PER_ITEM. Replacing an
    index needs this much free space on top of the old version until the new one is
    published.
    """
    node_bytes = 12 + 4 * dim
    annoy_bytes = items * node_bytes * (1.0 + n_trees * 2.75 / (dim + 2))
    return int(annoy_bytes + items * META_BYTES_PER_ITEM)


def _check_embedder(embedder: dict[str, Any]) -> dict[str, Any]:
    """Validate an embedder identity {"name": str, "version": str, "dim": int}; returns a copy."""
    name, version, dim = embedder.get("name"), embedder.get("version"), embedder.get("dim")
    if not isinstance(name, str) or not isinstance(version, str):
        raise ValueError(f"embedder needs string 'name' and 'version', got {embedder!r}")
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"embedder needs a positive integer 'dim', got {embedder!r}")
    return {"name": name, "version": version, "dim": dim}


def _describe_embedder(embedder: dict[str, Any]) -> str:
    return f"{embedder.get('name')} {embedder.get('version')} ({embedder.get('dim')}-d)"


def _fsync_path(path: Path) -> None:
    """fsync a file or directory so a rename that follows survives a power cut."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _resolve_version_dir(directory: Path) -> Path:
    """The version folder ``directory`` designates (via CURRENT, or itself if it holds a
    manifest). Raises IndexNotFoundError."""
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
        return directory
    if not directory.exists():
        raise IndexNotFoundError(f"No index at {directory}: the folder does not exist.")
    raise IndexNotFoundError(
        f"No index at {directory}: it holds neither {CURRENT_FILE} nor {MANIFEST_FILE}."
    )


def _read_manifest(version_dir: Path) -> dict[str, Any]:
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
        manifest["embedder"] = _check_embedder(manifest["embedder"])
    except ValueError as exc:
        raise IndexCorruptError(f"The manifest {path} has an invalid embedder entry.") from exc
    for name in (VECTORS_FILE, META_FILE):
        entry = manifest["files"].get(name)
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("size"), int)
            and isinstance(entry.get("sha256"), str)
        ):
            raise IndexCorruptError(f"The manifest {path} lacks the size/sha256 of {name}.")
    return manifest


class IndexBuilder:
    """Collects pooled vectors and metadata, then publishes them as a new index version.

    Use as a context manager: leaving the block by an exception (or without calling
    :meth:`commit`) deletes the unpublished build and leaves any existing index untouched::

        with IndexBuilder(out, embedder=emb.describe(), pooling=DEFAULT_POOLING) as builder:
            builder.add(vector, ItemMeta(group="abc", start_s=0, end_s=10, labels=("Music",)))
            builder.commit()

    Args:
        target_dir: the index folder to create or replace. An existing folder must be a
            musicrec index or empty (a folder holding anything else is refused).
        embedder: the embedder identity {"name", "version", "dim"}; "dim" is the frame width.
        pooling: the pooling rule the vectors were made with (musicrec_core.catalog.pooling).
        n_trees: Annoy trees (None: DEFAULT_N_TREES).
        search_k: default nodes inspected per query, stored in the manifest (None:
            default_search_k of the item count).
        seed: Annoy's random seed, for reproducible builds.
    """

    def __init__(
        self,
        target_dir: Path,
        *,
        embedder: dict[str, Any],
        pooling: str,
        n_trees: int | None = None,
        search_k: int | None = None,
        seed: int = 0,
    ) -> None:
        self.embedder = _check_embedder(embedder)
        if pooling not in POOLING_RULES:
            raise ValueError(f"unknown pooling rule {pooling!r}; known: {POOLING_RULES}")
        self.pooling = pooling
        self.dim = pooled_dim(self.embedder["dim"], pooling)
        self.n_trees = DEFAULT_N_TREES if n_trees is None else n_trees
        self.search_k = search_k
        if self.n_trees < 1 or (search_k is not None and search_k < 1):
            raise ValueError("n_trees and search_k must be positive")
        self.target_dir = Path(target_dir)
        self._created_target = self._prepare_target()
        self._build_dir = self.target_dir / f"{BUILD_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self._build_dir.mkdir()
        self._started = time.monotonic()
        self._annoy = AnnoyIndex(self.dim, METRIC)
        self._annoy.set_seed(seed)
        self._annoy.on_disk_build(str(self._build_dir / VECTORS_FILE))
        self._db = sqlite3.connect(self._build_dir / META_FILE)
        self._db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE labels (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
            CREATE TABLE items (
                id INTEGER PRIMARY KEY, grp TEXT NOT NULL, start_s REAL NOT NULL,
                end_s REAL NOT NULL, label_ids TEXT NOT NULL, title TEXT, source TEXT,
                kind TEXT NOT NULL
            );
            """
        )
        self._label_ids: dict[str, int] = {}
        self._pending: list[tuple[Any, ...]] = []
        self._count = 0
        self._finished = False

    def _prepare_target(self) -> bool:
        """Create the target folder if needed (True when created); refuse a foreign folder."""
        target = self.target_dir
        if not target.exists():
            target.mkdir(parents=True)
            return True
        if not target.is_dir():
            raise CatalogError(f"Cannot build an index at {target}: it is a file.")
        if (target / MANIFEST_FILE).exists() and not (target / CURRENT_FILE).exists():
            raise CatalogError(
                f"{target} holds a single index version, not an index folder; build into a "
                "new folder instead."
            )
        pointer_temporaries = set(target.glob(temporary_name_pattern(target / CURRENT_FILE)))
        foreign = [
            entry.name
            for entry in target.iterdir()
            if entry.name != CURRENT_FILE
            and entry not in pointer_temporaries
            and not entry.name.startswith((VERSION_PREFIX, BUILD_PREFIX))
        ]
        if foreign:
            raise CatalogError(
                f"Refusing to build an index in {target}: it holds other files "
                f"({', '.join(sorted(foreign)[:3])}). Choose an empty or new folder."
            )
        self._remove_stale_builds(target)
        return False

    @staticmethod
    def _remove_stale_builds(target: Path) -> None:
        """Delete what killed builds left: build folders whose process no longer runs, and
        temporary ``CURRENT`` files older than :data:`STALE_POINTER_TEMP_S`."""
        for entry in target.glob(f"{BUILD_PREFIX}*"):
            pid_text = entry.name[len(BUILD_PREFIX) :].split("-", 1)[0]
            if pid_text.isdigit() and _process_alive(int(pid_text)):
                continue
            logger.info("removing an interrupted build: %s", entry)
            shutil.rmtree(entry, ignore_errors=True)
        for entry in target.glob(temporary_name_pattern(target / CURRENT_FILE)):
            with contextlib.suppress(OSError):
                if time.time() - entry.stat().st_mtime > STALE_POINTER_TEMP_S:
                    logger.info("removing an interrupted publish: %s", entry)
                    entry.unlink()

    def __len__(self) -> int:
        return self._count

    def __enter__(self) -> IndexBuilder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._finished:
            self.abort()

    def add(self, vector: np.ndarray, meta: ItemMeta) -> int:
        """Add one pooled float32 vector [dim] with its metadata; returns its item id."""
        return self.add_many(np.asarray(vector)[None, :], [meta])[0]

    def add_many(self, vectors: np.ndarray, metas: Sequence[ItemMeta]) -> range:
        """Add float32 vectors [n, dim] with n metadata records; returns their item ids."""
        self._check_open()
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise IndexMismatchError(
                f"Vectors of shape {vectors.shape} do not fit this {self.dim}-d index."
            )
        if vectors.shape[0] != len(metas):
            raise ValueError(f"{vectors.shape[0]} vectors but {len(metas)} metadata records")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors contain NaN or infinity")
        first = self._count
        for offset, (row, meta) in enumerate(zip(vectors, metas, strict=True)):
            item_id = first + offset
            self._annoy.add_item(item_id, row)
            self._pending.append(
                (
                    item_id,
                    meta.group,
                    float(meta.start_s),
                    float(meta.end_s),
                    ",".join(str(self._label_id(label)) for label in meta.labels),
                    meta.title,
                    meta.source,
                    meta.kind,
                )
            )
        self._count += vectors.shape[0]
        if len(self._pending) >= _META_FLUSH_ROWS:
            self._flush_meta()
        return range(first, self._count)

    def _label_id(self, name: str) -> int:
        label_id = self._label_ids.get(name)
        if label_id is None:
            label_id = len(self._label_ids)
            self._label_ids[name] = label_id
        return label_id

    def _flush_meta(self) -> None:
        self._db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._pending)
        self._pending.clear()

    def _check_open(self) -> None:
        if self._finished:
            raise CatalogError("This index build has already been committed or aborted.")

    def commit(self, extra_manifest: dict[str, Any] | None = None) -> Path:
        """Build the forest, write the manifest and publish atomically; returns target_dir.

        ``extra_manifest`` (JSON-serialisable) is stored under the manifest's "extra" key,
        e.g. the ingest summary. Raises CatalogError for an empty build.
        """
        self._check_open()
        try:
            if self._count == 0:
                raise CatalogError("Nothing to index: no item was added, so no index was built.")
            self._flush_meta()
            self._db.executemany(
                "INSERT INTO labels VALUES (?, ?)",
                ((label_id, name) for name, label_id in self._label_ids.items()),
            )
            self._db.commit()
            self._db.close()
            self._annoy.build(self.n_trees, n_jobs=-1)
            self._annoy.unload()
            manifest = self._manifest(extra_manifest or {})
            manifest_path = self._build_dir / MANIFEST_FILE
            manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            for name in (VECTORS_FILE, META_FILE, MANIFEST_FILE):
                _fsync_path(self._build_dir / name)
            _fsync_path(self._build_dir)
            self._publish()
        except BaseException:
            self.abort()
            raise
        self._finished = True
        return self.target_dir

    def _manifest(self, extra: dict[str, Any]) -> dict[str, Any]:
        files = {
            name: {
                "size": (self._build_dir / name).stat().st_size,
                "sha256": file_sha256(self._build_dir / name),
            }
            for name in (VECTORS_FILE, META_FILE)
        }
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "embedder": self.embedder,
            "dim": self.dim,
            "metric": METRIC,
            "pooling": self.pooling,
            "item_count": self._count,
            "label_count": len(self._label_ids),
            "n_trees": self.n_trees,
            "search_k": default_search_k(self._count) if self.search_k is None else self.search_k,
            "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "build_seconds": round(time.monotonic() - self._started, 3),
            "files": files,
            "extra": extra,
        }

    def _publish(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        version_name = f"{VERSION_PREFIX}{stamp}-{secrets.token_hex(4)}"
        version_dir = self.target_dir / version_name
        self._build_dir.rename(version_dir)
        self._build_dir = version_dir  # abort() now removes the unpublished version
        _fsync_path(self.target_dir)
        with atomic_write(self.target_dir / CURRENT_FILE, durable=True) as handle:
            handle.write(f"{version_name}\n".encode())
        _fsync_path(self.target_dir)
        # Published: from here on a failure must not delete the new version.
        self._finished = True
        for entry in self.target_dir.glob(f"{VERSION_PREFIX}*"):
            if entry.name != version_name:
                shutil.rmtree(entry, ignore_errors=True)
        logger.info("published index %s (%d items)", version_dir, self._count)

    def abort(self) -> None:
        """Discard the build; an existing index stays as it was. Safe to call twice."""
        if self._finished:
            return
        self._finished = True
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._annoy.unload()
        shutil.rmtree(self._build_dir, ignore_errors=True)
        if self._created_target:
            with contextlib.suppress(OSError):
                self.target_dir.rmdir()  # only if still empty


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CatalogIndex:
    """A loaded, read-only index: Annoy forest (memory-mapped) plus SQLite metadata.

    Thread-safe: searches run concurrently (Annoy reads are thread-safe); metadata lookups
    share one read-only SQLite connection behind a lock. Obtain one with :meth:`load`.

    Attributes:
        directory: the version folder in use.
        manifest: the parsed manifest.
        embedder: {"name", "version", "dim"} of the embedder the index was built with.
        pooling: the pooling rule queries must use.
        dim: width of the indexed (pooled) vectors.
        default_search_k: nodes inspected per query when :meth:`search` is not told.
    """

    def __init__(
        self,
        version_dir: Path,
        manifest: dict[str, Any],
        annoy: AnnoyIndex,
        db: sqlite3.Connection,
        label_names: dict[int, str],
    ) -> None:
        """Use :meth:`load`; this wraps already validated, opened files."""
        self.directory = version_dir
        self.manifest = manifest
        self.embedder: dict[str, Any] = manifest["embedder"]
        self.pooling: str = manifest["pooling"]
        self.dim: int = manifest["dim"]
        self.default_search_k: int = manifest["search_k"]
        self._annoy = annoy
        self._db = db
        self._db_lock = threading.Lock()
        self._state = threading.Condition()
        self._active = 0
        self._closed = False
        self._label_names = label_names

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        expect_embedder: dict[str, Any] | None = None,
        verify_checksums: bool = False,
    ) -> CatalogIndex:
        """Open the current version of the index at ``directory``.

        Args:
            directory: an index folder (with CURRENT) or one version folder.
            expect_embedder: {"name", "version", "dim"} of the query embedder; a different
                identity raises IndexMismatchError.
            verify_checksums: also verify each file's sha256 (seconds for large indexes).

        Raises:
            IndexNotFoundError: no index there.
            IndexCorruptError: unreadable manifest, wrong file sizes or checksums, bad files.
            IndexMismatchError: another embedder, dimension, pooling rule or format version.
        """
        directory = Path(directory)
        version_dir = _resolve_version_dir(directory)
        for _ in range(_LOAD_ATTEMPTS - 1):
            try:
                return cls._load_version(version_dir, expect_embedder, verify_checksums)
            except IndexCorruptError:
                # A publish may have replaced and deleted this version while we opened it.
                latest = _resolve_version_dir(directory)
                if latest == version_dir:
                    raise
                version_dir = latest
        return cls._load_version(version_dir, expect_embedder, verify_checksums)

    @classmethod
    def _load_version(
        cls,
        version_dir: Path,
        expect_embedder: dict[str, Any] | None,
        verify_checksums: bool,
    ) -> CatalogIndex:
        manifest = _read_manifest(version_dir)
        _check_compatible(version_dir, manifest, expect_embedder)
        _check_files(version_dir, manifest, verify_checksums)
        annoy = AnnoyIndex(manifest["dim"], METRIC)
        try:
            annoy.load(str(version_dir / VECTORS_FILE), prefault=False)
        except OSError as exc:
            raise IndexCorruptError(f"Annoy cannot load {version_dir / VECTORS_FILE}.") from exc
        if annoy.get_n_items() != manifest["item_count"]:
            annoy.unload()
            raise IndexCorruptError(
                f"{VECTORS_FILE} holds {annoy.get_n_items()} items but the manifest says "
                f"{manifest['item_count']}; rebuild the index."
            )
        try:
            db, label_names = _open_meta(version_dir / META_FILE, manifest["item_count"])
        except BaseException:
            annoy.unload()
            raise
        return cls(version_dir, manifest, annoy, db, label_names)

    def __len__(self) -> int:
        return int(self.manifest["item_count"])

    def __enter__(self) -> CatalogIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        with self._state:
            if self._closed:
                raise CatalogError("This index has been closed.")
            self._active += 1
        try:
            yield
        finally:
            with self._state:
                self._active -= 1
                self._state.notify_all()

    def search(
        self, vector: np.ndarray, n: int, *, search_k: int | None = None
    ) -> list[tuple[int, float]]:
        """The ``n`` nearest items to a pooled query vector [dim], best first.

        Returns:
            (item id, cosine similarity in [-1, 1]) pairs; cosine = 1 - d^2 / 2 for Annoy's
            angular distance d.

        Raises:
            IndexMismatchError: the vector's shape is not [dim].
            ValueError: NaN/infinite values or a negative n.
        """
        query = np.asarray(vector, dtype=np.float32)
        if query.shape != (self.dim,):
            raise IndexMismatchError(
                f"The query vector has shape {query.shape} but this index holds {self.dim}-d "
                f"vectors ({_describe_embedder(self.embedder)}, pooling {self.pooling!r})."
            )
        if not np.isfinite(query).all():
            raise ValueError("the query vector contains NaN or infinity")
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            return []
        k = self.default_search_k if search_k is None else search_k
        with self._reading():
            ids, distances = self._annoy.get_nns_by_vector(query, n, k, True)
        return [
            (item_id, float(min(1.0, max(-1.0, 1.0 - d * d / 2.0))))
            for item_id, d in zip(ids, distances, strict=True)
        ]

    def meta(self, item_id: int) -> ItemMeta:
        """Metadata of one item. Raises IndexError for an id outside [0, len)."""
        return self.metas([item_id])[0]

    def metas(self, item_ids: Iterable[int]) -> list[ItemMeta]:
        """Metadata of several items in the given order (one SQLite round trip)."""
        wanted = [int(i) for i in item_ids]
        if not wanted:
            return []
        placeholders = ",".join("?" * len(wanted))
        with self._reading(), self._db_lock:
            rows = self._db.execute(
                "SELECT id, grp, start_s, end_s, label_ids, title, source, kind FROM items "
                f"WHERE id IN ({placeholders})",
                wanted,
            ).fetchall()
        by_id = {row[0]: row for row in rows}
        result = []
        for item_id in wanted:
            row = by_id.get(item_id)
            if row is None:
                raise IndexError(f"item {item_id} is not in this index of {len(self)} items")
            label_ids = row[4].split(",") if row[4] else []
            result.append(
                ItemMeta(
                    group=row[1],
                    start_s=row[2],
                    end_s=row[3],
                    labels=tuple(self._label_names[int(i)] for i in label_ids),
                    title=row[5],
                    source=row[6],
                    kind=row[7],
                )
            )
        return result

    def vector(self, item_id: int) -> np.ndarray:
        """The stored pooled vector float32 [dim] of one item. Raises IndexError."""
        if not 0 <= item_id < len(self):
            raise IndexError(f"item {item_id} is not in this index of {len(self)} items")
        with self._reading():
            return np.asarray(self._annoy.get_item_vector(item_id), dtype=np.float32)

    def close(self) -> None:
        """Wait for searches in flight, then unmap the files. Later calls raise CatalogError."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            while self._active:
                self._state.wait()
        self._annoy.unload()
        with self._db_lock:
            self._db.close()


def _check_compatible(
    version_dir: Path, manifest: dict[str, Any], expect_embedder: dict[str, Any] | None
) -> None:
    """Refuse an index whose embedder, metric, pooling or dimension do not fit."""
    built_with = manifest["embedder"]
    if expect_embedder is not None:
        wanted = _check_embedder(expect_embedder)
        if wanted != built_with:
            raise IndexMismatchError(
                f"The index at {version_dir} was built with {_describe_embedder(built_with)} "
                f"but the query embedder is {_describe_embedder(wanted)}; rebuild the index "
                "or use the matching embedder."
            )
    if manifest["metric"] != METRIC:
        raise IndexMismatchError(
            f"The index uses metric {manifest['metric']!r}; expected {METRIC}."
        )
    if manifest["pooling"] not in POOLING_RULES:
        raise IndexMismatchError(
            f"The index uses pooling {manifest['pooling']!r}, which this musicrec does not know."
        )
    expected_dim = pooled_dim(built_with["dim"], manifest["pooling"])
    if manifest["dim"] != expected_dim:
        raise IndexCorruptError(
            f"The manifest says {manifest['dim']}-d vectors, but {built_with['dim']}-d frames "
            f"pooled with {manifest['pooling']!r} give {expected_dim}-d; rebuild the index."
        )


def _check_files(version_dir: Path, manifest: dict[str, Any], verify_checksums: bool) -> None:
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
        if verify_checksums and file_sha256(path) != entry["sha256"]:
            raise IndexCorruptError(
                f"{name} in {version_dir} fails its sha256 check; rebuild the index."
            )


def _open_meta(path: Path, item_count: int) -> tuple[sqlite3.Connection, dict[int, str]]:
    """Open the metadata database read-only; check it holds item_count items.

    Returns the connection (usable from any thread, behind the caller's lock) and the
    label id -> name table.
    """
    db = None
    try:
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        (max_id,) = db.execute("SELECT max(id) FROM items").fetchone()
        label_names = {int(i): str(name) for i, name in db.execute("SELECT id, name FROM labels")}
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        raise IndexCorruptError(f"The metadata database {path} is unreadable: {exc}.") from exc
    if max_id != item_count - 1:
        db.close()
        raise IndexCorruptError(
            f"The metadata database {path} does not match the manifest's {item_count} items."
        )
    return db, label_names
