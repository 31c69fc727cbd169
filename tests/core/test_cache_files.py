"""The clip and title caches under many processes: a file is moved aside only when SQLite
says it is not a database or corrupt, never while another process has it open, and never
for a lock, a full disk or a file that cannot be opened; a damaged file is rebuilt; a
process killed mid-write costs the others nothing, and no committed row is lost or wrong.

Each case runs on both caches; the writer processes are :mod:`tests.helpers.cache_rows`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from musicrec_core import clip_cache
from musicrec_core.clip_cache import ClipCache
from musicrec_core.titles import cache as title_cache
from musicrec_core.titles.cache import TitleCache
from tests.helpers import cache_rows

GARBAGE = b"this is not SQLite " * 200
REPO = Path(__file__).resolve().parents[2]


class Clock:
    """Unix seconds that tests move forward."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Kind:
    """One of the two caches, seen the same way: open it, write row n, check row n."""

    name: str
    module: object
    open: Callable[[Path, Clock], ClipCache | TitleCache]
    write: Callable[[object, int], None]
    holds: Callable[[object, int], bool]


CLIPS = Kind(
    "clips",
    clip_cache,
    lambda path, clock: ClipCache(path, max_bytes=cache_rows.MAX_BYTES, clock=clock),
    lambda cache, n: cache.put(  # type: ignore[attr-defined]
        cache_rows.video(n), cache_rows.WINDOW, cache_rows.SPACE, cache_rows.clip_row(n)
    ),
    cache_rows.clip_matches,  # type: ignore[arg-type]
)
TITLES = Kind(
    "titles",
    title_cache,
    lambda path, clock: TitleCache(path, clock=clock),
    lambda cache, n: cache.put(cache_rows.title_row(n)),  # type: ignore[attr-defined]
    cache_rows.title_matches,  # type: ignore[arg-type]
)
KINDS = pytest.mark.parametrize("kind", [CLIPS, TITLES], ids=lambda kind: kind.name)


def moved_aside(path: Path) -> list[str]:
    return sorted(entry.name for entry in path.parent.iterdir() if ".damaged" in entry.name)


@KINDS
def test_a_file_that_is_not_a_database_is_moved_aside_and_rebuilt(
    kind: Kind, tmp_path: Path
) -> None:
    path = tmp_path / f"{kind.name}.sqlite3"
    path.write_bytes(GARBAGE)
    with kind.open(path, Clock()) as cache:
        kind.write(cache, 7)
        assert kind.holds(cache, 7)
    assert Path(f"{path}.damaged").read_bytes() == GARBAGE
    with kind.open(path, Clock()) as reopened:
        assert kind.holds(reopened, 7)


@KINDS
def test_a_corrupt_database_is_moved_aside_and_rebuilt(kind: Kind, tmp_path: Path) -> None:
    """A real database whose schema page was overwritten: SQLITE_CORRUPT, not NOTADB."""
    path = tmp_path / f"{kind.name}.sqlite3"
    with kind.open(path, Clock()) as cache:
        for n in range(50):
            kind.write(cache, n)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damaged = bytearray(path.read_bytes())
    damaged[100:1100] = b"\xa5" * 1000  # page 1 after the header: the schema table
    path.write_bytes(damaged)
    with kind.open(path, Clock()) as cache:
        kind.write(cache, 99)
        assert kind.holds(cache, 99)
    assert Path(f"{path}.damaged").read_bytes() == damaged


@KINDS
def test_damage_found_after_opening_is_moved_aside_and_rebuilt(kind: Kind, tmp_path: Path) -> None:
    """The schema is whole, so the file opens; its table pages are not. The first read
    that meets them misses, and the next use moves the file aside and starts afresh."""
    path = tmp_path / f"{kind.name}.sqlite3"
    with kind.open(path, Clock()) as cache:
        for n in range(50):
            kind.write(cache, n)
    damaged = bytearray(path.read_bytes())
    page = 4096
    assert len(damaged) > 2 * page
    damaged[page:] = b"\xa5" * (len(damaged) - page)  # every page after the schema's
    path.write_bytes(damaged)
    with kind.open(path, Clock()) as cache:
        assert not kind.holds(cache, 7)
        kind.write(cache, 99)
        assert kind.holds(cache, 99)
    assert Path(f"{path}.damaged").read_bytes()[page:] == damaged[page:]


@KINDS
def test_a_locked_database_is_left_in_place_and_used_once_free(
    kind: Kind, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another connection holds an exclusive transaction: "database is locked" is not
    damage. The cache runs without the file, leaves it where it is, and tries again later."""
    monkeypatch.setattr(kind.module, "_BUSY_TIMEOUT_MS", 100)
    path = tmp_path / f"{kind.name}.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE keep (x)")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO keep VALUES ('mine')")
    inode = path.stat().st_ino
    clock = Clock()
    with kind.open(path, clock) as cache:
        kind.write(cache, 1)
        assert not kind.holds(cache, 1)  # ran without the file
        assert path.stat().st_ino == inode and moved_aside(path) == []
        holder.execute("COMMIT")
        assert holder.execute("SELECT x FROM keep").fetchall() == [("mine",)]
        clock.now += 3600  # later, the lock long gone
        kind.write(cache, 2)
        assert kind.holds(cache, 2)
    holder.close()
    assert path.stat().st_ino == inode and moved_aside(path) == []
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT x FROM keep").fetchall() == [("mine",)]


@KINDS
def test_a_full_disk_leaves_the_file_in_place(kind: Kind, tmp_path: Path) -> None:
    """The database is /dev/full: every write fails with ENOSPC ("database or disk is
    full"). The link is not moved aside."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    path = tmp_path / f"{kind.name}.sqlite3"
    path.symlink_to("/dev/full")
    with kind.open(path, Clock()) as cache:
        kind.write(cache, 1)
        assert not kind.holds(cache, 1)
    assert path.is_symlink() and moved_aside(path) == []


@KINDS
def test_a_file_that_cannot_be_opened_is_left_in_place(kind: Kind, tmp_path: Path) -> None:
    """The database's name is taken by a directory ("unable to open database file")."""
    path = tmp_path / f"{kind.name}.sqlite3"
    path.mkdir()
    (path / "someone's file").write_text("keep me")
    with kind.open(path, Clock()) as cache:
        kind.write(cache, 1)
        assert not kind.holds(cache, 1)
    assert (path / "someone's file").read_text() == "keep me"
    assert moved_aside(path) == []


def start_writer(clips: Path, titles: Path, first: int, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.cache_rows", str(clips), str(titles)]
        + [str(first), str(count)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_damaged_file_another_process_has_open_is_left_in_place(tmp_path: Path) -> None:
    """A process has the caches open when their first page is overwritten; a second
    process then finds them not a database, yet must not rename the files from under
    the first (whose writes would then go to the moved file). It runs without them."""
    clips, titles = tmp_path / "clips.sqlite3", tmp_path / "titles.sqlite3"
    holder = start_writer(clips, titles, 0, 0)
    assert holder.stdout is not None and holder.stdout.readline() == "open\n"
    try:
        for path in (clips, titles):
            with contextlib.closing(sqlite3.connect(path)) as db:  # as SQLite does now and then
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            inode = path.stat().st_ino
            with path.open("r+b") as file:
                file.write(GARBAGE[:100])
            with CLIPS.open(clips, Clock()) if path == clips else TITLES.open(path, Clock()):
                pass
            assert path.stat().st_ino == inode
            assert moved_aside(path) == []
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0


def test_four_processes_share_the_caches_and_one_killed_mid_write_costs_nothing(
    tmp_path: Path,
) -> None:
    """Four writers start together on damaged caches (each is rebuilt once, under the
    lock), write rows of verifiable content, and one is killed with SIGKILL while it
    writes. The other three finish every row; every row any of them saw committed
    (the killed one's too) reads back exactly."""
    clips, titles = tmp_path / "clips.sqlite3", tmp_path / "titles.sqlite3"
    clips.write_bytes(GARBAGE)
    titles.write_bytes(GARBAGE)
    count = 60
    writers = [start_writer(clips, titles, 1000 * k, count) for k in range(4)]
    victim = writers[0]
    assert victim.stdout is not None
    seen_by_victim = []
    for line in victim.stdout:
        seen_by_victim.append(line)
        if len(seen_by_victim) == 20:
            os.kill(victim.pid, signal.SIGKILL)
            break
    seen_by_victim += list(victim.stdout)
    assert victim.wait(timeout=60) == -signal.SIGKILL
    odd = [line for line in seen_by_victim if not re.fullmatch(r"(clip|title) \d+\n", line)]
    assert odd == []  # a "lost" row, or a cut line
    outputs = [writer.communicate(timeout=300)[0] for writer in writers[1:]]
    committed = {"clip": set(), "title": set()}
    for what, n in (line.split() for line in seen_by_victim):
        committed[what].add(int(n))
    for k, (writer, output) in enumerate(zip(writers[1:], outputs, strict=True), start=1):
        assert writer.returncode == 0
        lines = [line.split() for line in output.splitlines()]
        expected = [[what, str(n)] for n in range(1000 * k, 1000 * k + count)
                    for what in ("clip", "title")]  # fmt: skip
        assert lines == expected  # every write of a survivor went through
        for what, n in lines:
            committed[what].add(int(n))
    assert len(committed["clip"]) >= 3 * count + 10
    with CLIPS.open(clips, Clock()) as cache:
        assert [n for n in sorted(committed["clip"]) if not CLIPS.holds(cache, n)] == []
    with TITLES.open(titles, Clock()) as cache:
        assert [n for n in sorted(committed["title"]) if not TITLES.holds(cache, n)] == []
    for path in (clips, titles):  # moved aside once: what is there is the garbage
        assert Path(f"{path}.damaged").read_bytes() == GARBAGE
