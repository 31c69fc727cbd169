"""The API key store: round trip, hash-only storage, revocation seen by other stores and
other processes within the re-read interval, and refused names and limits."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from musicrec_core.api.key_limits import KeyLimits
from musicrec_core.api.keys import (
    KEY_PREFIX,
    REFRESH_S,
    ApiKeyStore,
    default_keys_path,
    key_digest,
)
from musicrec_core.errors import ApiKeyError
from tests.helpers.manual_clock import ManualClock


def test_a_key_round_trips_with_its_limits(tmp_path: Path) -> None:
    store = ApiKeyStore(tmp_path / "keys.sqlite3", now=lambda: 1_700_000_000.0)
    limits = KeyLimits(rate=5.0, burst=20, inflight=8, youtube_share=0.5)
    key = store.add("jukebox", limits)
    assert key.startswith(KEY_PREFIX) and len(key) >= len(KEY_PREFIX) + 43
    found = store.lookup(key)
    assert found is not None
    assert (found.name, found.limits, found.created_at, found.revoked_at) == (
        "jukebox",
        limits,
        1_700_000_000.0,
        None,
    )
    assert store.add("other", KeyLimits()) != key
    reopened = ApiKeyStore(tmp_path / "keys.sqlite3")
    assert [k.name for k in reopened.all_keys()] == ["jukebox", "other"]
    assert reopened.lookup(key) == found


def test_the_file_holds_only_the_hash_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite3"
    store = ApiKeyStore(path)
    key = store.add("jukebox", KeyLimits())
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert key_digest(key) in stored  # the right bytes were searched
    secret = key.removeprefix(KEY_PREFIX).encode()
    assert key.encode() not in stored and secret not in stored and secret[:16] not in stored
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_default_file_is_in_the_cache_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUSICREC_CACHE_DIR", str(tmp_path / "root"))
    assert default_keys_path() == tmp_path / "root" / "api-keys.sqlite3"


@pytest.mark.parametrize(
    "presented",
    ["", "Bearer", "mrk_", "mrk_" + "A" * 43, "nope_" + "A" * 43, "mrk_" + "A" * 500],
)
def test_anything_but_a_live_key_is_refused(tmp_path: Path, presented: str) -> None:
    store = ApiKeyStore(tmp_path / "keys.sqlite3")
    store.add("jukebox", KeyLimits())
    assert store.lookup(presented) is None


def test_a_revoked_key_is_refused_and_keeps_its_first_revocation(tmp_path: Path) -> None:
    times = iter([1000.0, 2000.0, 3000.0])
    store = ApiKeyStore(tmp_path / "keys.sqlite3", now=lambda: next(times))
    key = store.add("jukebox", KeyLimits())
    assert store.revoke("jukebox").revoked_at == 2000.0
    assert store.lookup(key) is None
    assert store.revoke("jukebox").revoked_at == 2000.0
    (listed,) = store.all_keys()
    assert (listed.name, listed.revoked_at) == ("jukebox", 2000.0)


def test_another_store_on_the_file_sees_new_and_revoked_keys_within_the_interval(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    server = ApiKeyStore(tmp_path / "keys.sqlite3", clock=clock)
    operator = ApiKeyStore(tmp_path / "keys.sqlite3")
    key = operator.add("jukebox", KeyLimits())
    assert server.lookup(key) is not None  # the first lookup reads the file
    operator.revoke("jukebox")
    clock.now += REFRESH_S / 2
    assert server.lookup(key) is not None  # within the interval the table is trusted
    clock.now += REFRESH_S / 2
    assert server.lookup(key) is None


def test_a_revocation_by_another_process_is_seen_within_the_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUSICREC_CACHE_DIR", str(tmp_path))
    clock = ManualClock()
    server = ApiKeyStore(clock=clock)
    key = ApiKeyStore().add("jukebox", KeyLimits())
    assert server.lookup(key) is not None
    revoke = [sys.executable, "-m", "musicrec_core.cli", "api-key", "revoke", "jukebox"]
    done = subprocess.run(revoke, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    clock.now += REFRESH_S
    assert server.lookup(key) is None


def test_a_taken_name_is_refused_even_when_revoked(tmp_path: Path) -> None:
    store = ApiKeyStore(tmp_path / "keys.sqlite3")
    store.add("jukebox", KeyLimits())
    store.revoke("jukebox")
    with pytest.raises(ApiKeyError, match="already exists"):
        store.add("jukebox", KeyLimits())


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "empty"), (" pad", "space"), ("x" * 65, "at most 64"), ("bell\x07", "control")],
)
def test_bad_names_are_refused(tmp_path: Path, name: str, reason: str) -> None:
    store = ApiKeyStore(tmp_path / "keys.sqlite3")
    with pytest.raises(ApiKeyError, match=reason):
        store.add(name, KeyLimits())
    with pytest.raises(ApiKeyError, match=reason):
        store.revoke(name)
    assert store.all_keys() == []


def test_an_unknown_name_cannot_be_revoked(tmp_path: Path) -> None:
    with pytest.raises(ApiKeyError, match="no API key named 'ghost'"):
        ApiKeyStore(tmp_path / "keys.sqlite3").revoke("ghost")


def test_a_file_that_is_not_a_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite3"
    path.write_bytes(b"not a database at all, just some text " * 100)
    with pytest.raises(ApiKeyError, match="Cannot open the API key file"):
        ApiKeyStore(path)
    assert path.read_bytes().startswith(b"not a database")  # never moved aside or replaced


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        ({"rate": 0.0}, "rate"),
        ({"rate": float("nan")}, "rate"),
        ({"rate": 1e9}, "rate"),
        ({"burst": 0}, "burst"),
        ({"burst": 2.5}, "burst"),
        ({"inflight": 1.5}, "in-flight"),
        ({"inflight": 0}, "in-flight"),
        ({"youtube_share": 0.0}, "YouTube share"),
        ({"youtube_share": 1.5}, "YouTube share"),
    ],
)
def test_limits_out_of_range_are_refused(limits: dict, reason: str) -> None:
    with pytest.raises(ApiKeyError, match=reason):
        KeyLimits(**limits)
