"""atomic_write: the target holds the old or the complete new content, never a mix, and
no temporary file outlives the call."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from musicrec_core import atomic_file
from musicrec_core.atomic_file import TEMP_PREFIX, atomic_write, temporary_name_pattern


def _leftovers(target: Path) -> list[Path]:
    return sorted(target.parent.glob(temporary_name_pattern(target)))


def test_a_new_file_is_written(tmp_path: Path) -> None:
    target = tmp_path / "data.bin"
    with atomic_write(target) as handle:
        handle.write(b"new content")
    assert target.read_bytes() == b"new content"
    assert _leftovers(target) == []


def test_the_old_content_stays_until_the_block_ends(tmp_path: Path) -> None:
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    with atomic_write(target) as handle:
        handle.write(b"new")
        handle.flush()
        assert target.read_bytes() == b"old"
        [temporary] = _leftovers(target)
        assert temporary.parent == tmp_path and temporary.name.startswith(TEMP_PREFIX)
    assert target.read_bytes() == b"new"
    assert _leftovers(target) == []


@pytest.mark.parametrize("error", [RuntimeError("failed"), KeyboardInterrupt()])
def test_an_error_leaves_the_target_and_no_temporary_file(
    tmp_path: Path, error: BaseException
) -> None:
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    with pytest.raises(type(error)), atomic_write(target) as handle:
        handle.write(b"half of the new")
        raise error
    assert target.read_bytes() == b"old"
    assert _leftovers(target) == []

    absent = tmp_path / "absent.bin"
    with pytest.raises(type(error)), atomic_write(absent):
        raise error
    assert not absent.exists()
    assert _leftovers(absent) == []


def test_a_missing_folder_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError), atomic_write(tmp_path / "no" / "data.bin"):
        pass  # pragma: no cover
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("durable", [False, True])
def test_durable_fsyncs_the_content_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool
) -> None:
    target = tmp_path / "data.bin"
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor: int) -> None:
        events.append("fsync")
        real_fsync(descriptor)

    def replace(source: str | Path, destination: str | Path) -> None:
        events.append("replace")
        real_replace(source, destination)

    monkeypatch.setattr(atomic_file.os, "fsync", fsync)
    monkeypatch.setattr(atomic_file.os, "replace", replace)
    with atomic_write(target, durable=durable) as handle:
        handle.write(b"content")
    assert events == (["fsync", "replace"] if durable else ["replace"])
    assert target.read_bytes() == b"content"


def test_the_file_gets_the_mode_a_plain_open_gives(tmp_path: Path) -> None:
    plain = tmp_path / "plain.bin"
    with plain.open("wb"):
        pass
    target = tmp_path / "data.bin"
    with atomic_write(target) as handle:
        handle.write(b"x")
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)

    target.chmod(0o600)  # replacing a file does not keep the old file's mode
    with atomic_write(target) as handle:
        handle.write(b"y")
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
