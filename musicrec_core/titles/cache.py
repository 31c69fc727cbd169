"""The persistent cache of oEmbed answers: one SQLite file beside the model cache.

Mental model: a table ``videos(video_id, state, title, channel, thumbnail, checked_at)``
holding the last clear answer (:class:`~musicrec_core.titles.oembed.VideoAnswer`) for each
video, with the Unix time it was received. An answer older than ``ttl_s`` reads as absent,
so it is asked again; rows are replaced, never deleted one by one. Unclear answers
(time-outs, 5xx, malformed bodies) are never stored.

Where: ``<cache root>/titles.sqlite3`` (:func:`default_cache_path`; the cache root is
``~/.cache/musicrec`` unless ``MUSICREC_CACHE_DIR`` moves it).

Concurrency: the file is in WAL mode with a busy timeout, so the bot and ``musicrec index
enrich`` may read and write it at the same time from separate processes. Within a process
one :class:`TitleCache` holds one connection behind a lock (every statement is a short
indexed read or a single-row write), so any thread may use it.

The file is opened through :class:`~musicrec_core.sqlite_cache.SqliteCacheFile`, as the
clip cache is: a file SQLite calls not a database or corrupt is moved aside
(``titles.sqlite3.damaged``) and rebuilt, but only by a process alone with it; a lock, a
full disk or an I/O error moves nothing. A cache that cannot be used never breaks a reply:
reads then answer "nothing cached" and writes are skipped, the first failure is logged,
and a minute later the file is tried again.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from musicrec_core.paths import cache_root
from musicrec_core.sqlite_cache import SqliteCacheFile
from musicrec_core.titles.oembed import VideoAnswer

__all__ = ["CACHE_FILE", "DEFAULT_TTL_S", "TitleCache", "default_cache_path"]

CACHE_FILE = "titles.sqlite3"
DEFAULT_TTL_S = 90 * 24 * 3600.0
"""How long an answer (found, gone or restricted) is trusted: 90 days."""
_SCHEMA_VERSION = 1
_BUSY_TIMEOUT_MS = 5000
_MAX_PARAMS = 500  # ids per SELECT ... IN (...), under SQLite's parameter limit


def default_cache_path() -> Path:
    """``<cache root>/titles.sqlite3``."""
    return cache_root() / CACHE_FILE


def _create_table(db: sqlite3.Connection) -> None:
    """Create the ``videos`` table on a new file and stamp the schema version."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS videos (video_id TEXT PRIMARY KEY, "
        "state TEXT NOT NULL, title TEXT, channel TEXT, thumbnail TEXT, "
        "checked_at REAL NOT NULL)"
    )
    db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")


class TitleCache:
    """oEmbed answers by video id, persisted in SQLite; thread-safe.

    Args:
        path: the SQLite file (created with its folder); default :func:`default_cache_path`.
        ttl_s: seconds an answer stays valid.
        clock: returns Unix time in seconds (ages answers and spaces attempts to reopen an
            unusable file; tests move it forward).
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._file = SqliteCacheFile(
            self.path,
            _create_table,
            name="title cache",
            without_it="titles are looked up without it",
            busy_timeout_ms=_BUSY_TIMEOUT_MS,
            clock=clock,
        )

    def _now(self) -> float:
        return float(self._clock())

    def get_many(self, video_ids: Iterable[str]) -> dict[str, VideoAnswer]:
        """The valid (younger than ttl_s) answers among ``video_ids``, by id."""
        wanted = list(dict.fromkeys(video_ids))
        found: dict[str, VideoAnswer] = {}
        oldest = self._now() - self.ttl_s
        for start in range(0, len(wanted), _MAX_PARAMS):
            batch = wanted[start : start + _MAX_PARAMS]
            placeholders = ",".join("?" * len(batch))
            rows = self._query(
                "SELECT video_id, state, title, channel, thumbnail FROM videos "
                f"WHERE checked_at >= ? AND video_id IN ({placeholders})",
                [oldest, *batch],
            )
            for video_id, state, title, channel, thumbnail in rows:
                found[video_id] = VideoAnswer(video_id, state, title, channel, thumbnail)
        return found

    def get(self, video_id: str) -> VideoAnswer | None:
        """The valid answer for one video, or None."""
        return self.get_many([video_id]).get(video_id)

    def put(self, answer: VideoAnswer) -> None:
        """Store (or replace) ``answer``, received now."""
        with self._lock:
            db = self._file.connection()
            if db is None:
                return
            try:
                db.execute(
                    "INSERT OR REPLACE INTO videos VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        answer.video_id,
                        answer.state,
                        answer.title,
                        answer.channel,
                        answer.thumbnail_url,
                        self._now(),
                    ),
                )
            except sqlite3.Error as exc:
                self._file.report(f"cannot write {self.path}", exc)

    def __len__(self) -> int:
        """Rows stored, valid or not."""
        rows = self._query("SELECT count(*) FROM videos", [])
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> TitleCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _query(self, sql: str, params: list[object]) -> list[tuple[object, ...]]:
        with self._lock:
            db = self._file.connection()
            if db is None:
                return []
            try:
                return db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                self._file.report(f"cannot read {self.path}", exc)
                return []
