"""Building an index version and publishing it atomically.

:class:`IndexBuilder` collects pooled vectors with their metadata and
:meth:`IndexBuilder.commit` publishes them as a new version of an index folder (layout in
:mod:`.manifest`).

Crash safety: a build writes into ``INDEX_DIR/.musicrec-build-<random>/`` (same file system
as the published versions). Publishing is (1) fsync the files and the build folder, (2)
rename the build folder to its version name, (3) write the new name to a temporary file,
fsync it and ``os.replace`` it over ``CURRENT`` (an atomic rename;
:func:`~musicrec_core.atomic_file.atomic_write` with ``durable=True``), (4) fsync
``INDEX_DIR``, then (5) delete versions ``CURRENT`` no longer names. Before step 3
completes, ``CURRENT`` names the old, complete version; after it, the new complete one. So
at every instant a loadable index exists, and a build killed at any point leaves at worst an
unpublished folder or a temporary pointer file, which the next build removes. A loaded
:class:`~musicrec_core.catalog.index.loaded.CatalogIndex` pins its version: files deleted by
a later publish stay readable to it (POSIX keeps open and mapped files alive).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from musicrec_core.atomic_file import atomic_write, temporary_name_pattern
from musicrec_core.catalog.index.backends import (
    BACKEND_KEY,
    BACKENDS,
    DEFAULT_BACKEND,
    backend_named,
)
from musicrec_core.catalog.index.label_items import LabelItems
from musicrec_core.catalog.index.manifest import (
    BUILD_PREFIX,
    CURRENT_FILE,
    FORMAT_NAME,
    MANIFEST_FILE,
    META_FILE,
    METRIC,
    STALE_POINTER_TEMP_S,
    VERSION_PREFIX,
    ItemMeta,
)
from musicrec_core.catalog.pooling import POOLING_RULES, pooled_dim
from musicrec_core.embedders.base import EmbedderId, Tag
from musicrec_core.errors import CatalogError, IndexMismatchError
from musicrec_core.hashing import file_sha256

logger = logging.getLogger(__name__)

META_BYTES_PER_ITEM = 64
"""SQLite bytes per AudioSet item (id, video id, times, 2-3 label ids), rounded up."""

_META_FLUSH_ROWS = 10_000


def estimate_index_bytes(
    items: int, dim: int, n_trees: int | None = None, backend: str = DEFAULT_BACKEND
) -> int:
    """Disk space one index version of ``items`` pooled ``dim``-d vectors takes, in bytes.

    The vector file takes what its backend says per item (``n_trees``: Annoy's, None for
    the default); the SQLite metadata of an AudioSet item takes about META_BYTES_PER_ITEM.
    Replacing an index needs this much free space on top of the old version until the new
    one is published.
    """
    settings = {} if n_trees is None else {"n_trees": n_trees}
    per_item = backend_named(backend).bytes_per_item(dim, settings) + META_BYTES_PER_ITEM
    return int(items * per_item)


def _fsync_path(path: Path) -> None:
    """fsync a file or directory so a rename that follows survives a power cut."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexBuilder:
    """Collects pooled vectors and metadata, then publishes them as a new index version.

    Use as a context manager: leaving the block by an exception (or without calling
    :meth:`commit`) deletes the unpublished build and leaves any existing index untouched::

        with IndexBuilder(out, embedder=emb.id, pooling=DEFAULT_POOLING) as builder:
            builder.add(vector, ItemMeta(group="abc", start_s=0, end_s=10, labels=("Music",)))
            builder.commit()

    Args:
        target_dir: the index folder to create or replace. An existing folder must be a
            musicrec index or empty (a folder holding anything else is refused).
        embedder: the id of the embedder that made the frames (its dim is the frame width).
        pooling: the pooling rule the vectors were made with (musicrec_core.catalog.pooling).
        backend: which library stores and searches the vectors (:mod:`.vector_backend`):
            "annoy" (the default) or "usearch".
        n_trees: Annoy trees (None: DEFAULT_N_TREES); only for the annoy backend.
        search_k: the default search effort stored in the manifest (Annoy: nodes inspected
            per query; usearch: candidates kept); None: the backend's default for the
            item count.
        seed: Annoy's random seed, for reproducible builds.

    Raises:
        ValueError: an unknown backend, a setting it does not have, a setting below 1.
    """

    def __init__(
        self,
        target_dir: Path,
        *,
        embedder: EmbedderId,
        pooling: str,
        backend: str = DEFAULT_BACKEND,
        n_trees: int | None = None,
        search_k: int | None = None,
        seed: int = 0,
    ) -> None:
        self.embedder = embedder
        if pooling not in POOLING_RULES:
            raise ValueError(f"unknown pooling rule {pooling!r}; known: {POOLING_RULES}")
        self.pooling = pooling
        self.dim = pooled_dim(embedder.dim, pooling)
        self.backend = backend_named(backend)
        self.search_k = search_k
        if search_k is not None and search_k < 1:
            raise ValueError("search_k must be positive")
        settings = {} if n_trees is None else {"n_trees": n_trees}
        self.target_dir = Path(target_dir)
        self._created_target = self._prepare_target()
        self._build_dir = self.target_dir / f"{BUILD_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self._build_dir.mkdir()
        self._started = time.monotonic()
        try:
            self._vectors = self.backend.writer(
                self._build_dir / self.backend.vectors_file, self.dim, seed, settings
            )
        except BaseException:  # e.g. a setting the backend does not have
            shutil.rmtree(self._build_dir, ignore_errors=True)
            if self._created_target:
                self.target_dir.rmdir()
            raise
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
            CREATE TABLE track_tags (
                grp TEXT NOT NULL, rank INTEGER NOT NULL, label_id INTEGER NOT NULL,
                score REAL NOT NULL, PRIMARY KEY (grp, rank)
            ) WITHOUT ROWID;
            """
        )
        self._label_ids: dict[str, int] = {}
        self._track_tags: dict[str, list[tuple[str, int, int, float]]] = {}
        self._extra_files: list[str] = []
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
        self._vectors.add(first, vectors)
        for item_id, meta in enumerate(metas, start=first):
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

    def set_track_tags(self, group: str, tags: Sequence[Tag]) -> None:
        """Keep every music tag of track ``group`` with its score (probability in [0, 1]),
        best first; read back by
        :meth:`~musicrec_core.catalog.index.loaded.CatalogIndex.track_tags`.

        Raises:
            ValueError: tags already set for ``group``, an empty or repeated name, a score
                outside [0, 1] (or not finite), or scores not in descending order.
        """
        self._check_open()
        if group in self._track_tags:
            raise ValueError(f"the tags of track {group!r} are already set")
        names = [tag.name for tag in tags]
        scores = [float(tag.probability) for tag in tags]
        if not all(names):
            raise ValueError(f"a tag of track {group!r} has no name")
        if len(set(names)) != len(names):
            raise ValueError(f"track {group!r} names a tag twice")
        if not all(0.0 <= score <= 1.0 for score in scores):  # False for NaN too
            raise ValueError(f"tag scores must be between 0 and 1 (track {group!r})")
        if any(later > earlier for earlier, later in zip(scores, scores[1:], strict=False)):
            raise ValueError(f"the tags of track {group!r} must come best first")
        self._track_tags[group] = [
            (group, rank, self._label_id(name), score)
            for rank, (name, score) in enumerate(zip(names, scores, strict=True))
        ]

    def extra_file(self, name: str) -> Path:
        """Where to write one more file of this version (e.g. a landmark store): a path in
        the unpublished build folder. :meth:`commit` lists it in the manifest (size and
        sha256, so loads check it like the others) and publishes it with the rest."""
        self._check_open()
        reserved = (*(b.vectors_file for b in BACKENDS.values()), META_FILE, MANIFEST_FILE)
        if "/" in name or name.startswith(".") or name in reserved or name in self._extra_files:
            raise ValueError(f"{name!r} cannot be an extra index file")
        self._extra_files.append(name)
        return self._build_dir / name

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
                "INSERT INTO track_tags VALUES (?, ?, ?, ?)",
                (row for rows in self._track_tags.values() for row in rows),
            )
            self._db.executemany(
                "INSERT INTO labels VALUES (?, ?)",
                ((label_id, name) for name, label_id in self._label_ids.items()),
            )
            self._db.commit()
            self._extra_files += LabelItems.from_meta(self._db).save(self._build_dir)
            self._db.close()
            settings = self._vectors.write()
            manifest = self._manifest(settings, extra_manifest or {})
            manifest_path = self._build_dir / MANIFEST_FILE
            manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            for name in (self.backend.vectors_file, META_FILE, MANIFEST_FILE, *self._extra_files):
                _fsync_path(self._build_dir / name)
            _fsync_path(self._build_dir)
            self._publish()
        except BaseException:
            self.abort()
            raise
        self._finished = True
        return self.target_dir

    def _manifest(self, settings: dict[str, int], extra: dict[str, Any]) -> dict[str, Any]:
        files = {
            name: {
                "size": (self._build_dir / name).stat().st_size,
                "sha256": file_sha256(self._build_dir / name),
            }
            for name in (self.backend.vectors_file, META_FILE, *self._extra_files)
        }
        return {
            "format": FORMAT_NAME,
            "format_version": self.backend.format_version,
            "embedder": self.embedder.to_json(),
            "dim": self.dim,
            "metric": METRIC,
            "pooling": self.pooling,
            "item_count": self._count,
            "label_count": len(self._label_ids),
            BACKEND_KEY: self.backend.name,
            **settings,
            "search_k": (
                self.backend.default_effort(self._count) if self.search_k is None else self.search_k
            ),
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
        self._vectors.discard()
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
