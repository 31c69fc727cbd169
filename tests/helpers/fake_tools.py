"""Stand-ins for ffmpeg and ffprobe: executable Python scripts, and a fixture that makes
musicrec use them (through pydub's converter setting, as an operator would)."""

from __future__ import annotations

import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

UseFfmpeg = Callable[[str | Path], None]


def fake_tool(folder: Path, name: str, body: str) -> Path:
    """An executable Python script standing in for ffmpeg or ffprobe."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def use_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> UseFfmpeg:
    """Point pydub's converter (and so musicrec's ffmpeg/ffprobe) somewhere else; decode
    with those programs, not the decode workers, until the test ends."""
    from pydub import AudioSegment

    from musicrec_core.audio import decode_workers

    def use(converter: str | Path) -> None:
        monkeypatch.setattr(AudioSegment, "converter", str(converter))
        monkeypatch.setattr(decode_workers, "_disabled", True)

    return use
