"""The API keys of this machine: created, listed and revoked, stored only as hashes.

Mental model: one SQLite file, ``<cache root>/api-keys.sqlite3`` (:func:`default_keys_path`),
with a row per key ever made: its name, the SHA-256 of the key, when it was created and
revoked (Unix seconds), and its :class:`~musicrec_core.api.key_limits.KeyLimits`. A
revoked key keeps its row (and its name) so that ``musicrec api-key list`` shows it; to
replace a key, add one under a new name, move the client over, then revoke the old one.

A key is ``mrk_`` followed by 43 URL-safe characters: 32 random bytes from
:func:`secrets.token_urlsafe` (256 bits). It is shown once, by :meth:`ApiKeyStore.add`,
and never stored: the file holds ``sha256(key)`` only. A plain SHA-256 is the right hash
here, unlike for passwords: slow, salted hashes (bcrypt, scrypt, Argon2) exist to make
guessing a *low-entropy* secret from its hash expensive, but nobody can guess 256 random
bits, so a fast hash loses nothing, and it lets a server check a key in microseconds on
every request instead of tens of milliseconds.

Lookup (:meth:`ApiKeyStore.lookup`) hashes the presented key and finds the digest in an
in-memory table of the live keys, so its time does not depend on how much of a real key
an attacker guessed (they would need a preimage of the digest to learn anything). The
table is re-read when the file changed: at most once every :data:`REFRESH_S` seconds a
lookup asks SQLite's ``PRAGMA data_version`` (a counter that moves when *another*
connection, in any process, commits), and reloads the rows only when it moved. So a
``musicrec api-key revoke`` run beside a serving process takes effect there within
:data:`REFRESH_S` seconds, at the cost of one cheap query per second.

Concurrency: WAL mode with a busy timeout, as the other cache files, so the server and the
command line use the file at once; one store object is safe to share between threads.
Unlike a cache (:mod:`musicrec_core.sqlite_cache`), this file is never moved aside or run
without: a file that cannot be read raises :class:`~musicrec_core.errors.ApiKeyError`, so a
server refuses requests rather than answering keys it can no longer check. The file is
created readable by its owner only.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from musicrec_core.api.key_limits import KeyLimits, check_key_name
from musicrec_core.errors import ApiKeyError
from musicrec_core.paths import cache_root

__all__ = [
    "KEYS_FILE",
    "KEY_PREFIX",
    "REFRESH_S",
    "ApiKey",
    "ApiKeyStore",
    "default_keys_path",
    "key_digest",
]

KEYS_FILE = "api-keys.sqlite3"
KEY_PREFIX = "mrk_"
"""How every musicrec API key starts, so that one pasted somewhere is recognisable."""
KEY_BYTES = 32
"""Random bytes in a key (256 bits)."""
REFRESH_S = 1.0
"""Longest time, in seconds, a lookup trusts its table before asking whether the file changed."""
_MAX_PRESENTED_CHARS = 128
"""A presented key longer than this is refused before it is hashed."""
_BUSY_TIMEOUT_MS = 5000
_SCHEMA_VERSION = 1
_T = TypeVar("_T")
_COLUMNS = "name, created_at, revoked_at, rate, burst, inflight, youtube_share"


def default_keys_path() -> Path:
    """``<cache root>/api-keys.sqlite3``."""
    return cache_root() / KEYS_FILE


def key_digest(key: str) -> bytes:
    """The 32-byte SHA-256 of a key, as stored."""
    return hashlib.sha256(key.encode("utf-8")).digest()


@dataclass(frozen=True)
class ApiKey:
    """What the store knows about one key (never the key itself).

    Attributes:
        name: the operator's name for it (who uses it).
        limits: its request rate, burst, in-flight limit and YouTube share.
        created_at: Unix seconds.
        revoked_at: Unix seconds, or None while the key is live.
    """

    name: str
    limits: KeyLimits
    created_at: float
    revoked_at: float | None = None


class ApiKeyStore:
    """The key file, open in this process.

    Args:
        path: the SQLite file (its folder is created); :func:`default_keys_path` by default.
        clock: monotonic seconds, spacing the checks for changes (tests pass a fake).
        now: Unix seconds, for the created and revoked times.

    Raises:
        ApiKeyError: the file cannot be opened or is not a key file.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.path = default_keys_path() if path is None else path
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        self._live: dict[bytes, ApiKey] = {}
        self._version: int | None = None
        self._checked_at = float("-inf")
        with self._lock:
            self._db = self._guard("open", self._open)

    def add(self, name: str, limits: KeyLimits) -> str:
        """Create a key named ``name``; the key, which only this call ever sees.

        Raises:
            ApiKeyError: a bad name (:func:`check_key_name`), or one already taken.
        """
        check_key_name(name)
        key = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
        row = (name, key_digest(key), self._now(), limits.rate, limits.burst, limits.inflight)
        with self._lock:
            try:
                self._guard(
                    "write",
                    lambda: self._db.execute(
                        "INSERT INTO api_keys (name, digest, created_at, rate, burst, inflight, "
                        "youtube_share) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (*row, limits.youtube_share),
                    ),
                )
            except ApiKeyError as exc:
                if isinstance(exc.__cause__, sqlite3.IntegrityError):
                    raise ApiKeyError(
                        f"An API key named {name!r} already exists (revoked keys keep their "
                        "names); choose another name."
                    ) from None
                raise
            self._reload()
        return key

    def revoke(self, name: str) -> ApiKey:
        """Revoke the key named ``name``; the key as it now stands (a key revoked before
        keeps its first revocation time).

        Raises:
            ApiKeyError: a bad name, or no key of that name.
        """
        check_key_name(name)
        with self._lock:
            self._guard(
                "write",
                lambda: self._db.execute(
                    "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                    (self._now(), name),
                ),
            )
            self._reload()
            found = [key for key in self._read_all() if key.name == name]
        if not found:
            raise ApiKeyError(f"There is no API key named {name!r} (see musicrec api-key list).")
        return found[0]

    def all_keys(self) -> list[ApiKey]:
        """Every key ever made, live and revoked, oldest first."""
        with self._lock:
            return self._read_all()

    def lookup(self, presented: str) -> ApiKey | None:
        """The live key ``presented`` is, or None (unknown, revoked, or not a key at all).
        Sees changes made by other processes within :data:`REFRESH_S` seconds.

        Raises:
            ApiKeyError: the file cannot be read any more.
        """
        if not presented.startswith(KEY_PREFIX) or len(presented) > _MAX_PRESENTED_CHARS:
            return None
        digest = key_digest(presented)
        with self._lock:
            now = self._clock()
            if now - self._checked_at >= REFRESH_S:
                self._checked_at = now
                if self._data_version() != self._version:
                    self._reload()
            return self._live.get(digest)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        db = sqlite3.connect(
            self.path,
            timeout=_BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
            isolation_level=None,
        )
        try:
            db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS api_keys (name TEXT PRIMARY KEY, "
                "digest BLOB NOT NULL UNIQUE, created_at REAL NOT NULL, revoked_at REAL, "
                "rate REAL NOT NULL, burst INTEGER NOT NULL, inflight INTEGER NOT NULL, "
                "youtube_share REAL NOT NULL)"
            )
            db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        return db

    def _data_version(self) -> int:
        return self._guard("read", lambda: self._db.execute("PRAGMA data_version").fetchone()[0])

    def _reload(self) -> None:
        """Refill the table of live keys from the file (caller holds the lock)."""
        version = self._data_version()
        rows = self._guard(
            "read",
            lambda: self._db.execute(
                f"SELECT digest, {_COLUMNS} FROM api_keys WHERE revoked_at IS NULL"
            ).fetchall(),
        )
        self._live = {bytes(row[0]): _key_from_row(row[1:]) for row in rows}
        self._version = version

    def _read_all(self) -> list[ApiKey]:
        rows = self._guard(
            "read",
            lambda: self._db.execute(
                f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, name"
            ).fetchall(),
        )
        return [_key_from_row(row) for row in rows]

    def _guard(self, what: str, action: Callable[[], _T]) -> _T:
        """``action()``, its SQLite or file errors as one readable ApiKeyError."""
        try:
            return action()
        except (sqlite3.Error, OSError) as exc:
            raise ApiKeyError(f"Cannot {what} the API key file {self.path}: {exc}.") from exc


def _key_from_row(row: tuple) -> ApiKey:
    name, created_at, revoked_at, rate, burst, inflight, share = row
    return ApiKey(name, KeyLimits(rate, burst, inflight, share), created_at, revoked_at)
