"""The embedded-clip cache: a link pasted again is answered without downloading anything.

Mental model: what a query needs once its clip is embedded is small — the pooled query
vector (float32 [D]), the clip's music tags, its provenance (title, channel, window,
duration) and, for a catalog with landmarks, the clip's spectral peaks (int32 [p, 2],
about 1.6 KB), so a cached query is identified as the fresh one was. :class:`ClipCache`
keeps those in one SQLite file beside the model cache
(``<cache root>/clips.sqlite3``), keyed by

- the video id,
- the window: :func:`window_key` of the start asked for (``"default"`` when none, i.e.
  the loudest 10 s around 40 % of the video, which is the same clip every time),
- the vector space: :func:`vector_space` of the embedder id (name, variant, version,
  width), the index's pooling rule and whether it holds landmarks, so new weights, another
  pooling, or a catalog that now identifies recordings (and needs the peaks) miss.

Every read marks its row used; after each write the least recently used rows are evicted
until the stored bytes fit ``max_bytes``. Each row carries a sha256 of its payload: a row
that fails it (or does not parse) reads as a miss, is deleted, and the next request
stores a fresh one.

Concurrency: WAL mode, a busy timeout and ``BEGIN IMMEDIATE`` around each write, so the
bot's processes may share the file; within a process one connection sits behind a lock.
The file is opened through :class:`~musicrec_core.sqlite_cache.SqliteCacheFile`: one that
SQLite calls not a database or corrupt is moved aside (``clips.sqlite3.damaged``) and
started afresh, but only by a process alone with it; a lock, a full disk or an I/O error
moves nothing. A cache that cannot be used never breaks a request: reads then miss, writes
are skipped, the first failure is logged, and a minute later the file is tried again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_core.clip import Provenance
from musicrec_core.embedders.base import EmbedderId, Tag
from musicrec_core.paths import cache_root
from musicrec_core.sqlite_cache import SqliteCacheFile

__all__ = [
    "CACHE_FILE",
    "DEFAULT_MAX_MB",
    "CachedQuery",
    "ClipCache",
    "default_cache_path",
    "vector_space",
    "window_key",
]

log = logging.getLogger(__name__)

CACHE_FILE = "clips.sqlite3"
DEFAULT_MAX_MB = 64.0
"""About 50 000 VGGish queries (a row is about 1.3 KB)."""
_ROW_OVERHEAD = 64
"""Bytes counted per row on top of its payload (key, bookkeeping)."""
_BUSY_TIMEOUT_MS = 5000


def default_cache_path() -> Path:
    """``<cache root>/clips.sqlite3``."""
    return cache_root() / CACHE_FILE


def window_key(start_s: float | None) -> str:
    """The cache's name for a window: ``"default"``, or the start in ms (``"90000ms"``)."""
    return "default" if start_s is None else f"{round(start_s * 1000)}ms"


def vector_space(embedder: EmbedderId, pooling: str, landmarks: bool = False) -> str:
    """Which space a pooled vector lives in: ``"vggish/-/<version>/128/mean"``, with
    ``"/landmarks"`` after it when the catalog identifies queries by their peaks."""
    space = f"{embedder.name}/{embedder.variant or '-'}/{embedder.version}/{embedder.dim}/{pooling}"
    return f"{space}/landmarks" if landmarks else space


@dataclass(frozen=True)
class CachedQuery:
    """What answering a query again needs.

    Attributes:
        provenance: where the clip came from (kind "youtube", the video id, title, window).
        vector: float32 [D], the pooled query vector.
        tags: the clip's music tags, best first.
        peaks: int64 [p, 2], the clip's spectral peaks (:attr:`RecommendationSet.query_peaks`),
            or None when the catalog holds no landmarks.
    """

    provenance: Provenance
    vector: np.ndarray
    tags: tuple[Tag, ...]
    peaks: np.ndarray | None = None


def _encode(query: CachedQuery) -> tuple[bytes, str, str, bytes | None, str]:
    """(vector bytes, tags JSON, provenance JSON, peak bytes or None, sha256 of them all)."""
    vector = np.ascontiguousarray(query.vector, dtype=np.float32).tobytes()
    tags = json.dumps([[tag.name, tag.probability] for tag in query.tags])
    provenance = json.dumps(dataclasses.asdict(query.provenance))
    peaks = None if query.peaks is None else np.asarray(query.peaks, dtype="<i4").tobytes()
    return vector, tags, provenance, peaks, _digest(vector, tags, provenance, peaks)


def _digest(vector: bytes, tags: str, provenance: str, peaks: bytes | None) -> str:
    """sha256 of a row's payload (rows without peaks hash as before peaks were stored)."""
    hasher = hashlib.sha256(vector)
    hasher.update(b"\0" + tags.encode() + b"\0" + provenance.encode())
    if peaks is not None:
        hasher.update(b"\0" + peaks)
    return hasher.hexdigest()


def _decode(
    vector: bytes, tags: str, provenance: str, peaks: bytes | None, digest: str
) -> CachedQuery:
    """The stored query. Raises ValueError / TypeError / KeyError when the row is damaged."""
    if _digest(vector, tags, provenance, peaks) != digest:
        raise ValueError("checksum mismatch")
    array = np.frombuffer(vector, dtype=np.float32).copy()
    if array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError("bad vector")
    if peaks is not None and len(peaks) % 8:
        raise ValueError("bad peaks")
    points = None if peaks is None else np.frombuffer(peaks, "<i4").reshape(-1, 2)
    return CachedQuery(
        provenance=Provenance(**json.loads(provenance)),
        vector=array,
        tags=tuple(Tag(str(name), float(p)) for name, p in json.loads(tags)),
        peaks=None if points is None else points.astype(np.int64),
    )


def _evict(db: sqlite3.Connection, max_bytes: int) -> None:
    """Delete least recently used rows until the stored bytes fit ``max_bytes`` (inside the
    writer's transaction; the row just written is the most recently used, so it goes last)."""
    (total,) = db.execute("SELECT coalesce(sum(size), 0) FROM clips").fetchone()
    excess = int(total) - max_bytes
    if excess <= 0:
        return
    doomed = []
    for rowid, size in db.execute("SELECT rowid, size FROM clips ORDER BY used_at, rowid"):
        if excess <= 0:
            break
        doomed.append((rowid,))
        excess -= int(size)
    db.executemany("DELETE FROM clips WHERE rowid = ?", doomed)


def _create_tables(db: sqlite3.Connection) -> None:
    """Create the ``clips`` table and its index on a new file; add ``peaks`` to an old one."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS clips (video_id TEXT NOT NULL, "
        "clip_window TEXT NOT NULL, space TEXT NOT NULL, vector BLOB NOT NULL, "
        "tags TEXT NOT NULL, provenance TEXT NOT NULL, digest TEXT NOT NULL, "
        "size INTEGER NOT NULL, used_at REAL NOT NULL, "
        "PRIMARY KEY (video_id, clip_window, space))"
    )
    db.execute("CREATE INDEX IF NOT EXISTS clips_by_use ON clips (used_at)")
    _add_peaks_column(db)


def _add_peaks_column(db: sqlite3.Connection) -> None:
    """Give a cache file written before peaks were stored its ``peaks`` column (NULL in old
    rows); another process adding it at the same moment is fine."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(clips)")}
    if "peaks" in columns:
        return
    try:
        db.execute("ALTER TABLE clips ADD COLUMN peaks BLOB")
    except sqlite3.OperationalError as exc:
        if "duplicate column" not in str(exc):
            raise


class ClipCache:
    """Embedded link clips by (video id, window, vector space), LRU-capped; thread-safe.

    Args:
        path: the SQLite file (created with its folder); default :func:`default_cache_path`.
        max_bytes: most payload bytes kept; least recently used rows go first.
        clock: Unix time in seconds (orders rows by last use and spaces attempts to
            reopen an unusable file; tests move it).
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        max_bytes: int = int(DEFAULT_MAX_MB * 2**20),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._file = SqliteCacheFile(
            self.path,
            _create_tables,
            name="clip cache",
            without_it="links are fetched without it",
            busy_timeout_ms=_BUSY_TIMEOUT_MS,
            clock=clock,
        )

    def get(self, video_id: str, window: str, space: str) -> CachedQuery | None:
        """The cached query, marked used now; None when absent or damaged (then deleted)."""
        key = (video_id, window, space)
        with self._lock:
            db = self._file.connection()
            if db is None:
                return None
            try:
                row = db.execute(
                    "SELECT vector, tags, provenance, peaks, digest FROM clips "
                    "WHERE video_id = ? AND clip_window = ? AND space = ?",
                    key,
                ).fetchone()
                if row is None:
                    return None
                try:
                    query = _decode(*row)
                except (ValueError, TypeError, KeyError) as exc:
                    log.info("clip cache: dropping a damaged entry for %s (%s)", video_id, exc)
                    db.execute(
                        "DELETE FROM clips WHERE video_id = ? AND clip_window = ? AND space = ?",
                        key,
                    )
                    return None
                db.execute(
                    "UPDATE clips SET used_at = ? "
                    "WHERE video_id = ? AND clip_window = ? AND space = ?",
                    (self._now(), *key),
                )
                return query
            except sqlite3.Error as exc:
                self._file.report(f"cannot read {self.path}", exc)
                return None

    def put(self, video_id: str, window: str, space: str, query: CachedQuery) -> None:
        """Store (or replace) ``query``, then evict least recently used rows past the cap."""
        vector, tags, provenance, peaks, digest = _encode(query)
        size = len(vector) + len(tags) + len(provenance) + len(peaks or b"") + _ROW_OVERHEAD
        with self._lock:
            if size > self.max_bytes:
                return
            db = self._file.connection()
            if db is None:
                return
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.execute(
                        "INSERT OR REPLACE INTO clips (video_id, clip_window, space, vector, "
                        "tags, provenance, digest, size, used_at, peaks) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            video_id,
                            window,
                            space,
                            vector,
                            tags,
                            provenance,
                            digest,
                            size,
                            self._now(),
                            peaks,
                        ),
                    )
                    _evict(db, self.max_bytes)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._file.report(f"cannot write {self.path}", exc)

    def total_bytes(self) -> int:
        """Bytes stored (payload plus the per-row allowance)."""
        with self._lock:
            db = self._file.connection()
            if db is None:
                return 0
            with contextlib.suppress(sqlite3.Error):
                return int(db.execute("SELECT coalesce(sum(size), 0) FROM clips").fetchone()[0])
            return 0

    def __len__(self) -> int:
        """Rows stored."""
        with self._lock:
            db = self._file.connection()
            if db is None:
                return 0
            with contextlib.suppress(sqlite3.Error):
                return int(db.execute("SELECT count(*) FROM clips").fetchone()[0])
            return 0

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> ClipCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _now(self) -> float:
        return float(self._clock())
