"""A SQLite cache file that several processes share: open it, and rebuild it only when damaged.

Mental model: a cache (the clip cache, the title cache) is one SQLite file in WAL mode that
every shard process of the bot, and the command line, may have open at once. Losing it
costs only work, so a damaged file is moved aside and a new one started; but moving a
file that another process has open sends that process's later writes into the moved file
(lost) and pulls its ``-wal``/``-shm`` from under it. So :class:`SqliteCacheFile` keeps
two rules:

- **Only damage moves a file.** A file is moved aside only when SQLite itself says it is
  not a database or is corrupt: primary result code ``SQLITE_NOTADB`` (26) or
  ``SQLITE_CORRUPT`` (11) (:func:`is_damaged`). Anything else ("database is locked", a
  disk I/O error, a full disk, a file that cannot be opened, a read-only folder) leaves the
  files alone: the cache is unavailable, its user runs without it (each failure logged,
  the first as a warning), and the first use :data:`RETRY_S` seconds later tries again.
- **Only a process alone with the file moves it.** Beside the database lies a lock file
  (``<file>.lock``, never deleted, so every process locks the same inode). Each process
  holds a *shared* ``flock`` on it for as long as its connection is open (a process that
  dies, even by SIGKILL, drops it with its descriptors). A process that finds the file
  damaged closes its connection, drops its shared lock and asks for the *exclusive* lock
  without waiting: it is granted only when no other process has the file open. Holding
  it, the process checks the damage again (another process may have rebuilt the file
  meanwhile), renames the file and its ``-wal``/``-shm`` to ``*.damaged`` (replacing any
  older ones), and lets go; then it opens a new file as everyone does. A process refused
  the exclusive lock leaves the file in place and runs without it; it tries again later.
  Where ``flock`` is missing (Windows) or refused (some network file systems), nothing
  can show that the file is not in use, so a damaged file is never moved; it is logged.

Why a lock file and not SQLite's own locks: SQLite holds its locks only while a
transaction runs (in WAL mode a reader's lock in the ``-shm``), so no SQLite lock says
whether another process merely has the file open, which is what renaming must know.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

try:
    import fcntl

    from musicrec_core.file_lock import flock_before
except ImportError:  # Windows: no flock, so a damaged file is never moved
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_WAIT_S", "RETRY_S", "SqliteCacheFile", "is_damaged"]

log = logging.getLogger(__name__)

RETRY_S = 60.0
"""Seconds after a failed open before the next use tries again."""
LOCK_WAIT_S = 2.0
"""Longest wait, in seconds, for a lock: the shared one while another process moves a
damaged file aside, the exclusive one while other processes that found it damaged too
let go of theirs."""
_OPEN_ATTEMPTS = 3
"""Tries per open: after one that finds the file damaged, the file is moved aside (by this
process, or by another, as the check under the exclusive lock then shows) before the next."""
_DAMAGE_CODES = frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT})
_SIDE_FILES = ("", "-wal", "-shm")


def is_damaged(exc: BaseException) -> bool:
    """Whether SQLite says the file is not a database or is corrupt (by primary result code;
    extended codes such as ``SQLITE_CORRUPT_INDEX`` included)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _DAMAGE_CODES


class _Unavailable(Exception):
    """The file could not be opened for a reason that leaves it where it is."""


class SqliteCacheFile:
    """One process's connection to a shared SQLite cache file; not thread-safe (the cache
    that owns it serialises calls behind its own lock).

    Args:
        path: the database file (its folder is created).
        prepare: creates or upgrades the cache's tables on a new connection (autocommit
            mode, WAL, busy timeout already set); a ``sqlite3.Error`` from it counts as
            any open error.
        name: what the log calls it ("clip cache").
        without_it: what happens while it is unavailable, for the log ("links are
            fetched without it").
        busy_timeout_ms: how long a statement waits for another process's lock.
        clock: Unix time in seconds; spaces the attempts to open.
    """

    def __init__(
        self,
        path: Path,
        prepare: Callable[[sqlite3.Connection], None],
        *,
        name: str,
        without_it: str,
        busy_timeout_ms: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._prepare = prepare
        self._name = name
        self._without_it = without_it
        self._busy_timeout_ms = busy_timeout_ms
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._retry_at = float("-inf")
        self._suspect = False
        self._failed = False
        self._closed = False
        self.connection()

    def connection(self) -> sqlite3.Connection | None:
        """The open connection, or None while the file is unavailable. Opens it (moving a
        damaged file aside first, when alone with it) on the first call and on the first
        call :data:`RETRY_S` seconds after a failed open."""
        if self._db is not None or self._closed:
            return self._db
        now = self._clock()
        if now < self._retry_at:
            return None
        try:
            self._db, self._lock_fd = self._open()
        except (OSError, sqlite3.Error, _Unavailable) as exc:
            self._retry_at = now + RETRY_S
            self.report(f"cannot open {self.path}", exc)
        return self._db

    def report(self, what: str, exc: BaseException) -> None:
        """Log a failure of the cache (the first as a warning, later ones at debug level).
        A damaged file closes the connection; the next call checks it and, when alone
        with it, moves it aside."""
        level = logging.DEBUG if self._failed else logging.WARNING
        self._failed = True
        log.log(level, "%s: %s (%s); %s", self._name, what, exc, self._without_it)
        if is_damaged(exc) and self._db is not None:
            self._disconnect()
            self._suspect = True
            self._retry_at = float("-inf")

    def close(self) -> None:
        """Close the connection and drop the shared lock, for good."""
        self._closed = True
        self._disconnect()

    def _disconnect(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _open(self) -> tuple[sqlite3.Connection, int | None]:
        """A prepared connection and the descriptor holding the shared lock (None where
        locks are missing). Raises what made the file unusable."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._suspect:  # damage seen on an open connection: confirm it, alone
            self._suspect = False
            self._move_aside_if_damaged()
        elif not self.path.exists():
            self._create_alone()
        attempt = 1
        while True:
            lock_fd, locking = self._shared_lock()
            try:
                return self._connect(), lock_fd
            except sqlite3.Error as exc:
                if lock_fd is not None:
                    os.close(lock_fd)
                if not (is_damaged(exc) and locking):
                    raise
                if attempt == _OPEN_ATTEMPTS or not self._move_aside_if_damaged():
                    raise _Unavailable(
                        f"{exc}; left in place while another process has it open"
                    ) from exc
            attempt += 1

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_ms / 1000,
            check_same_thread=False,
            isolation_level=None,
        )
        try:
            db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            self._prepare(db)
        except BaseException:
            db.close()
            raise
        return db

    def _shared_lock(self) -> tuple[int | None, bool]:
        """(descriptor holding the shared lock or None, whether locking works here).

        Raises:
            _Unavailable: another process held the exclusive lock for :data:`LOCK_WAIT_S`.
            OSError: the lock file cannot be opened.
        """
        fd = self._open_lock_file()
        if fd is None:
            return None, False
        held = _lock_within(fd, fcntl.LOCK_SH)
        if not held:
            os.close(fd)
        if held is False:
            raise _Unavailable("another process is rebuilding it")
        return (fd, True) if held else (None, False)

    def _move_aside_if_damaged(self) -> bool:
        """Rename the file and its WAL to ``*.damaged`` if, alone with it, SQLite still
        says it is damaged. False when no exclusive lock came within :data:`LOCK_WAIT_S`
        (another process has the file open, or locks are refused): then nothing moves."""
        fd = self._open_lock_file()
        if fd is None:
            return False
        try:
            if not _lock_within(fd, fcntl.LOCK_EX):
                return False
            if self._still_damaged():
                for suffix in _SIDE_FILES:
                    part = Path(f"{self.path}{suffix}")
                    if part.exists():
                        part.replace(Path(f"{part}.damaged"))
                log.warning("%s: %s was damaged; moved aside for a new one", self._name, self.path)
                self._connect().close()
            return True
        finally:
            os.close(fd)

    def _create_alone(self) -> None:
        """Create the missing file holding the exclusive lock, so that processes starting
        together do not race to switch a new file to WAL (SQLite answers some of them
        "database is locked" at once, without waiting)."""
        fd = self._open_lock_file()
        if fd is None:
            return
        try:
            if _lock_within(fd, fcntl.LOCK_EX) and not self.path.exists():
                self._connect().close()
        finally:
            os.close(fd)

    def _still_damaged(self) -> bool:
        try:
            probe = self._connect()
        except sqlite3.Error as exc:
            return is_damaged(exc)
        try:
            verdict = probe.execute("PRAGMA quick_check").fetchall()
        except sqlite3.Error as exc:
            return is_damaged(exc)
        finally:
            probe.close()
        return verdict != [("ok",)]

    def _open_lock_file(self) -> int | None:
        """A descriptor on ``<file>.lock``, or None where there is no flock."""
        if fcntl is None:
            return None
        return os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)


def _lock_within(fd: int, mode: int) -> bool | None:
    """Take ``mode`` on ``fd`` within :data:`LOCK_WAIT_S`: True if held, False if another
    process kept a conflicting lock, None if the file system refuses locks."""
    try:
        return flock_before(fd, mode, time.monotonic() + LOCK_WAIT_S)
    except OSError:
        return None
