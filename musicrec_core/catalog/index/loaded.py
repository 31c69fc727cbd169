"""A loaded index version: search it, read its items, check who may query it.

:meth:`CatalogIndex.load` opens whatever version an index folder's ``CURRENT`` names (format
and integrity checks in :mod:`.manifest`) and refuses one built with another embedder than
the caller expects. The vectors are memory-mapped, not read, so an Annoy load takes about a
millisecond whatever the size (usearch reads its graph's node headers: 146 ms at 1M; which
backend holds the vectors is the manifest's, :mod:`.vector_backend`). A server opens with
:meth:`CatalogIndex.load_for_serving` instead, which proves the index first: an index
folder (no bare version folder), every file's sha256, and a probe query
(:meth:`CatalogIndex.probe`), so bit rot is refused with IndexCorruptError before any query
can make the vector backend read wild offsets.

A :class:`CatalogIndex` may be used from many threads at once; :meth:`CatalogIndex.close`
waits for searches in flight before unmapping the files.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from musicrec_core.catalog.index.backends import backend_of
from musicrec_core.catalog.index.label_items import LABEL_ITEMS_FILE, LabelItems
from musicrec_core.catalog.index.manifest import (
    META_FILE,
    TRACK_TAGS_FROM_FORMAT,
    ItemMeta,
    TrackTag,
    check_embedder,
    check_files,
    fingerprint,
    read_manifest,
    resolve_version_dir,
)
from musicrec_core.catalog.index.vector_backend import VectorSearch
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.errors import CatalogError, IndexCorruptError, IndexMismatchError
from musicrec_core.fingerprint.store import HASHES_FILE, LandmarkStore

_LOAD_ATTEMPTS = 3

_SQL_VARIABLES = 5_000
"""Most ``?`` placeholders one query binds: SQLite refuses a statement with more than its
build's limit (32,766 by default), so longer lists of ids or groups are read in chunks."""
PROBE_MIN_COSINE = 0.9999
"""A probe item's stored vector must find a neighbour at least this close (itself, or an
identical copy): float32 rounding leaves an item's cosine to itself within 1e-6 of 1."""


class CatalogIndex:
    """A loaded, read-only index: memory-mapped vectors (its backend's) plus SQLite metadata.

    Thread-safe: searches may come from many threads (Annoy runs them concurrently); metadata
    share one read-only SQLite connection behind a lock. Obtain one with :meth:`load`.

    Attributes:
        directory: the version folder in use.
        manifest: the parsed manifest, as stored.
        embedder: the id of the embedder the index was built with.
        fingerprint: eight hex digits telling this build apart from every other (the
            start of the sha256 of its manifest).
        pooling: the pooling rule queries must use.
        dim: width of the indexed (pooled) vectors.
        backend: the name of the vector backend ("annoy" or "usearch").
        default_search_k: the search effort when :meth:`search` is not told (Annoy: nodes
            inspected; usearch: candidates kept).
        landmarks: the landmark store of a library index built with one (its files are
            listed in the manifest, so the sha256 proof covers them); None otherwise.
    """

    def __init__(
        self,
        version_dir: Path,
        manifest: dict[str, Any],
        embedder: EmbedderId,
        vectors: VectorSearch,
        db: sqlite3.Connection,
        label_names: dict[int, str],
        landmarks: LandmarkStore | None = None,
        *,
        scored_tags: bool = True,
    ) -> None:
        """Use :meth:`load`; this wraps already validated, opened files."""
        self.directory = version_dir
        self.manifest = manifest
        self.embedder = embedder
        self.fingerprint = fingerprint(manifest)
        self.pooling: str = manifest["pooling"]
        self.dim: int = manifest["dim"]
        self.backend = backend_of(manifest).name
        self.default_search_k: int = manifest["search_k"]
        self._vectors = vectors
        self._db = db
        self._db_lock = threading.Lock()
        self._state = threading.Condition()
        self._active = 0
        self._closed = False
        self._label_names = label_names
        self._scored_tags = scored_tags
        self.landmarks = landmarks
        self._label_items: LabelItems | None = None

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        expect_embedder: EmbedderId | None = None,
        verify_checksums: bool = False,
        bare_version_ok: bool = True,
    ) -> CatalogIndex:
        """Open the current version of the index at ``directory``.

        Args:
            directory: an index folder (with CURRENT) or one version folder.
            expect_embedder: the query embedder's id; another one raises
                IndexMismatchError.
            verify_checksums: also verify each file's sha256 (about 1 s per GB).
            bare_version_ok: accept a version folder named directly (one-off queries).

        Raises:
            IndexNotFoundError: no index there (or a bare version folder, when refused).
            IndexCorruptError: unreadable manifest, wrong file sizes or checksums, bad files.
            IndexMismatchError: another embedder, dimension, pooling rule or format version.
        """
        directory = Path(directory)
        version_dir = resolve_version_dir(directory, bare_version_ok=bare_version_ok)
        for _ in range(_LOAD_ATTEMPTS - 1):
            try:
                return cls._load_version(version_dir, expect_embedder, verify_checksums)
            except IndexCorruptError:
                # A publish may have replaced and deleted this version while we opened it.
                latest = resolve_version_dir(directory, bare_version_ok=bare_version_ok)
                if latest == version_dir:
                    raise
                version_dir = latest
        return cls._load_version(version_dir, expect_embedder, verify_checksums)

    @classmethod
    def load_for_serving(
        cls, directory: Path, *, expect_embedder: EmbedderId | None = None
    ) -> CatalogIndex:
        """Open an index a long-running server will query, proven sound first (blocking:
        hashing takes about 1 s per GB, so run it in a worker thread).

        Refuses a bare version folder, verifies every file's sha256 against the manifest,
        then runs :meth:`probe`. Raises what :meth:`load` and :meth:`probe` raise.
        """
        index = cls.load(
            directory,
            expect_embedder=expect_embedder,
            verify_checksums=True,
            bare_version_ok=False,
        )
        try:
            index.probe()
        except BaseException:
            index.close()
            raise
        return index

    @classmethod
    def _load_version(
        cls,
        version_dir: Path,
        expect_embedder: EmbedderId | None,
        verify_checksums: bool,
    ) -> CatalogIndex:
        manifest, embedder = read_manifest(version_dir)
        if expect_embedder is not None:
            check_embedder(embedder, expect_embedder, version_dir)
        check_files(version_dir, manifest, verify_checksums)
        backend = backend_of(manifest)
        vectors = backend.load(version_dir / backend.vectors_file, manifest)
        try:
            db, label_names, scored_tags = _open_meta(version_dir / META_FILE, manifest)
        except BaseException:
            vectors.close()
            raise
        landmarks = None
        if HASHES_FILE in manifest["files"]:
            try:
                landmarks = LandmarkStore.load(version_dir, manifest["item_count"])
            except BaseException:
                vectors.close()
                db.close()
                raise
        return cls(
            version_dir,
            manifest,
            embedder,
            vectors,
            db,
            label_names,
            landmarks,
            scored_tags=scored_tags,
        )

    def __len__(self) -> int:
        return int(self.manifest["item_count"])

    @property
    def label_names(self) -> tuple[str, ...]:
        """The names the items' labels use (AudioSet display names or musicnn tags), each
        once; () when no item has a label."""
        return tuple(self._label_names[i] for i in sorted(self._label_names))

    def check_embedder(self, embedder: EmbedderId) -> None:
        """Raise IndexMismatchError unless ``embedder`` is the one this index was built with."""
        check_embedder(self.embedder, embedder, self.directory)

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
            (item id, cosine similarity in [-1, 1]) pairs, from the stored float32 vectors.

        Raises:
            IndexMismatchError: the vector's shape is not [dim].
            ValueError: NaN/infinite values or a negative n.
        """
        query = np.asarray(vector, dtype=np.float32)
        if query.shape != (self.dim,):
            raise IndexMismatchError(
                f"The query vector has shape {query.shape} but this index holds {self.dim}-d "
                f"vectors ({self.embedder}, pooling {self.pooling!r})."
            )
        if not np.isfinite(query).all():
            raise ValueError("the query vector contains NaN or infinity")
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            return []
        k = self.default_search_k if search_k is None else search_k
        with self._reading():
            ids, cosines = self._vectors.nearest(query, n, k)
        return [
            (int(item_id), float(min(1.0, max(-1.0, cosine))))
            for item_id, cosine in zip(ids, cosines, strict=True)
        ]

    def meta(self, item_id: int) -> ItemMeta:
        """Metadata of one item. Raises IndexError for an id outside [0, len)."""
        return self.metas([item_id])[0]

    def metas(self, item_ids: Iterable[int]) -> list[ItemMeta]:
        """Metadata of several items in the given order (one SQLite query per
        :data:`_SQL_VARIABLES` items)."""
        wanted = [int(i) for i in item_ids]
        if not wanted:
            return []
        rows = self._select_in(
            "SELECT id, grp, start_s, end_s, label_ids, title, source, kind FROM items "
            "WHERE id IN ({})",
            wanted,
        )
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

    def track_tags(self, groups: Iterable[str]) -> dict[str, tuple[TrackTag, ...]]:
        """Every music tag of each library track in ``groups``, best first, with its score
        (one SQLite query per :data:`_SQL_VARIABLES` groups). Groups without tags are left
        out (AudioSet segments, a VGGish library). An index built before scores were kept
        (format 1) gives each track its items' label names (its best few tags) with score
        None.

        Raises:
            CatalogError: the index has been closed.
        """
        wanted = list(dict.fromkeys(str(group) for group in groups))
        if not wanted:
            return {}
        if self._scored_tags:
            scored: dict[str, list[TrackTag]] = {}
            rows = self._select_in(
                "SELECT grp, label_id, score FROM track_tags WHERE grp IN ({}) ORDER BY grp, rank",
                wanted,
            )
            for group, label_id, score in rows:
                scored.setdefault(group, []).append(
                    TrackTag(self._label_names[label_id], float(score))
                )
            return {group: tuple(tags) for group, tags in scored.items()}
        rows = self._select_in(
            "SELECT grp, min(label_ids) FROM items "
            "WHERE grp IN ({}) AND label_ids != '' GROUP BY grp",
            wanted,
        )
        return {
            group: tuple(TrackTag(self._label_names[int(i)], None) for i in label_ids.split(","))
            for group, label_ids in rows
        }

    def _select_in(self, sql: str, values: list[Any]) -> list[tuple[Any, ...]]:
        """The rows of ``sql``, whose ``{}`` stands for an ``IN`` list, over ``values`` in
        chunks of at most :data:`_SQL_VARIABLES` (each chunk's rows in the query's order)."""
        rows: list[tuple[Any, ...]] = []
        with self._reading(), self._db_lock:
            for start in range(0, len(values), _SQL_VARIABLES):
                chunk = values[start : start + _SQL_VARIABLES]
                query = sql.format(",".join("?" * len(chunk)))
                rows.extend(self._db.execute(query, chunk).fetchall())
        return rows

    def label_items(self) -> LabelItems:
        """Which items carry each label (:mod:`.label_items`): the stored files, or for an
        index built before them, derived on first use by a connection of its own to the
        metadata (1 s per million items; queries go on meanwhile), then kept in memory."""
        with self._reading():
            if self._label_items is None:
                stored = LABEL_ITEMS_FILE in self.manifest["files"]
                found = LabelItems.of_version(self.directory, stored=stored)
                self._label_items = self._label_items or found  # two at once: one is kept
            return self._label_items

    def vector(self, item_id: int) -> np.ndarray:
        """The stored pooled vector float32 [dim] of one item. Raises IndexError."""
        if not 0 <= item_id < len(self):
            raise IndexError(f"item {item_id} is not in this index of {len(self)} items")
        with self._reading():
            return self._vectors.vector(item_id)

    def vectors(self, item_ids: np.ndarray) -> np.ndarray:
        """Stored pooled vectors float32 [n, dim] of ``item_ids`` (int [n]), read in bulk."""
        ids = np.asarray(item_ids, dtype=np.int64)
        if len(ids) and (ids.min() < 0 or ids.max() >= len(self)):
            raise IndexError(f"item ids outside this index of {len(self)} items")
        with self._reading():
            return self._vectors.vectors(ids)

    def probe(self) -> None:
        """Prove the forest answers: the stored vectors of the first, middle and last items
        must each find a neighbour with cosine >= PROBE_MIN_COSINE (themselves, or an
        identical copy). Catches damage that happened before the manifest's checksums were
        computed; it cannot stop a backend from crashing on an arbitrary file, which is why
        :meth:`load_for_serving` verifies the checksums first. Zero vectors (no direction
        to find) are skipped.

        Raises:
            IndexCorruptError: a probe vector is not finite, or it does not find itself.
        """
        count = len(self)
        for item_id in sorted({0, count // 2, count - 1}):
            vector = self.vector(item_id)
            if not np.isfinite(vector).all():
                raise IndexCorruptError(
                    f"Item {item_id} of the index at {self.directory} holds a damaged vector; "
                    "rebuild the index."
                )
            if not vector.any():
                continue
            best = self.search(vector, 1)
            if not best or not best[0][1] >= PROBE_MIN_COSINE:
                raise IndexCorruptError(
                    f"The index at {self.directory} fails its probe query (item {item_id} "
                    "does not find itself): it is damaged; rebuild it."
                )

    def close(self) -> None:
        """Wait for searches in flight, then unmap the files. Later calls raise CatalogError."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            while self._active:
                self._state.wait()
        self._vectors.close()
        with self._db_lock:
            self._db.close()


def _open_meta(
    path: Path, manifest: dict[str, Any]
) -> tuple[sqlite3.Connection, dict[int, str], bool]:
    """Open the metadata database read-only; check it holds the manifest's item count and,
    from format TRACK_TAGS_FROM_FORMAT, the track_tags table.

    Returns the connection (usable from any thread, behind the caller's lock), the label
    id -> name table, and whether track tags are stored with scores.
    """
    item_count = manifest["item_count"]
    db = None
    try:
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        (max_id,) = db.execute("SELECT max(id) FROM items").fetchone()
        label_names = {int(i): str(name) for i, name in db.execute("SELECT id, name FROM labels")}
        scored_tags = db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'track_tags'"
        ).fetchone() == (1,)
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        raise IndexCorruptError(f"The metadata database {path} is unreadable: {exc}.") from exc
    problem = None
    if max_id != item_count - 1:
        problem = f"does not match the manifest's {item_count} items"
    elif manifest["format_version"] >= TRACK_TAGS_FROM_FORMAT and not scored_tags:
        problem = f"lacks the track_tags table of format {manifest['format_version']}"
    if problem:
        db.close()
        raise IndexCorruptError(f"The metadata database {path} {problem}; rebuild the index.")
    return db, label_names, scored_tags
