"""The embedded-clip cache: keyed by video, window and vector space; LRU-capped; damage
reads as a miss and is replaced."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.clip import Provenance
from musicrec_core.clip_cache import (
    CachedQuery,
    ClipCache,
    default_cache_path,
    vector_space,
    window_key,
)
from musicrec_core.embedders.base import EmbedderId, Tag

VGGISH = EmbedderId(name="vggish", version="1", dim=128)
SPACE = vector_space(VGGISH, "mean")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 1.0  # every read and write is a new instant
        return self.now


def query(video_id: str, *, seed: int = 0, dim: int = 128) -> CachedQuery:
    vector = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    provenance = Provenance(
        kind="youtube",
        ref=video_id,
        title="A *title*",
        channel="A channel",
        start_s=90.0,
        duration_s=10.0,
        source_duration_s=212.0,
    )
    return CachedQuery(provenance, vector, (Tag("rock", 0.75), Tag("guitar", 0.5)))


def assert_same(got: CachedQuery | None, want: CachedQuery) -> None:
    assert got is not None
    assert got.provenance == want.provenance and got.tags == want.tags
    np.testing.assert_array_equal(got.vector, want.vector)
    assert got.vector.dtype == np.float32


def test_a_stored_query_comes_back_whole_and_survives_a_restart(isolated_cache: Path) -> None:
    stored = query("abcdefghijk")
    with ClipCache() as cache:
        cache.put("abcdefghijk", window_key(None), SPACE, stored)
        assert_same(cache.get("abcdefghijk", "default", SPACE), stored)
    assert default_cache_path() == isolated_cache / "clips.sqlite3"
    with ClipCache() as reopened:
        assert_same(reopened.get("abcdefghijk", "default", SPACE), stored)
        assert len(reopened) == 1


def test_the_key_is_video_window_and_space(tmp_path: Path) -> None:
    with ClipCache(tmp_path / "c.sqlite3") as cache:
        cache.put("abcdefghijk", window_key(90.0), SPACE, query("abcdefghijk"))
        assert cache.get("abcdefghijk", window_key(90.0), SPACE) is not None
        assert cache.get("abcdefghijk", window_key(None), SPACE) is None
        assert cache.get("abcdefghijk", window_key(91.0), SPACE) is None
        assert cache.get("bbbbbbbbbbb", window_key(90.0), SPACE) is None


@pytest.mark.parametrize(
    "other",
    [
        vector_space(EmbedderId(name="vggish", version="2", dim=128), "mean"),  # new weights
        vector_space(EmbedderId(name="musicnn", version="1", dim=128, variant="mtt"), "mean"),
        vector_space(VGGISH, "mean_std"),
    ],
)
def test_another_embedder_version_or_pooling_misses(tmp_path: Path, other: str) -> None:
    assert other != SPACE
    with ClipCache(tmp_path / "c.sqlite3") as cache:
        cache.put("abcdefghijk", "default", SPACE, query("abcdefghijk"))
        assert cache.get("abcdefghijk", "default", other) is None


def test_window_keys() -> None:
    assert window_key(None) == "default"
    assert window_key(90) == window_key(90.0) == "90000ms"
    assert window_key(0.0) != window_key(None)


def test_the_least_recently_used_go_first_past_the_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with ClipCache(path, clock=Clock()) as probe:
        probe.put("v0000000000", "default", SPACE, query("v0000000000"))
        row_bytes = probe.total_bytes()
    path.unlink()
    with ClipCache(path, max_bytes=3 * row_bytes + row_bytes // 2, clock=Clock()) as cache:
        for number in range(3):
            cache.put(f"v{number:010d}", "default", SPACE, query(f"v{number:010d}", seed=number))
        assert cache.get("v0000000000", "default", SPACE) is not None  # 0 is now the newest
        cache.put("v0000000003", "default", SPACE, query("v0000000003", seed=3))
        assert len(cache) == 3 and cache.total_bytes() <= cache.max_bytes
        assert cache.get("v0000000001", "default", SPACE) is None  # the least recently used
        for kept in ("v0000000000", "v0000000002", "v0000000003"):
            assert cache.get(kept, "default", SPACE) is not None


def test_an_entry_larger_than_the_cache_is_not_stored(tmp_path: Path) -> None:
    with ClipCache(tmp_path / "c.sqlite3", max_bytes=100) as cache:
        cache.put("abcdefghijk", "default", SPACE, query("abcdefghijk"))
        assert len(cache) == 0


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("vector", b"\x00\x01\x02"),  # cut short
        ("vector", np.full(128, np.nan, dtype=np.float32).tobytes()),
        ("tags", "{not json"),
        ("provenance", '{"kind": "youtube"}'),
        ("digest", "0" * 64),
    ],
)
def test_a_damaged_entry_is_ignored_and_replaced(
    tmp_path: Path, column: str, value: object
) -> None:
    path = tmp_path / "c.sqlite3"
    stored = query("abcdefghijk")
    with ClipCache(path) as cache:
        cache.put("abcdefghijk", "default", SPACE, stored)
        with sqlite3.connect(path) as db:
            db.execute(f"UPDATE clips SET {column} = ?", (value,))  # noqa: S608 (test-only)
        assert cache.get("abcdefghijk", "default", SPACE) is None
        assert len(cache) == 0  # deleted
        cache.put("abcdefghijk", "default", SPACE, stored)
        assert_same(cache.get("abcdefghijk", "default", SPACE), stored)


def test_a_file_that_is_not_a_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not SQLite" * 100)
    with ClipCache(path) as cache:
        cache.put("abcdefghijk", "default", SPACE, query("abcdefghijk"))
        assert cache.get("abcdefghijk", "default", SPACE) is not None
    assert (tmp_path / "c.sqlite3.damaged").exists()


def test_an_unusable_location_never_breaks_a_request(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with ClipCache(blocker / "c.sqlite3") as cache:  # its folder is a file
        cache.put("abcdefghijk", "default", SPACE, query("abcdefghijk"))
        assert cache.get("abcdefghijk", "default", SPACE) is None
        assert len(cache) == 0 and cache.total_bytes() == 0


def test_two_processes_worth_of_writers_share_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    caches = [ClipCache(path), ClipCache(path)]  # two connections, as two processes have

    def write(cache: ClipCache, first: int) -> None:
        for number in range(first, first + 20):
            cache.put(f"v{number:010d}", "default", SPACE, query(f"v{number:010d}"))

    threads = [
        threading.Thread(target=write, args=(cache, 100 * n)) for n, cache in enumerate(caches)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(caches[0]) == 40
    assert caches[1].get("v0000000005", "default", SPACE) is not None
    for cache in caches:
        cache.close()


def test_a_query_with_peaks_keeps_them(tmp_path: Path) -> None:
    """A catalog with landmarks replays the clip's peaks, in their own vector space."""
    peaks = np.array([[0, 12], [3, 190], [300, 7]], dtype=np.int64)
    stored = dataclasses.replace(query("abcdefghijk"), peaks=peaks)
    space = vector_space(VGGISH, "mean", landmarks=True)
    assert space != SPACE
    with ClipCache(tmp_path / "c.sqlite3") as cache:
        cache.put("abcdefghijk", "default", space, stored)
        cache.put("bbbbbbbbbbb", "default", SPACE, query("bbbbbbbbbbb"))
        got = cache.get("abcdefghijk", "default", space)
        assert_same(got, stored)
        assert got is not None and got.peaks is not None
        np.testing.assert_array_equal(got.peaks, peaks)
        plain = cache.get("bbbbbbbbbbb", "default", SPACE)
        assert plain is not None and plain.peaks is None


def test_a_cache_written_before_peaks_is_read_and_extended(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with ClipCache(path) as cache:
        cache.put("abcdefghijk", "default", SPACE, query("abcdefghijk"))
    with sqlite3.connect(path) as db:  # the file as the previous version left it
        db.execute("ALTER TABLE clips DROP COLUMN peaks")
    with ClipCache(path) as reopened:
        assert_same(reopened.get("abcdefghijk", "default", SPACE), query("abcdefghijk"))
        with_peaks = dataclasses.replace(query("ccccccccccc"), peaks=np.zeros((2, 2), np.int64))
        reopened.put("ccccccccccc", "default", SPACE, with_peaks)
        got = reopened.get("ccccccccccc", "default", SPACE)
        assert got is not None and got.peaks is not None and got.peaks.shape == (2, 2)
